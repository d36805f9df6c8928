/**
 * Budgets per key, through BYOK Chat in n8n-core against the fake provider (which reports 10
 * prompt and 5 completion tokens per answer unless told otherwise): warnings at 50/75/90/100%
 * once per budget and period (in n8n's log and on the item that crossed them), the spent key
 * treated like a spent daily limit (fallback at once, or a clear error), concurrency 16 against
 * a small budget with the overshoot bounded as promised, and bad budget or price input.
 */
import { Logger } from '@n8n/backend-common';
import { Container } from '@n8n/di';
import { readSpendSettings } from '../nodes/llm/budgets';
import { getProvider } from '../nodes/llm/catalog';
import { connectionFromCredential } from '../nodes/llm/client';
import { complete } from '../nodes/llm/dispatch';
import type { LlmError } from '../nodes/llm/errors';
import { FileUsageStore, usageClock, useUsageStore } from '../nodes/llm/usage-store';
import { byokCredentialTest } from '../nodes/shared/n8n';
import { startFakeProvider } from './fake-provider';
import { useScratchUsageStore } from './helpers/usage';
import { chatWorkflow, nodeOutput, runWorkflow } from './helpers/workflow';

type Fake = Awaited<ReturnType<typeof startFakeProvider>>;
type Json = Record<string, unknown>;
let fake: Fake;
let store: FileUsageStore;
let warn: jest.SpyInstance;
const KEY = 'sk-budget-SECRET-9988776655';
const DAY_MS = 86_400_000;
const realNow = usageClock.now;

beforeAll(async () => {
	fake = await startFakeProvider();
});
beforeEach(() => {
	store = useScratchUsageStore();
	warn = jest.spyOn(Container.get(Logger), 'warn').mockImplementation(() => undefined);
});
afterEach(() => {
	fake.reset();
	warn.mockRestore();
	usageClock.now = realNow;
	useUsageStore(undefined);
});
afterAll(() => fake.close());

const byId = (value: string) => ({ __rl: true, mode: 'id', value });
const budgetWarnings = () => warn.mock.calls.map(([message]) => String(message)).filter((m) => m.includes('budget'));
const outcomes = (json: Json) => (json.attempts as Array<Json>).map((a) => `${a.provider}/${a.model}:${a.outcome}${a.status ? `:${a.status}` : ''}`);

async function runChat(
	credential: Json,
	o: { items?: number; concurrency?: number; prompt?: string; maxTokens?: number; fallback?: boolean; credentialId?: string } = {},
) {
	const id = o.credentialId ?? 'budget-key';
	const run = await runWorkflow(
		chatWorkflow({
			items: Array.from({ length: o.items ?? 1 }, (_, n) => ({ json: { n } })),
			continueOnFail: true,
			nodeCredentials: { byokCustomApi: id, byokOllamaApi: 'fallback-key' },
			parameters: {
				providers: ['custom', 'ollama'],
				model: byId('m'),
				prompt: o.prompt ?? 'hello',
				...(o.fallback ? { fallbacks: { fallback: [{ provider: 'ollama', model: 'fb' }] } } : {}),
				options: { concurrency: o.concurrency ?? 1, retries: 0, ...(o.maxTokens ? { maxTokens: o.maxTokens } : {}) },
			},
		}),
		{ [id]: { apiKey: KEY, baseUrl: fake.baseUrl, ...credential }, 'fallback-key': { apiKey: '', baseUrl: `${fake.url}/fb/v1` } },
	);
	expect(JSON.stringify(run)).not.toContain(KEY);
	return nodeOutput(run).items.map((i) => i.json);
}

/** What the store holds for a key today. */
async function today(credentialId = 'budget-key') {
	const all = await store.readAll();
	if (typeof all === 'symbol') throw new Error('store unavailable');
	const usage = all.find((u) => u.credentialId === credentialId);
	return usage?.days[new Date(usageClock.now()).toISOString().slice(0, 10)];
}

