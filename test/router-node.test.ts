/**
 * The Auto-Router through n8n-core: classify-only branching into six outputs (no credential
 * needed with the rules), route-and-complete through the engine, the LLM and hybrid classifiers
 * against the fake provider (and their failure falling back to the rules), the override,
 * catalog defaults per provider and provider-by-model-name.
 */
import { breakers } from '../nodes/llm/breaker';
import { CATEGORIES, PROVIDERS, providerForModel } from '../nodes/llm/catalog';
import { classifyByRules } from '../nodes/llm/classifier';
import type { ChatMessage } from '../nodes/llm/request';
import { categoryEntries, classificationMessages, localProbability, parseCategory } from '../nodes/llm/router';
import { completion, startFakeProvider } from './fake-provider';
import { chatWorkflow, nodeOutput, nodeOutputs, runWorkflow } from './helpers/workflow';

type Fake = Awaited<ReturnType<typeof startFakeProvider>>;
let fake: Fake;
const KEY = 'sk-router-SECRET-5550001112';
const NODE = 'Auto-Router';

beforeAll(async () => {
	fake = await startFakeProvider();
});
afterEach(() => {
	fake.reset();
	breakers.clear();
});
afterAll(() => fake.close());

const REQUESTS: Record<string, { p: string; image?: boolean }> = {
	fast: { p: 'Hi there!' },
	balanced: { p: 'Write a friendly email to my team announcing that the office will be closed on Friday for maintenance, and remind them to take their laptops home.' },
	reasoning: { p: 'A bag has 3 red and 5 blue marbles. If I draw two without replacement, what is the probability both are red? Show your reasoning step by step.' },
	long_context: { p: `Summarize this report:\n${'The quarterly results were discussed at length by the board. '.repeat(700)}` },
	vision: { p: 'What is in this picture?', image: true },
	code: { p: 'Fix this Python function, it raises TypeError: def add(a, b): return a + str(b)' },
};

function items() {
	return CATEGORIES.map((c) => ({ json: { id: c, p: REQUESTS[c].p, img: REQUESTS[c].image ? 'https://img.test/cat.png' : '' } }));
}

async function runRouter(parameters: Record<string, unknown>, o: { items?: Array<{ json: Record<string, unknown> }>; credentials?: boolean; continueOnFail?: boolean } = {}) {
	const wf = chatWorkflow({
		nodeType: 'n8n-nodes-byok.byokAutoRouter',
		nodeName: NODE,
		items: o.items ?? items(),
		continueOnFail: o.continueOnFail,
		nodeCredentials: o.credentials === false ? {} : { byokCustomApi: 'primary', byokOllamaApi: 'fb' },
		parameters: { prompt: '={{ $json.p }}', options: { imageUrls: '={{ $json.img }}' }, ...parameters },
	});
	const run = await runWorkflow(wf, { primary: { apiKey: KEY, baseUrl: fake.baseUrl }, fb: { apiKey: '', baseUrl: `${fake.url}/fb/v1` } });
	expect(JSON.stringify(run)).not.toContain(KEY);
	return run;
}

