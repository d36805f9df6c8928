/**
 * The engine's call path beyond the fault matrix: a failed node stops calling, broken
 * credentials are skipped, answers cut off at Max Tokens, malformed tool calls, and streaming
 * (fallback only before the first token). Real HTTP against the fake provider.
 */
import { breakers } from '../nodes/llm/breaker';
import { connectionFromCredential } from '../nodes/llm/client';
import { backoff, complete, type Candidate } from '../nodes/llm/dispatch';
import { LlmError } from '../nodes/llm/errors';
import { limiters } from '../nodes/llm/limiter';
import { simpleMessages } from '../nodes/llm/request';
import { completion, startFakeProvider } from './fake-provider';
import { chatWorkflow, nodeOutput, runWorkflow, type StreamedChunk } from './helpers/workflow';

type Fake = Awaited<ReturnType<typeof startFakeProvider>>;
let fake: Fake;
const KEY = 'sk-dispatch-SECRET-1234567890';

beforeAll(async () => {
	fake = await startFakeProvider();
	backoff.baseMs = 20;
});
afterEach(() => {
	fake.reset();
	breakers.clear();
	limiters.clear();
});
afterAll(() => fake.close());

const byId = (value: string) => ({ __rl: true, mode: 'id', value });
const chats = () => fake.chatRequests;
const outcomes = (json: Record<string, unknown>) =>
	(json.attempts as Array<{ provider: string; model: string; outcome: string; status?: number }>).map((a) => `${a.provider}/${a.model}:${a.outcome}${a.status ? `:${a.status}` : ''}`);
const waitFor = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms));

async function runChat(
	parameters: Record<string, unknown>,
	o: { items?: Array<{ json: Record<string, unknown> }>; continueOnFail?: boolean; fbBaseUrl?: string; onChunk?: (chunk: StreamedChunk) => void } = {},
) {
	const result = await runWorkflow(
		chatWorkflow({
			items: o.items,
			continueOnFail: o.continueOnFail ?? true,
			nodeCredentials: { byokCustomApi: 'primary', byokOllamaApi: 'fb' },
			parameters: { providers: ['custom', 'ollama'], model: byId('main-model'), prompt: '={{ $json.p ?? "hello" }}', ...parameters },
		}),
		{ primary: { apiKey: KEY, baseUrl: fake.baseUrl }, fb: { apiKey: '', baseUrl: o.fbBaseUrl ?? `${fake.url}/fb/v1` } },
		{ onChunk: o.onChunk },
	);
	expect(JSON.stringify(result)).not.toContain(KEY);
	return nodeOutput(result);
}

describe('a node that has failed stops calling', () => {
	test('without continueOnFail, item 0 failing stops the rest: no new item is sent and requests in flight are aborted', async () => {
		fake.setHandler((r) => (JSON.stringify(r.body).includes('"p0"') ? { status: 400, body: { error: { message: 'bad item' } }, delayMs: 50 } : { delayMs: 2000 }));
		const items = Array.from({ length: 200 }, (_, i) => ({ json: { p: `p${i}` } }));
		const { error } = await runChat({ options: { concurrency: 16 } }, { items, continueOnFail: false });
		expect((error as unknown as { context: { itemIndex: number } }).context.itemIndex).toBe(0);
		expect(error?.message).toContain('bad item');
		await waitFor(300); // anything still queued would have been sent by now
		const sent = chats();
		expect(sent.length).toBeLessThanOrEqual(16);
		// Every other request that had started was abandoned by the client, not answered.
		expect(sent.filter((r) => !JSON.stringify(r.body).includes('"p0"')).every((r) => r.abandoned)).toBe(true);
	});

	test('with continueOnFail, every item still gets its answer or error', async () => {
		fake.setHandler((r) => (JSON.stringify(r.body).includes('"p0"') ? { status: 400, body: { error: { message: 'bad item' } } } : undefined));
		const items = Array.from({ length: 20 }, (_, i) => ({ json: { p: `p${i}` } }));
		const out = await runChat({ options: { concurrency: 4 } }, { items });
		expect(out.items.map((i) => i.json.errorKind ?? i.json.text)).toEqual(['bad_request', ...items.slice(1).map((i) => `echo: ${i.json.p}`)]);
		expect(chats()).toHaveLength(20);
	});
});

