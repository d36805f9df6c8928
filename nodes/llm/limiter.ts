/**
 * Per-key rate limits, shared by every node and workflow that uses the key (one registry, keyed
 * by credential id): inside the n8n process, and in queue mode across every process through
 * Redis (./redis.ts). When a credential's limits change, its limiter stays and what it used
 * stays used; the new limits apply from the next request.
 * - Per minute: a log of request start times (when each request really left the process)
 *   admits a request only while fewer than the limit started in the last window, so the limit
 *   holds over every sliding window (a reservoir refresh would let 2x through across a boundary),
 *   within the window's slack for network jitter. Pacing `burst` (the default) starts a request as
 *   soon as the window has room: up to the limit at once, and 2 x limit within one window.
 *   `smoothed` also keeps starts a window / limit apart, for providers that enforce a per-minute
 *   limit over shorter slices.
 * - Max concurrent: a count of requests in flight in the process; with Redis, also a lease per
 *   request in flight (renewed while it runs, expiring if its worker dies).
 * - Per day: a count with its reset time, taken when a request is admitted (one that times out or
 *   is cancelled while it waits uses none of it), and checked before it waits (a spent day skips
 *   the key at once instead of queueing for hours). It lives in Redis, or without Redis in the embedded usage store
 *   (usage-store.ts), and survives restarts either way.
 * Each process keeps its own log, leases and day count (its last view of Redis's) on a monotonic
 * clock, whether Redis answers or not. If Redis becomes unreachable the limits go on per process
 * from there (BYOK_REDIS_ON_ERROR=local, the default); when it answers again the process first
 * writes them back (redis.ts), so a Redis that lost its data does not start from nothing.
 */
import type { KeyLimits } from './client';
import { LlmError } from './errors';
import { LEASE_MS, reportKnownUseWith, sharedRedis, UNAVAILABLE, type AdmitRequest, type KnownUse, type RedisStore } from './redis';
import { sleep } from './sleep';
import { storedDays } from './usage-store';

export interface LimiterClock {
	/** The per-minute window; tests shorten it. */
	windowMs: number;
	dayMs: number;
	/** Overrides the slack below; tests on a shortened window and a busy machine widen it. */
	slackMs?: number;
}

/** Milliseconds on a clock that only moves forward: a change of the wall clock does not move a window. */
const monotonic = () => performance.now();

/**
 * The window is held a little longer than stated (1%, at least 25 ms), so the spread between
 * sending and arriving (a new connection, a busy event loop) cannot squeeze limit+1 arrivals
 * into one window at the provider.
 */
const windowWithSlack = (clock: LimiterClock) => clock.windowMs + (clock.slackMs ?? Math.max(clock.windowMs * 0.01, 25));

const limitsUnavailable = () =>
	new LlmError('limits_unavailable', 'Limits unavailable: Redis, which holds the cluster-wide limits for this key, is unreachable, and BYOK_REDIS_ON_ERROR=fail forbids sending without them.');

/** Waits for `promise`, or rejects with the signal's reason as soon as it aborts. */
function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
	if (!signal) return promise;
	return new Promise<T>((resolve, reject) => {
		const onAbort = () => reject(signal.reason);
		if (signal.aborted) return onAbort();
		signal.addEventListener('abort', onAbort, { once: true });
		promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
	});
}

/**
 * One key's requests today as this process knows them: the count itself without Redis; with
 * Redis, the last count Redis gave plus what this process sent while Redis could not answer
 * (`unsynced`, written back when it answers again). Without Redis, the usage store's count
 * (`storedDays`, kept across restarts) is used, and this one only when that store is unavailable.
 */
class DayCount {
	used = 0;
	unsynced = 0;
	/** Wall-clock ms, as Redis gave it (or as this process started the day): written back as is. */
	resetAt = 0;
	/** Both clocks when resetAt was set: the monotonic one decides when the day is over. */
	private setAt = { wall: 0, monotonic: -Infinity };

