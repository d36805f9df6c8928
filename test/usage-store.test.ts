/**
 * The usage store's two backends with real processes: the embedded file shared by concurrent
 * processes on one machine (no lost or torn writes, a crashed writer's lock taken over, an
 * unreadable file set aside, an unavailable store never failing a request), and Redis shared
 * by two processes (counts and budgets across them, and across a restart). The processes are
 * test/helpers/usage-child.js, running the engine against the fake provider this file hosts;
 * they find their store from the environment, as in n8n. Redis tests need 127.0.0.1:6379 and
 * use keys under a prefix unique to this run, deleted afterwards.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectionFromCredential } from '../nodes/llm/client';
import { complete } from '../nodes/llm/dispatch';
import { UNAVAILABLE } from '../nodes/llm/redis';
import { redisSettings } from '../nodes/llm/redis-settings';
import { FileUsageStore, RedisUsageStore, useUsageStore, type KeyUsage, type UsageStore } from '../nodes/llm/usage-store';
import { startFakeProvider } from './fake-provider';
import { deleteKeys, listKeys, redisClient, redisReachableSync } from './helpers/cluster';
import { scratchDir } from './helpers/usage';

type Fake = Awaited<ReturnType<typeof startFakeProvider>>;
type ChildResult = Record<string, { ok: number; kinds: Record<string, number> }>;
let fake: Fake;
const REDIS_URL = 'redis://127.0.0.1:6379/0';
const PREFIX = `byok-usage-test-${process.pid}-${Date.now().toString(36)}`;
const withRedis = redisReachableSync(6379) ? describe : describe.skip;
if (!redisReachableSync(6379)) console.log('test/usage-store.test.ts: skipping the Redis tests: nothing answers PING on 127.0.0.1:6379.');

beforeAll(async () => {
	fake = await startFakeProvider();
});
afterEach(() => {
	fake.reset();
	useUsageStore(undefined);
});
afterAll(async () => {
	await fake.close();
	if (redisReachableSync(6379)) await deleteKeys(REDIS_URL, PREFIX);
});

const scratch = () => scratchDir('usage-');

/** Runs usage-child.js processes at once; each gets `env` (its store) and its job. */
async function children(env: Record<string, string>, jobs: Array<Record<string, unknown>>): Promise<ChildResult[]> {
	const startAt = Date.now() + 1500; // every process loaded before any sends
	return await Promise.all(
		jobs.map(
			(job) =>
				new Promise<ChildResult>((resolve, reject) => {
					const args = [join(__dirname, 'helpers/usage-child.js'), JSON.stringify({ baseUrl: fake.baseUrl, delayStartUntil: startAt, ...job })];
					execFile(process.execPath, args, { env: { ...process.env, BYOK_REDIS: '', ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
						if (err) return reject(new Error(`${err.message}\n${stderr}`));
						resolve((JSON.parse(stdout.trim().split('\n').pop()!) as { results: ChildResult }).results);
					});
				}),
		),
	);
}

async function all(store: UsageStore): Promise<Map<string, KeyUsage>> {
	const docs = await store.readAll();
	if (docs === UNAVAILABLE) throw new Error('store unavailable');
	return new Map(docs.map((d) => [d.credentialId, d]));
}
const today = () => new Date().toISOString().slice(0, 10);
const month = () => new Date().toISOString().slice(0, 7);

describe('embedded store (a file in the n8n user folder)', () => {
	test('four processes at once on one file: every request counted, nothing torn, no lock or temporary file left', async () => {
		const dir = scratch();
		const file = join(dir, 'usage.json');
		const jobs = [0, 1, 2, 3].map((n) => ({ concurrency: 8, keys: [{ id: 'shared', data: {}, count: 40 }, { id: `own-${n}`, data: {}, count: 20 }] }));
		const results = await children({ BYOK_USAGE_FILE: file }, jobs);
		expect(results.every((r) => r.shared.ok === 40 && Object.values(r).every((k) => k.kinds.ok === k.ok))).toBe(true);
		const docs = await all(new FileUsageStore(file));
		expect(docs.get('shared')?.days[today()]).toMatchObject({ requests: 160, inputTokens: 1600, outputTokens: 800 });
		expect(docs.get('shared')?.months[month()]?.models.m).toMatchObject({ requests: 160 });
		for (const n of [0, 1, 2, 3]) expect(docs.get(`own-${n}`)?.days[today()]?.requests).toBe(20);
		expect(fake.chatRequests).toHaveLength(240);
		expect(JSON.parse(readFileSync(file, 'utf8')).version).toBe(1);
		expect(readdirSync(dir)).toEqual(['usage.json']);
	}, 120_000);

	test('a budget holds across processes sharing the file: together they stop at the limit', async () => {
		const file = join(scratch(), 'usage.json');
		fake.setHandler(() => ({ delayMs: 30 }));
		// 24 estimated input + 10 output per request against 15 real: the bound is one request over.
		const key = { id: 'budgeted', data: { dailyBudgetTokens: 150 }, count: 20 };
		const results = await children({ BYOK_USAGE_FILE: file }, [0, 1].map(() => ({ concurrency: 8, prompt: 'x'.repeat(80), maxTokens: 10, keys: [key] })));
		const answered = results.reduce((sum, r) => sum + r.budgeted.ok, 0);
		const used = (await all(new FileUsageStore(file))).get('budgeted')!.days[today()];
		expect(used.inputTokens + used.outputTokens).toBe(15 * answered);
		expect(15 * answered).toBeGreaterThanOrEqual(150);
		expect(15 * answered).toBeLessThan(150 + 15);
		expect(results.reduce((sum, r) => sum + (r.budgeted.kinds.budget_exhausted ?? 0), 0)).toBe(40 - answered);
	}, 120_000);

	test('Requests per Day holds across a restart: a new process continues from the count in the file', async () => {
		const file = join(scratch(), 'usage.json');
		const key = (count: number) => ({ id: 'per-day', data: { requestsPerDay: 5 }, count });
		const [first] = await children({ BYOK_USAGE_FILE: file }, [{ concurrency: 1, keys: [key(3)] }]);
		expect(first['per-day']).toEqual({ ok: 3, kinds: { ok: 3 } });
		const [second] = await children({ BYOK_USAGE_FILE: file }, [{ concurrency: 1, keys: [key(4)] }]);
		expect(second['per-day']).toEqual({ ok: 2, kinds: { ok: 2, daily_limit: 2 } });
		expect(fake.chatRequests).toHaveLength(5);
	}, 120_000);

	test("a lock left by a process that crashed mid-write is taken over (with a warning); a held one is waited for", async () => {
		const file = join(scratch(), 'usage.json');
		const log = { warn: jest.fn(), info: jest.fn() };
		const store = new FileUsageStore(file, log);
		writeFileSync(`${file}.lock`, 'crashed-writer');
		const old = (Date.now() - 60_000) / 1000;
		utimesSync(`${file}.lock`, old, old);
		await expect(store.update('k', (u) => (u.label = 'after crash'))).resolves.toBe('after crash');
		expect(log.warn.mock.calls.map(String)).toEqual([expect.stringMatching(/Removed the lock .*usage\.json\.lock, left behind by a process that stopped while writing/)]);

		writeFileSync(`${file}.lock`, 'busy-writer');
		let done = false;
		const waiting = store.update('k', (u) => (u.label = 'after wait')).then((r) => ((done = true), r));
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(done).toBe(false);
		rmSync(`${file}.lock`);
		await expect(waiting).resolves.toBe('after wait');
	});

	test('a file that cannot be read is set aside with a warning and counting starts again', async () => {
		const dir = scratch();
		const file = join(dir, 'usage.json');
		writeFileSync(file, '{"version": 1, "keys": {"k": ');
		const log = { warn: jest.fn(), info: jest.fn() };
		await new FileUsageStore(file, log).update('k', (u) => (u.label = 'fresh'));
		expect(log.warn.mock.calls.map(String)).toEqual([expect.stringMatching(/could not be read; it was moved to .*usage\.json\.unreadable-\d+ and counting starts again/)]);
		expect(readdirSync(dir).sort()).toEqual(['usage.json', expect.stringMatching(/^usage\.json\.unreadable-\d+$/)]);
		expect((await all(new FileUsageStore(file))).get('k')?.label).toBe('fresh');
	});

	test('a store that cannot be written never fails a request; what it used is added once the store works again', async () => {
		const dir = scratch();
		writeFileSync(join(dir, 'blocker'), 'a file where the folder should be');
		const file = join(dir, 'blocker', 'usage.json');
		const log = { warn: jest.fn(), info: jest.fn() };
		useUsageStore(new FileUsageStore(file, log));
		const connection = connectionFromCredential('custom', { apiKey: 'sk-x', baseUrl: fake.baseUrl, dailyBudgetTokens: 1000 }, 'unwritable', 'Unwritable key');
		const call = () => complete({ messages: [{ role: 'user', content: 'hi' }], options: {} }, [{ connection, model: 'm' }], { timeoutMs: 10_000, retries: 0 });
		await expect(call()).resolves.toMatchObject({ text: 'echo: hi' });
		await expect(call()).resolves.toMatchObject({ text: 'echo: hi' });
		expect(log.warn.mock.calls.map(String)).toEqual([expect.stringMatching(/The usage store \(.*usage\.json\) is unavailable \(ENOTDIR\): budgets are not checked until it is back; usage is kept in memory/)]);
		rmSync(join(dir, 'blocker'));
		await call();
		expect(log.info.mock.calls.map(String)).toEqual([expect.stringMatching(/is available again/)]);
		expect((await all(new FileUsageStore(file))).get('unwritable')?.days[today()]?.requests).toBe(3);
	});
});

withRedis('Redis store (queue mode), shared by processes', () => {
	const env = { BYOK_REDIS_URL: REDIS_URL, BYOK_REDIS_PREFIX: PREFIX };
	let store: RedisUsageStore;
	beforeAll(() => {
		store = new RedisUsageStore(redisSettings(env)!);
	});
	afterAll(async () => await store.close());

	test('two processes: every request counted; a restarted process continues from the count in Redis (its budget too)', async () => {
		const id = `cred-${PREFIX}`;
		const first = await children(env, [0, 1].map(() => ({ concurrency: 8, keys: [{ id, data: { monthlyBudgetTokens: 600 }, count: 15 }] })));
		expect(first.map((r) => r[id].ok)).toEqual([15, 15]);
		expect((await all(store)).get(id)?.months[month()]).toMatchObject({ requests: 30, inputTokens: 300, outputTokens: 150 });
		// 450 of 600 tokens used: a new process may send 10 more (the 10th reaches 600), not 15.
		const [again] = await children(env, [{ concurrency: 1, keys: [{ id, data: { monthlyBudgetTokens: 600 }, count: 15 }] }]);
		expect(again[id]).toEqual({ ok: 10, kinds: { ok: 10, budget_exhausted: 5 } });
		expect((await all(store)).get(id)?.months[month()]?.requests).toBe(40);
		expect(fake.chatRequests).toHaveLength(40);
	}, 120_000);

	test('two processes at once against one budget: together they stop one request past the limit at most', async () => {
		const id = `cred-budget-${PREFIX}`;
		fake.setHandler(() => ({ delayMs: 30 }));
		const results = await children(env, [0, 1].map(() => ({ concurrency: 8, prompt: 'x'.repeat(80), maxTokens: 10, keys: [{ id, data: { dailyBudgetTokens: 150 }, count: 20 }] })));
		const answered = results.reduce((sum, r) => sum + r[id].ok, 0);
		const used = (await all(store)).get(id)!.days[today()];
		expect(used.inputTokens + used.outputTokens).toBe(15 * answered);
		expect(15 * answered).toBeGreaterThanOrEqual(150);
		expect(15 * answered).toBeLessThan(150 + 15);
	}, 120_000);

	test('keys in Redis hold the credential id, never the API key (names and values)', async () => {
		const keys = await listKeys(REDIS_URL, PREFIX);
		expect(keys).toEqual(expect.arrayContaining([`${PREFIX}:usage:keys`, `${PREFIX}:{cred-${PREFIX}}:usage`]));
		expect(keys.join()).not.toContain('sk-usage-child');
		const client = redisClient(REDIS_URL);
		try {
			const values: string[] = [];
			for (const key of keys) {
				const type = await client.type(key);
				if (type === 'hash') values.push(JSON.stringify(await client.hgetall(key)));
				else if (type === 'set') values.push(...(await client.smembers(key)));
				else if (type === 'zset') values.push(...(await client.zrange(key, 0, -1)));
				else if (type === 'string') values.push((await client.get(key)) ?? '');
				else values.push(`unread ${type} ${key}`);
			}
			expect(values.join('\n')).toContain(`cred-${PREFIX}`);
			expect(values.join('\n')).not.toContain('sk-usage-child');
		} finally {
			client.disconnect();
		}
	});
});
