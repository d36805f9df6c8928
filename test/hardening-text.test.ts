/**
 * Issue 9, the parts about text that comes from outside: answers and error pages built to stall
 * a parser, every error-body shape compatible servers use, secrets inside Base URLs and keys,
 * schemas that would recurse forever, image URL lists, and what n8n shows for connection and
 * input errors. Real HTTP to the fake provider, through the real node in n8n-core where a node
 * is involved. No timings here: bench/adversarial.js prints them.
 */
import { breakers } from '../nodes/llm/breaker';
import { connectionFromCredential, listModels } from '../nodes/llm/client';
import { InputError, plainText, redact } from '../nodes/llm/errors';
import { limiters } from '../nodes/llm/limiter';
import { checkSchema, parseJsonAnswer, validateAgainstSchema } from '../nodes/llm/structured';
import { byokCredentialTest } from '../nodes/shared/n8n';
import { completion, errorStep, startFakeProvider, type ChatContentPart, type ErrorShape, type FakeStep } from './fake-provider';
import { chatWorkflow, nodeOutput, runWorkflow } from './helpers/workflow';

type Fake = Awaited<ReturnType<typeof startFakeProvider>>;
let fake: Fake;
const KEY = 'sk-hardening-SECRET-0123456789';
const PASSWORD = 'p@ss:w/rd+SECRET';
const ENCODED_PASSWORD = encodeURIComponent(PASSWORD);

beforeAll(async () => {
	fake = await startFakeProvider();
});
afterEach(() => {
	fake.reset();
	breakers.clear();
	limiters.clear();
});
afterAll(() => fake.close());

const byId = (value: string) => ({ __rl: true, mode: 'id', value });
const answer = (content: string) => ({ body: (b: { model: string }) => completion(b, content) });
const outcomes = (json: Record<string, unknown>) =>
	((json.attempts ?? []) as Array<{ provider: string; model: string; outcome: string; status?: number }>).map(
		(a) => `${a.provider}/${a.model}:${a.outcome}${a.status ? `:${a.status}` : ''}`,
	);

interface RunOptions {
	parameters?: Record<string, unknown>;
	items?: Array<{ json: Record<string, unknown> }>;
	/** Primary credential (Custom); a fallback on Ollama at /fb/v1 unless `fallback: false`. */
	primary?: Record<string, unknown>;
	fallback?: boolean;
	continueOnFail?: boolean;
	/** Strings that must appear nowhere in what n8n keeps of the run. */
	secrets?: string[];
}

async function run(o: RunOptions = {}) {
	const fallback = o.fallback ?? true;
	const result = await runWorkflow(
		chatWorkflow({
			items: o.items,
			continueOnFail: o.continueOnFail ?? true,
			nodeCredentials: { byokCustomApi: 'primary', ...(fallback ? { byokOllamaApi: 'fb' } : {}) },
			parameters: {
				providers: fallback ? ['custom', 'ollama'] : ['custom'],
				model: byId('main-model'),
				prompt: 'hello',
				fallbacks: { fallback: fallback ? [{ provider: 'ollama', model: 'fb-model' }] : [] },
				...o.parameters,
				options: { retries: 0, ...(o.parameters?.options as object) },
			},
		}),
		{ primary: { apiKey: KEY, baseUrl: fake.baseUrl, ...o.primary }, fb: { apiKey: '', baseUrl: `${fake.url}/fb/v1` } },
	);
	const out = nodeOutput(result);
	// Everything n8n keeps of the run, and the node error's own fields (message is not enumerable).
	const seen = JSON.stringify([result, out.error?.message, out.error?.description, out.error?.messages]);
	for (const secret of [KEY, ...(o.secrets ?? [])]) expect(seen).not.toContain(secret);
	return out;
}

/** The primary answers every request with `step`; the fallback answers normally. */
const primaryAnswers = (step: FakeStep) => fake.setHandler((r) => (r.path.startsWith('/v1/') ? step : undefined));