describe('classify only', () => {
	test('each item leaves on its category\'s output, with routing and pairedItem, and no credential at all', async () => {
		const run = await runRouter({ mode: 'classify' }, { credentials: false });
		const outputs = nodeOutputs(run, NODE);
		expect(outputs).toHaveLength(6);
		CATEGORIES.forEach((category, index) => {
			expect(outputs[index].map((i) => i.json.id)).toEqual([category]);
			expect(outputs[index][0].pairedItem).toEqual({ item: index });
			expect(outputs[index][0].json.routing).toMatchObject({ category, classifier: 'rules' });
			expect((outputs[index][0].json.routing as { confidence: number }).confidence).toBeGreaterThan(0);
			expect(String((outputs[index][0].json.routing as { reason: string }).reason).length).toBeGreaterThan(0);
		});
		expect(fake.requests).toHaveLength(0);
	});

	test('the override wins over the classifier, per item, and a bad one is a clear error', async () => {
		const run = await runRouter(
			{ mode: 'classify', categoryOverride: '={{ $json.force }}' },
			{ credentials: false, continueOnFail: true, items: [{ json: { p: 'Hi', force: 'code' } }, { json: { p: 'Hi', force: '' } }, { json: { p: 'Hi', force: 'smart' } }] },
		);
		const outputs = nodeOutputs(run, NODE);
		expect(outputs[CATEGORIES.indexOf('code')][0].json.routing).toMatchObject({ category: 'code', classifier: 'override' });
		expect(outputs[CATEGORIES.indexOf('fast')].map((i) => i.pairedItem)).toEqual([{ item: 1 }, { item: 2 }]);
		expect(outputs[CATEGORIES.indexOf('fast')][1].json.error).toMatch(/Category override "smart" is not one of fast, balanced/);
	});

	test('LLM classifier: the Fast model is asked with a tiny strict request and its answer decides', async () => {
		fake.setHandler(() => ({ body: (b: { model: string }) => completion(b, 'Reasoning') }));
		const run = await runRouter(
			{ mode: 'classify', classifier: 'llm', providers: ['custom'], categoryModels: { fast: 'tiny-model' } },
			{ items: [{ json: { p: 'Hi there!' } }] },
		);
		const outputs = nodeOutputs(run, NODE);
		expect(outputs[CATEGORIES.indexOf('reasoning')][0].json.routing).toMatchObject({ category: 'reasoning', classifier: 'llm' });
		const [req] = fake.chatRequests;
		expect(req.body).toMatchObject({ model: 'tiny-model', temperature: 0, max_tokens: 10 });
		expect(req.body.messages[1].content).toContain('Hi there!');
	});

	test('an LLM decision\'s confidence is the local classifier\'s probability for its category, not a fixed number', async () => {
		const prompts = ['Hi there!', 'Write a Python function that merges two sorted lists.', 'Tell me about the weather patterns around here lately.'];
		for (const answer of ['reasoning', 'code'] as const) {
			fake.reset();
			fake.setHandler(() => ({ body: (b: { model: string }) => completion(b, answer) }));
			const run = await runRouter({ mode: 'classify', classifier: 'llm', providers: ['custom'], categoryModels: { fast: 'tiny-model' } }, { items: prompts.map((p) => ({ json: { p } })) });
			const routings = nodeOutputs(run, NODE)[CATEGORIES.indexOf(answer)].map((i) => i.json.routing as { category: string; confidence: number; reason: string });
			expect(routings).toHaveLength(prompts.length);
			prompts.forEach((p, i) => {
				const local = classifyByRules([{ role: 'user', content: p }]);
				expect(routings[i]).toMatchObject({ category: answer, classifier: 'llm', confidence: localProbability(local, answer) });
				expect(Object.keys(routings[i]).sort()).toEqual(['category', 'classifier', 'confidence', 'reason']);
				expect(routings[i].reason).toContain(local.category === answer ? 'the local classifier agrees' : `the local classifier said ${local.category}`);
			});
		}
		// Agreeing with a sure local decision is confident; overruling it is not.
		const code = classifyByRules([{ role: 'user', content: prompts[1] }]);
		expect(localProbability(code, 'code')).toBeGreaterThan(0.9);
		expect(localProbability(code, 'reasoning')).toBeLessThan(0.1);
		expect(localProbability(classifyByRules([{ role: 'user', content: 'Hi there!' }]), 'reasoning')).toBeLessThan(0.1);
	});

	test('the LLM classifier sees a short follow-up with the previous user message and the system prompt, bounded', () => {
		const earlier = 'Write a Python function that flattens a nested list.';
		const conversation: ChatMessage[] = [
			{ role: 'system', content: `You are a helpful assistant. ${'Be kind. '.repeat(200)}` },
			{ role: 'user', content: 'What is the capital of Canada?' },
			{ role: 'assistant', content: 'Ottawa, a city of about a million people.' },
			{ role: 'user', content: earlier },
			{ role: 'assistant', content: 'def flatten(xs): ...' },
			{ role: 'user', content: 'now make it handle tuples too' },
		];
		const [instructions, request] = classificationMessages(conversation);
		expect(instructions.role).toBe('system');
		const text = request.content as string;
		expect(text).toContain('Request to classify:\n"""\nnow make it handle tuples too\n"""');
		expect(text).toContain(`The user's previous message (context only):\n"""\n${earlier}\n"""`);
		expect(text).toContain('System prompt of the conversation (context only):\n"""\nYou are a helpful assistant. Be kind.');
		// Only the turn before: not older turns, not the assistant's answers; the system prompt is cut.
		expect(text).not.toContain('Canada');
		expect(text).not.toContain('Ottawa');
		expect(text).not.toContain('def flatten');
		expect(text.length).toBeLessThan(1200);
		// A single message is sent alone; a long one by its start and end.
		const long = `Summarize: ${'word '.repeat(3000)}THE END`;
		const single = classificationMessages([{ role: 'user', content: long }])[1].content as string;
		expect(single).not.toContain('context only');
		expect(single).toContain('Summarize: word');
		expect(single).toContain('THE END');
		expect(single.length).toBeLessThan(4200);
	});

	test('LLM classifier failing (500, timeout) falls back to the rules and says so', async () => {
		fake.setHandler(() => ({ status: 500, body: { error: { message: 'down' } } }));
		const run = await runRouter({ mode: 'classify', classifier: 'llm', providers: ['custom'], categoryModels: { fast: 'tiny-model' } }, { items: [{ json: { p: 'Hi there!' } }] });
		const routing = nodeOutputs(run, NODE)[CATEGORIES.indexOf('fast')][0].json.routing as Record<string, unknown>;
		expect(routing).toMatchObject({ category: 'fast', classifier: 'rules' });
		expect(routing.reason).toMatch(/LLM classifier failed: server 500; used the rules/);

		fake.reset();
		fake.setHandler(() => ({ hang: true }));
		const slow = await runRouter({ mode: 'classify', classifier: 'llm', providers: ['custom'], categoryModels: { fast: 'tiny-model' }, options: { classifierTimeout: 1 } }, { items: [{ json: { p: 'Hi there!' } }] });
		expect((nodeOutputs(slow, NODE)[0][0].json.routing as Record<string, unknown>).reason).toMatch(/LLM classifier failed: timeout/);
	});

	test('hybrid asks the LLM only when the rules are unsure; images never go to the LLM', async () => {
		fake.setHandler(() => ({ body: (b: { model: string }) => completion(b, 'code') }));
		await runRouter({ mode: 'classify', classifier: 'hybrid', providers: ['custom'], categoryModels: { fast: 'tiny' }, options: { hybridThreshold: 0 } });
		expect(fake.chatRequests).toHaveLength(0);
		const run = await runRouter({ mode: 'classify', classifier: 'hybrid', providers: ['custom'], categoryModels: { fast: 'tiny' }, options: { hybridThreshold: 1.01, imageUrls: '={{ $json.img }}' } });
		const outputs = nodeOutputs(run, NODE);
		expect(outputs[CATEGORIES.indexOf('vision')].map((i) => i.json.id)).toEqual(['vision']);
		expect(outputs[CATEGORIES.indexOf('long_context')].map((i) => i.json.id)).toEqual(['long_context']);
		expect(fake.chatRequests).toHaveLength(4);
	});
});

