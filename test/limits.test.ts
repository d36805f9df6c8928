/**
 * Per-key limits and circuit breakers at the engine level, per process and through Redis (the
 * shared 127.0.0.1:6379, under a prefix of this run's own, deleted afterwards): counts that
 * survive a change of limits, Requests per Day used only by requests that were sent, windows on a
 * monotonic clock, exactly one probe while a breaker is half-open, a retry that asks the breaker
 * again, and a breaker table that stays bounded. Real HTTP to the fake provider; outcomes and
 * counts are asserted, never durations.
 */
import { breakers, type BreakerSettings } from '../nodes/llm/breaker';
import { connectionFromCredential } from '../nodes/llm/client';
import { complete } from '../nodes/llm/dispatch';
import { limiters } from '../nodes/llm/limiter';
import { RedisStore, useRedis } from '../nodes/llm/redis';
import { redisSettings } from '../nodes/llm/redis-settings';
import { lastUserText, startFakeProvider } from './fake-provider';
import { deleteKeys, redisClient, redisReachableSync, sleep } from './helpers/cluster';

type Fake = Awaited<ReturnType<typeof startFakeProvider>>;
type Outcome = { ok: boolean; kind?: string; message?: string; attempts: string[] };

const KEY = 'sk-limits-SECRET-13579';
const REDIS_URL = 'redis://127.0.0.1:6379/0';
const PREFIX = `byok-limits-${process.pid}-${Date.now().toString(36)}`;
const DAY_MS = 86_400_000;
const redisUp = redisReachableSync(6379);
if (!redisUp) console.log('test/limits.test.ts: skipping the Redis-mode tests: nothing answers PING on 127.0.0.1:6379 (start Redis to run them).');

let fake: Fake;
beforeAll(async () => {
	fake = await startFakeProvider();
});
afterAll(async () => {
	await fake.close();
	if (redisUp) await deleteKeys(REDIS_URL, PREFIX);
});
afterEach(() => {
	fake.reset();
	limiters.clear();
	breakers.clear();
	limiters.clock = { windowMs: 60_000, dayMs: DAY_MS };
});

/** A credential id no other test uses, so state kept in Redis never carries over between tests. */
let ids = 0;
const freshId = (name: string) => `${name}-${++ids}`;

interface CallOptions {
	limits?: Record<string, unknown>;
	prompt?: string;
	timeoutMs?: number;
	retries?: number;
	signal?: AbortSignal;
	breaker?: BreakerSettings;
	/** Add a second candidate (another key on /fb/v1) after the primary. */
	fallback?: boolean;
}

/** One request to the primary key (and its fallback), settled into what the caller saw. */
async function call(credentialId: string, o: CallOptions = {}): Promise<Outcome> {
	const primary = { connection: connectionFromCredential('custom', { apiKey: KEY, baseUrl: fake.baseUrl, ...o.limits }, credentialId, 'Limits key'), model: 'm' };
	const fallback = { connection: connectionFromCredential('ollama', { baseUrl: `${fake.url}/fb/v1` }, `${credentialId}-fb`, 'Fallback key'), model: 'fb' };
	const describe = (attempts: Array<{ model: string; outcome: string }> = []) => attempts.map((a) => `${a.model}:${a.outcome}`);
	try {
		const result = await complete({ messages: [{ role: 'user', content: o.prompt ?? 'hi' }], options: {} }, o.fallback ? [primary, fallback] : [primary], {
			timeoutMs: o.timeoutMs ?? 10_000,
			retries: o.retries ?? 0,
			signal: o.signal,
			breaker: o.breaker,
		});
		return { ok: true, attempts: describe(result.attempts) };
	} catch (err) {
		const e = err as { kind: string; message: string; attempts?: Array<{ model: string; outcome: string }> };
		expect(e.message).not.toContain(KEY);
		return { ok: false, kind: e.kind, message: e.message, attempts: describe(e.attempts) };
	}
}

/** Prompts of the requests that reached the primary key, in arrival order. */
const primaryPrompts = () => fake.chatRequests.filter((r: { path: string }) => r.path === '/v1/chat/completions').map((r: { body: object }) => lastUserText(r.body));
const fallbackCount = () => fake.chatRequests.filter((r: { path: string }) => r.path === '/fb/v1/chat/completions').length;

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await sleep(10);
	}
}

const modes: Array<[string, boolean]> = [['per process', false], ...(redisUp ? [['through Redis', true] as [string, boolean]] : [])];

