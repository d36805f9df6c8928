/**
 * Cost per request: the price table (@pydantic/genai-prices, bundled data) for known models, with
 * cached-input and reasoning tokens at their own rates; the credential's own prices winning;
 * unknown prices as null with a reason, never 0. Expected figures are computed from the table's
 * own per-million prices, so they hold when the table is updated.
 */
import { findProvider } from '@pydantic/genai-prices';
import { getProvider, PROVIDERS } from '../nodes/llm/catalog';
import { costOf } from '../nodes/llm/pricing';
import { startFakeProvider } from './fake-provider';
import { chatWorkflow, nodeOutput, runWorkflow } from './helpers/workflow';

/** The table's per-million price of `key` for a model, as the table lists it. */
function listed(tableProvider: string, modelId: string, key: string): number {
	const model = findProvider({ providerId: tableProvider })?.models.find((m) => m.id === modelId);
	const price = (model?.prices as Record<string, unknown> | undefined)?.[key];
	if (typeof price !== 'number') throw new Error(`${tableProvider} ${modelId} has no flat ${key} in the table`);
	return price;
}
const usd = (n: number) => Math.round(n * 1e9) / 1e9;

describe('the price table', () => {
	test('every catalog provider with a price table id is in the bundled table', () => {
		const mapped = PROVIDERS.filter((p) => p.priceTable);
		expect(mapped.map((p) => p.id)).toEqual(['openai', 'anthropic', 'gemini', 'groq', 'openrouter', 'deepseek', 'mistral', 'xai', 'moonshot', 'together']);
		for (const p of mapped) expect(findProvider({ providerId: p.priceTable })?.id).toBe(p.priceTable);
	});

	test.each([
		['openai', 'gpt-4.1-mini', 'gpt-4.1-mini'],
		['anthropic', 'claude-haiku-4-5', 'claude-haiku-4-5'],
		['gemini', 'gemini-2.5-flash', 'gemini-2.5-flash'],
		['groq', 'llama-3.3-70b-versatile', 'llama-3.3-70b-versatile'],
		['mistral', 'mistral-small-latest', 'mistral-small-latest'],
		['xai', 'grok-4', 'grok-4-0709'],
	])('%s %s: input and output tokens at the listed prices', (providerId, model, tableModel) => {
		const provider = getProvider(providerId);
		const cost = costOf(provider, undefined, [model], { promptTokens: 12_000, completionTokens: 3_000 });
		const expected = usd((12_000 * listed(provider.priceTable!, tableModel, 'input_mtok') + 3_000 * listed(provider.priceTable!, tableModel, 'output_mtok')) / 1e6);
		expect(cost).toEqual({ usd: expected, source: 'price table', pricedAs: tableModel });
		expect(expected).toBeGreaterThan(0);
	});

	test("the name the provider answered with is priced first (a dated snapshot), then the name asked for; Gemini's models/ prefix is dropped", () => {
		const openai = getProvider('openai');
		expect(costOf(openai, undefined, ['gpt-4.1-mini-2025-04-14', 'gpt-4.1-mini'], { promptTokens: 1000, completionTokens: 0 }).pricedAs).toBe('gpt-4.1-mini');
		expect(costOf(openai, undefined, [undefined, 'gpt-4.1-mini'], { promptTokens: 1000, completionTokens: 0 }).pricedAs).toBe('gpt-4.1-mini');
		expect(costOf(getProvider('gemini'), undefined, ['models/gemini-2.5-flash'], { promptTokens: 1000, completionTokens: 0 }).pricedAs).toBe('gemini-2.5-flash');
	});

	test('cached input tokens are priced at the cache-read rate', () => {
		const openai = getProvider('openai');
		const plain = costOf(openai, undefined, ['gpt-4.1-mini'], { promptTokens: 10_000, completionTokens: 1_000 });
		const cached = costOf(openai, undefined, ['gpt-4.1-mini'], { promptTokens: 10_000, completionTokens: 1_000, cachedTokens: 8_000 });
		const [input, cacheRead, output] = ['input_mtok', 'cache_read_mtok', 'output_mtok'].map((k) => listed('openai', 'gpt-4.1-mini', k));
		expect(cacheRead).toBeLessThan(input);
		expect(cached.usd).toBe(usd((2_000 * input + 8_000 * cacheRead + 1_000 * output) / 1e6));
		expect(cached.usd!).toBeLessThan(plain.usd!);
	});

	test('reasoning tokens are priced at their own rate where the table has one', () => {
		// OpenRouter's Sonar Deep Research charges reasoning tokens apart from other output.
		const openrouter = getProvider('openrouter');
		const model = 'perplexity/sonar-deep-research';
		const [input, output, reasoning] = ['input_mtok', 'output_mtok', 'output_reasoning_mtok'].map((k) => listed('openrouter', model, k));
		expect(reasoning).not.toBe(output);
		const cost = costOf(openrouter, undefined, [model], { promptTokens: 1_000, completionTokens: 1_000, reasoningTokens: 600 });
		expect(cost.usd).toBe(usd((1_000 * input + 400 * output + 600 * reasoning) / 1e6));
		// Where the table has no separate rate, reasoning is output.
		const o4 = costOf(getProvider('openai'), undefined, ['o4-mini'], { promptTokens: 1_000, completionTokens: 1_000, reasoningTokens: 600 });
		expect(o4.usd).toBe(costOf(getProvider('openai'), undefined, ['o4-mini'], { promptTokens: 1_000, completionTokens: 1_000 }).usd);
	});

	test("the credential's own prices win over the table, for every model of the key", () => {
		const own = { inputPerMillion: 2, outputPerMillion: 10 };
		expect(costOf(getProvider('openai'), own, ['gpt-4.1-mini'], { promptTokens: 1_000_000, completionTokens: 500_000, cachedTokens: 400_000 })).toEqual({ usd: 7, source: 'credential' });
		expect(costOf(getProvider('ollama'), { inputPerMillion: 0, outputPerMillion: 0 }, ['llama3.2'], { promptTokens: 500, completionTokens: 50 })).toEqual({ usd: 0, source: 'credential' });
	});

	test('an unknown price is null with the reason, never 0', () => {
		const unknownModel = costOf(getProvider('openai'), undefined, ['my-finetune-xyz'], { promptTokens: 100, completionTokens: 10 });
		expect(unknownModel.usd).toBeNull();
		expect(unknownModel.reason).toMatch(/The price table has no price for "my-finetune-xyz" at OpenAI; set Input and Output Price on the credential/);
		for (const id of ['ollama', 'ollamaCloud', 'custom']) {
			const cost = costOf(getProvider(id), undefined, ['llama3.2'], { promptTokens: 100, completionTokens: 10 });
			expect(cost).toEqual({ usd: null, reason: expect.stringMatching(/has no public price list; set Input and Output Price on the credential/) });
		}
		expect(costOf(getProvider('openai'), undefined, ['gpt-4.1-mini'], {})).toEqual({ usd: null, reason: 'The provider reported no token usage.' });
		// Counts the table finds inconsistent are not priced at all rather than priced wrongly.
		expect(costOf(getProvider('openai'), undefined, ['gpt-4.1-mini'], { promptTokens: -5, completionTokens: 1 }).usd).toBeNull();
	});
});

