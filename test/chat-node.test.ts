/**
 * BYOK Chat through n8n-core's WorkflowExecute, with the real node and credential classes,
 * against the fake provider over real HTTP.
 */
import { breakers } from '../nodes/llm/breaker';
import { PROVIDERS } from '../nodes/llm/catalog';
import { byokCredentialTest, searchModels } from '../nodes/shared/n8n';
import { completion, startFakeProvider } from './fake-provider';
import { chatWorkflow, loadOptionsContext, nodeOutput, runWorkflow } from './helpers/workflow';

type Fake = Awaited<ReturnType<typeof startFakeProvider>>;
let fake: Fake;
const KEY = 'sk-byok-test-SECRET-0123456789';

beforeAll(async () => {
	fake = await startFakeProvider({ models: ['zeta-model', 'alpha-model', 'gpt-4.1-mini', 'llava:13b'] });
});
afterEach(() => {
	fake.reset();
	breakers.clear();
});
afterAll(() => fake.close());

const byId = (value: string) => ({ __rl: true, mode: 'id', value });
const creds = (extra: Record<string, unknown> = {}) => ({ 'cred-1': { apiKey: KEY, baseUrl: fake.baseUrl, ...extra } });

async function runChat(parameters: Record<string, unknown>, opts: { items?: Array<{ json: Record<string, unknown>; binary?: Record<string, unknown> }>; continueOnFail?: boolean; credentialType?: string; credentials?: Record<string, Record<string, unknown>> } = {}) {
	const run = await runWorkflow(
		chatWorkflow({
			items: opts.items,
			continueOnFail: opts.continueOnFail,
			credentialType: opts.credentialType,
			parameters: { providers: ['custom'], model: byId('alpha-model'), promptType: 'simple', prompt: 'hello', options: {}, ...parameters },
		}),
		(opts.credentials ?? creds()) as never,
	);
	const out = nodeOutput(run);
	// Every run is scanned: the key must appear nowhere in what n8n keeps of the execution.
	expect(JSON.stringify(run)).not.toContain(KEY);
	return { ...out, run };
}