describe('nothing a provider sends can stall n8n (results only; times in bench/adversarial.js)', () => {
	const fencedNewlines = '```json\n' + '\n'.repeat(2500);
	const fenceSpacesX = '```' + ' '.repeat(5000) + 'x';

	test('degenerate fenced answers are reported as not JSON', () => {
		expect(parseJsonAnswer(fencedNewlines)).toEqual({ ok: false, problem: expect.stringMatching(/^the answer is not valid JSON/) });
		expect(parseJsonAnswer(fenceSpacesX)).toEqual({ ok: false, problem: expect.stringMatching(/^the answer is not valid JSON/) });
	});

	test.each([
		['```json\n{"a": 1}\n```', { a: 1 }],
		['  ```JSON {"a": 1} ```  \n', { a: 1 }],
		['```\n[1, 2]\n```', [1, 2]],
		['{"a": "```"}', { a: '```' }],
		['\n {"a": 1} \n', { a: 1 }],
	])('fences around JSON are still removed: %j', (text, value) => {
		expect(parseJsonAnswer(text)).toEqual({ ok: true, value });
	});

	test('an empty fence is an empty answer', () => {
		expect(parseJsonAnswer('```json\n\n```')).toEqual({ ok: false, problem: 'the answer was empty' });
		expect(parseJsonAnswer('``````')).toEqual({ ok: false, problem: 'the answer was empty' });
	});

	test('through the node: JSON-mode answers of 2,500 newlines or 5,000 spaces fail the item as not JSON', async () => {
		fake.setHandler((r) => answer(JSON.stringify(r.body).includes('spaces') ? fenceSpacesX : fencedNewlines));
		const { items } = await run({ fallback: false, parameters: { prompt: '={{ $json.p }}', responseFormat: 'json_object' }, items: [{ json: { p: 'newlines' } }, { json: { p: 'spaces' } }] });
		for (const item of items) {
			expect(item.json).toMatchObject({ errorKind: 'invalid_output', error: expect.stringMatching(/could not be used as JSON after one repair attempt: the answer is not valid JSON/) });
		}
		expect(fake.chatRequests).toHaveLength(4);
	});

	const malformedHtml = (size: number) => `<html><body><h1>Bad Gateway</h1>${'<script <b <style x '.repeat(size / 20)}`;

	test('malformed HTML pages are stripped to their text', () => {
		expect(plainText(malformedHtml(100_000))).toMatch(/^HTML page: Bad Gateway/);
		expect(plainText('<html><style>h1 {}</style><script>var a = "<b>";</script><h1>Down</h1> for <i>maintenance</i></html>')).toBe('HTML page: Down for maintenance');
		expect(plainText('<html><body>1 < 2 and <b>bold</b> <script>never closed')).toBe('HTML page: 1 < 2 and bold never closed');
	});

	test('through the node: a 300 KB malformed HTML 502 is a server error with its text, retried once', async () => {
		primaryAnswers({ status: 502, body: malformedHtml(300_000) });
		const { items } = await run({ fallback: false, parameters: { options: { retries: 1 } } });
		expect(items[0].json).toMatchObject({ errorKind: 'server', status: 502, error: expect.stringMatching(/^HTTP 502: HTML page: Bad Gateway/) });
		expect(fake.chatRequests).toHaveLength(2);
		expect(String(items[0].json.error).length).toBeLessThan(400);
	});

	test('a 1 MB plain-text error is classed from its start and shown shortened', async () => {
		primaryAnswers({ status: 400, text: true, body: `This model's maximum context length is 4096 tokens. ${'x'.repeat(1_000_000)}` });
		const { items } = await run();
		expect(outcomes(items[0].json)).toEqual(['custom/main-model:context_length:400', 'ollama/fb-model:ok:200']);
	});
});

