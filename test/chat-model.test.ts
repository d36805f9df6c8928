/**
 * BYOK Chat Model: the SDK model over the engine (generate, stream, withTools, conversions), and
 * the sub-node in real n8n-core with n8n's own SDK adapter (@n8n/ai-node-sdk 0.31.1, LangChain
 * 1.2.8 as in n8n 2.41.1), used the way the AI Agent uses a model. Real HTTP to the fake provider.
 */
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import type { Message, Tool } from '@n8n/ai-node-sdk';
import { NodeApiError, type ICredentialDataDecryptedObject, type INodeParameters } from 'n8n-workflow';
import { connectionFromCredential } from '../nodes/llm/client';
import { breakers } from '../nodes/llm/breaker';
import type { Candidate } from '../nodes/llm/dispatch';
import { chainOf } from '../nodes/shared/chain';
import { ByokModel, toChatMessages, toToolDefinitions, type ModelSetup } from '../nodes/shared/sdk-model';
import { toNodeError } from '../nodes/shared/n8n';
import { calculatorScript, completion, startFakeProvider, toolCallCompletion, type ChatToolCall } from './fake-provider';
import { modelUses, runWorkflow, nodeOutput, type TestWorkflow } from './helpers/workflow';

type Fake = Awaited<ReturnType<typeof startFakeProvider>>;
let fake: Fake;
const KEY = 'sk-model-test-4b1f9a2c7d';

beforeAll(async () => {
	fake = await startFakeProvider();
});
afterAll(async () => {
	await fake.close();
});
beforeEach(() => {
	fake.reset();
	breakers.clear();
});

const user = (text: string): Message => ({ role: 'user', content: [{ type: 'text', text }] });
const CALCULATOR: Tool = { type: 'function', name: 'calculator', description: 'Evaluates arithmetic', inputSchema: { type: 'object', properties: { input: { type: 'string' } } } };
const NODE = { id: 'n1', name: 'BYOK Chat Model', type: 'n8n-nodes-byok.byokChatModel', typeVersion: 1, position: [0, 0] as [number, number], parameters: {} };

function candidate(path: string, model = 'fake-small', providerId = 'custom', apiKey: string | undefined = KEY, credentialId = `cred-${path}`): Candidate {
	return { connection: connectionFromCredential(providerId, { apiKey, baseUrl: `${fake.url}${path}/v1` }, credentialId, credentialId), model };
}

function model(candidates: Candidate[], extra: Partial<ModelSetup> = {}): ByokModel {
	const secrets = candidates.map((c) => c.connection.apiKey);
	return new ByokModel({ node: 'BYOK Chat Model', candidates, options: {}, settings: { timeoutMs: 5000 }, toError: (err) => toNodeError(NODE, err, undefined, ...secrets), ...extra });
}