describe('warnings at 50, 75, 90 and 100%', () => {
	test('each once per budget and period: in the n8n log and on the item whose request crossed it', async () => {
		// 15 tokens a request against 150 a day: 10%, 20% ... 100% after the 1st to 10th; the 6th and 7th stay below 75%.
		const items = await runChat({ dailyBudgetTokens: 150 }, { items: 12 });
		expect(items.map((i) => i.errorKind ?? 'ok')).toEqual([...Array(10).fill('ok'), 'budget_exhausted', 'budget_exhausted']);
		expect(items.map((i) => (i.budget as Json | undefined)?.warning ?? null)).toEqual([
			null,
			null,
			null,
			null,
			expect.stringMatching(/^The key "Test budget-key" has used 50% of its daily budget \(75 tokens of 150 tokens\); it resets at \d{4}-\d\d-\d\dT00:00:00\.000Z\.$/),
			null,
			null,
			expect.stringMatching(/has used 75% of its daily budget \(120 tokens of 150 tokens\)/),
			expect.stringMatching(/has used 90% of its daily budget \(135 tokens of 150 tokens\)/),
			expect.stringMatching(/has used its whole daily budget \(150 tokens of 150 tokens\): its requests go to the next fallback, or fail, until it resets at/),
			null,
			null,
		]);
		expect(items[6].budget).toMatchObject({ day: { tokens: { used: 105, limit: 150, percent: 70 }, resetsAt: expect.stringMatching(/T00:00:00\.000Z$/) } });
		expect(budgetWarnings()).toEqual([
			expect.stringMatching(/^\[n8n-nodes-byok\] The key "Test budget-key" has used 50% of its daily budget/),
			expect.stringMatching(/75% of its daily budget/),
			expect.stringMatching(/90% of its daily budget/),
			expect.stringMatching(/whole daily budget/),
		]);
		expect(fake.chatRequests).toHaveLength(10);

		// Later in the same day, and after a restart (a new store on the same file): no warning again.
		useUsageStore(new FileUsageStore(store.path));
		await runChat({ dailyBudgetTokens: 150 }, { items: 2 });
		expect(budgetWarnings()).toHaveLength(4);
		expect(fake.chatRequests).toHaveLength(10);

		// The next day starts afresh: the key answers again and warns again.
		usageClock.now = () => realNow() + DAY_MS;
		const next = await runChat({ dailyBudgetTokens: 150 }, { items: 6 });
		expect(next.map((i) => i.errorKind ?? 'ok')).toEqual(Array(6).fill('ok'));
		expect(budgetWarnings()).toHaveLength(5);
		expect(budgetWarnings()[4]).toMatch(/has used 50% of its daily budget/);
	});

	test('USD budgets count the cost (own prices here); a raised limit starts its warnings afresh', async () => {
		// $1000 / $2000 per million: 10 + 5 tokens cost $0.02 a request.
		const prices = { pricing: 'own', inputPricePerMillion: 1000, outputPricePerMillion: 2000 };
		const first = await runChat({ ...prices, monthlyBudgetUsd: 0.05 }, { items: 2 });
		expect(first[1].budget).toMatchObject({ month: { usd: { used: 0.04, limit: 0.05, percent: 80 } }, warning: expect.stringMatching(/has used 75% of its monthly budget \(\$0\.04 of \$0\.05\)/) });
		const raised = await runChat({ ...prices, monthlyBudgetUsd: 0.1 }, { items: 1 });
		expect(raised[0].budget).toMatchObject({ month: { usd: { used: 0.06, limit: 0.1, percent: 60 } }, warning: expect.stringMatching(/50% of its monthly budget \(\$0\.06 of \$0\.10\)/) });
	});
});