describe('cost on output items and attempts', () => {
	type Fake = Awaited<ReturnType<typeof startFakeProvider>>;
	let fake: Fake;
	const KEY = 'sk-pricing-SECRET-0011223344';
	beforeAll(async () => {
		fake = await startFakeProvider();
	});
	afterEach(() => fake.reset());
	afterAll(() => fake.close());

	let runs = 0;
	const run = async (credential: Record<string, unknown>, model: string) => {
		const id = `pricing-${++runs}`;
		const result = await runWorkflow(
			chatWorkflow({
				credentialType: 'byokOpenAiApi',
				credentialId: id,
				continueOnFail: true,
				parameters: { providers: ['openai'], model: { __rl: true, mode: 'id', value: model }, prompt: 'hello', options: { retries: 0 } },
			}),
			{ [id]: { apiKey: KEY, baseUrl: `${fake.url}/p/v1`, ...credential } },
		);
		expect(JSON.stringify(result)).not.toContain(KEY);
		return nodeOutput(result).items.map((i) => i.json);
	};

	test('a known model: the item and its attempt carry the cost from the price table', async () => {
		fake.setHandler(() => ({ body: (b: { model: string }) => ({ object: 'chat.completion', model: b.model, choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 2000, completion_tokens: 400, total_tokens: 2400, prompt_tokens_details: { cached_tokens: 1000 } } }) }));
		const [item] = await run({}, 'gpt-4.1-mini');
		const [input, cacheRead, output] = ['input_mtok', 'cache_read_mtok', 'output_mtok'].map((k) => listed('openai', 'gpt-4.1-mini', k));
		const expected = usd((1000 * input + 1000 * cacheRead + 400 * output) / 1e6);
		expect(item.cost).toEqual({ usd: expected, source: 'price table', pricedAs: 'gpt-4.1-mini' });
		expect(item.attempts).toEqual([expect.objectContaining({ outcome: 'ok', costUsd: expected })]);
	});

	test('own prices on the credential win; an unknown model gives null with a reason', async () => {
		const [own] = await run({ pricing: 'own', inputPricePerMillion: 1000, outputPricePerMillion: 2000 }, 'gpt-4.1-mini');
		// The fake reports 10 prompt and 5 completion tokens.
		expect(own.cost).toEqual({ usd: usd((10 * 1000 + 5 * 2000) / 1e6), source: 'credential' });
		const [unknown] = await run({}, 'fake-small');
		expect(unknown.cost).toEqual({ usd: null, reason: expect.stringContaining('no price for "fake-small"') });
		expect((unknown.attempts as Array<Record<string, unknown>>)[0].costUsd).toBeNull();
	});

	test('a repaired JSON answer: both billed calls are in the cost, each on its attempt', async () => {
		fake.enqueue({ body: (b: { model: string }) => ({ object: 'chat.completion', model: b.model, choices: [{ index: 0, message: { role: 'assistant', content: 'not json' }, finish_reason: 'stop' }], usage: { prompt_tokens: 100, completion_tokens: 10 } }) });
		fake.enqueue({ body: (b: { model: string }) => ({ object: 'chat.completion', model: b.model, choices: [{ index: 0, message: { role: 'assistant', content: '{"a":1}' }, finish_reason: 'stop' }], usage: { prompt_tokens: 200, completion_tokens: 20 } }) });
		const result = await runWorkflow(
			chatWorkflow({
				credentialType: 'byokOpenAiApi',
				credentialId: 'pricing-repair',
				parameters: { providers: ['openai'], model: { __rl: true, mode: 'id', value: 'gpt-4.1-mini' }, prompt: 'json please', responseFormat: 'json_object', options: {} },
			}),
			{ 'pricing-repair': { apiKey: KEY, baseUrl: `${fake.url}/p/v1`, pricing: 'own', inputPricePerMillion: 1, outputPricePerMillion: 10 } },
		);
		const [item] = nodeOutput(result).items.map((i) => i.json);
		expect((item.attempts as Array<Record<string, unknown>>).map((a) => [a.outcome, a.costUsd])).toEqual([
			['invalid_output', usd((100 + 10 * 10) / 1e6)],
			['ok', usd((200 + 20 * 10) / 1e6)],
		]);
		expect(item.cost).toEqual({ usd: usd((100 + 100 + 200 + 200) / 1e6), source: 'credential' });
	});
});
