'use strict';
/**
 * Cost and budget bookkeeping: what it adds to each request, and how far concurrency can push a
 * budget past its limit.
 *
 *   npm run build && node bench/spend.js [calls]
 *
 * 1. Added time per request: the bookkeeping around one call (dispatch.ts `send`): `admit`
 *    (price lookup for the estimate; with a budget, a reservation written to the store) and
 *    `settle` (price of the answer, usage written to the store), without the HTTP call itself:
 *    what it adds to the answer, and the time until the usage is in the store (on a key without
 *    a budget the answer does not wait for that write; the node waits for it once, at its end).
 *    For the embedded file store (in a temp folder) and Redis (127.0.0.1:6379, keys under a
 *    prefix of their own, deleted at the end; BYOK_BENCH_REDIS_URL to use another), with and
 *    without a budget; one request at a time (latency), and 16 at once (per request, amortized:
 *    changes that arrive together are written together).
 * 2. Overshoot: 200 requests through the engine at concurrency 16 against a daily budget of
 *    1,000 tokens, at a local fake provider answering after 20 ms: when the estimate covers what
 *    a request really uses (Max Tokens set) and when the provider reports 5x more than estimated
 *    (a real provider never exceeds Max Tokens; a prompt can hold more tokens than its length / 4).
 */
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { startFakeProvider } = require('../test/fake-provider.js');
const { deleteKeys, redisReachableSync } = require('../test/helpers/cluster.js');
const { admit, usageWritten } = require('../dist/nodes/llm/budgets.js');
const { getProvider } = require('../dist/nodes/llm/catalog.js');
const { connectionFromCredential } = require('../dist/nodes/llm/client.js');
const { mapOrdered } = require('../dist/nodes/llm/concurrency.js');
const { complete } = require('../dist/nodes/llm/dispatch.js');
const { costOf } = require('../dist/nodes/llm/pricing.js');
const { redisSettings } = require('../dist/nodes/llm/redis-settings.js');
const { FileUsageStore, RedisUsageStore, useUsageStore } = require('../dist/nodes/llm/usage-store.js');

const CALLS = Number(process.argv[2] ?? 2000);
const REDIS_URL = process.env.BYOK_BENCH_REDIS_URL || 'redis://127.0.0.1:6379/0';
const PREFIX = `byok-bench-spend-${Date.now().toString(36)}`;

function stats(samples) {
	const s = [...samples].sort((a, b) => a - b);
	const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
	return { median: at(0.5), p90: at(0.9), p99: at(0.99) };
}
const f = (x) => x.toFixed(3).padStart(8);
const now = () => Number(process.hrtime.bigint()) / 1e6;

