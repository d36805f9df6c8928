/**
 * Per-key rate limits, shared by every node and workflow in the process that uses the key
 * (one registry, keyed by credential id). Bottleneck spaces request starts by window/limit
 * (`minTime`), which holds the per-minute limit over every sliding window while using the whole
 * allowance under sustained load; a reservoir alone would let 2x through across a refresh.
 * `maxConcurrent` caps requests in flight. The per-day count is a plain counter with its reset
 * time, so a spent day skips the key at once instead of queueing for hours.
 */
import Bottleneck from 'bottleneck';
import type { KeyLimits } from './client';
import { LlmError } from './errors';

export interface LimiterClock {
	/** The per-minute window; tests shorten it. */
	windowMs: number;
	dayMs: number;
}

/** A hair of slack per request so timer jitter can never squeeze limit+1 starts into a window. */
const SPACING_SLACK = 1.01;

class KeyLimiter {
	readonly bottleneck: Bottleneck;
	private dayUsed = 0;
	private dayResetAt: number;

	constructor(
		readonly label: string,
		readonly limits: KeyLimits,
		private readonly clock: LimiterClock,
	) {
		this.bottleneck = new Bottleneck({
			maxConcurrent: limits.maxConcurrent ?? null,
			minTime: limits.requestsPerMinute ? Math.ceil((clock.windowMs / limits.requestsPerMinute) * SPACING_SLACK) : 0,
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
					if (signal?.aborted) throw signal.reason;
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
