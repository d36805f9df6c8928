/** Unit tests of the engine modules (no n8n): taxonomy, request building, schemas, concurrency, connections. */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { PROVIDERS } from '../nodes/llm/catalog';
import { connectionFromCredential } from '../nodes/llm/client';
import { mapOrdered } from '../nodes/llm/concurrency';
import { classify, ERROR_ACTIONS, InputError, LlmError, parseRetryAfter, plainText, redact } from '../nodes/llm/errors';
import { parseMessages, parseTools, simpleMessages, toRequestBody } from '../nodes/llm/request';
import { checkSchema, parseJsonAnswer, validateAgainstSchema } from '../nodes/llm/structured';

const headers = (h: Record<string, string> = {}) => new Headers(h);
const apiError = (status: number, body: unknown, h: Record<string, string> = {}) =>
	APIError.generate(status, body as object, undefined, headers(h));

describe('error taxonomy', () => {
	test.each([
		[429, { error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } }, 'rate_limited'],
		[429, { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', code: 'insufficient_quota' } }, 'quota_exhausted'],
		[402, { error: { message: 'Insufficient credits' } }, 'quota_exhausted'],
		[401, { error: { message: 'Incorrect API key provided', code: 'invalid_api_key' } }, 'auth'],
		[403, { error: { message: 'Forbidden' } }, 'auth'],
		[404, { error: { message: 'The model `gpt-9` does not exist', code: 'model_not_found' } }, 'model_not_found'],
		[400, { error: { message: "This model's maximum context length is 8192 tokens", code: 'context_length_exceeded' } }, 'context_length'],
		[400, { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 210000 tokens > 200000 maximum' } }, 'context_length'],
		[400, { error: { message: 'the request exceeds the available context size, try increasing it', type: 'exceed_context_size_error' } }, 'context_length'],
		[400, { error: { message: 'Invalid value for temperature' } }, 'bad_request'],
		[400, { error: { message: 'Your request was rejected as a result of our safety system', code: 'content_policy_violation' } }, 'content_policy'],
		[500, { error: { message: 'Internal error' } }, 'server'],
		[502, undefined, 'server'],
		[503, { error: { message: 'overloaded' } }, 'server'],
	])('HTTP %i %j -> %s', (status, body, kind) => {
		const err = classify(apiError(status, body));
		expect(err.kind).toBe(kind);
		expect(err.status).toBe(status);
		expect(err.action).toBe(ERROR_ACTIONS[kind as keyof typeof ERROR_ACTIONS]);
	});

	test('the provider message is kept, Ollama-style string errors too', () => {
		expect(classify(apiError(404, { error: "model 'llama9' not found" })).providerMessage).toBe("model 'llama9' not found");
		expect(classify(apiError(401, { error: { message: 'Incorrect API key provided' } })).providerMessage).toBe('Incorrect API key provided');
	});

	test('timeouts, connection errors and bad bodies', () => {
		expect(classify(new APIConnectionTimeoutError()).kind).toBe('timeout');
		const refused = new APIConnectionError({ cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
		expect(classify(refused)).toMatchObject({ kind: 'connection', code: 'ECONNREFUSED' });
		expect(classify(new SyntaxError('Unexpected token <')).kind).toBe('invalid_response');
		expect(classify(Object.assign(new TypeError('terminated'), { cause: { code: 'ECONNRESET' } })).kind).toBe('connection');
	});

	test('Retry-After in seconds, as an HTTP date, and retry-after-ms', () => {
		expect(parseRetryAfter(headers({ 'retry-after': '7' }))).toBe(7000);
		expect(parseRetryAfter(headers({ 'retry-after-ms': '250' }))).toBe(250);
		const now = Date.parse('2026-01-01T00:00:00Z');
		expect(parseRetryAfter(headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }), now)).toBe(30_000);
		expect(parseRetryAfter(headers({}))).toBeUndefined();
		expect(classify(apiError(429, { error: { message: 'slow down' } }, { 'retry-after': '3' })).retryAfterMs).toBe(3000);
	});

	test('HTML error pages become one readable line', () => {
		const text = plainText('<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr>nginx</body></html>');
		expect(text).toBe('HTML page: 502 Bad Gateway 502 Bad Gateway nginx');
	});

	test('redact removes keys and bearer tokens', () => {
		expect(redact('key sk-secret-123 and Bearer abcdefghijkl', ['sk-secret-123'])).toBe('key *** and Bearer ***');
	});
});

describe('requests', () => {
	test('messages are validated and errors name the message and the problem', () => {
		expect(parseMessages('[{"role":"user","content":"hi"}]')).toEqual([{ role: 'user', content: 'hi' }]);
		expect(() => parseMessages([{ role: 'user', content: 'a' }, { role: 'robot', content: 'b' }])).toThrow(/messages\[1\]\.role: must be one of/);
		expect(() => parseMessages([{ role: 'tool', content: 'x' }])).toThrow(/messages\[0\]\.tool_call_id: Required/);
		expect(() => parseMessages([{ role: 'assistant' }])).toThrow(/messages\[0\]\.content: an assistant message needs content or tool_calls/);
		expect(() => parseMessages('[{"role": "user"')).toThrow(/not valid JSON/);
		expect(() => parseMessages([])).toThrow(InputError);
	});

	test('an empty prompt is refused', () => {
		expect(() => simpleMessages('sys', '  ', [])).toThrow(/prompt is empty/);
	});

	test('tools: bare or wrapped definitions, and no null fields sent', () => {
		const tools = parseTools('[{"name":"get_weather","parameters":{"type":"object"},"strict":null},{"type":"function","function":{"name":"x","strict":true}}]');
		expect(tools).toEqual([
			{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } },
			{ type: 'function', function: { name: 'x', strict: true } },
		]);
		expect(() => parseTools('[{"name":"bad name!"}]')).toThrow(/Tool 0 is malformed: tools\[0\]\.name/);
		expect(parseTools('[]')).toEqual([]);
	});

	test('the body leaves unset options out and uses the provider\'s max-tokens field', () => {
		const request = { messages: [{ role: 'user' as const, content: 'hi' }], options: { maxTokens: 50, temperature: undefined, stop: [] } };
		const openai = PROVIDERS.find((p) => p.id === 'openai')!;
		const groq = PROVIDERS.find((p) => p.id === 'groq')!;
		expect(toRequestBody(request, 'm', openai)).toEqual({ model: 'm', messages: request.messages, max_completion_tokens: 50 });
		expect(toRequestBody(request, 'm', groq)).toEqual({ model: 'm', messages: request.messages, max_tokens: 50 });
	});
});

describe('structured output', () => {
	const schema = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name'], additionalProperties: false };

	test('schemas are checked, and OpenAI\'s wrapper is accepted', () => {
		expect(checkSchema(JSON.stringify(schema)).schema).toEqual(schema);
		expect(checkSchema({ name: 'person', schema })).toEqual({ schema, name: 'person' });
		expect(() => checkSchema('{"type": "object",')).toThrow(/not valid JSON/);
		expect(() => checkSchema({ type: 'obj' })).toThrow(/schema.type "obj" is not one of/);
		expect(() => checkSchema({ type: 'object', properties: { a: 5 } })).toThrow(/schema.properties.a must be an object/);
		expect(() => checkSchema({})).toThrow(/non-empty object/);
	});

	test('answers are parsed (fenced or not) and validated', () => {
		expect(parseJsonAnswer('```json\n{"a":1}\n```')).toEqual({ ok: true, value: { a: 1 } });
		expect(parseJsonAnswer('nope').ok).toBe(false);
		expect(validateAgainstSchema({ name: 'Ann', age: 3 }, schema)).toEqual([]);
		expect(validateAgainstSchema({ age: 3.5, extra: 1 }, schema)).toEqual(['$.name is required', '$.age should be integer, got number', '$.extra is not allowed']);
		const withRef = { $defs: { tag: { enum: ['a', 'b'] } }, type: 'array', items: { $ref: '#/$defs/tag' } };
		expect(validateAgainstSchema(['a', 'c'], withRef)).toEqual(['$[1] should be one of ["a","b"]']);
	});
});

describe('connections from credentials', () => {
	test('each provider defaults to its catalog URL and needs a key where the catalog says so', () => {
		for (const p of PROVIDERS) {
			if (p.id === 'custom') continue;
			expect(connectionFromCredential(p.id, { apiKey: 'k-123456' }).baseUrl).toBe(p.defaultBaseUrl);
			if (p.apiKeyRequired) expect(() => connectionFromCredential(p.id, {})).toThrow(/has no API key/);
			else expect(connectionFromCredential(p.id, {}).apiKey).toBeUndefined();
		}
	});

	test('bad base URLs get a clear error', () => {
		expect(() => connectionFromCredential('custom', {})).toThrow(/has no Base URL/);
		expect(() => connectionFromCredential('custom', { baseUrl: 'localhost:1234' })).toThrow(/must start with http/);
		expect(() => connectionFromCredential('custom', { baseUrl: 'not a url' })).toThrow(/is not a valid URL/);
	});

	test('limits: 0 or empty means none', () => {
		const c = connectionFromCredential('custom', { baseUrl: 'http://x/v1', requestsPerMinute: 60, requestsPerDay: 0, maxConcurrent: '' });
		expect(c.limits).toEqual({ requestsPerMinute: 60, requestsPerDay: undefined, maxConcurrent: undefined });
	});
});

describe('mapOrdered', () => {
	test('keeps input order and never exceeds the limit', async () => {
		let inFlight = 0;
		let peak = 0;
		const out = await mapOrdered(10, 3, async (i) => {
			inFlight++;
			peak = Math.max(peak, inFlight);
			await new Promise((r) => setTimeout(r, (10 - i) * 3));
			inFlight--;
			return i * 2;
		});
		expect(out).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
		expect(peak).toBe(3);
	});
});

test('LlmError carries its hint and action', () => {
	const err = new LlmError('auth', 'bad key', { status: 401 });
	expect(err.action).toBe('next_candidate');
	expect(err.hint).toMatch(/rejected the API key/);
});