describe('every error-body shape compatible servers use is read', () => {
	const shapes: ErrorShape[] = ['openai', 'gemini', 'vllm', 'mistral', 'fastapi', 'fastapiObject', 'fastapiList', 'message', 'errorString', 'text'];

	test.each(shapes)('%s: a context-length 400 goes to a candidate with another model', async (shape) => {
		primaryAnswers(errorStep(shape, 400, 'Prompt contains 40000 tokens, too large for model with 32768 maximum context length'));
		const { items } = await run();
		expect(outcomes(items[0].json)).toEqual(['custom/main-model:context_length:400', 'ollama/fb-model:ok:200']);
	});

	test.each(shapes)('%s: a model-not-found 404 goes to the next candidate', async (shape) => {
		primaryAnswers(errorStep(shape, 404, 'The model `main-model` does not exist.'));
		const { items } = await run();
		expect(outcomes(items[0].json)).toEqual(['custom/main-model:model_not_found:404', 'ollama/fb-model:ok:200']);
	});

	test.each(shapes)('%s: the message is shown in the error item and the credential Test', async (shape) => {
		primaryAnswers(errorStep(shape, 401, `Invalid API key: ${KEY}`));
		const { items } = await run({ fallback: false });
		expect(items[0].json).toMatchObject({ errorKind: 'auth', status: 401 });
		expect(items[0].json.error).toMatch(/^HTTP 401: (body\.messages: )?Invalid API key: \*\*\*$/);
		fake.enqueue(errorStep(shape, 401, `Invalid API key: ${KEY}`));
		const tested = await byokCredentialTest.call({} as never, { id: '1', name: 'c', type: 'byokCustomApi', data: { apiKey: KEY, baseUrl: fake.baseUrl } });
		expect(tested).toEqual({ status: 'Error', message: expect.stringMatching(/^HTTP 401: (body\.messages: )?Invalid API key: \*\*\*$/) });
	});

	test('FastAPI validation lists name the field', async () => {
		primaryAnswers(errorStep('fastapiList', 422, 'field required'));
		const { items } = await run({ fallback: false });
		expect(items[0].json).toMatchObject({ errorKind: 'bad_request', error: 'HTTP 422: body.messages: field required' });
	});

	test.each([
		['FastAPI', errorStep('fastapi', 404, 'Not Found')],
		['a Go server, plain text', errorStep('text', 404, '404 page not found')],
		['nginx', errorStep('html', 404, '404 Not Found')],
		['OpenAI', errorStep('openai', 404, 'Invalid URL (POST /v1/chat/completions)')],
	])('%s: a 404 that names no model (a wrong path in the Base URL) goes to the next candidate', async (_name, step) => {
		primaryAnswers(step);
		const { items } = await run();
		expect(outcomes(items[0].json)).toEqual(['custom/main-model:endpoint_not_found:404', 'ollama/fb-model:ok:200']);
		primaryAnswers(step);
		const alone = await run({ fallback: false });
		expect(alone.items[0].json).toMatchObject({ errorKind: 'endpoint_not_found', status: 404, description: expect.stringMatching(/Base URL/) });
	});

	test('a wrong path also reads clearly in the credential Test', async () => {
		fake.enqueue(errorStep('fastapi', 404, 'Not Found'));
		const tested = await byokCredentialTest.call({} as never, { id: '1', name: 'c', type: 'byokCustomApi', data: { baseUrl: `${fake.url}/wrong/v1` } });
		expect(tested).toEqual({ status: 'Error', message: 'HTTP 404: Not Found' });
	});
});