describe('providers and credentials', () => {
	test.each(PROVIDERS.map((p) => [p.id, p]))('%s: credential reaches its base URL with its headers', async (_id, provider) => {
		const baseUrl = `${fake.url}/${provider.id}/v1`;
		const credentials = { 'cred-1': { apiKey: KEY, baseUrl, siteUrl: 'https://example.test', appName: 'My App' } };
		const { items, error } = await runChat({ providers: [provider.id] }, { credentialType: provider.credentialType, credentials });
		expect(error).toBeUndefined();
		expect(items[0].json).toMatchObject({ text: 'echo: hello', provider: provider.id, model: 'alpha-model' });
		const [req] = fake.chatRequests;
		expect(req.method).toBe('POST');
		expect(req.path).toBe(`/${provider.id}/v1/chat/completions`);
		expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
		for (const [name, value] of Object.entries(provider.extraHeaders ?? {})) expect(req.headers[name.toLowerCase()]).toBe(value);
		for (const name of provider.keyHeaders ?? []) expect(req.headers[name.toLowerCase()]).toBe(KEY);
		for (const field of provider.headerFields ?? []) expect(req.headers[field.header.toLowerCase()]).toBeDefined();
		if (!provider.headerFields) expect(req.headers['x-title']).toBeUndefined();
	});

	test('OpenRouter sends the site URL and app name headers', async () => {
		const credentials = { 'cred-1': { apiKey: KEY, baseUrl: fake.baseUrl, siteUrl: 'https://example.test', appName: 'My App' } };
		await runChat({ providers: ['openrouter'] }, { credentialType: 'byokOpenRouterApi', credentials });
		expect(fake.chatRequests[0].headers).toMatchObject({ 'http-referer': 'https://example.test', 'x-title': 'My App' });
	});

	test('a keyless local server (Ollama) gets no Authorization header', async () => {
		const { items } = await runChat({ providers: ['ollama'] }, { credentialType: 'byokOllamaApi', credentials: { 'cred-1': { apiKey: '', baseUrl: fake.baseUrl } } });
		expect(items[0].json.text).toBe('echo: hello');
		expect(fake.chatRequests[0].headers.authorization).toBeUndefined();
	});

	test('the model list comes live from /models, unfiltered, sorted and searchable', async () => {
		const wf = chatWorkflow({ parameters: { providers: ['custom'], model: byId('') } });
		const ctx = loadOptionsContext(wf, creds());
		const all = await searchModels.call(ctx);
		expect(all.results.map((r) => r.value)).toEqual(['alpha-model', 'gpt-4.1-mini', 'llava:13b', 'zeta-model']);
		expect(fake.requests[0]).toMatchObject({ method: 'GET', path: '/v1/models' });
		expect(fake.requests[0].headers.authorization).toBe(`Bearer ${KEY}`);
		const some = await searchModels.call(ctx, 'LLAVA');
		expect(some.results).toEqual([{ name: 'llava:13b', value: 'llava:13b' }]);
	});

	test('the model list reports the provider\'s error without the key', async () => {
		fake.enqueue({ status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}`, code: 'invalid_api_key' } } });
		const ctx = loadOptionsContext(chatWorkflow({ parameters: { providers: ['custom'], model: byId('') } }), creds());
		const err = await searchModels.call(ctx).catch((e: Error) => e);
		expect(String((err as Error).message)).toContain('HTTP 401: Incorrect API key provided');
		expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain(KEY);
	});

	test('credential Test: success counts models; failure shows the provider\'s own error, redacted', async () => {
		const ok = await byokCredentialTest.call({} as never, { id: '1', name: 'c', type: 'byokCustomApi', data: { apiKey: KEY, baseUrl: fake.baseUrl } });
		expect(ok).toEqual({ status: 'OK', message: 'Connection successful: 4 models available' });
		fake.enqueue({ status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}. You can find your API key at ...`, code: 'invalid_api_key' } } });
		const bad = await byokCredentialTest.call({} as never, { id: '1', name: 'c', type: 'byokOpenAiApi', data: { apiKey: KEY, baseUrl: fake.baseUrl } });
		expect(bad.status).toBe('Error');
		expect(bad.message).toMatch(/^HTTP 401: Incorrect API key provided: \*\*\*/);
		const closedPort = await startFakeProvider().then(async (f) => (await f.close(), f.url));
		const unreachable = await byokCredentialTest.call({} as never, { id: '1', name: 'c', type: 'byokCustomApi', data: { baseUrl: `${closedPort}/v1` } });
		expect(unreachable).toMatchObject({ status: 'Error', message: expect.stringMatching(/ECONNREFUSED/) });
		const noUrl = await byokCredentialTest.call({} as never, { id: '1', name: 'c', type: 'byokCustomApi', data: { baseUrl: 'localhost:1234' } });
		expect(noUrl.message).toMatch(/must start with http/);
	});
});