describe.each(modes)('%s', (_name, withRedis) => {
	let store: RedisStore | undefined;
	beforeAll(() => {
		if (!withRedis) return;
		store = new RedisStore(redisSettings({ BYOK_REDIS_URL: REDIS_URL, BYOK_REDIS_PREFIX: PREFIX })!);
		useRedis(store);
	});
	afterAll(async () => {
		useRedis(null);
		await store?.close();
	});

	test('changing a key\'s limits keeps what it already used: Requests per Day, then Requests per Minute', async () => {
		const day = freshId('day');
		for (let i = 0; i < 3; i++) expect(await call(day, { limits: { requestsPerDay: 3 } })).toMatchObject({ ok: true });
		// The same day, Max Concurrent is added: the 3 requests stay used.
		expect(await call(day, { limits: { requestsPerDay: 3, maxConcurrent: 2 } })).toMatchObject({ ok: false, kind: 'daily_limit' });
		// Raised by one: exactly one more.
		expect(await call(day, { limits: { requestsPerDay: 4, maxConcurrent: 2 } })).toMatchObject({ ok: true });
		expect(await call(day, { limits: { requestsPerDay: 4, maxConcurrent: 2 } })).toMatchObject({ ok: false, kind: 'daily_limit' });
		expect(primaryPrompts()).toHaveLength(4);

		fake.reset();
		// A window long enough that nothing leaves it during the test.
		limiters.clock = { windowMs: 20_000, dayMs: DAY_MS };
		const minute = freshId('minute');
		const first = await Promise.all(Array.from({ length: 10 }, () => call(minute, { limits: { requestsPerMinute: 10 }, timeoutMs: 15_000 })));
		expect(first.every((r) => r.ok)).toBe(true);
		// 10 changed to 11 within the window: one more start, not eleven.
		const second = await Promise.all(Array.from({ length: 3 }, () => call(minute, { limits: { requestsPerMinute: 11 }, timeoutMs: 1000 })));
		expect(second.map((r) => r.kind ?? 'ok').sort()).toEqual(['ok', 'timeout', 'timeout']);
		expect(primaryPrompts()).toHaveLength(11);
	}, 30_000);

	test('a request that never went out (timed out or cancelled while waiting for a slot) uses none of Requests per Day', async () => {
		limiters.clock = { windowMs: 1500, dayMs: DAY_MS };
		const id = freshId('unsent');
		const limits = { requestsPerDay: 2, requestsPerMinute: 1 };
		expect(await call(id, { limits })).toMatchObject({ ok: true });
		// The window is full: these two wait, then give up before being sent.
		expect(await call(id, { limits, timeoutMs: 300 })).toMatchObject({ ok: false, kind: 'timeout' });
		const cancel = new AbortController();
		const cancelled = call(id, { limits, signal: cancel.signal });
		await sleep(200);
		cancel.abort();
		expect(await cancelled).toMatchObject({ ok: false, kind: 'cancelled' });
		await sleep(1600); // the window has room again
		expect(await call(id, { limits })).toMatchObject({ ok: true });
		expect(await call(id, { limits })).toMatchObject({ ok: false, kind: 'daily_limit' });
		expect(primaryPrompts()).toHaveLength(2);
	}, 30_000);

	test('exactly one probe reaches the provider while the breaker is half-open; a failure that does not count releases no one else\'s claim', async () => {
		const id = freshId('probe');
		const breaker = { threshold: 2, cooldownMs: 300 };
		fake.setHandler((r: { path: string; body: object }) => {
			if (!r.path.startsWith('/v1/')) return undefined;
			const prompt = lastUserText(r.body);
			if (prompt.startsWith('hang')) return { hang: true };
			if (prompt === 'fail') return { status: 500, body: { error: { message: 'down' } } };
			return undefined;
		});
		// Sent while the breaker is closed; still in flight when it opens and when the probe goes out.
		const early = new AbortController();
		const stale = call(id, { prompt: 'hang early', signal: early.signal, breaker, timeoutMs: 60_000 });
		await until(() => primaryPrompts().includes('hang early'), 'the early request');
		for (let i = 0; i < 2; i++) expect(await call(id, { prompt: 'fail', breaker })).toMatchObject({ kind: 'server' });
		await sleep(400); // the cooldown is over: half-open

		// Five at once, with n8n's default timeout of 600 s: one is the probe (it hangs), four go to the fallback.
		const probes = new AbortController();
		const wave = Array.from({ length: 5 }, () => call(id, { prompt: 'hang probe', fallback: true, breaker, signal: probes.signal, timeoutMs: 600_000 }));
		await until(() => primaryPrompts().includes('hang probe') && fallbackCount() === 4, 'the probe and four fallbacks');
		if (withRedis) {
			// The claim lasts as long as the probe may run (its timeout), not a fixed minute.
			const redis = redisClient(REDIS_URL);
			const ttl = await redis.pttl(`${PREFIX}:{${id}}:probe:m`).finally(() => redis.disconnect());
			expect(ttl).toBeGreaterThan(600_000);
		}

		// The early request is cancelled: it proves nothing about the provider, and the claim is not its to release.
		early.abort();
		expect(await stale).toMatchObject({ ok: false, kind: 'cancelled' });
		expect(await call(id, { prompt: 'after', fallback: true, breaker })).toMatchObject({ ok: true, attempts: ['m:breaker_open', 'fb:ok'] });
		expect(primaryPrompts().filter((p: string) => p !== 'fail')).toEqual(['hang early', 'hang probe']);

		probes.abort();
		const settled = await Promise.all(wave);
		expect(settled.filter((r) => r.ok)).toHaveLength(4);
		expect(settled.filter((r) => !r.ok)).toEqual([expect.objectContaining({ kind: 'cancelled', attempts: ['m:cancelled'] })]);
	}, 30_000);

	test('a retry that waited asks the breaker again before it sends', async () => {
		const id = freshId('retry');
		const breaker = { threshold: 2, cooldownMs: 60_000 };
		fake.setHandler((r: { path: string; body: object }) => {
			if (!r.path.startsWith('/v1/')) return undefined;
			const prompt = lastUserText(r.body);
			if (prompt === 'retry me') return { status: 429, headers: { 'retry-after-ms': '500' }, body: { error: { message: 'slow down' } } };
			if (prompt === 'fail') return { status: 500, body: { error: { message: 'down' } } };
			return undefined;
		});
		const retried = call(id, { prompt: 'retry me', retries: 2, fallback: true, breaker });
		await until(() => primaryPrompts().includes('retry me'), 'the first try');
		// While it waits out its Retry-After, another failure opens the breaker.
		expect(await call(id, { prompt: 'fail', breaker })).toMatchObject({ kind: 'server' });
		expect(await retried).toMatchObject({ ok: true, attempts: ['m:rate_limited', 'm:breaker_open', 'fb:ok'] });
		expect(primaryPrompts()).toEqual(['retry me', 'fail']);
	}, 30_000);
});