describe('ByokModel: the SDK model over the engine', () => {
	test('generate: tool calls come back as tool-call blocks with their ids, with usage and who answered', async () => {
		fake.enqueue({ body: (b: object) => toolCallCompletion(b, [{ name: 'calculator', arguments: { input: '6*7' } }, { name: 'calculator', arguments: { input: '2+2' } }]) });
		const result = await model([candidate('/a')]).withTools([CALCULATOR]).generate([user('6*7 and 2+2?')]);
		const calls = result.message.content.filter((c) => c.type === 'tool-call');
		expect(calls).toEqual([
			{ type: 'tool-call', toolCallId: expect.stringMatching(/^call_/), toolName: 'calculator', input: '{"input":"6*7"}' },
			{ type: 'tool-call', toolCallId: expect.stringMatching(/^call_/), toolName: 'calculator', input: '{"input":"2+2"}' },
		]);
		expect(calls[0].type === 'tool-call' && calls[1].type === 'tool-call' && calls[0].toolCallId !== calls[1].toolCallId).toBe(true);
		expect(result.finishReason).toBe('tool-calls');
		expect(result.usage).toEqual({ promptTokens: 10, completionTokens: 5, totalTokens: 15 });
		expect(result.providerMetadata).toMatchObject({ answeredBy: 'cred-/a · fake-small', fallbackUsed: false, attempts: [{ outcome: 'ok', status: 200, note: 'answered' }] });
		expect(fake.chatRequests[0].body.tools).toEqual([
			{ type: 'function', function: { name: 'calculator', description: 'Evaluates arithmetic', parameters: { type: 'object', properties: { input: { type: 'string' } } } } },
		]);
	});

	test('a tool call without an id gets a unique one (the Agent tracks its steps by id)', async () => {
		const noIds = (b: object) => {
			const c = toolCallCompletion(b, [{ name: 'calculator', arguments: {} }]);
			const call: Partial<ChatToolCall> = c.choices[0].message.tool_calls![0];
			delete call.id;
			return c;
		};
		fake.enqueue({ body: noIds }, { body: noIds });
		const m = model([candidate('/a')]).withTools([CALCULATOR]);
		const ids = [];
		for (let i = 0; i < 2; i++) {
			const block = (await m.generate([user('x')])).message.content.find((c) => c.type === 'tool-call');
			ids.push(block?.type === 'tool-call' ? block.toolCallId : undefined);
		}
		expect(ids[0]).toMatch(/^call_\w{8,}/);
		expect(ids[1]).toMatch(/^call_\w{8,}/);
		expect(ids[0]).not.toBe(ids[1]);
	});

	test('messages go out OpenAI-style: tool calls, tool results, images; reasoning is not sent back', () => {
		const messages: Message[] = [
			{ role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
			{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'file', mediaType: 'image/png', data: 'iVBORw0KGgo=' }] },
			{
				role: 'assistant',
				content: [
					{ type: 'reasoning', text: 'thinking...' },
					{ type: 'text', text: '' },
					{ type: 'tool-call', toolCallId: 'call_a', toolName: 'calculator', input: '{"input":"6*7"}' },
				],
			},
			{ role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_a', result: '42' }] },
			{ role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_b', result: [{ type: 'text', text: 'four' }] }] },
			{ role: 'assistant', content: [{ type: 'text', text: 'It is 42.' }] },
		];
		expect(toChatMessages(messages)).toEqual([
			{ role: 'system', content: 'Be brief.' },
			{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] },
			{ role: 'assistant', content: null, tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'calculator', arguments: '{"input":"6*7"}' } }] },
			{ role: 'tool', tool_call_id: 'call_a', content: '42' },
			{ role: 'tool', tool_call_id: 'call_b', content: 'four' },
			{ role: 'assistant', content: 'It is 42.' },
		]);
		expect(() => toChatMessages([{ role: 'user', content: [{ type: 'file', mediaType: 'application/pdf', data: 'JVBE' }] }])).toThrow(/application\/pdf file/);
	});

	test("tools: zod's $schema is dropped; provider tools are refused by name", () => {
		expect(toToolDefinitions([{ ...CALCULATOR, inputSchema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' } } as Tool])).toEqual([
			{ type: 'function', function: { name: 'calculator', description: 'Evaluates arithmetic', parameters: { type: 'object' } } },
		]);
		expect(() => toToolDefinitions([{ type: 'provider', name: 'web_search' }])).toThrow(/"web_search" is a provider-side tool/);
		expect(toToolDefinitions([])).toBeUndefined();
	});

	test('withTools returns a model with the same candidates and settings; the original offers no tools', async () => {
		const base = model([candidate('/a'), candidate('/b', 'fake-large')], { options: { temperature: 0.2 } });
		const withTools = base.withTools([CALCULATOR]);
		expect(chainOf({ chatModel: withTools })?.candidates).toBe(chainOf({ chatModel: base })?.candidates);
		expect(chainOf({ chatModel: withTools })?.candidates.map((c) => c.model)).toEqual(['fake-small', 'fake-large']);
		await withTools.generate([user('hi')]);
		await base.generate([user('hi')]);
		const [bound, plain] = fake.chatRequests.map((r: { body: Record<string, unknown> }) => r.body);
		expect(bound).toMatchObject({ temperature: 0.2, tools: [{ function: { name: 'calculator' } }] });
		expect(plain.temperature).toBe(0.2);
		expect(plain.tools).toBeUndefined();
	});

	test('the key is never enumerable, copied or serialized', () => {
		const m = model([candidate('/a')]).withTools([CALCULATOR]);
		expect(JSON.stringify(m)).not.toContain(KEY);
		expect(JSON.stringify({ ...m })).not.toContain(KEY);
		expect(Object.getOwnPropertySymbols(m)).toEqual([]);
		expect(chainOf({ chatModel: m })).toMatchObject({ node: 'BYOK Chat Model', candidates: [{ connection: { apiKey: KEY } }] });
		expect(chainOf({ chatModel: { ...m } })).toBeUndefined();
		expect(chainOf({ chatModel: {} })).toBeUndefined();
	});

	test('primary 503 -> the next candidate answers; who answered and every attempt are reported', async () => {
		fake.setHandler((r: { path: string }) => (r.path.startsWith('/down/') ? { status: 503, headers: { 'retry-after-ms': '10' }, body: { error: { message: 'overloaded' } } } : undefined));
		const result = await model([candidate('/down'), candidate('/up', 'fake-large', 'ollama', undefined)], { settings: { timeoutMs: 5000, retries: 1 } }).generate([user('hello')]);
		expect(result.message.content).toEqual([{ type: 'text', text: 'echo: hello' }]);
		expect(result.providerMetadata).toMatchObject({
			answeredBy: 'cred-/up · fake-large',
			fallbackUsed: true,
			attempts: [
				{ provider: 'custom', outcome: 'server', status: 503, note: 'server error (HTTP 503), retried after 10 ms' },
				{ provider: 'custom', outcome: 'server', status: 503, note: 'server error (HTTP 503), no retries left, moved on to the next model' },
				{ provider: 'ollama', outcome: 'ok', note: 'answered' },
			],
		});
	});

	test('an engine error reaches n8n as a NodeApiError with the provider words and what to do, never the key', async () => {
		fake.setHandler(() => ({ status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}.`, code: 'invalid_api_key' } } }));
		const err = await model([candidate('/a')]).generate([user('hi')]).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(NodeApiError);
		expect((err as NodeApiError).message).toBe('HTTP 401: Incorrect API key provided: ***.');
		expect((err as NodeApiError).description).toMatch(/rejected the API key/);
		expect(JSON.stringify(err)).not.toContain(KEY);
	});

	test('stream: text as the provider streams it, then each tool call whole with its id, then the finish with usage', async () => {
		fake.enqueue({
			streamDelayMs: 5,
			body: (b: object) => {
				const c = toolCallCompletion(b, [{ name: 'calculator', arguments: { input: '6*7' } }, { name: 'calculator', arguments: { input: '2+2' } }]);
				c.choices[0].message.content = 'Let me compute both.';
				return c;
			},
		});
		const chunks = [];
		for await (const chunk of model([candidate('/a')]).withTools([CALCULATOR]).stream([user('6*7 and 2+2?')])) chunks.push(chunk);
		expect(fake.chatRequests[0].body.stream).toBe(true);
		const text = chunks.filter((c) => c.type === 'text-delta');
		expect(text.map((c) => (c.type === 'text-delta' ? c.delta : ''))).toEqual(['Let ', 'me ', 'compute ', 'both.']);
		expect(chunks.slice(text.length).map((c) => c.type)).toEqual(['tool-call-delta', 'tool-call-delta', 'finish']);
		expect(chunks.slice(4, 6)).toEqual([
			{ type: 'tool-call-delta', id: expect.stringMatching(/^call_/), name: 'calculator', argumentsDelta: '{"input":"6*7"}' },
			{ type: 'tool-call-delta', id: expect.stringMatching(/^call_/), name: 'calculator', argumentsDelta: '{"input":"2+2"}' },
		]);
		expect(chunks[6]).toEqual({ type: 'finish', finishReason: 'tool-calls', usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 } });
	});

	test('stream: a stream that breaks after some tokens is an error after those tokens, never a restart or a fallback', async () => {
		fake.enqueue({ streamBreakAfter: 3, body: (b: object) => completion(b, 'one two three four five') });
		const chunks: string[] = [];
		const err = await (async () => {
			for await (const chunk of model([candidate('/a'), candidate('/b', 'fake-large')], { settings: { timeoutMs: 5000, retries: 2 } }).stream([user('count')])) {
				if (chunk.type === 'text-delta') chunks.push(chunk.delta);
			}
		})().catch((e: unknown) => e);
		expect(chunks).toEqual(['one ', 'two ']);
		expect(err).toBeInstanceOf(NodeApiError);
		expect((err as Error).message).toMatch(/^The answer stopped after part of it had been streamed/);
		expect(fake.chatRequests.map((r: { path: string }) => r.path)).toEqual(['/a/v1/chat/completions']);
	});

	test('stream: before the first token the chain still falls back; the fallback streams', async () => {
		fake.enqueue({ streamBreakAfter: 0 });
		const chunks: string[] = [];
		for await (const chunk of model([candidate('/a'), candidate('/b', 'fake-large')], { settings: { timeoutMs: 5000, retries: 0 } }).stream([user('hello there')])) {
			if (chunk.type === 'text-delta') chunks.push(chunk.delta);
		}
		expect(chunks).toEqual(['echo: ', 'hello ', 'there']);
		expect(fake.chatRequests.map((r: { path: string }) => r.path)).toEqual(['/a/v1/chat/completions', '/b/v1/chat/completions']);
	});

	test('stream: a failure is thrown from the stream as the n8n error, without the key', async () => {
		fake.setHandler(() => ({ status: 400, body: { error: { message: `bad request for ${KEY}` } } }));
		const chunks: unknown[] = [];
		const err = await (async () => {
			for await (const chunk of model([candidate('/a')]).stream([user('hi')])) chunks.push(chunk);
		})().catch((e: unknown) => e);
		expect(chunks).toEqual([]);
		expect(err).toBeInstanceOf(NodeApiError);
		expect((err as Error).message).toBe('HTTP 400: bad request for ***');
	});
});

// ---------------------------------------------------------------------------------------------
// The sub-node in n8n-core, used through n8n's adapter as the AI Agent uses it

const CREDENTIALS: Record<string, ICredentialDataDecryptedObject> = {};
function credential(id: string, data: ICredentialDataDecryptedObject) {
	CREDENTIALS[id] = data;
	return { byokCustomApi: { id, name: id } };
}

interface SubNode {
	name: string;
	parameters?: INodeParameters;
	credentials?: Record<string, { id: string; name: string }>;
	type?: string;
}

/** Items -> Model User (runs `use`), fed by a chain of model sub-nodes: models[0] <- models[1] <- ... */
function modelWorkflow(use: string, models: SubNode[]): TestWorkflow {
	const nodes = [
		{ id: 'items', name: 'Items', type: 'test.items', typeVersion: 1, position: [0, 0] as [number, number], parameters: { items: '[{"json": {}}]' } },
		{ id: 'user', name: 'Model User', type: 'test.modelUser', typeVersion: 1, position: [200, 0] as [number, number], parameters: { use } },
		...models.map((m, n) => ({
			id: `model-${n}`,
			name: m.name,
			type: m.type ?? 'n8n-nodes-byok.byokChatModel',
			typeVersion: 1,
			position: [200 + 200 * n, 200] as [number, number],
			parameters: m.parameters ?? {},
			credentials: m.credentials,
		})),
	];
	const connections: TestWorkflow['connections'] = { Items: { main: [[{ node: 'Model User', type: 'main', index: 0 }]] } };
	models.forEach((m, n) => {
		connections[m.name] = { ai_languageModel: [[{ node: n === 0 ? 'Model User' : models[n - 1].name, type: 'ai_languageModel', index: 0 }]] };
	});
	return { nodes, connections };
}

const byokNode = (name: string, credentialId: string, path: string, model = 'fake-small', options: INodeParameters = {}): SubNode => ({
	name,
	parameters: { provider: 'custom', model: { __rl: true, mode: 'id', value: model }, options },
	credentials: credential(credentialId, { apiKey: KEY, baseUrl: `${fake.url}${path}/v1` }),
});

type LcModel = { bindTools(tools: unknown[]): LcModel; invoke(messages: BaseMessage[], options?: object): Promise<AIMessage> };
const LC_CALCULATOR = { type: 'function', function: { name: 'calculator', description: 'Evaluates arithmetic', parameters: { type: 'object', properties: { input: { type: 'string' } } } } };

function calculate(input: string): string {
	const [, a, op, b] = /^(\d+)\s*([*+])\s*(\d+)$/.exec(input) ?? [];
	return String(op === '*' ? Number(a) * Number(b) : Number(a) + Number(b));
}

/** The agent's loop: bind the tool, invoke, run each tool call, send the results back, until an answer. */
async function toolLoop(model: unknown, options?: () => object) {
	const bound = (model as LcModel).bindTools([LC_CALCULATOR]);
	const messages: BaseMessage[] = [new HumanMessage('What is 6 times 7, plus 1?')];
	for (let turn = 1; turn <= 5; turn++) {
		const reply = await bound.invoke(messages, options?.());
		messages.push(reply);
		if (!reply.tool_calls?.length) return { output: reply.text, turns: turn, toolCalls: messages.flatMap((m) => (m as AIMessage).tool_calls ?? []).length };
		for (const call of reply.tool_calls) messages.push(new ToolMessage({ tool_call_id: call.id!, content: calculate(String(call.args.input)) }));
	}
	throw new Error('no answer after 5 turns');
}

/** A callback handler like the one LangChain's streamEvents adds: its presence makes invoke() stream. */
class PreferStreaming extends BaseCallbackHandler {
	name = 'prefer-streaming';
	lc_prefer_streaming = true;
	tokens: string[] = [];
	async handleLLMNewToken(token: string) {
		this.tokens.push(token);
	}
}

modelUses.set('toolLoop', async (model) => await toolLoop(model));
modelUses.set('streamedToolLoop', async (model) => {
	const handler = new PreferStreaming();
	const result = await toolLoop(model, () => ({ callbacks: [handler] }));
	return { ...result, tokens: handler.tokens.filter(Boolean) };
});
modelUses.set('twoCallsStreamed', async (model) => {
	const reply = await (model as LcModel).bindTools([LC_CALCULATOR]).invoke([new HumanMessage('6*7 and 2+2?')], { callbacks: [new PreferStreaming()] });
	return { toolCalls: reply.tool_calls as unknown as Record<string, unknown>[], invalid: reply.invalid_tool_calls as unknown as Record<string, unknown>[] };
});
modelUses.set('invoke', async (model) => ({ text: (await (model as LcModel).invoke([new HumanMessage('hello')])).text }));

/** What n8n stored for each call of a model sub-node (as N8nLlmTracing writes it). */
function storedCalls(run: Awaited<ReturnType<typeof runWorkflow>>, name = 'BYOK Chat Model') {
	return (run.data.resultData.runData[name] ?? []).map((task) => {
		const json = (task.data?.ai_languageModel?.[0]?.[0]?.json ?? {}) as { response?: { generations?: Array<Array<{ text: string; generationInfo?: Record<string, unknown> }>> }; tokenUsage?: object };
		return { generation: json.response?.generations?.[0]?.[0], tokenUsage: json.tokenUsage, error: task.error };
	});
}

describe('BYOK Chat Model sub-node in n8n-core, through n8n\'s SDK adapter', () => {
	test("the agent's tool loop: tool calls round-trip; the sub-node's data shows tokens and who answered per call", async () => {
		fake.setHandler(calculatorScript);
		const run = await runWorkflow(modelWorkflow('toolLoop', [byokNode('BYOK Chat Model', 'loop', '/loop')]), CREDENTIALS);
		const { items, error } = nodeOutput(run, 'Model User');
		expect(error).toBeUndefined();
		expect(items[0].json).toEqual({ output: 'The answer is 43', turns: 3, toolCalls: 2 });
		const third = fake.chatRequests[2].body;
		expect(third.messages.filter((m) => m.role === 'tool').map((m) => m.content)).toEqual(['42', '43']);
		const calls = storedCalls(run);
		expect(calls).toHaveLength(3);
		for (const call of calls) {
			expect(call.tokenUsage).toEqual({ completionTokens: 5, promptTokens: 10, totalTokens: 15 });
			expect(call.generation?.generationInfo).toMatchObject({ answeredBy: 'loop · fake-small', fallbackUsed: false, attempts: [{ outcome: 'ok', note: 'answered' }] });
		}
		expect(calls[2].generation?.text).toBe('The answer is 43');
		expect(JSON.stringify(run.data)).not.toContain(KEY);
	});

	test('streamed (as the Agent when streaming is on): the same loop through stream(), who answered and real token usage on each call', async () => {
		fake.setHandler(calculatorScript);
		const run = await runWorkflow(modelWorkflow('streamedToolLoop', [byokNode('BYOK Chat Model', 'streamed', '/streamed')]), CREDENTIALS);
		const { items, error } = nodeOutput(run, 'Model User');
		expect(error).toBeUndefined();
		expect(items[0].json).toEqual({ output: 'The answer is 43', turns: 3, toolCalls: 2, tokens: ['The ', 'answer ', 'is ', '43'] });
		expect(fake.chatRequests.every((r: { body: { stream?: boolean } }) => r.body.stream === true)).toBe(true);
		const calls = storedCalls(run);
		expect(calls).toHaveLength(3);
		for (const call of calls) {
			expect(call.generation?.generationInfo).toMatchObject({ answeredBy: 'streamed · fake-small', attempts: [{ outcome: 'ok' }] });
			// The provider's own counts (from the stream's usage chunk), not n8n's estimate.
			expect(call.tokenUsage).toEqual({ promptTokens: 10, completionTokens: 5, totalTokens: 15 });
		}
	});

	test('streamed: two tool calls in one answer stay two calls with their own ids and arguments', async () => {
		fake.enqueue({ body: (b: object) => toolCallCompletion(b, [{ name: 'calculator', arguments: { input: '6*7' } }, { name: 'calculator', arguments: { input: '2+2' } }]) });
		const run = await runWorkflow(modelWorkflow('twoCallsStreamed', [byokNode('BYOK Chat Model', 'two', '/two')]), CREDENTIALS);
		const { items, error } = nodeOutput(run, 'Model User');
		expect(error).toBeUndefined();
		const { toolCalls, invalid } = items[0].json as { toolCalls: Array<{ id: string; args: unknown }>; invalid: unknown[] };
		expect(invalid).toEqual([]);
		expect(toolCalls.map((c) => c.args)).toEqual([{ input: '6*7' }, { input: '2+2' }]);
		expect(new Set(toolCalls.map((c) => c.id)).size).toBe(2);
	});

	test('a chain of sub-nodes is the fallback order, on each one\'s own credential; the head\'s options apply', async () => {
		fake.setHandler((r: { path: string }) => (r.path.startsWith('/first/') ? { status: 503, body: { error: { message: 'down' } } } : undefined));
		const chain = [
			byokNode('BYOK Chat Model', 'first', '/first', 'fake-small', { retries: 0, temperature: 0.3 }),
			byokNode('Second', 'second', '/second', 'fake-large', { temperature: 1.5 }),
			byokNode('Third', 'third', '/third', 'fake-vision'),
		];
		const run = await runWorkflow(modelWorkflow('invoke', chain), CREDENTIALS);
		expect(nodeOutput(run, 'Model User').items[0]?.json).toEqual({ text: 'echo: hello' });
		expect(fake.chatRequests.map((r) => `${r.path} ${r.body.model} ${r.body.temperature}`)).toEqual([
			'/first/v1/chat/completions fake-small 0.3',
			'/second/v1/chat/completions fake-large 0.3',
		]);
		expect(storedCalls(run)[0].generation?.generationInfo).toMatchObject({
			answeredBy: 'second · fake-large',
			fallbackUsed: true,
			attempts: [
				{ credential: 'first', model: 'fake-small', outcome: 'server', note: 'server error (HTTP 503), moved on to the next model' },
				{ credential: 'second', model: 'fake-large', outcome: 'ok', note: 'answered' },
			],
		});
	});

	test('a model that is not a BYOK Chat Model on the Fallback Model input is a clear error', async () => {
		const run = await runWorkflow(modelWorkflow('invoke', [byokNode('BYOK Chat Model', 'head', '/head'), { name: 'Other Model', type: 'test.otherModel' }]), CREDENTIALS);
		const { error } = nodeOutput(run, 'Model User');
		expect(error?.message).toBe('Error in sub-node BYOK Chat Model');
		expect(error?.description).toBe('The model connected to "Fallback Model" is not a BYOK Chat Model.');
		expect(fake.chatRequests).toHaveLength(0);
	});

	test('a failing call: the sub-node\'s data holds the readable error, the root gets it, no key anywhere', async () => {
		fake.setHandler(() => ({ status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}`, code: 'invalid_api_key' } } }));
		const run = await runWorkflow(modelWorkflow('invoke', [byokNode('BYOK Chat Model', 'denied', '/denied')]), CREDENTIALS);
		const { error } = nodeOutput(run, 'Model User');
		expect(error?.message).toBe('HTTP 401: Incorrect API key provided: ***');
		const [call] = storedCalls(run);
		expect(call.error?.message).toBe('HTTP 401: Incorrect API key provided: ***');
		expect(call.error?.description).toMatch(/rejected the API key/);
		expect(JSON.stringify(run.data)).not.toContain(KEY);
	});

	test('no model selected: the sub-node says so', async () => {
		const run = await runWorkflow(modelWorkflow('invoke', [{ ...byokNode('BYOK Chat Model', 'none', '/none'), parameters: { provider: 'custom', model: { __rl: true, mode: 'id', value: '' } } }]), CREDENTIALS);
		expect(nodeOutput(run, 'Model User').error?.description).toBe('No model is selected. Pick one from the list or enter its ID.');
	});

	describe('Route by Category: each call goes first to its category\'s model', () => {
		const routed = (extra: INodeParameters = {}, options: INodeParameters = {}): SubNode => {
			const node = byokNode('BYOK Chat Model', 'routed', '/routed', 'main-model', options);
			return { ...node, parameters: { ...node.parameters, routeByCategory: true, codeModel: { __rl: true, mode: 'id', value: 'coder-model' }, ...extra } };
		};
		const asked = () => fake.chatRequests.map((r: { body: { model: string } }) => r.body.model);

		modelUses.set('askTwice', async (model) => {
			const m = model as LcModel;
			await m.invoke([new HumanMessage('Write a Python function that parses an ISO date and returns the weekday, with a unit test.')]);
			await m.invoke([new HumanMessage('hi there!')]);
			return {};
		});

		test('a code request goes to the Code model, a greeting to the provider\'s default Fast model; the sub-node\'s data says which category and why', async () => {
			// OpenRouter's catalog defaults fill the categories left empty (Fast: openai/gpt-oss-20b).
			const node = routed();
			const openRouter = { ...node, parameters: { ...node.parameters, provider: 'openrouter' }, credentials: { byokOpenRouterApi: { id: 'routed-or', name: 'routed-or' } } };
			CREDENTIALS['routed-or'] = { apiKey: KEY, baseUrl: `${fake.url}/routed/v1` };
			const run = await runWorkflow(modelWorkflow('askTwice', [openRouter]), CREDENTIALS);
			expect(nodeOutput(run, 'Model User').error).toBeUndefined();
			expect(asked()).toEqual(['coder-model', 'openai/gpt-oss-20b']);
			const [first, second] = storedCalls(run).map((c) => c.generation?.generationInfo as { routing: { category: string; classifier: string; reason: string }; answeredBy: string });
			expect(first).toMatchObject({ routing: { category: 'code', classifier: 'rules' }, answeredBy: 'routed-or · coder-model' });
			expect(first.routing.reason.length).toBeGreaterThan(5);
			expect(second).toMatchObject({ routing: { category: 'fast' }, answeredBy: 'routed-or · openai/gpt-oss-20b' });
		});

		test('the category model failing falls back to the Model above, then the chain', async () => {
			fake.setHandler((r: { body: { model: string } }) => (r.body.model === 'coder-model' ? { status: 503, body: { error: { message: 'down' } } } : undefined));
			const run = await runWorkflow(modelWorkflow('askTwice', [routed({}, { retries: 0 })]), CREDENTIALS);
			expect(nodeOutput(run, 'Model User').error).toBeUndefined();
			// Custom has no defaults: a greeting (Fast, not set) goes straight to the Model above.
			expect(asked()).toEqual(['coder-model', 'main-model', 'main-model']);
			expect(storedCalls(run)[0].generation?.generationInfo).toMatchObject({ fallbackUsed: true, answeredBy: 'routed · main-model' });
		});

		test('off (the default): every call goes to the Model above', async () => {
			const run = await runWorkflow(modelWorkflow('askTwice', [{ ...routed(), parameters: { ...routed().parameters, routeByCategory: false } }]), CREDENTIALS);
			expect(nodeOutput(run, 'Model User').error).toBeUndefined();
			expect(asked()).toEqual(['main-model', 'main-model']);
			expect(storedCalls(run)[0].generation?.generationInfo).not.toHaveProperty('routing');
		});
	});
});
