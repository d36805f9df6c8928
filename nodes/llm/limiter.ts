/**
 * Per-key rate limits, shared by every node and workflow in the process that uses the key
 * (one registry, keyed by credential id).
 * - Per minute: a log of request start times admits a request only while fewer than the limit
 *   started in the last window, so the limit holds over every sliding window (a reservoir
 *   refresh would let 2x through across a boundary) and the whole allowance is usable.
 *   Bottleneck's `minTime` spreads starts at up to twice the average rate, so providers that
 *   enforce a per-minute limit per second see no burst. (`minTime` alone at the full rate loses
 *   throughput to timer lateness, and its schedule-relative timing can let limit+1 through.)
 * - Max concurrent: Bottleneck's `maxConcurrent`.
 * - Per day: a counter with its reset time, so a spent day skips the key at once instead of
 *   queueing for hours.
 */
import Bottleneck from 'bottleneck';
import type { KeyLimits } from './client';
import { LlmError } from './errors';
import { sleep } from './sleep';

export interface LimiterClock {
	/** The per-minute window; tests shorten it. */
	windowMs: number;
	dayMs: number;
}

/**
 * The window is held a little longer than stated (1%, at least 25 ms), so the spread between
 * sending and arriving (a new connection, a busy event loop) cannot squeeze limit+1 arrivals
 * into one window at the provider.
 */
const windowWithSlack = (windowMs: number) => windowMs + Math.max(windowMs * 0.01, 25);

class KeyLimiter {
	readonly bottleneck: Bottleneck;
	private dayUsed = 0;
	private dayResetAt: number;
	/** Start times of the requests in the current window, oldest first. */
	private readonly starts: number[] = [];
	/** Window slots are handed out one at a time, in arrival order. */
	private windowQueue: Promise<unknown> = Promise.resolve();

	constructor(
		readonly label: string,
		readonly limits: KeyLimits,
		private readonly clock: LimiterClock,
	) {
		this.bottleneck = new Bottleneck({
			maxConcurrent: limits.maxConcurrent ?? null,
			minTime: limits.requestsPerMinute ? Math.floor(clock.windowMs / limits.requestsPerMinute / 2) : 0,
		});
		this.dayResetAt = Date.now() + clock.dayMs;
	}

	/** Takes one request from today's allowance, or says when it comes back. */
	private takeFromDay(): void {
		const perDay = this.limits.requestsPerDay;
		if (!perDay) return;
		const now = Date.now();
		if (now >= this.dayResetAt) {
			this.dayUsed = 0;
			this.dayResetAt = now + this.clock.dayMs;
		}
		if (this.dayUsed >= perDay) {
			throw new LlmError('daily_limit', `The key "${this.label}" reached its limit of ${perDay} requests per day; it resets at ${new Date(this.dayResetAt).toISOString()}.`);
		}
		this.dayUsed++;
	}

	/** Waits until fewer than the per-minute limit started within the last window, then records a start. */
	private windowSlot(signal?: AbortSignal): Promise<void> {
		const limit = this.limits.requestsPerMinute;
		if (!limit) return Promise.resolve();
		const windowMs = windowWithSlack(this.clock.windowMs);
		const take = async () => {
			for (;;) {
				if (signal?.aborted) throw signal.reason;
				const now = Date.now();
				while (this.starts.length && this.starts[0] <= now - windowMs) this.starts.shift();
				if (this.starts.length < limit) {
					this.starts.push(now);
					return;
				}
				await sleep(this.starts[0] + windowMs - now, signal);
			}
		};
		const slot = this.windowQueue.then(take);
		this.windowQueue = slot.catch(() => undefined);
		return slot;
	}

	/**
	 * Runs `task` when the key's limits allow. Waiting counts against `signal` (the request's
	 * deadline): a task still queued when it fires is never started.
	 */
	async schedule<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
		this.takeFromDay();
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
					await this.windowSlot(signal);
					return await task();
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
		const limiter = new KeyLimiter(label, limits, this.clock);
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
