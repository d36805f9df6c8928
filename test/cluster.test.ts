/**
 * Queue mode: limits and breakers shared by n8n processes through Redis.
 *
 * The "workers" are separate OS processes (test/helpers/cluster-child.js) running the engine
 * against the fake provider, which the jest process hosts; arrival times at the provider are what
 * is checked. They need the Redis on 127.0.0.1:6379 (on our machines and in CI); elsewhere those
 * tests are skipped with a printed reason. The outage tests start a redis-server of their own on a
 * free port, so they can stop and restart it. Every key lives under a prefix unique to this run
 * and is deleted afterwards.
 */
import { breakers } from '../nodes/llm/breaker';
import { connectionFromCredential } from '../nodes/llm/client';
import { complete } from '../nodes/llm/dispatch';
import { limiters } from '../nodes/llm/limiter';
import { RedisStore, useRedis } from '../nodes/llm/redis';
import { redisSettings } from '../nodes/llm/redis-settings';
import { lastUserText, maxInWindow, startFakeProvider } from './fake-provider';
import { deleteKeys, hasRedisServer, listKeys, ownRedisServer, redisReachableSync, runWorkers, sleep, startWorkers, watchWindowLog } from './helpers/cluster';

type Fake = Awaited<ReturnType<typeof startFakeProvider>>;
type Result = { ok: boolean; provider?: string; kind?: string; message?: string; attempts: string[] };

const REDIS_URL = 'redis://127.0.0.1:6379/0';
const PREFIX = `byok-test-${process.pid}-${Date.now().toString(36)}`;
const redisUp = redisReachableSync(6379);
const redisServer = hasRedisServer();
if (!redisUp) console.log('test/cluster.test.ts: skipping the multi-process tests: nothing answers PING on 127.0.0.1:6379 (start Redis to run them).');
if (!redisServer) console.log('test/cluster.test.ts: skipping the Redis outage tests: no redis-server binary on PATH (apt-get install redis-server to run them).');
const withRedis = redisUp ? describe : describe.skip;
const withOwnRedis = redisServer ? describe : describe.skip;

/** What a worker process gets: the shared Redis, this run's prefix (jest's own env turns Redis off). */
const workerEnv = (extra: Record<string, string> = {}) => ({ BYOK_REDIS: '', BYOK_REDIS_URL: REDIS_URL, BYOK_REDIS_PREFIX: PREFIX, ...extra });

let fake: Fake;
const job = (credentialId: string, count: number, extra: Record<string, unknown> = {}) => ({ baseUrl: fake.baseUrl, credentialId, count, ...extra });
const chats = () => fake.chatRequests.filter((r: { path: string }) => r.path === '/v1/chat/completions');
/** Arrival times at the primary of the requests whose prompt is `prompt` (one worker's). */
const arrivals = (prompt: string) => chats().filter((r: { body: object }) => lastUserText(r.body) === prompt).map((r: { at: number }) => r.at);
/** What the package logged about Redis, per worker. */
const redisLines = (output: string[][]) => output.map((lines) => lines.filter((l) => l.includes('[n8n-nodes-byok] Redis')));

beforeAll(async () => {
	fake = await startFakeProvider();
});
afterAll(async () => {
	await fake.close();
	if (redisUp) await deleteKeys(REDIS_URL, PREFIX);
});

describe('Redis settings come from n8n\'s queue-mode environment', () => {
	test('nothing set: per-process limits, as without queue mode', () => {
		expect(redisSettings({})).toBeUndefined();
		expect(redisSettings({ EXECUTIONS_MODE: 'regular' })).toBeUndefined();
	});

	test('queue mode: QUEUE_BULL_REDIS_* are used, with n8n\'s defaults; the log name never holds the password', () => {
		expect(redisSettings({ EXECUTIONS_MODE: 'queue' })).toMatchObject({ host: 'localhost', port: 6379, db: 0, tls: false, prefix: 'byok', onError: 'local', where: 'localhost:6379' });
		const s = redisSettings({
			EXECUTIONS_MODE: 'queue',
			QUEUE_BULL_REDIS_HOST: 'redis.internal',
			QUEUE_BULL_REDIS_PORT: '6380',
			QUEUE_BULL_REDIS_USERNAME: 'n8n',
			QUEUE_BULL_REDIS_PASSWORD: 'pw-SECRET',
			QUEUE_BULL_REDIS_DB: '2',
			QUEUE_BULL_REDIS_TLS: 'true',
		});
		expect(s).toMatchObject({ host: 'redis.internal', port: 6380, username: 'n8n', password: 'pw-SECRET', db: 2, tls: true, where: 'redis.internal:6380/2' });
		expect(redisSettings({ QUEUE_BULL_REDIS_HOST: 'redis.internal' })?.host).toBe('redis.internal');
	});

	test('BYOK_REDIS_URL points elsewhere, BYOK_REDIS=off turns it off, BYOK_REDIS_ON_ERROR and BYOK_REDIS_PREFIX are read', () => {
		const s = redisSettings({ EXECUTIONS_MODE: 'queue', QUEUE_BULL_REDIS_HOST: 'queue-redis', BYOK_REDIS_URL: 'rediss://user:pw-SECRET@limits-redis:6390/4', BYOK_REDIS_ON_ERROR: 'fail', BYOK_REDIS_PREFIX: 'team-a' });
		expect(s).toMatchObject({ url: 'rediss://user:pw-SECRET@limits-redis:6390/4', onError: 'fail', prefix: 'team-a', where: 'limits-redis:6390/4' });
		expect(redisSettings({ EXECUTIONS_MODE: 'queue', BYOK_REDIS_URL: 'redis://x:6379', BYOK_REDIS: 'off' })).toBeUndefined();
	});
});

