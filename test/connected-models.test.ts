/**
 * Version 2 of BYOK Chat and the Auto-Router, through n8n-core with real BYOK Chat Model
 * sub-nodes on their model inputs: one credential of their own, every other candidate from a
 * connected chain; who answered and each attempt in plain words; version 1 workflows unchanged;
 * the router's outputs never follow Mode. Real HTTP to the fake provider.
 */
import { NodeHelpers, Workflow, type INodeParameters, type INodeTypeDescription } from 'n8n-workflow';
import { ByokAutoRouter } from '../nodes/ByokAutoRouter/ByokAutoRouter.node';
import { ByokChat } from '../nodes/ByokChat/ByokChat.node';
import { breakers } from '../nodes/llm/breaker';
import { CATEGORIES } from '../nodes/llm/catalog';
import { connectionFromCredential } from '../nodes/llm/client';
import { backoff, complete, type Candidate } from '../nodes/llm/dispatch';
import type { LlmError } from '../nodes/llm/errors';
import { simpleMessages } from '../nodes/llm/request';
import { searchCategoryModels } from '../nodes/shared/n8n';
import { completion, startFakeProvider } from './fake-provider';
import { chatWorkflow, loadOptionsContext, nodeOutput, nodeOutputs, runWorkflow, type ChatWorkflowOptions, type ModelNode, type StreamedChunk } from './helpers/workflow';

type Fake = Awaited<ReturnType<typeof startFakeProvider>>;
let fake: Fake;
const KEY = 'sk-connected-SECRET-24680';
const FB_KEY = 'sk-connected-fallback-SECRET-13579';

beforeAll(async () => {
	fake = await startFakeProvider({ models: ['main-model', 'llama-3.3-70b-versatile', 'other'] });
	backoff.baseMs = 20;
});
afterEach(() => {
	fake.reset();
	breakers.clear();
});
afterAll(() => fake.close());

const byId = (value: string) => ({ __rl: true, mode: 'id', value });
const path = (record: { path: string }) => record.path.split('/v1/')[0];
/** Every credential a test uses, by id (also its name): the node's own on the fake's root, the others each on its own path. */
function credentials() {
	const onPath = (id: string, apiKey: string) => [id, { apiKey, baseUrl: `${fake.url}/${encodeURIComponent(id)}/v1` }];
	return { primary: { apiKey: KEY, baseUrl: fake.baseUrl }, ...Object.fromEntries([onPath('Groq (team key)', FB_KEY), onPath('Ollama (local)', ''), onPath('coder', FB_KEY), onPath('fast', FB_KEY)]) };
}

async function run(options: ChatWorkflowOptions, onChunk?: (chunk: StreamedChunk) => void) {
	const result = await runWorkflow(chatWorkflow({ credentialId: 'primary', continueOnFail: true, ...options }), credentials() as never, { onChunk });
	const text = JSON.stringify(result);
	expect(text).not.toContain(KEY);
	expect(text).not.toContain(FB_KEY);
	return result;
}

const groq: ModelNode = { name: 'Groq Fallback', credentialId: 'Groq (team key)', credentialType: 'byokGroqApi', provider: 'groq', model: 'llama-3.3-70b-versatile' };
const ollama: ModelNode = { name: 'Ollama Fallback', credentialId: 'Ollama (local)', credentialType: 'byokOllamaApi', provider: 'ollama', model: 'llama3.2' };

