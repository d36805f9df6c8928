/**
 * Cluster-wide state for queue mode: every n8n process (main and workers) keeps the limits and
 * breakers of a credential in the same Redis, so N workers together stay within one key's limits.
 *
 * Every decision is one Lua script, atomic in Redis and timed by Redis `TIME`, so processes on
 * different machines agree on the clock. Keys hold the credential's id, never its key:
 *   <prefix>:{<credential id>}:window    sorted set: request start times (per-minute limit)
 *   <prefix>:{<credential id>}:leases    sorted set: requests in flight, scored by lease expiry
 *   <prefix>:{<credential id>}:day       hash: used, resetAt (per-day limit; survives restarts)
 *   <prefix>:{<credential id>}:breaker:<model>, ...:probe:<model>   circuit breaker, probe claim
 *
 * Redis trouble never crashes or hangs a request: commands fail fast when disconnected and time
 * out after COMMAND_TIMEOUT_MS otherwise; callers then fall back to per-process state (or fail,
 * with BYOK_REDIS_ON_ERROR=fail). One warning is logged per outage; the client keeps
 * reconnecting. After an outage, before anything else, the process writes back what it knows
 * (its starts in the current window, its requests in flight, its per-day counts: see `resync`),
 * so a Redis that restarted empty, or missed what was sent meanwhile, does not start from nothing.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import type { RedisSettings } from './redis-settings';
import { redisSettings } from './redis-settings';
import { sleep } from './sleep';

const COMMAND_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 2000;
/** After a failed command, Redis is not asked again for this long (a hung server costs one timeout, not one per request). */
const RETRY_AFTER_FAILURE_MS = 1000;
/** How long a request in flight holds its concurrency slot without renewal (a dead worker's slots come back after this). */
export const LEASE_MS = 30_000;
/** Breaker state of a candidate nobody asks for any more is dropped after a day. */
const BREAKER_TTL_MS = 86_400_000;

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Admits one request if the credential's per-minute and concurrency limits allow it now; else
 * returns how many ms to wait. KEYS: window, leases. ARGV: member, limit, windowMs, spacingMs,
 * maxConcurrent, leaseMs, pollMs.
 */
const ADMIT = `${NOW}
local member, limit, window, spacing = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local maxc, lease, poll = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local wait = 0
if limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[1])
  if count >= limit then
    -- the start whose leaving makes room (not the oldest when a lowered limit left more in the window)
    local blocking = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
    wait = tonumber(blocking[2]) + window - now
  end
  if spacing > 0 then
    local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
    if last[2] then wait = math.max(wait, tonumber(last[2]) + spacing - now) end
  end
end
if maxc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= maxc then wait = math.max(wait, poll) end
end
if wait > 0 then return math.ceil(wait) end
if limit > 0 then
  redis.call('ZADD', KEYS[1], now, member)
  redis.call('PEXPIRE', KEYS[1], window + 1000)
end
if maxc > 0 then
  redis.call('ZADD', KEYS[2], now + lease, member)
  redis.call('PEXPIRE', KEYS[2], lease * 2)
end
return 0
`;

/** Moves a start to now, once its request has really left (never earlier). KEYS: window. ARGV: member. */
const DEPARTED = `${NOW}
local at = redis.call('ZSCORE', KEYS[1], ARGV[1])
if at and now > tonumber(at) then redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1]) end
return 0
`;

/** Extends a running request's lease. KEYS: leases. ARGV: member, leaseMs. */
const RENEW = `${NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 0
`;

/**
 * Takes one request from today's allowance: {1, used, resetAt}, or {0, used, resetAt} when it is
 * spent. The day starts at the first request and resets dayMs later. KEYS: day. ARGV: limit, dayMs.
 */
const DAY = `${NOW}
local limit, day = tonumber(ARGV[1]), tonumber(ARGV[2])
local resetAt = tonumber(redis.call('HGET', KEYS[1], 'resetAt'))
if not resetAt or now >= resetAt then
  resetAt = now + day
  redis.call('HSET', KEYS[1], 'used', 0, 'resetAt', resetAt)
  redis.call('PEXPIREAT', KEYS[1], resetAt + 60000)
end
local used = tonumber(redis.call('HGET', KEYS[1], 'used'))
if used >= limit then return {0, used, resetAt} end
redis.call('HINCRBY', KEYS[1], 'used', 1)
return {1, used + 1, resetAt}
`;