const body = { model: 'gpt-4.1-mini', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello there, how are you today?' }], max_completion_tokens: 200 };
const answer = { text: 'fine, thanks', model: 'gpt-4.1-mini-2025-04-14', usage: { promptTokens: 20, completionTokens: 5, totalTokens: 25, cachedTokens: 8 } };

/** One request's bookkeeping: admit, then settle (as `send` does around the HTTP call). */
async function bookkeeping(key) {
	const ticket = await admit(key, 'gpt-4.1-mini', body, { timeoutMs: 60_000 });
	await ticket.settle(answer);
}

/** Bookkeeping, then until its usage is in the store: on a key without a budget the write goes on after the answer. */
async function bookkeepingWritten(key) {
	await bookkeeping(key);
	await usageWritten();
}

function keyOf(id, budgets) {
	return { credentialId: id, label: id, provider: getProvider('openai'), budgets };
}

async function perRequest(name, makeStore) {
	const rows = [];
	for (const [what, budgets] of [['no budget', undefined], ['budget', { dayUsd: 1e9, monthTokens: 1e12 }]]) {
		const store = makeStore();
		useUsageStore(store);
		const key = keyOf(`bench-${name}-${what.replace(' ', '-')}`, budgets);
		for (let i = 0; i < 100; i++) await bookkeepingWritten(key);
		const added = [];
		const written = [];
		for (let i = 0; i < CALLS; i++) {
			const t = now();
			await bookkeeping(key);
			added.push(now() - t);
			await usageWritten();
			written.push(now() - t);
		}
		const started = now();
		await mapOrdered(CALLS, 16, () => bookkeeping(key));
		await usageWritten();
		const amortized = (now() - started) / CALLS;
		rows.push({ name: `${name}, ${what}`, added: stats(added).median, ...stats(written), amortized });
		await store.close();
	}
	return rows;
}

async function overshoot(fake, name, makeStore, { underestimated }) {
	useUsageStore(makeStore());
	const limit = 1000;
	const id = `bench-overshoot-${name}-${underestimated ? 'under' : 'covered'}`;
	const connection = connectionFromCredential('custom', { apiKey: 'sk-bench', baseUrl: fake.baseUrl, dailyBudgetTokens: limit }, id, id);
	const request = { messages: [{ role: 'user', content: 'x'.repeat(80) }], options: { maxTokens: 10 } };
	fake.reset();
	fake.setHandler(() => ({
		delayMs: 20,
		body: (b) => ({ object: 'chat.completion', model: b.model, choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: underestimated ? { prompt_tokens: 120, completion_tokens: 50 } : { prompt_tokens: 10, completion_tokens: 5 } }),
	}));
	let used = 0;
	let answered = 0;
	await mapOrdered(200, 16, async () => {
		try {
			const r = await complete(request, [{ connection, model: 'm' }], { timeoutMs: 60_000, retries: 0 });
			answered++;
			used += r.usage.promptTokens + r.usage.completionTokens;
		} catch (err) {
			if (err.kind !== 'budget_exhausted') throw err;
		}
	});
	const perRequestTokens = underestimated ? 170 : 15;
	return { name, case: underestimated ? 'uses 170, estimated 34' : 'uses 15, estimated 34', limit, used, answered, overshoot: used - limit, requestsOver: (used - limit) / perRequestTokens, inFlight: fake.maxInFlight };
}

async function main() {
	const dir = mkdtempSync(join(tmpdir(), 'byok-bench-spend-'));
	const fileStore = () => new FileUsageStore(join(dir, 'usage.json'));
	const redisUp = !process.env.BYOK_BENCH_REDIS_URL ? redisReachableSync(6379) : true;
	const redisStore = () => new RedisUsageStore(redisSettings({ BYOK_REDIS_URL: REDIS_URL, BYOK_REDIS_PREFIX: PREFIX }));
	const fake = await startFakeProvider();
	try {
		console.log(`command: node bench/spend.js ${CALLS}   (Node ${process.version}; ${CALLS} requests per row)`);
		console.log('');
		const lookups = [['openai gpt-4.1-mini', 'openai', 'gpt-4.1-mini'], ['openrouter (701 models), last-listed match', 'openrouter', '~openai/gpt-mini-latest']];
		for (const [label, provider, model] of lookups) {
			const p = getProvider(provider);
			for (let i = 0; i < 200; i++) costOf(p, undefined, [model], { promptTokens: 1000, completionTokens: 10 });
			const t = now();
			for (let i = 0; i < CALLS; i++) costOf(p, undefined, [model], { promptTokens: 1000 + i, completionTokens: 10 });
			console.log(`price lookup alone, ${label.padEnd(42)} ${f((now() - t) / CALLS)} ms per request`);
		}
		console.log('');
		console.log('1. bookkeeping per request (no HTTP), ms      added to the answer | until written: median      p90      p99 | 16 at once, per request');
		const rows = [...(await perRequest('embedded file', fileStore)), ...(redisUp ? await perRequest('Redis', redisStore) : [])];
		for (const r of rows) console.log(`${r.name.padEnd(44)} ${f(r.added)}            | ${f(r.median)} ${f(r.p90)} ${f(r.p99)} | ${f(r.amortized)}`);
		if (!redisUp) console.log('(Redis rows skipped: nothing answers on 127.0.0.1:6379)');
		console.log('');
		console.log('2. overshoot at concurrency 16, daily budget 1,000 tokens, 200 requests');
		const cases = [];
		for (const [name, make] of [['embedded file', fileStore], ...(redisUp ? [['Redis', redisStore]] : [])]) {
			for (const underestimated of [false, true]) cases.push(await overshoot(fake, name, make, { underestimated }));
		}
		for (const c of cases) {
			console.log(`${c.name.padEnd(14)} ${c.case.padEnd(26)} answered ${String(c.answered).padStart(3)}, used ${String(c.used).padStart(5)} tokens, overshoot ${String(c.overshoot).padStart(4)} (${c.requestsOver.toFixed(2)} requests), most in flight ${c.inFlight}`);
		}
		console.log('(bound: the last request\'s use, plus what requests in flight used beyond their estimates)');
	} finally {
		await fake.close();
		useUsageStore(undefined);
		rmSync(dir, { recursive: true, force: true });
		if (redisUp) await deleteKeys(REDIS_URL, PREFIX);
	}
}

main().then(
	() => process.exit(0),
	(err) => {
		console.error(err);
		process.exit(1);
	},
);