describe('BYOK Chat version 2', () => {
	const chat = (parameters: Record<string, unknown>, models?: ModelNode[], extra: Partial<ChatWorkflowOptions> = {}, onChunk?: (chunk: StreamedChunk) => void) =>
		run({ typeVersion: 2, parameters: { provider: 'custom', model: byId('main-model'), prompt: 'hello', options: {}, ...parameters }, models: [models], ...extra }, onChunk);

	test('the picked credential and model answer; the output says who, in words', async () => {
		const { items } = nodeOutput(await chat({}));
		expect(items[0].json).toMatchObject({
			text: 'echo: hello',
			provider: 'custom',
			model: 'main-model',
			answeredBy: 'Test primary · main-model',
			fallbackUsed: false,
			attempts: [{ provider: 'custom', model: 'main-model', outcome: 'ok', status: 200, note: 'answered' }],
		});
		expect(fake.chatRequests.map(path)).toEqual(['']);
	});

	test('primary 503: the BYOK Chat Models on Fallback Model answer in chain order, each on its own credential; this node\'s options apply', async () => {
		fake.setHandler((r: { path: string }) => (path(r) === '' || r.path.startsWith('/Groq') ? { status: 503, body: { error: { message: 'overloaded' } } } : undefined));
		const result = await chat({ options: { retriesBeforeFallback: 0, temperature: 0.4 } }, [{ ...groq, options: { temperature: 1.9 } }, ollama]);
		const { items } = nodeOutput(result);
		expect(items[0].json).toMatchObject({
			text: 'echo: hello',
			provider: 'ollama',
			model: 'llama3.2',
			answeredBy: 'Ollama (local) · llama3.2',
			fallbackUsed: true,
			attempts: [
				{ credential: 'Test primary', provider: 'custom', outcome: 'server', note: 'server error (HTTP 503), moved on to the next model' },
				{ credential: 'Groq (team key)', provider: 'groq', outcome: 'server', note: 'server error (HTTP 503), moved on to the next model' },
				{ credential: 'Ollama (local)', provider: 'ollama', outcome: 'ok', note: 'answered' },
			],
		});
		expect(fake.chatRequests.map((r) => `${path(r)} ${r.body.model} ${r.body.temperature}`)).toEqual([
			' main-model 0.4',
			'/Groq%20(team%20key) llama-3.3-70b-versatile 0.4',
			'/Ollama%20(local) llama3.2 0.4',
		]);
		// Each key went only to its own provider.
		expect(fake.chatRequests.map((r) => r.headers.authorization)).toEqual([`Bearer ${KEY}`, `Bearer ${FB_KEY}`, undefined]);
	});

	test('a disabled fallback sub-node is left out; a model that is not a BYOK Chat Model is a clear error', async () => {
		fake.setHandler(() => ({ status: 503, body: { error: { message: 'overloaded' } } }));
		const disabled = nodeOutput(await chat({ options: { retries: 0 } }, [{ ...groq, disabled: true }]));
		expect(disabled.items[0].json).toMatchObject({ errorKind: 'server', attempts: [{ provider: 'custom' }] });
		fake.reset();
		const foreign = nodeOutput(await chat({}, [{ name: 'Other Model', type: 'test.otherModel' }]));
		expect(foreign.items[0].json.error).toBe('The model connected to "Fallback Model" is not a BYOK Chat Model.');
		expect(fake.chatRequests).toHaveLength(0);
	});

	test('no model picked is flagged before anything runs; a fallback without one says so', async () => {
		await expect(chat({ model: byId('') })).rejects.toThrow(/The 'BYOK Chat' node has issues:\n- Parameter "Model" is required/);
		const sub = nodeOutput(await chat({}, [{ ...groq, model: '' }])).items[0].json;
		expect(sub.error).toBe('Error in sub-node Groq Fallback');
		expect(sub.description).toBe('No model is selected. Pick one from the list or enter its ID.');
		expect(fake.chatRequests).toHaveLength(0);
	});

	test('a streaming response streams the fallback\'s answer when the primary fails before its first token', async () => {
		fake.setHandler((r: { path: string }) => (path(r) === '' ? { status: 503, body: { error: { message: 'overloaded' } } } : undefined));
		const chunks: StreamedChunk[] = [];
		const result = await chat({ prompt: 'stream this', options: { retries: 0 } }, [groq], {}, (chunk) => chunks.push(chunk));
		expect(nodeOutput(result).items[0].json).toMatchObject({ text: 'echo: stream this', answeredBy: 'Groq (team key) · llama-3.3-70b-versatile' });
		expect(chunks.map((c) => c.type)).toEqual(['begin', ...chunks.slice(1, -1).map(() => 'item'), 'end']);
		expect(chunks.filter((c) => c.type === 'item').map((c) => c.content).join('')).toBe('echo: stream this');
		expect(chunks.filter((c) => c.type === 'item').length).toBeGreaterThan(1); // piece by piece, not the whole answer at the end
		expect(fake.chatRequests.every((r: { body: { stream?: boolean } }) => r.body.stream === true)).toBe(true);
	});

	test('items run concurrently, in order, with pairedItem', async () => {
		fake.setHandler((r) => ({ delayMs: r.body.messages.at(-1)?.content === 'p0' ? 80 : 0 }));
		const items = Array.from({ length: 6 }, (_, i) => ({ json: { p: `p${i}` } }));
		const out = nodeOutput(await chat({ prompt: '={{ $json.p }}' }, [groq], { items })).items;
		expect(out.map((i) => [i.json.text, i.pairedItem])).toEqual(items.map((_, i) => [`echo: p${i}`, { item: i }]));
		expect(fake.maxInFlight).toBeGreaterThan(1);
	});
});

