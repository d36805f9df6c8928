/**
 * The BYOK Usage node through n8n-core: after BYOK Chat has answered with two keys, it reports
 * per key today's and this month's requests, tokens, cost, budgets and top models, one item per
 * key or one report with the text for a message. Real requests to the fake provider fill the
 * store; nothing is written into it by hand.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { INodeParameters } from 'n8n-workflow';
import { usageClock, useUsageStore, type KeyUsage } from '../nodes/llm/usage-store';
import { startFakeProvider } from './fake-provider';
import { useScratchUsageStore } from './helpers/usage';
import { chatWorkflow, nodeOutput, runWorkflow } from './helpers/workflow';

type Fake = Awaited<ReturnType<typeof startFakeProvider>>;
type Json = Record<string, unknown>;
let fake: Fake;
const KEY = 'sk-usage-node-SECRET-55443322';
const realNow = usageClock.now;

beforeAll(async () => {
	fake = await startFakeProvider();
});
beforeEach(() => useScratchUsageStore());
afterEach(() => {
	fake.reset();
	usageClock.now = realNow;
	useUsageStore(undefined);
});
afterAll(() => fake.close());

async function chat(credentialId: string, credential: Json, models: string[]) {
	const run = await runWorkflow(
		chatWorkflow({
			items: models.map((model) => ({ json: { model } })),
			credentialType: 'byokOpenAiApi',
			credentialId,
			parameters: { providers: ['openai'], model: { __rl: true, mode: 'id', value: '={{ $json.model }}' }, prompt: 'hi', options: {} },
		}),
		{ [credentialId]: { apiKey: KEY, baseUrl: fake.baseUrl, ...credential } },
	);
	expect(nodeOutput(run).error).toBeUndefined();
}

async function usage(parameters: INodeParameters) {
	const run = await runWorkflow(chatWorkflow({ nodeType: 'n8n-nodes-byok.byokUsage', nodeName: 'BYOK Usage', items: [{ json: {} }], parameters }), {});
	expect(JSON.stringify(run)).not.toContain(KEY);
	const { items, error } = nodeOutput(run, 'BYOK Usage');
	expect(error).toBeUndefined();
	return items;
}

const usd = (n: number) => Math.round(n * 1e9) / 1e9;

test('one item per key: today, this month, budgets and top models, the most spent first', async () => {
	// Own prices make the expected cost plain: the fake reports 10 prompt and 5 completion tokens.
	await chat('key-a', { pricing: 'own', inputPricePerMillion: 100, outputPricePerMillion: 400, dailyBudgetUsd: 0.1, monthlyBudgetTokens: 1000 }, ['big', 'big', 'small']);
	await chat('key-b', {}, ['gpt-4.1-mini']);
	const items = await usage({ output: 'perKey', options: { topModels: 1 } });
	expect(items.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 0 }]);
	const [a, b] = items.map((i) => i.json as Json);
	const perRequest = usd((10 * 100 + 5 * 400) / 1e6);
	expect(a).toMatchObject({
		credential: 'Test key-a',
		credentialId: 'key-a',
		provider: 'openai',
		today: { period: new Date().toISOString().slice(0, 10), requests: 3, inputTokens: 30, outputTokens: 15, costUsd: usd(3 * perRequest), unpricedRequests: 0, topModels: [{ model: 'big', requests: 2, inputTokens: 20, outputTokens: 10, costUsd: usd(2 * perRequest) }] },
		thisMonth: { period: new Date().toISOString().slice(0, 7), requests: 3, costUsd: usd(3 * perRequest) },
		budgets: { day: { usd: { used: usd(3 * perRequest), limit: 0.1, percent: 9 } }, month: { tokens: { used: 45, limit: 1000, percent: 4.5 } } },
		lastUsedAt: expect.any(String),
	});
	// gpt-4.1-mini at the price table's price; no budget.
	expect(b).toMatchObject({ credential: 'Test key-b', today: { requests: 1, topModels: [{ model: 'gpt-4.1-mini', requests: 1 }] } });
	expect((b.today as Json).costUsd).toBeGreaterThan(0);
	expect(b.budgets).toBeUndefined();
});

test('one report: the text for a message, and the figures of every key', async () => {
	await chat('key-a', { pricing: 'own', inputPricePerMillion: 100, outputPricePerMillion: 400, dailyBudgetTokens: 100 }, ['big', 'small']);
	await chat('key-c', {}, ['unknown-model']);
	const [report] = await usage({ output: 'report', options: {} });
	const text = report.json.text as string;
	expect(text.split('\n')[0]).toMatch(/^BYOK usage on \d{4}-\d\d-\d\d \(UTC\)\. Today: 3 requests, \$0\.0060\. This month: 3 requests, \$0\.0060\.$/);
	expect(text).toContain('Test key-a (openai)\n  Today: 2 requests, 20 tokens in / 10 out, $0.0060');
	expect(text).toContain('  Budgets: daily 30 of 100 tokens (30%)');
	expect(text).toContain('  Top models this month: big (1 request, $0.0030), small (1 request, $0.0030)');
	expect(text).toContain('Test key-c (openai)\n  Today: 1 request, 10 tokens in / 5 out, $0.0000 (1 without a known price)');
	expect((report.json.keys as Json[]).map((k) => k.credential)).toEqual(['Test key-a', 'Test key-c']);
	const filtered = await usage({ output: 'report', options: { nameContains: 'KEY-C' } });
	expect((filtered[0].json.keys as Json[]).map((k) => k.credential)).toEqual(['Test key-c']);
});

test('yesterday and last month on request; a store with nothing this month says so', async () => {
	const [empty] = await usage({ output: 'report', options: {} });
	expect(empty.json).toMatchObject({ keys: [], text: expect.stringContaining('No key was used this month.') });
	await chat('key-a', {}, ['gpt-4.1-mini']);
	usageClock.now = () => realNow() + 86_400_000;
	const [item] = await usage({ output: 'perKey', options: { previous: true } });
	expect(item.json).toMatchObject({ today: { requests: 0 }, yesterday: { requests: 1, period: new Date().toISOString().slice(0, 10) } });
});

test('BYOK Chat ends only when its items\' usage is in the store (answers do not wait for the write; the node does)', async () => {
	const store = useScratchUsageStore();
	// Another process holds the store's lock for a moment, so the writes come late.
	mkdirSync(dirname(store.path), { recursive: true });
	writeFileSync(`${store.path}.lock`, 'another process');
	const released = new Promise((resolve) => setTimeout(resolve, 500)).then(() => rmSync(`${store.path}.lock`));
	await chat('key-w', {}, Array.from({ length: 12 }, () => 'gpt-4.1-mini'));
	// The file as it is now, as another process would read it: nothing waits here.
	const file = JSON.parse(readFileSync(store.path, 'utf8')) as { keys: Record<string, KeyUsage> };
	expect(file.keys['key-w']?.days[new Date().toISOString().slice(0, 10)]?.requests).toBe(12);
	await released;
});