/**
 * Writes back what one process knows of a credential after an outage: its starts in the window
 * (at their age, never twice: members are unique), its requests in flight, and its day count,
 * merged so nothing is counted twice: Redis's count, or the process's last view of it if higher
 * (Redis lost it), plus what the process sent while Redis could not answer. Returns the day as
 * {used, resetAt}, or {} when there is none. KEYS: window, leases, day. ARGV: windowMs, leaseMs,
 * n, n x (member, ageMs), m, m x member, seen (-1: no day), resetAt, unsynced.
 */
const SEED = `${NOW}
local window, lease, starts = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local i = 4
for _ = 1, starts do
  redis.call('ZADD', KEYS[1], 'NX', now - tonumber(ARGV[i + 1]), ARGV[i])
  i = i + 2
end
if starts > 0 then redis.call('PEXPIRE', KEYS[1], window + 1000) end
local leases = tonumber(ARGV[i])
for j = 1, leases do redis.call('ZADD', KEYS[2], 'NX', now + lease, ARGV[i + j]) end
if leases > 0 then redis.call('PEXPIRE', KEYS[2], lease * 2) end
i = i + leases + 1
local seen, seenReset, unsynced = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
if seen < 0 then return {} end
local resetAt = tonumber(redis.call('HGET', KEYS[3], 'resetAt'))
local used
if resetAt and now < resetAt then
  used = tonumber(redis.call('HGET', KEYS[3], 'used'))
  if resetAt == seenReset and seen > used then used = seen end
  used = used + unsynced
elseif seenReset > now then
  resetAt = seenReset
  used = seen + unsynced
else
  return {}
end
redis.call('HSET', KEYS[3], 'used', used, 'resetAt', resetAt)
redis.call('PEXPIREAT', KEYS[3], resetAt + 60000)
return {used, resetAt}
`;

/**
 * Whether a request may go to the candidate: 1 (closed), 2 (half-open: this request holds the one
 * probe claim, under its token, for holdMs), 0 (open, or another probe is out).
 * KEYS: state, probe. ARGV: token, holdMs.
 */
const BREAKER_ALLOW = `
local openUntil = tonumber(redis.call('HGET', KEYS[1], 'openUntil') or '0')
if openUntil == 0 then return 1 end
${NOW}
if now < openUntil then return 0 end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 2 end
return 0
`;

/**
 * A success: the probe's closes the breaker; any other only clears the failure count of a closed
 * one (a request sent before the breaker opened says little about now). KEYS: state, probe.
 * ARGV: token ('' when the request held no claim).
 */
const BREAKER_SUCCEEDED = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
elseif tonumber(redis.call('HGET', KEYS[1], 'openUntil') or '0') == 0 then
  redis.call('DEL', KEYS[1])