describe('subtitles', () => {
	test('provider and model, and no dangling colon while no model is set (versions 1 and 2)', () => {
		const versions = new ByokChat().nodeVersions;
		const subtitle = (version: 1 | 2, parameters: Record<string, unknown>) => {
			const node = { id: 'c', name: 'BYOK Chat', type: 'n8n-nodes-byok.byokChat', typeVersion: version, position: [0, 0] as [number, number], parameters: parameters as never };
			const workflow = new Workflow({ nodes: [node], connections: {}, active: false, nodeTypes: { getByName: () => undefined, getByNameAndVersion: () => undefined, getKnownTypes: () => ({}) } as never });
			return workflow.expression.getSimpleParameterValue(node, versions[version].description.subtitle, 'internal', {});
		};
		expect(subtitle(2, { provider: 'groq', model: byId('') })).toBe('groq');
		expect(subtitle(2, { provider: 'groq', model: byId('llama-3.3-70b-versatile') })).toBe('groq: llama-3.3-70b-versatile');
		expect(subtitle(1, { providers: ['openai'], model: byId('') })).toBe('openai');
		expect(subtitle(1, { providers: ['openai'], model: byId('gpt-4.1-mini') })).toBe('openai: gpt-4.1-mini');
	});
});

describe('BYOK Chat version 1 workflows run unchanged', () => {
	test("the old fallback example's shape: Providers, Model, Fallbacks", async () => {
		fake.setHandler((r: { path: string }) => (path(r) === '' ? { status: 503, body: { error: { message: 'overloaded' } } } : undefined));
		const result = await run({
			typeVersion: 1,
			nodeCredentials: { byokCustomApi: 'primary', byokGroqApi: 'Groq (team key)', byokOllamaApi: 'Ollama (local)' },
			parameters: {
				providers: ['custom', 'groq', 'ollama'],
				model: byId('main-model'),
				promptType: 'simple',
				prompt: 'Write a haiku about resilient automation.',
				fallbacks: { fallback: [{ provider: 'groq', model: 'llama-3.3-70b-versatile' }, { provider: 'ollama', model: 'llama3.2' }] },
				options: { retries: 0 },
			},
		});
		expect(nodeOutput(result).items[0].json).toMatchObject({
			provider: 'groq',
			model: 'llama-3.3-70b-versatile',
			answeredBy: 'Test Groq (team key) · llama-3.3-70b-versatile',
			fallbackUsed: true,
			attempts: [{ provider: 'custom', outcome: 'server' }, { provider: 'groq', outcome: 'ok' }],
		});
	});
});