describe('per process only', () => {
	test('windows run on a monotonic clock: a wall-clock step back of an hour does not hold up a full key; reset times stay wall-clock', async () => {
		limiters.clock = { windowMs: 1000, dayMs: DAY_MS };
		const id = freshId('clock');
		const limits = { requestsPerMinute: 2, requestsPerDay: 3 };
		for (let i = 0; i < 2; i++) expect(await call(id, { limits })).toMatchObject({ ok: true });
		const realNow = Date.now.bind(Date);
		const stepped = jest.spyOn(Date, 'now').mockImplementation(() => realNow() - 3_600_000);
		try {
			// The window frees up a second after the first start, whatever the wall clock says.
			expect(await call(id, { limits, timeoutMs: 5000 })).toMatchObject({ ok: true });
			const spent = await call(id, { limits });
			expect(spent).toMatchObject({ ok: false, kind: 'daily_limit' });
			// Shown on the wall clock users see now: about a day from the first request.
			const resetAt = Date.parse(/resets at (\S+?)\.?$/.exec(spent.message ?? '')?.[1] ?? '');
			expect(Math.abs(resetAt - (Date.now() + DAY_MS))).toBeLessThan(60_000);
		} finally {
			stepped.mockRestore();
		}
		expect(primaryPrompts()).toHaveLength(3);
	}, 30_000);

	test('the breaker table stays bounded: a flood of distinct failing candidates drops the least recently used, an open breaker in use stays', async () => {
		const settings = { threshold: 3, cooldownMs: 60_000 };
		const hot = 'cred\nhot-model';
		for (let i = 0; i < 3; i++) await breakers.failed(hot, {}, 'server', settings);
		expect(await breakers.allow(hot, 1000)).toBeUndefined();
		for (let i = 0; i < 50_000; i++) {
			await breakers.failed(`cred\nmodel-${i}`, {}, 'server', settings);
			if (i % 1000 === 0) expect(await breakers.allow(hot, 1000)).toBeUndefined();
		}
		expect(breakers.size).toBeLessThanOrEqual(10_000);
		expect(await breakers.allow(hot, 1000)).toBeUndefined();
		// A failure that does not count stores nothing; a success forgets its candidate.
		const size = breakers.size;
		await breakers.failed('cred\nbad-request', {}, 'bad_request', settings);
		expect(breakers.size).toBe(size);
		await breakers.succeeded('cred\nmodel-49999', {});
		expect(breakers.size).toBe(size - 1);
	}, 30_000);
});