end
return 0
`;

/**
 * A failure. One that does not count only gives back the claim it holds; one that counts reopens
 * the breaker if it was the probe or reaches the threshold, and never releases another request's
 * claim. KEYS: state, probe. ARGV: counted (1/0), token, threshold, cooldownMs, ttlMs.
 */
const BREAKER_FAILED = `
local holds = ARGV[2] ~= '' and redis.call('GET', KEYS[2]) == ARGV[2]
if holds then redis.call('DEL', KEYS[2]) end
if ARGV[1] == '0' then return 0 end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if holds or failures >= tonumber(ARGV[3]) then
  ${NOW}
  redis.call('HSET', KEYS[1], 'openUntil', now + tonumber(ARGV[4]))
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
return 0
`;

/** 1 while the breaker is open. KEYS: state. */
const BREAKER_OPEN = `
local openUntil = tonumber(redis.call('HGET', KEYS[1], 'openUntil') or '0')
if openUntil == 0 then return 0 end
${NOW}
if now < openUntil then return 1 end
return 0
`;

const SCRIPTS = {
	byokAdmit: { numberOfKeys: 2, lua: ADMIT },
	byokDeparted: { numberOfKeys: 1, lua: DEPARTED },
	byokRenew: { numberOfKeys: 1, lua: RENEW },
	byokDay: { numberOfKeys: 1, lua: DAY },
	byokSeed: { numberOfKeys: 3, lua: SEED },
	byokBreakerAllow: { numberOfKeys: 2, lua: BREAKER_ALLOW },
	byokBreakerSucceeded: { numberOfKeys: 2, lua: BREAKER_SUCCEEDED },
	byokBreakerFailed: { numberOfKeys: 2, lua: BREAKER_FAILED },
	byokBreakerOpen: { numberOfKeys: 1, lua: BREAKER_OPEN },
};
type ScriptName = keyof typeof SCRIPTS;

/** What a caller gets when Redis cannot answer now. */
export const UNAVAILABLE: unique symbol = Symbol('redis unavailable');
export type Maybe<T> = T | typeof UNAVAILABLE;

export interface AdmitRequest {
	limit: number;
	windowMs: number;
	spacingMs: number;
	maxConcurrent: number;
}

export interface DayAnswer {
	ok: boolean;
	used: number;
	/** Wall-clock ms (Redis's clock). */
	resetAt: number;
}

/** What this process knows it used of one credential, written back to Redis after an outage. */
export interface KnownUse {
	credentialId: string;
	windowMs: number;
	/** Its starts in the current window: [member, ms ago]. */
	starts: Array<[string, number]>;
	/** Members of its requests in flight that hold a concurrency lease. */
	leases: string[];
	/** Its day count: the last count Redis gave, that count's reset time, and what it sent since without Redis. */
	day?: { seen: number; resetAt: number; unsynced: number };
	/** Called with the merged count once Redis has it. */
	daySynced?(used: number, resetAt: number): void;
}

/** Where a store finds what to write back after an outage (the limiter registry sets it). */
let knownUse: () => KnownUse[] = () => [];
export function reportKnownUseWith(source: () => KnownUse[]): void {
	knownUse = source;
}

/**
 * A connection that never makes a request wait on Redis: commands fail at once while it is
 * disconnected (no offline queue, no resend) and time out after COMMAND_TIMEOUT_MS; it keeps
 * reconnecting forever. Used for the limits and for the usage store alike.
 */
export function connectRedis(settings: RedisSettings): Redis {
	const options = {
		commandTimeout: COMMAND_TIMEOUT_MS,
		connectTimeout: CONNECT_TIMEOUT_MS,
		enableOfflineQueue: false,
		maxRetriesPerRequest: 0,
		autoResendUnfulfilledCommands: false,
		retryStrategy: (times: number) => Math.min(100 * times, 2000),
	};
	return settings.url
		? new Redis(settings.url, options)
		: new Redis({ ...options, host: settings.host, port: settings.port, username: settings.username, password: settings.password, db: settings.db, tls: settings.tls ? {} : undefined });
}

/** One connection per process to the Redis that holds the cluster-wide limits and breakers. */
export class RedisStore {
	private readonly client: Redis;
	/** Prefixes lease members, so they are unique across processes. */
	private readonly processId = randomBytes(6).toString('hex');
	private counter = 0;
	private down = false;
	/** Monotonic ms until which Redis is not asked (after a failure). */
	private skipUntil = 0;
	/** Set by any outage: Redis may have lost or missed what this process did meanwhile. */
	private needsResync = false;
	private resyncing?: Promise<boolean>;
	private readonly firstConnect: Promise<void>;
	private connectSettled = false;
	private closed = false;

	constructor(
		readonly settings: RedisSettings,
		private readonly log: Pick<Console, 'warn' | 'info'> = console,
	) {
		this.client = connectRedis(settings);
		for (const [name, script] of Object.entries(SCRIPTS)) this.client.defineCommand(name, script);
		this.client.on('error', (err: Error) => this.markDown(err));
		this.client.on('close', () => {
			if (this.connectSettled && !this.closed) this.markDown(new Error('connection closed'));
		});
		this.client.on('ready', () => {
			this.skipUntil = 0;
			// At once, not at the next request: an idle process's starts count for the others too.
			if (this.needsResync) void this.resync();
		});
		// The first requests wait for the first connection (up to CONNECT_TIMEOUT_MS) rather than
		// fall back at once while it is being made.
		const connected = new Promise<void>((resolve) => {
			this.client.once('ready', resolve);
			this.client.once('error', () => resolve());
		});
		this.firstConnect = Promise.race([connected, sleep(CONNECT_TIMEOUT_MS)]).then(() => {
			this.connectSettled = true;
		});
	}

	/** With BYOK_REDIS_ON_ERROR=fail, limits are never enforced per process instead. */
	get failClosed(): boolean {
		return this.settings.onError === 'fail';
	}

	/** A fresh id for one request's entries (window log, lease). */
	member(): string {
		return `${this.processId}:${++this.counter}`;
	}

	private key(credentialId: string, part: string): string {
		return `${this.settings.prefix}:{${credentialId}}:${part}`;
	}

	private markDown(err: Error & { code?: string }): void {
		if (this.closed) return;
		this.skipUntil = performance.now() + RETRY_AFTER_FAILURE_MS;
		this.needsResync = true;
		if (this.down) return;
		this.down = true;
		const reason = err.code ?? err.message.slice(0, 80);
		const then = this.failClosed ? 'requests on keys with limits fail until it is back (BYOK_REDIS_ON_ERROR=fail)' : 'limits and circuit breakers are per process until it is back';
		this.log.warn(`[n8n-nodes-byok] Redis at ${this.settings.where} is unreachable (${reason}): ${then}.`);
	}

	private markUp(): void {
		if (!this.down) return;
		this.down = false;
		this.log.info(`[n8n-nodes-byok] Redis at ${this.settings.where} is back: limits and circuit breakers are cluster-wide again.`);
	}

	/**
	 * Writes back what this process knows (KnownUse) in one round trip. Every other command waits
	 * for it, so no decision is taken on a Redis that has not heard from this process yet.
	 */
	private resync(): Promise<boolean> {
		this.resyncing ??= (async () => {
			try {
				const known = knownUse();
				const pipeline = this.client.pipeline();
				for (const k of known) {
					const day = k.day ? [k.day.seen, k.day.resetAt, k.day.unsynced] : [-1, 0, 0];
					const args = [k.windowMs, LEASE_MS, k.starts.length, ...k.starts.flat(), k.leases.length, ...k.leases, ...day];
					(pipeline as unknown as Record<string, (...a: Array<string | number>) => void>).byokSeed(this.key(k.credentialId, 'window'), this.key(k.credentialId, 'leases'), this.key(k.credentialId, 'day'), ...args);
				}
				const results = known.length ? ((await pipeline.exec()) ?? []) : [];
				results.forEach(([err, day], i) => {
					if (err) throw err;
					const [used, resetAt] = day as number[];
					if (used !== undefined) known[i].daySynced?.(Number(used), Number(resetAt));
				});
				this.needsResync = false;
				this.markUp();
				return true;
			} catch (err) {
				this.markDown(err as Error);
				return false;
			} finally {
				this.resyncing = undefined;
			}
		})();
		return this.resyncing;
	}

	/** Runs one Redis operation, or says Redis cannot answer now (never throws, never waits longer than a command timeout). */
	private async attempt<T>(operation: () => Promise<T>): Promise<Maybe<T>> {
		if (!this.connectSettled) await this.firstConnect;
		if (this.closed || this.client.status !== 'ready' || performance.now() < this.skipUntil) return UNAVAILABLE;
		if ((this.needsResync || this.resyncing) && !(await this.resync())) return UNAVAILABLE;
		try {
			const result = await operation();
			this.markUp();
			return result;
		} catch (err) {
			this.markDown(err as Error);
			return UNAVAILABLE;
		}
	}

	private script<T>(name: ScriptName, keys: string[], args: Array<string | number>): Promise<Maybe<T>> {
		const call = (this.client as unknown as Record<ScriptName, (...a: Array<string | number>) => Promise<T>>)[name];
		return this.attempt(() => call.call(this.client, ...keys, ...args));
	}

	/** 0 when the request is admitted (its start and lease recorded under `member`), else ms to wait. */
	admit(credentialId: string, member: string, r: AdmitRequest): Promise<Maybe<number>> {
		const pollMs = 10 + Math.round(Math.random() * 20);
		return this.script<number>('byokAdmit', [this.key(credentialId, 'window'), this.key(credentialId, 'leases')], [member, r.limit, r.windowMs, r.spacingMs, r.maxConcurrent, LEASE_MS, pollMs]);
	}

	/** Its request has really left: its start counts from now (not waited for). */
	departed(credentialId: string, member: string): void {
		void this.script('byokDeparted', [this.key(credentialId, 'window')], [member]);
	}

	/** Keeps a running request's concurrency slot; call every LEASE_MS / 3. */
	renew(credentialId: string, member: string): void {
		void this.script('byokRenew', [this.key(credentialId, 'leases')], [member, LEASE_MS]);
	}

	/** Frees a request's concurrency slot. If this fails, the lease expires on its own. */
	release(credentialId: string, member: string): void {
		if (this.closed || this.client.status !== 'ready') return;
		this.client.zrem(this.key(credentialId, 'leases'), member).catch((err) => this.markDown(err));
	}

	/** Takes back an admission whose request will not be sent (its day was spent). */
	unadmit(credentialId: string, member: string): void {
		if (this.closed || this.client.status !== 'ready') return;
		this.client
			.multi()
			.zrem(this.key(credentialId, 'window'), member)
			.zrem(this.key(credentialId, 'leases'), member)
			.exec()
			.catch((err) => this.markDown(err));
	}

	/** Takes one request from today's allowance. */
	async takeDay(credentialId: string, limit: number, dayMs: number): Promise<Maybe<DayAnswer>> {
		const result = await this.script<[number, number, number]>('byokDay', [this.key(credentialId, 'day')], [limit, dayMs]);
		if (result === UNAVAILABLE) return result;
		return { ok: Number(result[0]) === 1, used: Number(result[1]), resetAt: Number(result[2]) };
	}

	private breakerKeys(credentialId: string, model: string): [string, string] {
		return [this.key(credentialId, `breaker:${model}`), this.key(credentialId, `probe:${model}`)];
	}

	/** 'pass' (closed), 'probe' (this request holds the claim, under `token`, for holdMs) or 'skip'. */
	async breakerAllow(credentialId: string, model: string, token: string, holdMs: number): Promise<Maybe<'pass' | 'probe' | 'skip'>> {
		const result = await this.script<number>('byokBreakerAllow', this.breakerKeys(credentialId, model), [token, Math.ceil(holdMs)]);
		if (result === UNAVAILABLE) return result;
		return result === 1 ? 'pass' : result === 2 ? 'probe' : 'skip';
	}

	async breakerFailed(credentialId: string, model: string, token: string | undefined, counted: boolean, threshold: number, cooldownMs: number): Promise<Maybe<true>> {
		const ttlMs = Math.max(BREAKER_TTL_MS, cooldownMs * 2);
		const result = await this.script('byokBreakerFailed', this.breakerKeys(credentialId, model), [counted ? 1 : 0, token ?? '', threshold, cooldownMs, ttlMs]);
		return result === UNAVAILABLE ? result : true;
	}

	async breakerSucceeded(credentialId: string, model: string, token: string | undefined): Promise<Maybe<true>> {
		const result = await this.script('byokBreakerSucceeded', this.breakerKeys(credentialId, model), [token ?? '']);
		return result === UNAVAILABLE ? result : true;
	}

	async breakerOpen(credentialId: string, model: string): Promise<Maybe<boolean>> {
		const result = await this.script<number>('byokBreakerOpen', [this.breakerKeys(credentialId, model)[0]], []);
		return result === UNAVAILABLE ? result : result === 1;
	}

	/** Closes the connection (tests, benchmarks; n8n simply exits). */
	async close(): Promise<void> {
		this.closed = true;
		this.client.disconnect();
	}
}

/** undefined: not looked up yet; null: no Redis (limits per process). */
let shared: RedisStore | null | undefined;

/** The process's Redis store, from the environment on first use; undefined when limits stay per process. */
export function sharedRedis(): RedisStore | undefined {
	if (shared === undefined) {
		const settings = redisSettings();
		shared = settings ? new RedisStore(settings) : null;
	}
	return shared ?? undefined;
}

/** Replaces the process's store (tests, benchmarks): a RedisStore, or null for per-process limits. */
export function useRedis(store: RedisStore | null): void {
	shared = store;
}
