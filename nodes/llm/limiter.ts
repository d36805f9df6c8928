/**
 * Per-key rate limits, shared by every node and workflow that uses the key (one registry, keyed
 * by credential id): inside the n8n process, and in queue mode across every process through
 * Redis (./redis.ts).
 * - Per minute: a log of request start times admits a request only while fewer than the limit
 *   started in the last window, so the limit holds over every sliding window (a reservoir
 *   refresh would let 2x through across a boundary) and the whole allowance is usable.
 *   Starts are spread at up to twice the average rate (Bottleneck's `minTime` in the process,
 *   the same spacing in the Redis log), so providers that enforce a per-minute limit per second
 *   see no burst. (`minTime` alone at the full rate loses throughput to timer lateness, and its
 *   schedule-relative timing can let limit+1 through.)
 * - Max concurrent: Bottleneck's `maxConcurrent` in the process; with Redis, also a lease per
 *   request in flight (renewed while it runs, expiring if its worker dies).
 * - Per day: a counter with its reset time, so a spent day skips the key at once instead of
 *   queueing for hours. It lives in Redis, or without Redis in the embedded usage store
 *   (usage-store.ts), and survives restarts either way.
 * The process's own log and counters always run, so if Redis becomes unreachable the limits
 * fall back to per process (BYOK_REDIS_ON_ERROR=local, the default) without a gap.
 */
import Bottleneck from 'bottleneck';
import type { KeyLimits } from './client';
import { LlmError } from './errors';
import { LEASE_MS, sharedRedis, UNAVAILABLE, type RedisStore } from './redis';
import { sleep } from './sleep';
import { storedDays } from './usage-store';

export interface LimiterClock {
	/** The per-minute window; tests shorten it. */
	windowMs: number;
	dayMs: number;
	/** Overrides the slack below; tests on a shortened window and a busy machine widen it. */
	slackMs?: number;
}

/**
 * The window is held a little longer than stated (1%, at least 25 ms), so the spread between
 * sending and arriving (a new connection, a busy event loop) cannot squeeze limit+1 arrivals
 * into one window at the provider.
 */
const windowWithSlack = (clock: LimiterClock) => clock.windowMs + (clock.slackMs ?? Math.max(clock.windowMs * 0.01, 25));

const limitsUnavailable = () =>
	new LlmError('limits_unavailable', 'Redis, which holds the cluster-wide limits for this key, is unreachable, and BYOK_REDIS_ON_ERROR=fail forbids sending without them.');

/** A request's concurrency slot in Redis: renewed while it runs, freed when it ends. */
class Lease {
	private readonly ended = new AbortController();

	constructor(
		private readonly redis: RedisStore,
		private readonly credentialId: string,
		private readonly member: string,
	) {
		void this.renew();
	}

	private async renew(): Promise<void> {
		for (;;) {
			try {
				await sleep(LEASE_MS / 3, this.ended.signal);
			} catch {
				return; // released
			}
			this.redis.renew(this.credentialId, this.member);
		}
	}

	release(): void {
		this.ended.abort();
		this.redis.release(this.credentialId, this.member);
	}
}

class KeyLimiter {
	readonly bottleneck: Bottleneck;
	private dayUsed = 0;
	private dayResetAt: number;
	/** Start times of this process's requests in the current window, oldest first. */
	private readonly starts: number[] = [];
	/** Slots are handed out one at a time, in arrival order. */
	private admitQueue: Promise<unknown> = Promise.resolve();

	constructor(
		readonly credentialId: string,
		readonly label: string,
		readonly limits: KeyLimits,
		private readonly clock: LimiterClock,
	) {
		this.bottleneck = new Bottleneck({
			maxConcurrent: limits.maxConcurrent ?? null,
			minTime: limits.requestsPerMinute ? this.spacingMs() : 0,
		});
		this.dayResetAt = Date.now() + clock.dayMs;
	}

	private spacingMs(): number {
		return Math.floor(this.clock.windowMs / (this.limits.requestsPerMinute ?? 1) / 2);
	}

	private dailyLimit(resetAt: number): LlmError {
		return new LlmError('daily_limit', `The key "${this.label}" reached its limit of ${this.limits.requestsPerDay} requests per day; it resets at ${new Date(resetAt).toISOString()}.`);
	}