describe('a spent budget is treated like a spent daily limit', () => {
	test('the next candidate answers at once; the spent key is not called', async () => {
		await runChat({ dailyBudgetTokens: 20 }, { items: 2 });
		fake.reset();
		const [item] = await runChat({ dailyBudgetTokens: 20 }, { fallback: true });
		expect(item).toMatchObject({ text: 'echo: hello', provider: 'ollama', fallbackUsed: true });
		expect(outcomes(item)).toEqual(['custom/m:budget_exhausted', 'ollama/fb:ok:200']);
		expect(fake.chatRequests.map((r) => r.path)).toEqual(['/fb/v1/chat/completions']);
	});

	test('with no fallback the item fails, naming the key, the budget and when it resets', async () => {
		await runChat({ monthlyBudgetTokens: 20 }, { items: 2 });
		const [item] = await runChat({ monthlyBudgetTokens: 20 });
		const nextMonth = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1)).toISOString();
		expect(item).toMatchObject({
			errorKind: 'budget_exhausted',
			error: `The key "Test budget-key" reached its monthly budget of 20 tokens (30 tokens used); it resets at ${nextMonth}.`,
			description: expect.stringMatching(/spent its daily or monthly budget/),
		});
	});

	test('a USD budget on a model whose price is unknown: the key is not used (its spend could not be counted), and the error says what to set', async () => {
		const [item] = await runChat({ dailyBudgetUsd: 5 });
		expect(item).toMatchObject({ errorKind: 'invalid_credential' });
		expect(item.error).toMatch(/The key "Test budget-key" has a budget in USD, but what "m" costs is not known.*set Input and Output Price on the credential/);
		expect(fake.chatRequests).toHaveLength(0);
	});
});

describe('what counts', () => {
	test('a stream that breaks off after tokens were passed on is counted (its tokens estimated from the text); a failed call is not', async () => {
		const connection = connectionFromCredential('custom', { apiKey: KEY, baseUrl: fake.baseUrl, dailyBudgetTokens: 10_000 }, 'budget-key', 'Stream key');
		const call = () => complete({ messages: [{ role: 'user', content: 'a long answer please' }], options: {} }, [{ connection, model: 'm' }], { timeoutMs: 10_000, retries: 0, onDelta: () => undefined });
		fake.enqueue({ status: 500, body: { error: { message: 'down' } } });
		expect(await call().catch((e: LlmError) => e.kind)).toBe('server');
		expect((await today())?.requests ?? 0).toBe(0);
		fake.enqueue({ streamBreakAfter: 3, streamDelayMs: 30 });
		const error = (await call().catch((e: unknown) => e)) as LlmError;
		expect(error.kind).toBe('stream_interrupted');
		expect(error.attempts[0]).toMatchObject({ outcome: 'stream_interrupted', costUsd: null });
		expect(await today()).toMatchObject({ requests: 1, estimated: 1, inputTokens: 10, outputTokens: 2 });
	});
});

describe('concurrency against a small budget', () => {
	test('16 at once: the budget is overshot by less than one request (estimates cover the real use), and is used to the full', async () => {
		// The estimate per request: 80 characters / 4 + 4 per message = 24 input, Max Tokens 10: 34 >= the real 15.
		fake.setHandler(() => ({ delayMs: 40 }));
		const limit = 100;
		const items = await runChat({ dailyBudgetTokens: limit }, { items: 40, concurrency: 16, prompt: 'x'.repeat(80), maxTokens: 10 });
		const answered = items.filter((i) => !i.errorKind);
		const spent = (await today())!;
		const used = spent.inputTokens + spent.outputTokens;
		console.log(`concurrency 16, budget ${limit} tokens, 15 per request: ${answered.length} answered, ${used} tokens used (overshoot ${used - limit}), most in flight ${fake.maxInFlight}`);
		expect(used).toBe(15 * answered.length);
		expect(used).toBeGreaterThanOrEqual(limit);
		expect(used).toBeLessThan(limit + 15);
		expect(items.filter((i) => i.errorKind).every((i) => i.errorKind === 'budget_exhausted')).toBe(true);
		// Never more in flight than the estimates fit into what was left.
		expect(fake.maxInFlight).toBeLessThanOrEqual(Math.ceil(limit / 34));
		expect(spent.requests).toBe(answered.length);
	});
});