withRedis('queue mode: processes sharing one credential through Redis', () => {
	beforeEach(() => fake.reset());

	test('three processes never exceed the per-minute limit in any sliding window, and together use at least 90% of it', async () => {
		// A 1 s "minute" (the limiter's test knob), with the production slack.
		const limit = 20;
		const windowMs = 1000;
		const credentialId = `cred-window-${PREFIX}`;
		// Three windows' worth plus one: the last start opens the fourth window.
		const jobs = [21, 20, 20].map((count) => job(credentialId, count, { limits: { requestsPerMinute: limit }, windowMs }));
		const log = watchWindowLog(REDIS_URL, `${PREFIX}:{${credentialId}}:window`);
		const results: Result[][] = await runWorkers(jobs, workerEnv(), { onReady: () => fake.reset() });
		const starts: number[] = await log.stop();
		expect(results.flat().filter((r) => !r.ok)).toEqual([]);
		expect(chats()).toHaveLength(61);
		// The cluster's record of when it let each request go, on Redis's clock, shared by all three
		// processes. (Arrival times at the provider add each request's send-to-arrive delay, which
		// on a loaded 2-CPU machine exceeds the slack of a shortened window; the e2e checks them
		// with real 60 s windows, whose slack is 600 ms.)
		expect(starts).toHaveLength(61);
		// Never over the limit in any window, and the limit is used: with burst pacing a window fills.
		// (Throughput against the allowed rate is a speed figure: bench/cluster.js prints it.)
		expect(maxInWindow(starts, windowMs)).toBe(limit);
	}, 60_000);

	test('without Redis (BYOK_REDIS=off) each process has its own limit: two processes send twice as many (what Redis fixes)', async () => {
		const jobs = [0, 1].map(() => job(`cred-local-${PREFIX}`, 10, { limits: { requestsPerMinute: 10 }, windowMs: 1000 }));
		await runWorkers(jobs, { BYOK_REDIS: 'off' }, { onReady: () => fake.reset() });
		expect(maxInWindow(chats().map((r: { at: number }) => r.at), 1000)).toBeGreaterThan(10);
	}, 60_000);

	test('Max Concurrent holds across processes', async () => {
		const jobs = [0, 1].map(() => job(`cred-concurrent-${PREFIX}`, 8, { limits: { maxConcurrent: 3 } }));
		const results: Result[][] = await runWorkers(jobs, workerEnv(), {
			onReady: () => {
				fake.reset();
				fake.setHandler(() => ({ delayMs: 100 }));
			},
		});
		expect(results.flat().every((r) => r.ok)).toBe(true);
		expect(chats()).toHaveLength(16);
		expect(fake.maxInFlight).toBe(3);
	}, 60_000);

	test('the per-day count survives a process restart', async () => {
		const credentialId = `cred-day-${PREFIX}`;
		const limits = { requestsPerDay: 5 };
		const [first]: Result[][] = await runWorkers([job(credentialId, 3, { limits })], workerEnv());
		expect(first.map((r) => r.ok)).toEqual([true, true, true]);
		// A new process (a restarted worker) starts from the count in Redis, not from zero.
		const [second]: Result[][] = await runWorkers([job(credentialId, 4, { limits, sequential: true })], workerEnv(), { onReady: () => fake.reset() });
		expect(second.map((r) => r.ok)).toEqual([true, true, false, false]);
		expect(second[2]).toMatchObject({ kind: 'daily_limit' });
		expect(second[2].message).toMatch(/The key "Cluster test key" reached its limit of 5 requests per day; it resets at \d{4}-\d\d-\d\dT/);
		expect(chats()).toHaveLength(2);
		expect(await listKeys(REDIS_URL, PREFIX)).toContain(`${PREFIX}:{${credentialId}}:day`);
	}, 60_000);

	test('a breaker opened by one process spares the others', async () => {
		const credentialId = `cred-breaker-${PREFIX}`;
		const options = { retries: 0, breaker: { threshold: 2, cooldownMs: 60_000 } };
		const [first]: Result[][] = await runWorkers([job(credentialId, 2, { options, sequential: true })], workerEnv(), {
			onReady: () => {
				fake.reset();
				fake.setHandler(() => ({ status: 500, body: { error: { message: 'down' } } }));
			},
		});
		expect(first.map((r) => r.kind)).toEqual(['server', 'server']);
		const [second]: Result[][] = await runWorkers([job(credentialId, 1, { options })], workerEnv(), { onReady: () => fake.reset() });
		expect(second[0]).toMatchObject({ ok: false, kind: 'breaker_open', attempts: ['custom/m:breaker_open'] });
		expect(chats()).toHaveLength(0);
	}, 60_000);

	test('while a breaker is half-open, exactly one probe reaches the provider from all processes together', async () => {
		const credentialId = `cred-probe-${PREFIX}`;
		const options = { retries: 0, breaker: { threshold: 1, cooldownMs: 1000 } };
		const jobs = [1, 2, 3].map((w) => job(credentialId, 3, { options, prompt: `w${w}`, fallbackUrl: `${fake.url}/fb/v1` }));
		const workers = await startWorkers(jobs, workerEnv());
		try {
			fake.reset();
			fake.setHandler((r: { path: string }) => (r.path.startsWith('/v1/') ? { status: 500, body: { error: { message: 'down' } } } : undefined));
			const [opened] = await workers.run([1, 0, 0]);
			expect(opened[0].attempts).toEqual(['custom/m:server:500', 'ollama/fb:ok:200']);
			await sleep(1200); // the cooldown is over: half-open
			fake.reset();
			// The provider is back, slow enough that all nine requests overlap the probe.
			fake.setHandler((r: { path: string }) => (r.path.startsWith('/v1/') ? { delayMs: 800 } : undefined));
			const results: Result[] = (await workers.run([3, 3, 3])).flat();
			expect(results.every((r) => r.ok)).toBe(true);
			expect(chats()).toHaveLength(1);
			expect(results.filter((r) => r.provider === 'custom')).toHaveLength(1);
			expect(results.filter((r) => r.attempts[0] === 'custom/m:breaker_open')).toHaveLength(8);
		} finally {
			await workers.stop();
		}
	}, 60_000);
});