	/** Takes one request from today's allowance (in Redis when there is one), or says when it comes back. */
	private async takeFromDay(): Promise<void> {
		const perDay = this.limits.requestsPerDay;
		if (!perDay) return;
		const redis = sharedRedis();
		// Without Redis the count lives in the embedded usage store, so a restart does not reset it.
		const day = await (redis ?? storedDays).takeDay(this.credentialId, perDay, this.clock.dayMs);
		if (day !== UNAVAILABLE) {
			if (!day.ok) throw this.dailyLimit(day.resetAt);
			return;
		}
		if (redis?.failClosed) throw limitsUnavailable();
		const now = Date.now();
		if (now >= this.dayResetAt) {
			this.dayUsed = 0;
			this.dayResetAt = now + this.clock.dayMs;
		}
		if (this.dayUsed >= perDay) throw this.dailyLimit(this.dayResetAt);
		this.dayUsed++;
	}

	/** Ms until this process's own log admits one more start (0: now). */
	private localWait(now: number): number {
		const limit = this.limits.requestsPerMinute;
		if (!limit) return 0;
		const windowMs = windowWithSlack(this.clock);
		while (this.starts.length && this.starts[0] <= now - windowMs) this.starts.shift();
		return this.starts.length < limit ? 0 : this.starts[0] + windowMs - now;
	}

	private recordStart(now: number): void {
		if (this.limits.requestsPerMinute) this.starts.push(now);
	}

	/**
	 * Waits until the per-minute and concurrency limits admit one more start: in this process,
	 * and cluster-wide when Redis answers (then the request's lease is returned). The process's
	 * own log is kept either way, so a fallback starts from what it really sent, and a Redis
	 * that comes back empty cannot let this process go over.
	 */
	private admit(signal?: AbortSignal): Promise<Lease | undefined> {
		const limit = this.limits.requestsPerMinute ?? 0;
		const take = async (): Promise<Lease | undefined> => {
			for (;;) {
				if (signal?.aborted) throw signal.reason;
				const local = this.localWait(Date.now());
				if (local > 0) {
					await sleep(local, signal);
					continue;
				}
				const redis = sharedRedis();
				if (redis) {
					const member = redis.member();
					const request = { limit, windowMs: windowWithSlack(this.clock), spacingMs: limit ? this.spacingMs() : 0, maxConcurrent: this.limits.maxConcurrent ?? 0 };
					const wait = await redis.admit(this.credentialId, member, request);
					if (wait !== UNAVAILABLE) {
						if (wait > 0) {
							await sleep(wait, signal);
							continue;
						}
						this.recordStart(Date.now());
						return request.maxConcurrent ? new Lease(redis, this.credentialId, member) : undefined;
					}
					if (redis.failClosed) throw limitsUnavailable();
				}
				this.recordStart(Date.now());
				return undefined;
			}
		};
		const slot = this.admitQueue.then(take);
		this.admitQueue = slot.catch(() => undefined);
		return slot;
	}

	/**
	 * Runs `task` when the key's limits allow. Waiting counts against `signal` (the request's
	 * deadline): a task still queued when it fires is never started.
	 */
	async schedule<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
		await this.takeFromDay();
		if (!this.limits.maxConcurrent && !this.limits.requestsPerMinute) return await task();
		if (signal?.aborted) throw signal.reason;
		return await new Promise<T>((resolve, reject) => {
			// Bottleneck cannot take back a queued job: stop waiting for it now, and let it
			// end without a request when its turn comes.
			const onAbort = () => reject(signal?.reason);
			signal?.addEventListener('abort', onAbort, { once: true });
			this.bottleneck
				.schedule(async () => {
					// Inside the concurrency slot, so the recorded start is the real start.
					const lease = await this.admit(signal);
					try {
						return await task();
					} finally {
						lease?.release();
					}
				})
				.then(resolve, reject)
				.finally(() => signal?.removeEventListener('abort', onAbort));
		});
	}
}

/** One limiter per credential; rebuilt when the credential's limits change (next execution). */
export class LimiterRegistry {
	private readonly limiters = new Map<string, KeyLimiter>();
	clock: LimiterClock = { windowMs: 60_000, dayMs: 86_400_000 };

	get(credentialId: string, label: string, limits: KeyLimits): KeyLimiter {
		const existing = this.limiters.get(credentialId);
		if (existing && sameLimits(existing.limits, limits)) return existing;
		const limiter = new KeyLimiter(credentialId, label, limits, this.clock);
		this.limiters.set(credentialId, limiter);
		if (existing) void existing.bottleneck.stop({ dropWaitingJobs: false });
		return limiter;
	}

	/** Forgets every limiter (tests). */
	clear(): void {
		for (const limiter of this.limiters.values()) void limiter.bottleneck.stop({ dropWaitingJobs: true }).catch(() => undefined);
		this.limiters.clear();
	}
}

function sameLimits(a: KeyLimits, b: KeyLimits): boolean {
	return a.requestsPerMinute === b.requestsPerMinute && a.requestsPerDay === b.requestsPerDay && a.maxConcurrent === b.maxConcurrent;
}

export const limiters = new LimiterRegistry();