	private over(): boolean {
		return monotonic() >= this.setAt.monotonic + (this.resetAt - this.setAt.wall);
	}

	/** When the day resets, on the wall clock users see now (which may have been changed since). */
	resetsAt(): number {
		const moved = Date.now() - this.setAt.wall - (monotonic() - this.setAt.monotonic);
		return Math.abs(moved) < 1000 ? this.resetAt : this.resetAt + moved;
	}

	private set(used: number, resetAt: number): void {
		this.used = used;
		// The same day seen again keeps its first anchor, so a later wall-clock step shows in resetsAt().
		if (resetAt === this.resetAt) return;
		this.resetAt = resetAt;
		this.setAt = { wall: Date.now(), monotonic: monotonic() };
	}

	/** True when the day is known to be spent (asks no one). */
	spent(limit: number): boolean {
		return !this.over() && this.used >= limit;
	}

	/** Takes one request from this process's count; false when the day is spent. */
	take(limit: number, dayMs: number, unsynced: boolean): boolean {
		if (this.over()) {
			this.unsynced = 0;
			this.set(0, Date.now() + dayMs);
		}
		if (this.used >= limit) return false;
		this.used++;
		if (unsynced) this.unsynced++;
		return true;
	}

	/** What Redis answered; `synced` of this process's unsynced requests are now in its count. */
	seen(used: number, resetAt: number, synced = 0): void {
		this.unsynced = Math.max(0, this.unsynced - synced);
		this.set(used + this.unsynced, resetAt);
	}

	known(): KnownUse['day'] {
		return this.over() ? undefined : { seen: this.used - this.unsynced, resetAt: this.resetAt, unsynced: this.unsynced };
	}
}

/** A request's concurrency slot in Redis: renewed while it runs, freed when it ends. */
class Lease {
	private readonly ended = new AbortController();

	constructor(
		private readonly redis: RedisStore,
		private readonly credentialId: string,
		private readonly member: string,
		private readonly held: Set<string>,
	) {
		held.add(member);
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
		this.held.delete(this.member);
		this.ended.abort();
		this.redis.release(this.credentialId, this.member);
	}
}

interface Start {
	/** Monotonic ms. */
	at: number;
	/** Its entry in the Redis log (unique across processes), so writing it back never counts it twice. */
	member: string;
}

/** An admitted request. */
interface Admission {
	/** Records that the request has really left: its start counts from now (never earlier than it was). */
	departed(): void;
	/** Gives back its concurrency slot. */
	release(): void;
}

class KeyLimiter {
	private readonly day = new DayCount();
	/** This process's request starts in the current window, oldest first. */
	private readonly starts: Start[] = [];
	/** Members of this process's requests in flight that hold a Redis lease. */
	private readonly leases = new Set<string>();
	private inFlight = 0;
	/** Requests waiting for a concurrency slot, first come first served. */
	private readonly waiting: Array<() => void> = [];
	/** Slots are handed out one at a time, in arrival order. */
	private admitQueue: Promise<unknown> = Promise.resolve();
	/** Admissions queued or running. */
	private admitting = 0;
	/** Names this process's log entries when there is no Redis to name them. */
	private localMembers = 0;

	constructor(
		readonly credentialId: string,
		public label: string,
		public limits: KeyLimits,
		private readonly clock: LimiterClock,
	) {}

	/** The credential's current name and limits: what was used so far stays used. */
	update(label: string, limits: KeyLimits): void {
		this.label = label;
		this.limits = limits;
		this.grantSlots();
	}

	private dailyLimit(resetAt: number): LlmError {
		return new LlmError('daily_limit', `The key "${this.label}" reached its limit of ${this.limits.requestsPerDay} requests per day; it resets at ${new Date(resetAt).toISOString()}.`);
	}

	private checkDay(): void {
		const limit = this.limits.requestsPerDay;
		if (limit && this.day.spent(limit)) throw this.dailyLimit(this.day.resetsAt());
	}