describe('prompts, images and options', () => {
	test('simple prompt sends system and user messages and the chosen options', async () => {
		const { items } = await runChat({
			systemMessage: 'Be brief.',
			prompt: 'Say hi',
			options: { temperature: 0.2, maxTokens: 64, topP: 0.9, frequencyPenalty: 0.5, presencePenalty: -0.5, seed: 7, stop: 'END\nSTOP' },
		});
		expect(items[0].json.text).toBe('echo: Say hi');
		expect(fake.chatRequests[0].body).toEqual({
			model: 'alpha-model',
			messages: [
				{ role: 'system', content: 'Be brief.' },
				{ role: 'user', content: 'Say hi' },
			],
			temperature: 0.2,
			max_tokens: 64,
			top_p: 0.9,
			frequency_penalty: 0.5,
			presence_penalty: -0.5,
			seed: 7,
			stop: ['END', 'STOP'],
		});
	});

	test('messages mode sends the validated array as given', async () => {
		const messages = [
			{ role: 'system', content: 'sys' },
			{ role: 'user', content: 'q1' },
			{ role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
			{ role: 'tool', tool_call_id: 't1', content: '42' },
			{ role: 'user', content: [{ type: 'text', text: 'q2' }] },
		];
		const { items } = await runChat({ promptType: 'messages', messages: JSON.stringify(messages) });
		expect(items[0].json.text).toBe('echo: q2');
		expect(fake.chatRequests[0].body.messages).toEqual(messages);
	});

	test('images from a binary property and from URLs become image_url parts', async () => {
		const png = Buffer.from('89504e470d0a1a0a', 'hex').toString('base64');
		await runChat(
			{ prompt: 'What is this?', options: { imageBinaryProperties: 'photo', imageUrls: 'https://img.test/a.png, https://img.test/b.jpg' } },
			{ items: [{ json: {}, binary: { photo: { data: png, mimeType: 'image/png', fileName: 'a.png' } } }] },
		);
		expect(fake.chatRequests[0].body.messages[0].content).toEqual([
			{ type: 'text', text: 'What is this?' },
			{ type: 'image_url', image_url: { url: 'https://img.test/a.png' } },
			{ type: 'image_url', image_url: { url: 'https://img.test/b.jpg' } },
			{ type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
		]);
	});

	test('a binary that is missing or not an image is a clear per-item error', async () => {
		const { items } = await runChat(
			{ options: { imageBinaryProperties: 'photo' } },
			{ continueOnFail: true, items: [{ json: {} }, { json: {}, binary: { photo: { data: 'aGk=', mimeType: 'text/plain' } } }] },
		);
		expect(items[0].json.error).toMatch(/Item 0 has no binary property "photo"/);
		expect(items[1].json.error).toMatch(/Binary property "photo" of item 1 is text\/plain, not an image/);
		expect(fake.chatRequests).toHaveLength(0);
	});

	test('expressions are evaluated per item (prompt and model)', async () => {
		const { items } = await runChat(
			{ prompt: '={{ $json.q }}', model: { __rl: true, mode: 'id', value: '={{ $json.m }}' } },
			{ items: [{ json: { q: 'one', m: 'alpha-model' } }, { json: { q: 'two', m: 'zeta-model' } }] },
		);
		expect(items.map((i) => [i.json.text, i.json.model])).toEqual([
			['echo: one', 'alpha-model'],
			['echo: two', 'zeta-model'],
		]);
	});

	test('output carries usage, finish reason, latency and reasoning, and no prompt content in metadata', async () => {
		fake.enqueue({ body: (b: { model: string }) => completion(b, 'The answer is 4.', { message: { reasoning_content: '2+2 is 4' } }) });
		const { items } = await runChat({ prompt: 'SECRET PROMPT TEXT' });
		const json = items[0].json;
		expect(json).toMatchObject({ text: 'The answer is 4.', reasoning: '2+2 is 4', finishReason: 'stop', provider: 'custom', model: 'alpha-model', usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 } });
		expect(typeof json.latencyMs).toBe('number');
		expect(JSON.stringify(json)).not.toContain('SECRET PROMPT TEXT');
		expect(json.raw).toBeUndefined();
	});

	test('include raw response adds the provider body', async () => {
		const { items } = await runChat({ options: { includeRaw: true } });
		expect(items[0].json.raw).toMatchObject({ id: 'chatcmpl-fake', object: 'chat.completion' });
	});
});

describe('structured output and tools', () => {
	const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };

	test('JSON object: sent as response_format and parsed', async () => {
		fake.enqueue({ body: (b: { model: string }) => completion(b, '{"a": 1}') });
		const { items } = await runChat({ responseFormat: 'json_object' });
		expect(fake.chatRequests[0].body.response_format).toEqual({ type: 'json_object' });
		expect(items[0].json.json).toEqual({ a: 1 });
	});

	test('JSON schema: sent, validated and parsed', async () => {
		fake.enqueue({ body: (b: { model: string }) => completion(b, '```json\n{"city": "Paris"}\n```') });
		const { items } = await runChat({ responseFormat: 'json_schema', jsonSchema: JSON.stringify(schema) });
		expect(fake.chatRequests[0].body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema, strict: false } });
		expect(items[0].json.json).toEqual({ city: 'Paris' });
	});

	test('an answer that does not match gets one repair attempt', async () => {
		fake.enqueue(
			{ body: (b: { model: string }) => completion(b, '{"town": "Paris"}') },
			{ body: (b: { model: string }) => completion(b, '{"city": "Paris"}') },
		);
		const { items } = await runChat({ responseFormat: 'json_schema', jsonSchema: JSON.stringify(schema) });
		expect(items[0].json.json).toEqual({ city: 'Paris' });
		const repair = fake.chatRequests[1].body.messages;
		expect(repair[repair.length - 2]).toEqual({ role: 'assistant', content: '{"town": "Paris"}' });
		expect(repair[repair.length - 1].content).toMatch(/\$\.city is required/);
		expect(items[0].json.usage).toMatchObject({ totalTokens: 30 });
	});

	test('still invalid after the repair: a clear error', async () => {
		fake.setHandler(() => ({ body: (b: { model: string }) => completion(b, 'Sure! Paris.') }));
		const { error } = await runChat({ responseFormat: 'json_object' });
		expect(error?.message).toMatch(/could not be used as JSON after one repair attempt: the answer is not valid JSON/);
		expect(fake.chatRequests).toHaveLength(2);
	});

	test('a bad schema is refused before any request', async () => {
		const { error } = await runChat({ responseFormat: 'json_schema', jsonSchema: '{"type": "thing"}' });
		expect(error?.message).toMatch(/JSON schema is invalid: schema.type "thing"/);
		expect(fake.requests).toHaveLength(0);
	});

	test('tools are sent cleanly and tool calls come back structured', async () => {
		fake.enqueue({
			body: (b: { model: string }) =>
				completion(b, null, {
					finishReason: 'tool_calls',
					message: { tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
				}),
		});
		const tools = [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: null }];
		const { items } = await runChat({ options: { tools: JSON.stringify(tools), toolChoice: 'required' } });
		expect(fake.chatRequests[0].body.tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: tools[0].parameters } }]);
		expect(fake.chatRequests[0].body.tool_choice).toBe('required');
		expect(items[0].json).toMatchObject({ text: '', finishReason: 'tool_calls', toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Oslo' } }] });
	});
});