describe('secrets in Base URLs and keys', () => {
	const basicToken = Buffer.from(`user:${PASSWORD}`).toString('base64');
	const withPassword = (base: string) => base.replace('http://', `http://user:${ENCODED_PASSWORD}@`);
	const allForms = [PASSWORD, ENCODED_PASSWORD, basicToken];

	test('user:password@ in the Base URL is sent as Basic auth, never in the URL, and never shown', async () => {
		primaryAnswers({ status: 401, body: { error: { message: `Bad credentials ${PASSWORD} (${ENCODED_PASSWORD}) Basic ${basicToken} at ${withPassword(fake.baseUrl)}` } } });
		const { items } = await run({ fallback: false, primary: { apiKey: '', baseUrl: withPassword(fake.baseUrl) }, secrets: allForms });
		const [req] = fake.chatRequests;
		expect(req.headers.authorization).toBe(`Basic ${basicToken}`);
		expect(req.url).toBe('/v1/chat/completions');
		expect(items[0].json).toMatchObject({ errorKind: 'auth', status: 401 });
		for (const secret of allForms) expect(JSON.stringify(items)).not.toContain(secret);
		expect(items[0].json.error).toContain(`at ${fake.baseUrl}`);
		const { error } = await run({ fallback: false, continueOnFail: false, primary: { apiKey: '', baseUrl: withPassword(fake.baseUrl) }, secrets: allForms });
		expect(error?.message).toMatch(/^HTTP 401: Bad credentials \*\*\* \(\*\*\*\) Basic \*\*\* at http/);
	});

	test('user:password@ together with an API key is an input error that never shows the URL and sends nothing', async () => {
		const { items } = await run({ fallback: false, primary: { baseUrl: withPassword(fake.baseUrl) }, secrets: allForms });
		expect(items[0].json).toMatchObject({ field: 'baseUrl', error: expect.stringMatching(/user name and password.*API key/) });
		expect(items[0].json.attempts).toBeUndefined();
		expect(fake.requests).toHaveLength(0);
		expect(() => connectionFromCredential('custom', { apiKey: KEY, baseUrl: withPassword(fake.baseUrl) })).toThrow(InputError);
	});

	test('an invalid Base URL with a password is named without it', () => {
		const err = (() => {
			try {
				connectionFromCredential('custom', { baseUrl: `http://user:${PASSWORD}@local host/v1?key=${KEY}` });
				return undefined;
			} catch (e) {
				return e as InputError;
			}
		})();
		expect(err).toBeInstanceOf(InputError);
		expect(err!.message).toMatch(/Base URL is not a valid URL \(not shown here: it holds a user name and password\)/);
		expect(err!.message).not.toMatch(/SECRET|ss:w|local host/);
		expect(() => connectionFromCredential('custom', { baseUrl: `http://local host/v1?key=${KEY}` })).toThrow(/Base URL "http:\/\/local host\/v1" is not a valid URL/);
	});

	test('query parameters are sent with every request and never shown', async () => {
		const baseUrl = `${fake.baseUrl}?key=${KEY}&api-version=2024-10-21`;
		fake.enqueue({ body: { nothing: 'here' } });
		const err = await listModels(connectionFromCredential('custom', { baseUrl })).catch((e: Error) => e);
		expect((err as Error).message).toBe(`GET ${fake.baseUrl}/models did not return a model list. Check that the Base URL points at an OpenAI-compatible API.`);
		expect(fake.requests[0].url).toBe(`/v1/models?key=${KEY}&api-version=2024-10-21`);
		fake.enqueue({ body: { nothing: 'here' } });
		const tested = await byokCredentialTest.call({} as never, { id: '1', name: 'c', type: 'byokCustomApi', data: { baseUrl } });
		expect(tested.message).toBe(`GET ${fake.baseUrl}/models did not return a model list. Check that the Base URL points at an OpenAI-compatible API.`);
		primaryAnswers({ status: 400, body: { error: { message: `Bad key ${KEY} in ${fake.baseUrl}/chat/completions?key=${KEY}&x=1` } } });
		const { items } = await run({ fallback: false, primary: { apiKey: '', baseUrl } });
		expect(fake.chatRequests[0].url).toBe(`/v1/chat/completions?key=${KEY}&api-version=2024-10-21`);
		expect(items[0].json.error).toBe(`HTTP 400: Bad key *** in ${fake.baseUrl}/chat/completions`);
	});

	test('a connection error names host and port, not the password', async () => {
		const closed = await startFakeProvider().then(async (f) => (await f.close(), f.url));
		const { items } = await run({ fallback: false, primary: { apiKey: '', baseUrl: withPassword(`${closed}/v1`) }, secrets: allForms });
		expect(items[0].json.error).toMatch(new RegExp(`ECONNREFUSED ${closed.replace('http://', '')}`));
		const tested = await byokCredentialTest.call({} as never, { id: '1', name: 'c', type: 'byokCustomApi', data: { baseUrl: withPassword(`${closed}/v1`) } });
		expect(tested.message).toMatch(/ECONNREFUSED/);
		for (const secret of allForms) expect(tested.message).not.toContain(secret);
	});

	test('the credential Test redacts the key as sent: trimmed, and URL-encoded', async () => {
		const key = 'sk-a/b+c=SECRET-987654';
		fake.enqueue({ status: 401, body: { error: { message: `Incorrect API key provided: ${key}; as a query: ${encodeURIComponent(key)} ${encodeURIComponent(key).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase())}` } } });
		const tested = await byokCredentialTest.call({} as never, { id: '1', name: 'c', type: 'byokOpenAiApi', data: { apiKey: `  ${key}\n`, baseUrl: fake.baseUrl } });
		expect(fake.requests[0].headers.authorization).toBe(`Bearer ${key}`);
		expect(tested.message).toBe('HTTP 401: Incorrect API key provided: ***; as a query: *** ***');
	});

	test('URL-encoded echoes of a key are redacted in error items', async () => {
		const key = 'sk-x/y+z=SECRET-555555';
		primaryAnswers({ status: 403, body: { message: `key ${encodeURIComponent(key)} may not use this model` } });
		const { items } = await run({ fallback: false, primary: { apiKey: key }, secrets: [key, encodeURIComponent(key)] });
		expect(items[0].json.error).toBe('HTTP 403: key *** may not use this model');
	});

	test('redact: trimmed, URL-encoded (either hex case), and credentials or queries in any URL', () => {
		expect(redact('a k/y+1234 b k%2Fy%2B1234 c k%2fy%2b1234', [' k/y+1234\n'])).toBe('a *** b *** c ***');
		expect(redact('see https://u:pw@host.test:8080/v1/models?key=abc#x and http://h/p', [])).toBe('see https://host.test:8080/v1/models and http://h/p');
	});
});