describe('route and complete', () => {
	test('classifies, calls the category\'s models through the engine, and adds routing to the answer', async () => {
		const run = await runRouter({
			mode: 'route',
			providers: ['custom'],
			categoryModels: { fast: 'small-model', balanced: 'mid-model', reasoning: 'think-model', long_context: 'long-model', vision: 'eye-model', code: 'code-model' },
		});
		const { items: out, error } = nodeOutput(run, NODE);
		expect(error).toBeUndefined();
		expect(out.map((i) => i.json.model)).toEqual(['small-model', 'mid-model', 'think-model', 'long-model', 'eye-model', 'code-model']);
		expect(out.map((i) => (i.json.routing as { category: string }).category)).toEqual([...CATEGORIES]);
		expect(out.map((i) => i.pairedItem)).toEqual(CATEGORIES.map((_, i) => ({ item: i })));
		expect(out[0].json.text).toBe('echo: Hi there!');
		const vision = fake.chatRequests.find((r) => r.body.model === 'eye-model');
		expect(vision?.body.messages[0].content?.[1]).toEqual({ type: 'image_url', image_url: { url: 'https://img.test/cat.png' } });
	});

	test('a category\'s list is a fallback chain across providers', async () => {
		fake.setHandler((r) => (r.path.startsWith('/v1/') ? { status: 503 } : undefined));
		const run = await runRouter(
			{ mode: 'route', providers: ['custom', 'ollama'], categoryModels: { fast: 'small-model, ollama:llama3.2' }, options: { retries: 0 } },
			{ items: [{ json: { p: 'Hi there!' } }] },
		);
		const [item] = nodeOutput(run, NODE).items;
		expect(item.json).toMatchObject({ provider: 'ollama', model: 'llama3.2', routing: { category: 'fast' } });
		expect((item.json.attempts as Array<{ outcome: string }>).map((a) => a.outcome)).toEqual(['server', 'ok']);
	});

	test('unset categories use the first provider\'s catalog defaults', async () => {
		const wf = await runWorkflow(
			chatWorkflow({
				nodeType: 'n8n-nodes-byok.byokAutoRouter',
				nodeName: NODE,
				items: [{ json: { p: 'Fix this SQL: SELEC * FROM users' } }],
				nodeCredentials: { byokOpenRouterApi: 'or' },
				parameters: { mode: 'route', providers: ['openrouter'], prompt: '={{ $json.p }}', options: {} },
			}),
			{ or: { apiKey: KEY, baseUrl: fake.baseUrl } },
		);
		expect(nodeOutput(wf, NODE).items[0].json).toMatchObject({ provider: 'openrouter', model: 'qwen/qwen3-coder-30b', routing: { category: 'code' } });
	});

	test('Custom has no defaults: a clear error says to set the category\'s models', async () => {
		const run = await runRouter({ mode: 'route', providers: ['custom'] }, { items: [{ json: { p: 'Hi there!' } }], continueOnFail: true });
		expect(nodeOutput(run, NODE).items[0].json.error).toMatch(/No model is set for the fast category/);
	});
});