	/**
	 * Takes one request from today's allowance: in Redis when there is one, else in the embedded
	 * usage store (so a restart does not reset it); when neither answers, from this process's count.
	 */
	private async takeDay(redis: RedisStore | undefined): Promise<void> {
		const limit = this.limits.requestsPerDay;
		if (!limit) return;
		const day = await (redis ?? storedDays).takeDay(this.credentialId, limit, this.clock.dayMs);
		if (day !== UNAVAILABLE) {
			this.day.seen(day.used, day.resetAt);
			if (!day.ok) throw this.dailyLimit(this.day.resetsAt());
			return;
		}
		if (redis?.failClosed) throw limitsUnavailable();
		if (!this.day.take(limit, this.clock.dayMs, redis !== undefined)) throw this.dailyLimit(this.day.resetsAt());
	}

	/** Smoothed pacing keeps starts this far apart; bursts need no spacing. */
	private spacingMs(): number {
		const limit = this.limits.requestsPerMinute;
		return limit && this.limits.pacing === 'smoothed' ? windowWithSlack(this.clock) / limit : 0;
	}

	/** Ms until this process's own log admits one more start under the window and the pacing (0: now). */
	private localWait(now: number): number {
		const limit = this.limits.requestsPerMinute;
		if (!limit) return 0;
		const windowMs = windowWithSlack(this.clock);
		while (this.starts.length && this.starts[0].at <= now - windowMs) this.starts.shift();
		const count = this.starts.length;
		// The start whose leaving makes room (not the oldest when a lowered limit left more in the window).
		const full = count < limit ? 0 : this.starts[count - limit].at + windowMs - now;
		return count ? Math.max(full, this.starts[count - 1].at + this.spacingMs() - now) : 0;
	}

	private admitRequest(): AdmitRequest {
		const limit = this.limits.requestsPerMinute ?? 0;
		return { limit, windowMs: windowWithSlack(this.clock), spacingMs: this.spacingMs(), maxConcurrent: this.limits.maxConcurrent ?? 0 };
	}

	/**
	 * Waits until the key's limits admit one more start: this process's own log always (so a
	 * fallback keeps the window and the spacing from what it really sent), and cluster-wide when
	 * Redis answers. Then takes the request from today's allowance.
	 */
	private admit(signal?: AbortSignal): Promise<Admission> {
		const take = async (): Promise<Admission> => {
			// A burst of admissions is one chain of microtasks that starves I/O: the whole burst
			// would be let go before its first request left, and then leave all at once, up to
			// about a second later for 400. Letting the event loop run between admissions keeps
			// sending in step with admitting (and `departed` below with the real departures).
			if (this.admitting > 1) await sleep(0);
			for (;;) {
				if (signal?.aborted) throw signal.reason;
				this.checkDay();
				const local = this.localWait(monotonic());
				if (local > 0) {
					await sleep(local, signal);
					continue;
				}
				const redis = sharedRedis();
				const member = redis?.member() ?? String(++this.localMembers);
				const wait = redis ? await redis.admit(this.credentialId, member, this.admitRequest()) : UNAVAILABLE;
				if (wait !== UNAVAILABLE && wait > 0) {
					await sleep(wait, signal);
					continue;
				}
				if (wait === UNAVAILABLE && redis?.failClosed) throw limitsUnavailable();
				try {
					await this.takeDay(redis);
				} catch (err) {
					if (wait === 0) redis?.unadmit(this.credentialId, member);
					throw err;
				}
				const start = { at: monotonic(), member };
				if (this.limits.requestsPerMinute) this.starts.push(start);
				// Also when admitted without Redis: renewing puts the lease in Redis once it is back.
				const lease = redis && this.limits.maxConcurrent ? new Lease(redis, this.credentialId, member, this.leases) : undefined;
				return {
					departed: () => {
						start.at = Math.max(start.at, monotonic());
						if (wait === 0 && this.limits.requestsPerMinute) redis?.departed(this.credentialId, member);
					},
					release: () => lease?.release(),
				};
			}
		};
		this.admitting++;
		const turn = this.admitQueue.then(take).finally(() => this.admitting--);
		this.admitQueue = turn.catch(() => undefined);
		// A caller that stopped waiting sends nothing: give its slot back.
		turn.then(
			(admission) => {
				if (signal?.aborted) admission.release();
			},
			() => undefined,
		);
		return abortable(turn, signal);
	}