describe('candidates, not model names', () => {
	test('a fallback whose credential is broken is skipped with an attempt saying why; the primary answers', async () => {
		const { items } = await runChat({ fallbacks: { fallback: [{ provider: 'ollama', model: 'fb-model' }] } }, { fbBaseUrl: 'not a url' });
		expect(items[0].json).toMatchObject({ text: 'echo: hello', provider: 'custom', fallbackUsed: false });
		expect(chats()).toHaveLength(1);
	});

	test('a broken fallback after a failing primary: the error shows the primary\'s failure and the skip', async () => {
		fake.setHandler(() => ({ status: 503, body: { error: { message: 'down' } } }));
		const { items } = await runChat({ fallbacks: { fallback: [{ provider: 'ollama', model: 'fb-model' }] }, options: { retries: 0 } }, { fbBaseUrl: 'not a url' });
		expect(items[0].json).toMatchObject({ errorKind: 'server', status: 503, error: 'HTTP 503: down' });
		expect(outcomes(items[0].json)).toEqual(['custom/main-model:server:503', 'ollama/fb-model:invalid_credential']);
		expect((items[0].json.attempts as Array<Record<string, unknown>>)[1]).toMatchObject({ skipped: true, reason: expect.stringMatching(/Base URL/) });
	});

	test('every skip is in attempts: an open breaker too', async () => {
		fake.setHandler((r) => (r.path.startsWith('/v1/') ? { status: 503, body: { error: { message: 'down' } } } : undefined));
		const parameters = { fallbacks: { fallback: [{ provider: 'ollama', model: 'fb-model' }] }, options: { retries: 0, breakerThreshold: 1 } };
		await runChat(parameters);
		const { items } = await runChat(parameters);
		expect(outcomes(items[0].json)).toEqual(['custom/main-model:breaker_open', 'ollama/fb-model:ok:200']);
		expect((items[0].json.attempts as Array<Record<string, unknown>>)[0]).toMatchObject({ skipped: true, reason: expect.stringMatching(/circuit breaker/) });
	});
});

describe('answers that cannot be used', () => {
	test('JSON cut off at Max Tokens is reported as such, with no repair round', async () => {
		fake.setHandler((r) => ({ body: completion(r.body, '{"name": "Ada", "bio": "Ada was a mathema', { finishReason: 'length' }) }));
		const { items } = await runChat({ responseFormat: 'json_object', options: { maxTokens: 12 } });
		expect(items[0].json).toMatchObject({ errorKind: 'cut_off' });
		expect(items[0].json.error).toMatch(/cut off at Max Tokens \(12\).*Raise Max Tokens/);
		expect(chats()).toHaveLength(1);
	});

	test('tool call arguments that are not JSON are flagged, the raw text kept', async () => {
		const calls = [
			{ id: 'call_ok', type: 'function', function: { name: 'lookup', arguments: '{"q": "oslo"}' } },
			{ id: 'call_bad', type: 'function', function: { name: 'lookup', arguments: '{"q": "osl' } },
		];
		fake.setHandler((r) => ({ body: completion(r.body, null, { message: { tool_calls: calls }, finishReason: 'tool_calls' }) }));
		const { items } = await runChat({ options: { tools: JSON.stringify([{ name: 'lookup', parameters: { type: 'object' } }]) } });
		expect(items[0].json.toolCalls).toEqual([
			{ id: 'call_ok', name: 'lookup', arguments: { q: 'oslo' } },
			{ id: 'call_bad', name: 'lookup', arguments: '{"q": "osl', argumentsError: expect.stringMatching(/not valid JSON/) },
		]);
	});

	test('malformed entries in an answer (tool_calls: [null]) are tolerated: one call, one attempt', async () => {
		fake.setHandler((r) => ({ body: completion(r.body, 'fine', { message: { tool_calls: [null] } }) }));
		const { items } = await runChat({});
		expect(items[0].json).toMatchObject({ text: 'fine' });
		expect(items[0].json.toolCalls).toBeUndefined();
		expect(outcomes(items[0].json)).toEqual(['custom/main-model:ok:200']);
		expect(chats()).toHaveLength(1);
	});
});