describe('Auto-Router version 2', () => {
	const NODE = 'Auto-Router';
	const REQUESTS = {
		fast: 'Hi there!',
		balanced: 'Write a friendly email to my team announcing that the office will be closed on Friday for maintenance, and remind them to take their laptops home.',
		code: 'Fix this Python function, it raises TypeError: def add(a, b): return a + str(b)',
	};
	const router = (parameters: Record<string, unknown>, o: { models?: Array<ModelNode[] | undefined>; credential?: boolean; provider?: string } = {}) =>
		run({
			nodeType: 'n8n-nodes-byok.byokAutoRouter',
			nodeName: NODE,
			typeVersion: 2,
			items: Object.entries(REQUESTS).map(([id, p]) => ({ json: { id, p } })),
			nodeCredentials: o.credential === false ? {} : { [o.provider === 'custom' ? 'byokCustomApi' : 'byokGroqApi']: 'primary' },
			parameters: { provider: o.provider ?? 'groq', prompt: '={{ $json.p }}', options: {}, ...parameters },
			models: o.models,
		});
	/** Category input index of each category. */
	const input = (category: (typeof CATEGORIES)[number]) => CATEGORIES.indexOf(category);
	const onInput = (category: (typeof CATEGORIES)[number], chain: ModelNode[]) => Object.assign([], { [input(category)]: chain }) as Array<ModelNode[] | undefined>;

	test('a chain on a category input answers that category; others use the picked model or the provider default', async () => {
		const coder: ModelNode = { name: 'Coder', credentialId: 'coder', model: 'qwen-coder' };
		const result = await router({ mode: 'route', outputs: 'one', balancedModel: byId('llama-3.3-70b-versatile') }, { models: onInput('code', [coder]) });
		const items = nodeOutput(result, NODE).items.map((i) => i.json);
		expect(items.map((j) => [(j.routing as { category: string }).category, j.answeredBy])).toEqual([
			['fast', 'Test primary · llama-3.1-8b-instant'],
			['balanced', 'Test primary · llama-3.3-70b-versatile'],
			['code', 'coder · qwen-coder'],
		]);
		expect(fake.chatRequests.map((r: { path: string; body: { model: string } }) => `${path(r)} ${r.body.model}`).sort()).toEqual([' llama-3.1-8b-instant', ' llama-3.3-70b-versatile', '/coder qwen-coder']);
	});

	test('Outputs = One per Category in Route and Complete: each answer leaves on its category\'s output', async () => {
		const outputs = nodeOutputs(await router({ mode: 'route', outputs: 'perCategory' }), NODE);
		expect(outputs).toHaveLength(6);
		expect(outputs.map((o) => o.map((i) => (i.json.routing as { category: string }).category))).toEqual([['fast'], ['balanced'], [], [], [], ['code']]);
		expect(outputs[input('code')][0]).toMatchObject({ json: { text: expect.stringContaining('echo: Fix this'), answeredBy: 'Test primary · qwen/qwen3-32b' }, pairedItem: { item: 2 } });
	});

	test('Classify Only with the rules needs no credential at all, on one output or six', async () => {
		const one = nodeOutputs(await router({ mode: 'classify', outputs: 'one', classifier: 'rules' }, { credential: false }), NODE);
		expect(one).toHaveLength(1);
		expect(one[0].map((i) => [i.json.id, (i.json.routing as { category: string }).category, i.pairedItem])).toEqual([
			['fast', 'fast', { item: 0 }],
			['balanced', 'balanced', { item: 1 }],
			['code', 'code', { item: 2 }],
		]);
		const six = nodeOutputs(await router({ mode: 'classify', outputs: 'perCategory', classifier: 'rules' }, { credential: false }), NODE);
		expect(six.map((o) => o.map((i) => i.json.id))).toEqual([['fast'], ['balanced'], [], [], [], ['code']]);
		expect(fake.requests).toHaveLength(0);
		// Route and Complete does need one.
		const route = nodeOutput(await router({ mode: 'route', outputs: 'one' }, { credential: false }), NODE);
		expect(route.items[0].json.error).toBe('Node does not have any credentials set for "byokGroqApi"');
		// ...and the editor asks for it there only: a credential is required where it is displayed.
		const description = new ByokAutoRouter().nodeVersions[2].description;
		const groqCredential = description.credentials!.find((c) => c.name === 'byokGroqApi')!;
		const shown = (mode: string) => NodeHelpers.displayParameter({ mode, provider: 'groq' }, groqCredential, { typeVersion: 2 } as never, description);
		expect([shown('route'), shown('classify')]).toEqual([true, false]);
	});

	test('Classify Only with the LLM asks the chain on the Fast input; without one the item says what to connect', async () => {
		fake.setHandler((r: { body: { model: string } }) => (r.body.model === 'tiny' ? { body: (b: object) => completion(b, 'reasoning') } : undefined));
		const asked = nodeOutputs(await router({ mode: 'classify', outputs: 'perCategory', classifier: 'llm' }, { credential: false, models: onInput('fast', [{ name: 'Tiny', credentialId: 'fast', model: 'tiny' }]) }), NODE);
		expect(asked[input('reasoning')].map((i) => i.json.id)).toEqual(['fast', 'balanced', 'code']);
		expect(fake.chatRequests.map(path)).toEqual(['/fast', '/fast', '/fast']);
		fake.reset();
		const missing = nodeOutputs(await router({ mode: 'classify', outputs: 'one', classifier: 'llm' }, { credential: false }), NODE);
		expect(missing[0][0].json.error).toBe('A Fast sub-node must be connected and enabled');
		expect(fake.requests).toHaveLength(0);
	});

	test('Custom has no defaults: an empty category is a clear error naming its field', async () => {
		const { items } = nodeOutput(await router({ mode: 'route', outputs: 'one' }, { provider: 'custom' }), NODE);
		expect(items[0].json).toMatchObject({
			error: 'No Fast model is set, and Custom (OpenAI-compatible) has no default for it. Pick one under Fast Model, or connect a BYOK Chat Model to the Fast input.',
			field: 'fastModel',
		});
	});

	test("a category's model list puts the provider's default first, marked", async () => {
		const ctx = loadOptionsContext(chatWorkflow({ nodeType: 'n8n-nodes-byok.byokAutoRouter', typeVersion: 2, credentialType: 'byokGroqApi', credentialId: 'primary', parameters: { provider: 'groq' } }), credentials() as never);
		expect((await searchCategoryModels('balanced').call(ctx)).results.map((r) => r.name)).toEqual(['llama-3.3-70b-versatile (default)', 'main-model', 'other']);
		expect((await searchCategoryModels('fast').call(ctx)).results[0]).toEqual({ name: "llama-3.1-8b-instant (default; not in this server's list)", value: 'llama-3.1-8b-instant' });
		expect((await searchCategoryModels('fast').call(ctx, 'oth')).results.map((r) => r.value)).toEqual(['other']);
	});

	test('changing Mode never changes the outputs or the inputs; only Outputs does', () => {
		const versions = new ByokAutoRouter().nodeVersions;
		const shape = (parameters: INodeParameters, description = versions[2].description) => {
			const node = { id: 'r', name: NODE, type: 'n8n-nodes-byok.byokAutoRouter', typeVersion: Number(description.version), position: [0, 0] as [number, number], parameters };
			const workflow = new Workflow({ nodes: [node], connections: {}, active: false, nodeTypes: { getByName: () => undefined, getByNameAndVersion: () => undefined, getKnownTypes: () => ({}) } as never });
			const names = (list: Array<string | { type: string; displayName?: string }>) => list.map((o) => (typeof o === 'string' ? o : `${o.type}:${o.displayName ?? ''}`));
			return { outputs: names(NodeHelpers.getNodeOutputs(workflow, node, description)), inputs: names(NodeHelpers.getNodeInputs(workflow, node, description as INodeTypeDescription)) };
		};
		for (const outputs of ['one', 'perCategory']) {
			expect(shape({ mode: 'classify', outputs, classifier: 'llm' })).toEqual(shape({ mode: 'route', outputs, classifier: 'llm' }));
		}
		// Version 1 (kept as it was for existing workflows) is the one whose outputs follow Mode.
		expect(shape({ mode: 'classify' }, versions[1].description).outputs).toHaveLength(6);
		expect(shape({ mode: 'route' }, versions[1].description).outputs).toHaveLength(1);
		expect(shape({ mode: 'route', outputs: 'one' }).outputs).toEqual(['main']);
		expect(shape({ mode: 'route', outputs: 'perCategory' }).outputs).toEqual(['main:Fast', 'main:Balanced', 'main:Reasoning', 'main:Long Context', 'main:Vision', 'main:Code']);
		expect(shape({ mode: 'route', outputs: 'one' }).inputs).toEqual(['main', ...CATEGORIES.map((_, k) => `ai_languageModel:${['Fast', 'Balanced', 'Reason', 'Long', 'Vision', 'Code'][k]}`)]);
	});
});