describe('schema checks', () => {
	test.each([
		[{ $ref: '#' }, 'schema.$ref loops back to schema'],
		[{ $ref: '#/$defs/a', $defs: { a: { $ref: '#/$defs/b' }, b: { $ref: '#/$defs/a' } } }, 'schema.$defs.b.$ref loops back to schema.$defs.a'],
		[{ type: 'object', properties: { x: { anyOf: [{ type: 'string' }, { $ref: '#/properties/x' }] } } }, 'schema.properties.x.anyOf[1].$ref loops back to schema.properties.x'],
		[{ definitions: { n: { allOf: [{ $ref: '#/definitions/n' }] } }, type: 'array', items: { $ref: '#/definitions/n' } }, 'schema.definitions.n.allOf[0].$ref loops back to schema.definitions.n'],
	])('a $ref loop that reads no data is refused: %j', (schema, problem) => {
		expect(() => checkSchema(schema)).toThrow(InputError);
		expect(() => checkSchema(schema)).toThrow(`The JSON schema is invalid: ${problem} without reading any data, so it could never be checked.`);
	});

	test('$refs that point nowhere are refused', () => {
		expect(() => checkSchema({ type: 'object', properties: { a: { $ref: '#/$defs/missing' } } })).toThrow(/schema\.properties\.a\.\$ref "#\/\$defs\/missing" points at nothing in the schema/);
		expect(() => checkSchema({ $ref: 'https://example.test/schema.json' })).toThrow(/points at nothing in the schema/);
	});

	test('recursion that reads data is fine, and validated', () => {
		const tree = { type: 'object', properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#' } } }, required: ['name'] };
		expect(checkSchema(tree).schema).toEqual(tree);
		expect(validateAgainstSchema({ name: 'a', children: [{ name: 'b', children: [{}] }] }, tree)).toEqual(['$.children[0].children[0].name is required']);
	});

	test('the validator never overflows the stack: cyclic schemas and deep data give a problem', () => {
		const cyclic = { $ref: '#/$defs/a', $defs: { a: { $ref: '#/$defs/b' }, b: { allOf: [{ $ref: '#/$defs/a' }] } } };
		expect(validateAgainstSchema({}, cyclic)).toEqual([expect.stringMatching(/nested too deeply/)]);
		const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000));
		expect(validateAgainstSchema(deep, { type: 'array', items: { $ref: '#' } })).toEqual([expect.stringMatching(/nested too deeply/)]);
		const deepSchema = JSON.parse('{"items":'.repeat(20_000) + '{}' + '}'.repeat(20_000));
		expect(() => checkSchema(deepSchema)).toThrow(/nested too deeply/);
		expect(validateAgainstSchema(deep, deepSchema)).toEqual([expect.stringMatching(/nested too deeply/)]);
		expect(validateAgainstSchema(1, { enum: [deep] })).toEqual(['$ should be one of (a value nested too deeply to show)']);
	});

	test('only own properties count: inherited names are not present, nor allowed', () => {
		expect(validateAgainstSchema({}, { type: 'object', required: ['toString', 'constructor'] })).toEqual(['$.toString is required', '$.constructor is required']);
		const closed = { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false };
		expect(validateAgainstSchema(JSON.parse('{"constructor": 1, "__proto__": {"x": 1}, "toString": 2}'), closed)).toEqual([
			'$.constructor is not allowed',
			'$.__proto__ is not allowed',
			'$.toString is not allowed',
		]);
		expect(validateAgainstSchema('a', { $ref: '#/$defs/constructor', $defs: {} })).toEqual([]);
	});

	test('through the node: a cyclic schema fails before any request; __proto__ in an answer gets the repair', async () => {
		const cyclic = await run({ fallback: false, parameters: { responseFormat: 'json_schema', jsonSchema: '{"$ref": "#"}' } });
		expect(cyclic.items[0].json).toMatchObject({ field: 'jsonSchema', error: expect.stringMatching(/schema\.\$ref loops back to schema without reading any data/) });
		expect(fake.requests).toHaveLength(0);

		fake.enqueue(answer('{"city": "Paris", "__proto__": {"admin": true}}'), answer('{"city": "Paris"}'));
		const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
		const { items } = await run({ fallback: false, parameters: { responseFormat: 'json_schema', jsonSchema: JSON.stringify(schema) } });
		expect(items[0].json.json).toEqual({ city: 'Paris' });
		expect(fake.chatRequests[1].body.messages.at(-1)?.content).toMatch(/\$\.__proto__ is not allowed/);
	});
});