describe('streaming through the engine', () => {
	const candidate = (path: string, model = 'm'): Candidate => ({
		connection: connectionFromCredential('custom', { apiKey: KEY, baseUrl: `${fake.url}${path}` }, `cred${path}`),
		model,
	});
	const request = (text = 'stream me please') => ({ messages: simpleMessages('', text, []), options: {} });

	test('deltas arrive in order and add up to the final answer, with usage', async () => {
		const deltas: string[] = [];
		const result = await complete(request(), [candidate('/v1')], { timeoutMs: 5000, onDelta: (d) => d.text && deltas.push(d.text) });
		expect(deltas.length).toBeGreaterThan(2);
		expect(deltas.join('')).toBe('echo: stream me please');
		expect(result).toMatchObject({ text: 'echo: stream me please', finishReason: 'stop', usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 } });
		expect(chats()[0].body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
	});

	test('tool calls come back whole from a stream', async () => {
		const call = { id: 'call_1', type: 'function', function: { name: 'add', arguments: '{"a": 1, "b": 2}' } };
		fake.enqueue({ body: (b: { model: string }) => completion(b, null, { message: { tool_calls: [call] }, finishReason: 'tool_calls' }) });
		const result = await complete(request(), [candidate('/v1')], { timeoutMs: 5000, onDelta: () => undefined });
		expect(result.toolCalls).toEqual([{ id: 'call_1', name: 'add', arguments: { a: 1, b: 2 } }]);
		expect(result.finishReason).toBe('tool_calls');
	});

	test('a failure before the first token falls back; the fallback streams', async () => {
		fake.setHandler((r) => (r.path.startsWith('/v1/') ? { status: 503, body: { error: { message: 'down' } } } : undefined));
		const deltas: string[] = [];
		const result = await complete(request('hi there'), [candidate('/v1'), candidate('/fb/v1')], { timeoutMs: 5000, retries: 0, onDelta: (d) => d.text && deltas.push(d.text) });
		expect(result).toMatchObject({ candidateIndex: 1, text: 'echo: hi there' });
		expect(deltas.join('')).toBe('echo: hi there');
	});

	test('a stream that breaks after tokens were passed on is an error, never a silent restart or fallback', async () => {
		fake.enqueue({ body: (b: { model: string }) => completion(b, 'one two three four five six'), streamBreakAfter: 3, streamDelayMs: 30 });
		const deltas: string[] = [];
		const error = await complete(request(), [candidate('/v1'), candidate('/fb/v1')], { timeoutMs: 5000, onDelta: (d) => d.text && deltas.push(d.text) }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(LlmError);
		expect((error as LlmError).kind).toBe('stream_interrupted');
		expect(deltas.join('')).toBe('one two ');
		expect(chats()).toHaveLength(1);
		expect((error as LlmError).attempts.map((a) => a.outcome)).toEqual(['stream_interrupted']);
	});

	test('a stream that ends quietly without a finish reason is not taken for a whole answer', async () => {
		fake.enqueue({ body: (b: { model: string }) => completion(b, 'one two three four five six'), streamEndAfter: 3, streamDelayMs: 30 });
		const error = await complete(request(), [candidate('/v1')], { timeoutMs: 5000, onDelta: () => undefined }).catch((e: unknown) => e);
		expect((error as LlmError).kind).toBe('stream_interrupted');
		expect((error as LlmError).providerMessage).toMatch(/ended before the answer was finished/);
	});
});

describe('BYOK Chat streams through n8n when the workflow streams', () => {
	test('each item: begin, the answer piece by piece, end; the output item holds the whole answer', async () => {
		const chunks: StreamedChunk[] = [];
		const { items } = await runChat({}, { items: [{ json: { p: 'first one' } }, { json: { p: 'second' } }], onChunk: (c) => chunks.push(c), continueOnFail: false });
		expect(items.map((i) => i.json.text)).toEqual(['echo: first one', 'echo: second']);
		for (const [index, text] of ['echo: first one', 'echo: second'].entries()) {
			const mine = chunks.filter((c) => c.metadata.itemIndex === index);
			expect(mine[0].type).toBe('begin');
			expect(mine.at(-1)?.type).toBe('end');
			expect(mine.filter((c) => c.type === 'item').length).toBeGreaterThan(1);
			expect(mine.filter((c) => c.type === 'item').map((c) => c.content).join('')).toBe(text);
		}
		expect(chats().every((r) => r.body.stream === true)).toBe(true);
	});

	test('a stream that breaks mid-answer ends with an error chunk, no key in it', async () => {
		fake.enqueue({ body: (b: { model: string }) => completion(b, `one two three ${KEY} four`), streamBreakAfter: 3, streamDelayMs: 30 });
		const chunks: StreamedChunk[] = [];
		const { items } = await runChat({}, { onChunk: (c) => chunks.push(c) });
		expect(items[0].json).toMatchObject({ errorKind: 'stream_interrupted' });
		expect(chunks.map((c) => c.type)).toEqual(['begin', 'item', 'item', 'error']);
		expect(JSON.stringify(chunks)).not.toContain(KEY);
	});

	test('a JSON answer is not streamed', async () => {
		const chunks: StreamedChunk[] = [];
		fake.enqueue({ body: (b: { model: string }) => completion(b, '{"a": 1}') });
		const { items } = await runChat({ responseFormat: 'json_object' }, { onChunk: (c) => chunks.push(c) });
		expect(items[0].json.json).toEqual({ a: 1 });
		expect(chunks).toEqual([]);
		expect(chats()[0].body.stream).toBeUndefined();
	});
});

describe('the breaker counts what providers do, not our own waits', () => {
	test('requests that time out while waiting for a rate-limit slot (never sent) do not open the breaker', async () => {
		const connection = connectionFromCredential('custom', { apiKey: KEY, baseUrl: fake.baseUrl, requestsPerMinute: 1 }, 'slot-wait');
		const candidates: Candidate[] = [{ connection, model: 'main-model' }];
		const settings = { timeoutMs: 300, retries: 0, breaker: { threshold: 2, cooldownMs: 60_000 } };
		const request = { messages: simpleMessages('', 'hello', []), options: {} };
		await complete(request, candidates, settings); // takes the minute's one slot
		const outcomes: string[] = [];
		for (let i = 0; i < 4; i++) {
			const err = (await complete(request, candidates, settings).catch((e: unknown) => e)) as LlmError;
			outcomes.push(err.attempts.map((a) => a.outcome).join());
		}
		// Four local timeouts, none sent: the provider was never asked, so it is not paused.
		expect(outcomes).toEqual(['timeout', 'timeout', 'timeout', 'timeout']);
		expect(chats()).toHaveLength(1);
	});
});