describe('model lists and provider picking', () => {
	test('every provider but Custom has a default model for every category', () => {
		for (const p of PROVIDERS.filter((p) => p.id !== 'custom')) for (const c of CATEGORIES) expect(p.routerModels[c]).toMatch(/\S/);
	});

	test('provider by model name', () => {
		expect(providerForModel('claude-sonnet-4-5', 'groq')).toBe('anthropic');
		expect(providerForModel('gpt-4.1-mini', 'groq')).toBe('openai');
		expect(providerForModel('o3-mini', 'groq')).toBe('openai');
		expect(providerForModel('gemini-2.5-pro', 'groq')).toBe('gemini');
		expect(providerForModel('meta-llama/llama-3.3-70b', 'groq')).toBe('openrouter');
		expect(providerForModel('llama3.2:3b', 'groq')).toBe('ollama');
		expect(providerForModel('gpt-oss:20b', 'groq')).toBe('ollama');
		expect(providerForModel('mixtral-8x7b', 'groq')).toBe('groq');
	});

	test('category entries: explicit provider prefix, by name when asked, else the first provider', () => {
		expect(categoryEntries('groq:llama-3.3-70b-versatile, claude-haiku-4-5', 'fast', 'openai', false)).toEqual([
			{ provider: 'groq', model: 'llama-3.3-70b-versatile' },
			{ provider: 'openai', model: 'claude-haiku-4-5' },
		]);
		expect(categoryEntries('claude-haiku-4-5, qwen3:8b', 'fast', 'openai', true)).toEqual([
			{ provider: 'anthropic', model: 'claude-haiku-4-5' },
			{ provider: 'ollama', model: 'qwen3:8b' },
		]);
		expect(categoryEntries('', 'reasoning', 'openrouter', false)).toEqual([{ provider: 'openrouter', model: 'deepseek/deepseek-r1-distill-llama-70b' }]);
	});

	test('by-name routing through the node: a claude model needs Anthropic selected', async () => {
		const run = await runRouter(
			{ mode: 'route', providers: ['custom'], categoryModels: { fast: 'claude-haiku-4-5' }, options: { providerByModelName: true } },
			{ items: [{ json: { p: 'Hi there!' } }], continueOnFail: true },
		);
		expect(nodeOutput(run, NODE).items[0].json.error).toMatch(/Fast model 1 uses Anthropic, which is not selected under Providers/);
	});

	test('the LLM\'s answer is read leniently', () => {
		expect(parseCategory('Reasoning.')).toBe('reasoning');
		expect(parseCategory('`long context`')).toBe('long_context');
		expect(parseCategory('I think it is code')).toBe('code');
		expect(parseCategory('no idea')).toBeUndefined();
	});
});