	private acquireSlot(signal?: AbortSignal): Promise<void> {
		const max = this.limits.maxConcurrent ?? Infinity;
		if (this.inFlight < max && this.waiting.length === 0) {
			this.inFlight++;
			return Promise.resolve();
		}
		return new Promise<void>((resolve, reject) => {
			const grant = () => {
				signal?.removeEventListener('abort', onAbort);
				resolve();
			};
			const onAbort = () => {
				this.waiting.splice(this.waiting.indexOf(grant), 1);
				reject(signal?.reason);
			};
			this.waiting.push(grant);
			signal?.addEventListener('abort', onAbort, { once: true });
		});
	}

	private grantSlots(): void {
		const max = this.limits.maxConcurrent ?? Infinity;
		while (this.waiting.length && this.inFlight < max) {
			this.inFlight++;
			this.waiting.shift()?.();
		}
	}

	/**
	 * Runs `task` when the key's limits allow. Waiting counts against `signal` (the request's
	 * deadline): a task still waiting when it fires is never started, and uses nothing.
	 */
	async schedule<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
		if (signal?.aborted) throw signal.reason;
		this.checkDay();
		await this.acquireSlot(signal);
		try {
			const { requestsPerMinute, requestsPerDay, maxConcurrent } = this.limits;
			const admission = requestsPerMinute || requestsPerDay || maxConcurrent ? await this.admit(signal) : undefined;
			try {
				const sending = task();
				// The request leaves when the event loop gets to it: later than it was let go when
				// the process is busy (many requests starting at once, other workflows). Its start
				// counts from then, so that delay cannot squeeze more into a window at the provider.
				if (admission) void sleep(0).then(() => admission.departed());
				return await sending;
			} finally {
				admission?.release();
			}
		} finally {
			this.inFlight--;
			this.grantSlots();
		}
	}

	/** What this process used of the key, for Redis to take back after an outage. */
	knownUse(): KnownUse | undefined {
		const now = monotonic();
		const windowMs = windowWithSlack(this.clock);
		const starts = this.starts.filter((s) => s.at > now - windowMs).map((s): [string, number] => [s.member, Math.round(now - s.at)]);
		const day = this.limits.requestsPerDay ? this.day.known() : undefined;
		if (!starts.length && !this.leases.size && !day) return undefined;
		const unsynced = day?.unsynced ?? 0;
		return { credentialId: this.credentialId, windowMs, starts, leases: [...this.leases], day, daySynced: (used, resetAt) => this.day.seen(used, resetAt, unsynced) };
	}
}

/** One limiter per credential, kept when its limits change. */
export class LimiterRegistry {
	private readonly limiters = new Map<string, KeyLimiter>();
	clock: LimiterClock = { windowMs: 60_000, dayMs: 86_400_000 };

	get(credentialId: string, label: string, limits: KeyLimits): KeyLimiter {
		const existing = this.limiters.get(credentialId);
		if (existing) {
			existing.update(label, limits);
			return existing;
		}
		const limiter = new KeyLimiter(credentialId, label, limits, this.clock);
		this.limiters.set(credentialId, limiter);
		return limiter;
	}

	knownUse(): KnownUse[] {
		return [...this.limiters.values()].map((l) => l.knownUse()).filter((k): k is KnownUse => k !== undefined);
	}

	/** Forgets every limiter (tests). */
	clear(): void {
		this.limiters.clear();
	}
}

export const limiters = new LimiterRegistry();
reportKnownUseWith(() => limiters.knownUse());