withOwnRedis('Redis stopped and restarted mid-run', () => {
	const PASSWORD = 'own-redis-pw-SECRET';
	const KEY = 'sk-outage-SECRET-24680';
	let server: Awaited<ReturnType<typeof ownRedisServer>>;
	let store: RedisStore | undefined;
	let warn: jest.SpyInstance;
	let info: jest.SpyInstance;

	beforeEach(async () => {
		server = await ownRedisServer({ password: PASSWORD });
		fake.reset();
		warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
		info = jest.spyOn(console, 'info').mockImplementation(() => undefined);
	});
	afterEach(async () => {
		useRedis(null);
		await store?.close();
		await server.stop();
		warn.mockRestore();
		info.mockRestore();
		limiters.clear();
		breakers.clear();
		limiters.clock = { windowMs: 60_000, dayMs: 86_400_000 };
	});

	const plugIn = (onError: 'local' | 'fail') => {
		store = new RedisStore(redisSettings({ BYOK_REDIS_URL: server.url, BYOK_REDIS_PREFIX: PREFIX, BYOK_REDIS_ON_ERROR: onError })!);
		useRedis(store);
	};
	const call = (credentialId: string, limits: Record<string, number>) =>
		complete({ messages: [{ role: 'user', content: 'hi' }], options: {} }, [{ connection: connectionFromCredential('custom', { apiKey: KEY, baseUrl: fake.baseUrl, ...limits }, credentialId, 'Outage key'), model: 'm' }], { timeoutMs: 30_000, retries: 0 });
	const logged = (spy: jest.SpyInstance) => spy.mock.calls.map((args) => args.join(' '));

	test(`default (BYOK_REDIS_ON_ERROR=local): per-process limits with one warning, nothing fails or hangs, cluster-wide again when it is back`, async () => {
		plugIn('local');
		// A 1 s "minute"; its window held 300 ms longer, so that how late a request can arrive
		// after its start on a loaded 2-CPU machine does not blur the check at the provider.
		limiters.clock = { windowMs: 1000, dayMs: 86_400_000, slackMs: 300 };
		const credentialId = `cred-outage-${PREFIX}`;
		const limits = { requestsPerMinute: 20, requestsPerDay: 10_000 };
		await call(`${credentialId}-warmup`, {});
		fake.reset();

		// Requests keep coming (about 16/s, around what the limit lets through) while Redis goes away and comes back.
		const calls: Array<Promise<unknown>> = [];
		const started = Date.now();
		const outage = (async () => {
			await sleep(1000);
			expect((await listKeys(server.url, PREFIX)).length).toBeGreaterThan(0); // cluster-wide state while up
			await server.stop();
			const stoppedAt = Date.now();
			await sleep(1500);
			await server.start(); // empty: no persistence
			return { stoppedAt, restartedAt: Date.now() };
		})();
		while (Date.now() - started < 4000) {
			calls.push(call(credentialId, limits));
			await sleep(60);
		}
		const { stoppedAt, restartedAt } = await outage;
		const results = await Promise.allSettled(calls);
		expect(results.filter((r) => r.status === 'rejected')).toEqual([]);

		const times = fake.chatRequests.map((r: { at: number }) => r.at);
		expect(times).toHaveLength(calls.length);
		expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(20);
		// Requests went on during the outage, under the per-process limit.
		expect(times.filter((t: number) => t > stoppedAt + 100 && t < restartedAt).length).toBeGreaterThan(5);
		// Back in Redis: the restarted (empty) server holds this credential's window again.
		expect(await listKeys(server.url, PREFIX)).toEqual(expect.arrayContaining([`${PREFIX}:{${credentialId}}:window`, `${PREFIX}:{${credentialId}}:day`]));

		const warnings = logged(warn);
		expect(warnings).toHaveLength(1);
		expect(warnings[0]).toMatch(/^\[n8n-nodes-byok\] Redis at 127\.0\.0\.1:\d+\/0 is unreachable \(.+\): limits and circuit breakers are per process until it is back\.$/);
		expect(logged(info)).toEqual([expect.stringMatching(/Redis at 127\.0\.0\.1:\d+\/0 is back: limits and circuit breakers are cluster-wide again\./)]);
		for (const line of [...warnings, ...logged(info)]) {
			expect(line).not.toContain(PASSWORD);
			expect(line).not.toContain(KEY);
		}
	}, 60_000);

	test('BYOK_REDIS_ON_ERROR=fail: requests on a limited key fail at once with a clear error and send nothing; keys without limits go on; back when Redis is', async () => {
		plugIn('fail');
		const credentialId = `cred-fail-${PREFIX}`;
		const limits = { requestsPerMinute: 100 };
		await expect(call(credentialId, limits)).resolves.toMatchObject({ provider: 'custom' });
		await server.stop();
		fake.reset();

		// Not hanging is the point: a call that waited on Redis forever would fail by jest's timeout.
		const error = await call(credentialId, limits).catch((err) => err);
		expect(error).toMatchObject({ kind: 'limits_unavailable' });
		// The words the README promises.
		expect(error.message).toMatch(/^Limits unavailable: .*BYOK_REDIS_ON_ERROR=fail/);
		expect(fake.chatRequests).toHaveLength(0);
		await expect(call(`${credentialId}-unlimited`, {})).resolves.toMatchObject({ provider: 'custom' });
		expect(logged(warn)).toEqual([expect.stringMatching(/is unreachable .*requests on keys with limits fail until it is back \(BYOK_REDIS_ON_ERROR=fail\)/)]);

		await server.start();
		const deadline = Date.now() + 10_000;
		let last: unknown;
		while (Date.now() < deadline) {
			last = await call(credentialId, limits).catch((err) => err);
			if ((last as { provider?: string }).provider === 'custom') break;
			await sleep(200);
		}
		expect(last).toMatchObject({ provider: 'custom' });
	}, 60_000);
});