describe('smaller things users hit', () => {
	test('Image URLs as one string keep data URLs whole (comma- and newline-separated)', async () => {
		const png = 'data:image/png;base64,iVBORw0KGgo=';
		const jpeg = 'data:image/jpeg;base64,/9j/4AAQ';
		const { items } = await run({ fallback: false, parameters: { options: { imageUrls: `${png}, https://img.test/a.png,${jpeg}\nhttps://img.test/b.png` } } });
		expect(items[0].json.error).toBeUndefined();
		expect((fake.chatRequests[0].body.messages[0].content as ChatContentPart[]).slice(1).map((p) => p.image_url?.url)).toEqual([png, 'https://img.test/a.png', jpeg, 'https://img.test/b.png']);
	});

	test('a bad entry among Image URLs is still named', async () => {
		const { items } = await run({ fallback: false, parameters: { options: { imageUrls: 'data:image/png;base64,AAAA, cat.png' } } });
		expect(items[0].json).toMatchObject({ field: 'imageUrls', error: 'Image URL "cat.png" must start with http://, https:// or data:image/.' });
	});

	test('connection refused: the error item and the node error keep host and port', async () => {
		const closed = await startFakeProvider().then(async (f) => (await f.close(), f.url));
		const hostPort = closed.replace('http://', '');
		const expected = `Connection failed (ECONNREFUSED): connect ECONNREFUSED ${hostPort}`;
		const { items } = await run({ fallback: false, primary: { baseUrl: `${closed}/v1` } });
		expect(items[0].json).toMatchObject({ error: expected, errorKind: 'connection', description: expect.stringMatching(/^Could not reach the provider/) });
		const { error } = await run({ fallback: false, continueOnFail: false, primary: { baseUrl: `${closed}/v1` } });
		expect(error).toMatchObject({ message: expected, description: expect.stringMatching(/^Could not reach the provider/) });
	});

	test('"No model is selected" is an input error with field and description', async () => {
		const parameters = { model: byId('={{ $json.m }}') };
		const { items } = await run({ fallback: false, parameters, items: [{ json: { m: ' ' } }] });
		expect(items[0].json).toEqual({ error: 'No model is selected. Pick one from the list or enter its ID.', description: 'Check the "model" field for item 0.', field: 'model' });
		const { error } = await run({ fallback: false, continueOnFail: false, parameters, items: [{ json: { m: 'x' } }, { json: { m: '' } }] });
		expect(error).toMatchObject({ message: 'No model is selected. Pick one from the list or enter its ID.', description: 'Check the "model" field for item 1.' });
	});
});