describe('bad budget and price input', () => {
	const custom = getProvider('custom');
	const error = (data: Json) => {
		try {
			readSpendSettings(data, custom);
		} catch (err) {
			return { field: (err as { field?: string }).field, message: (err as Error).message };
		}
		return undefined;
	};

	test.each([
		[{ dailyBudgetUsd: -1 }, 'dailyBudgetUsd', /Daily Budget \(USD\) must not be negative \(got -1\)\. Enter an amount in US dollars, e\.g\. 5 or 0\.25, or 0 for no budget\./],
		[{ monthlyBudgetTokens: 'lots' }, 'monthlyBudgetTokens', /Monthly Budget \(Tokens\) must be a number \(got "lots"\)\. Enter a whole number of tokens/],
		[{ dailyBudgetUsd: 'ten' }, 'dailyBudgetUsd', /Daily Budget \(USD\) must be a number \(got "ten"\)\. Enter an amount in US dollars/],
		[{ dailyBudgetTokens: 12.5 }, 'dailyBudgetTokens', /Daily Budget \(Tokens\) must be a whole number of tokens \(got 12\.5\)/],
		[{ monthlyBudgetUsd: '20 EUR' }, 'monthlyBudgetUsd', /Monthly Budget \(USD\) is in EUR, but budgets and prices are in US dollars \(USD\).*Convert the amount to USD\./],
		[{ dailyBudgetUsd: '€5' }, 'dailyBudgetUsd', /Daily Budget \(USD\) is in €, but budgets and prices are in US dollars/],
		[{ pricing: 'own', inputPricePerMillion: 'cheap', outputPricePerMillion: 1 }, 'inputPricePerMillion', /Input Price \(USD per Million Tokens\) must be a number \(got "cheap"\)/],
		[{ pricing: 'own', inputPricePerMillion: 1, outputPricePerMillion: -2 }, 'outputPricePerMillion', /Output Price \(USD per Million Tokens\) must not be negative/],
		[{ pricing: 'own', inputPricePerMillion: 1 }, 'outputPricePerMillion', /uses its own prices but has no Output Price \(USD per Million Tokens\)/],
		[{ pricing: 'own', inputPricePerMillion: 'GBP 3', outputPricePerMillion: 1 }, 'inputPricePerMillion', /is in GBP/],
	])('%j: a clear error naming the field', (data, field, message) => {
		expect(error(data)).toEqual({ field, message: expect.stringMatching(message) });
		expect(error(data)?.message).toMatch(/^The Custom \(OpenAI-compatible\) credential/);
	});

	test('what is accepted: numbers, "$5", "5 USD", "200,000 tokens"; empty and 0 mean no budget', () => {
		expect(readSpendSettings({ dailyBudgetUsd: '$5', monthlyBudgetUsd: '5.5 USD', dailyBudgetTokens: '200,000 tokens', monthlyBudgetTokens: 0 }, custom)).toEqual({
			budgets: { dayUsd: 5, monthUsd: 5.5, dayTokens: 200_000 },
			prices: undefined,
		});
		expect(readSpendSettings({ dailyBudgetUsd: '', pricing: 'table', inputPricePerMillion: 5 }, custom)).toEqual({ budgets: undefined, prices: undefined });
	});

	test('through the node: the item fails naming the field; the Test button says the same', async () => {
		const [item] = await runChat({ dailyBudgetUsd: '10 EUR' });
		expect(item).toMatchObject({ field: 'dailyBudgetUsd', error: expect.stringMatching(/Daily Budget \(USD\) is in EUR/) });
		expect(fake.chatRequests).toHaveLength(0);
		const tested = await byokCredentialTest.call({} as never, { id: 'x', name: 'x', type: 'byokCustomApi', data: { apiKey: KEY, baseUrl: fake.baseUrl, dailyBudgetTokens: -5 } });
		expect(tested).toEqual({ status: 'Error', message: expect.stringMatching(/Daily Budget \(Tokens\) must not be negative/) });
	});
});