withOwnRedis('Redis killed and restarted empty under worker processes', () => {
	let server: Awaited<ReturnType<typeof ownRedisServer>>;
	const ownEnv = (extra: Record<string, string> = {}) => ({ BYOK_REDIS: '', BYOK_REDIS_URL: server.url, BYOK_REDIS_PREFIX: PREFIX, ...extra });
	beforeEach(async () => {
		server = await ownRedisServer();
		fake.reset();
	});
	afterEach(() => server.stop());

	test('the moment Redis dies, each process keeps its window and its spacing (Smoothed) instead of sending what was waiting at once', async () => {
		// 30 per 6 s, smoothed: one start every 202 ms, cluster-wide while Redis is up, per process without it.
		const windowMs = 6000;
		const limit = 30;
		const jobs = [1, 2].map((w) => job(`cred-spacing-${PREFIX}`, 25, { prompt: `w${w}`, limits: { requestsPerMinute: limit, pacing: 'smoothed' }, windowMs }));
		const workers = await startWorkers(jobs, ownEnv());
		try {
			fake.reset();
			const running = workers.run();
			await sleep(1500); // requests are queued on both workers, waiting for Redis's go-ahead
			await server.stop();
			const stoppedAt = Date.now();
			await sleep(2000);
			await server.start();
			const results: Result[] = (await running).flat();
			expect(results.filter((r) => !r.ok)).toEqual([]);
			for (const worker of ['w1', 'w2']) {
				const times = arrivals(worker);
				expect(times).toHaveLength(25);
				// Never two of one process's requests within half the spacing (a few ms apart when released at once).
				const gaps = times.slice(1).map((t: number, i: number) => t - times[i]);
				expect(Math.min(...gaps)).toBeGreaterThanOrEqual(100);
				expect(maxInWindow(times, windowMs)).toBeLessThanOrEqual(limit);
				expect(times.filter((t: number) => t > stoppedAt + 100 && t < stoppedAt + 1900).length).toBeGreaterThan(3);
			}
			expect(redisLines(workers.output).map((lines) => lines.length)).toEqual([2, 2]); // unreachable, back
		} finally {
			await workers.stop();
		}
	}, 90_000);

	test.each(['local', 'fail'])('BYOK_REDIS_ON_ERROR=%s: after an empty restart the window holds what each process sent before it', async (onError) => {
		const windowMs = 8000;
		const limit = 20;
		const jobs = [1, 2].map((w) => job(`cred-reseed-${onError}-${PREFIX}`, 6, { prompt: `w${w}`, limits: { requestsPerMinute: limit }, windowMs }));
		const workers = await startWorkers(jobs, ownEnv({ BYOK_REDIS_ON_ERROR: onError }));
		try {
			fake.reset();
			expect((await workers.run()).flat().every((r: Result) => r.ok)).toBe(true); // 12 at once
			await server.stop();
			await server.start(); // no persistence: everything Redis held is gone
			await sleep(1500); // both workers reconnect, idle
			// 16 more, most from one worker: 8 fit into the window, the rest wait for it.
			expect((await workers.run([14, 2])).flat().every((r: Result) => r.ok)).toBe(true);
			const times = [...arrivals('w1'), ...arrivals('w2')];
			expect(times).toHaveLength(28);
			expect(maxInWindow(times, windowMs)).toBeLessThanOrEqual(limit);
		} finally {
			await workers.stop();
		}
	}, 90_000);

	test('Requests per Day: during an outage each process goes on from the last count it saw, and an empty Redis gets that count back', async () => {
		const credentialId = `cred-day-outage-${PREFIX}`;
		const jobs = [1, 2].map((w) => job(credentialId, 1, { prompt: `w${w}`, limits: { requestsPerDay: 5 }, sequential: true }));
		const workers = await startWorkers(jobs, ownEnv());
		let message: string | undefined;
		try {
			fake.reset();
			expect((await workers.run([5, 0]))[0].every((r: Result) => r.ok)).toBe(true);
			const spent: Result[] = (await workers.run([1, 1])).flat();
			expect(spent.map((r) => r.kind)).toEqual(['daily_limit', 'daily_limit']);
			message = spent[0].message;
			expect(message).toMatch(/reached its limit of 5 requests per day; it resets at \d{4}-/);

			await server.stop();
			const during: Result[] = (await workers.run([2, 2])).flat();
			expect(during.map((r) => r.message)).toEqual([message, message, message, message]);

			await server.start(); // empty
			await sleep(1500);
			const after: Result[] = (await workers.run([1, 1])).flat();
			expect(after.map((r) => r.message)).toEqual([message, message]);
			expect(chats()).toHaveLength(5);
			expect(arrivals('w1')).toHaveLength(5);
		} finally {
			await workers.stop();
		}
		// A process that never saw the count (a new worker) finds it in Redis again.
		const [fresh]: Result[][] = await runWorkers([job(credentialId, 1, { limits: { requestsPerDay: 5 } })], ownEnv(), { onReady: () => fake.reset() });
		expect(fresh.map((r) => r.message)).toEqual([message]);
		expect(chats()).toHaveLength(0);
	}, 90_000);
});