describe('items: concurrency, order, continueOnFail', () => {
	test('items run concurrently up to the option and come out in input order with pairedItem', async () => {
		// Earlier items answer slower, so completion order is the reverse of input order.
		fake.setHandler((req) => ({ delayMs: 200 - Number(/\d+/.exec(JSON.stringify(req.body.messages))?.[0] ?? 0) * 20 }));
		const items = Array.from({ length: 9 }, (_, i) => ({ json: { n: i } }));
		const out = await runChat({ prompt: '={{ "item " + $json.n }}', options: { concurrency: 3 } }, { items });
		expect(out.items.map((i) => i.json.text)).toEqual(items.map((i) => `echo: item ${i.json.n}`));
		expect(out.items.map((i) => i.pairedItem)).toEqual(items.map((_, i) => ({ item: i })));
		expect(fake.maxInFlight).toBe(3);
	});

	test('the default concurrency is 4', async () => {
		fake.setHandler(() => ({ delayMs: 50 }));
		await runChat({}, { items: Array.from({ length: 10 }, () => ({ json: {} })) });
		expect(fake.maxInFlight).toBe(4);
	});

	test('continueOnFail: the failing item becomes an error item in place, the others go on', async () => {
		fake.setHandler((req) => (JSON.stringify(req.body).includes('bad') ? { status: 400, body: { error: { message: 'Invalid value for temperature' } } } : undefined));
		const { items, error } = await runChat({ prompt: '={{ $json.p }}' }, { continueOnFail: true, items: [{ json: { p: 'a' } }, { json: { p: 'bad' } }, { json: { p: 'c' } }] });
		expect(error).toBeUndefined();
		expect(items.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(items[0].json.text).toBe('echo: a');
		expect(items[1].json).toMatchObject({ error: 'HTTP 400: Invalid value for temperature', errorKind: 'bad_request', status: 400 });
		expect(items[2].json.text).toBe('echo: c');
	});

	test('without continueOnFail the node fails with the item index, status and provider message', async () => {
		fake.setHandler((req) => (JSON.stringify(req.body).includes('bad') ? { status: 404, body: { error: { message: 'The model `alpha-model` does not exist', code: 'model_not_found' } } } : undefined));
		const { error } = await runChat({ prompt: '={{ $json.p }}' }, { items: [{ json: { p: 'a' } }, { json: { p: 'bad' } }] });
		expect(error).toMatchObject({ message: 'HTTP 404: The model `alpha-model` does not exist', httpCode: '404' });
		expect((error as unknown as { context: { itemIndex: number } }).context.itemIndex).toBe(1);
		expect(String(error?.description)).toMatch(/does not know this model/);
	});
});

describe('bad input', () => {
	test('malformed messages name the item and the problem', async () => {
		const { items } = await runChat(
			{ promptType: 'messages', messages: '={{ $json.messages }}' },
			{ continueOnFail: true, items: [{ json: { messages: [{ role: 'user', content: 'ok' }] } }, { json: { messages: [{ role: 'user' }, { role: 'wizard', content: 'x' }] } }] },
		);
		expect(items[0].json.text).toBe('echo: ok');
		expect(items[1].json.error).toMatch(/Messages are malformed: messages\[0\]\.content: Required; messages\[1\]\.role: must be one of/);
		expect(items[1].json.description).toBe('Check the "messages" field for item 1.');
	});

	test('an empty prompt is a clear error and sends nothing', async () => {
		const { error } = await runChat({ prompt: '={{ $json.p }}' }, { items: [{ json: { p: '' } }] });
		expect(error?.message).toMatch(/The prompt is empty/);
		expect(fake.requests).toHaveLength(0);
	});

	test('a bad base URL is a clear error', async () => {
		const { error } = await runChat({}, { credentials: { 'cred-1': { apiKey: KEY, baseUrl: 'api.example.test/v1' } } });
		expect(error?.message).toMatch(/Base URL "api.example.test\/v1" is not a valid URL. Use a full URL/);
	});

	test('no model selected is a clear error', async () => {
		const { error } = await runChat({ model: byId('={{ $json.m }}') }, { items: [{ json: { m: ' ' } }] });
		expect(error?.message).toMatch(/No model is selected/);
	});
});

describe('provider failures reach the user readably, never with the key', () => {
	test.each([
		['401 echoing the key', { status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}` } } }, /HTTP 401: Incorrect API key provided: \*\*\*/, 'auth'],
		['HTML error page', { status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' }, /HTTP 502: HTML page: 502 Bad Gateway/, 'server'],
		['HTML with 200', { status: 200, body: '<!doctype html><html><body>Welcome</body></html>' }, /got an HTML page/, 'invalid_response'],
		['invalid JSON', { status: 200, body: '{"choices": [', headers: { 'content-type': 'application/json' } }, /not valid JSON/, 'invalid_response'],
		['no choices', { body: { id: 'x', choices: [] } }, /without any choices/, 'invalid_response'],
		['connection reset', { reset: true }, /Connection failed/, 'connection'],
		['reset mid-body', { resetMidBody: true, body: (b: { model: string }) => completion(b, 'x'.repeat(5000)) }, /Connection failed|not valid JSON/, undefined],
	])('%s', async (_name, step, message, kind) => {
		fake.setHandler(() => step);
		const { items } = await runChat({ options: { retries: 0 } }, { continueOnFail: true });
		expect(items).toHaveLength(1);
		expect(items[0].json.error).toMatch(message);
		if (kind) expect(items[0].json.errorKind).toBe(kind);
		expect(items[0].pairedItem).toEqual({ item: 0 });
	});

	test('a hanging server hits the timeout option', async () => {
		fake.setHandler(() => ({ hang: true }));
		const { items } = await runChat({ options: { timeout: 1, retries: 0 } }, { continueOnFail: true });
		expect(items[0].json).toMatchObject({ errorKind: 'timeout', error: 'No answer within 1 s.' });
		expect(items[0].json.description).toMatch(/Raise the Timeout option/);
	});
});