describe('attempt notes say what happened and what came next', () => {
	const candidate = (p: string, model = 'm'): Candidate => ({ connection: connectionFromCredential('custom', { apiKey: KEY, baseUrl: `${fake.url}/${p}/v1` }, `cred-${p}`, p), model });
	const ask = async (candidates: Candidate[], settings = {}) =>
		await complete({ messages: simpleMessages('', 'hi', []), options: {} }, candidates, { timeoutMs: 5000, ...settings }).catch((err: LlmError) => err);
	const notes = (outcome: { attempts: Array<{ note: string }> }) => outcome.attempts.map((a) => a.note);

	test('a wait beyond Max Wait, a retry, a request the provider rejects', async () => {
		fake.setHandler((r: { path: string }) => {
			if (r.path.startsWith('/slow/')) return { status: 429, headers: { 'retry-after': '120' }, body: { error: { message: 'slow down' } } };
			if (r.path.startsWith('/flaky/') && fake.chatRequests.filter((c: { path: string }) => c.path.startsWith('/flaky/')).length === 1) return { status: 502, body: 'bad gateway' };
			if (r.path.startsWith('/bad/')) return { status: 400, body: { error: { message: "Invalid value for 'temperature'" } } };
			return undefined;
		});
		expect(notes(await ask([candidate('slow'), candidate('flaky'), candidate('bad')], { maxWaitMs: 60_000 }))).toEqual([
			'rate limited (HTTP 429), asked to wait 120.0 s (over Max Wait), moved on to the next model',
			expect.stringMatching(/^server error \(HTTP 502\), retried after \d+ ms$/),
			'answered',
		]);
		expect(notes(await ask([candidate('bad'), candidate('flaky')]))).toEqual(['request rejected (HTTP 400), not retried: the same request would fail again']);
	});

	test('a candidate passed over by its breaker, and a JSON answer asked to be fixed', async () => {
		fake.setHandler((r: { path: string }) => (r.path.startsWith('/down/') ? { status: 503, body: { error: { message: 'down' } } } : undefined));
		await ask([candidate('down')], { retries: 0, breaker: { threshold: 1, cooldownMs: 60_000 } });
		expect(notes(await ask([candidate('down'), candidate('up')], { breaker: { threshold: 1, cooldownMs: 60_000 } }))).toEqual(['skipped: paused by its circuit breaker', 'answered']);
		fake.enqueue({ body: (b: object) => completion(b, 'not json') }, { body: (b: object) => completion(b, '{"ok": true}') });
		const repaired = await complete({ messages: simpleMessages('', 'hi', []), options: { responseFormat: { type: 'json_object' } } }, [candidate('up')], { timeoutMs: 5000 });
		expect(notes(repaired as never)).toEqual(['answer was not the JSON asked for (HTTP 200), asked the model to fix it', 'answered']);
	});
});
