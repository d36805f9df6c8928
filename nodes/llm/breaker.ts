/**
 * Circuit breakers, one per candidate (credential + model), shared by every workflow in the
 * process, and in queue mode by every process through Redis (./redis.ts), so one worker's
 * discovery that a provider is down spares the others. After `threshold` consecutive failures that point at the provider (not at the
 * request), the breaker opens for `cooldownMs`: the candidate is skipped and the next one used.
 * Then one probe request is let through; its outcome closes or reopens the breaker.
 */
import type { ErrorKind } from './errors';
import { sharedRedis, UNAVAILABLE } from './redis';

export interface BreakerSettings {
	threshold: number;
	cooldownMs: number;
}

/** Failures that say nothing about the provider's health: the request itself was at fault. */
const NOT_COUNTED: ReadonlySet<ErrorKind> = new Set(['bad_request', 'context_length', 'content_policy', 'invalid_output', 'cut_off', 'cancelled', 'daily_limit', 'budget_exhausted', 'invalid_credential', 'limits_unavailable']);

interface State {
	failures: number;
	openUntil: number;
	probing: boolean;
}

/**
 * Keys are `<credential id>\n<model>` (see dispatch.ts). With Redis the state lives there; while
 * Redis cannot answer, each process keeps its own (whatever BYOK_REDIS_ON_ERROR says: a breaker
 * only ever saves requests, it never lets more through).
 */
export class BreakerRegistry {
	private readonly states = new Map<string, State>();

	private state(key: string): State {
		let s = this.states.get(key);
		if (!s) this.states.set(key, (s = { failures: 0, openUntil: 0, probing: false }));
		return s;
	}

	/** Whether a request may go to this candidate now. Claims the single probe when half-open. */
	async allow(key: string, now = Date.now()): Promise<boolean> {
		const shared = await sharedRedis()?.breakerAllow(...split(key));
		if (shared !== undefined && shared !== UNAVAILABLE) return shared;
		const s = this.states.get(key);
		if (!s || s.openUntil === 0) return true;
		if (now < s.openUntil || s.probing) return false;
		s.probing = true;
		return true;
	}

	async succeeded(key: string): Promise<void> {
		await sharedRedis()?.breakerSucceeded(...split(key));
		this.states.delete(key);
	}

	async failed(key: string, kind: ErrorKind, settings: BreakerSettings, now = Date.now()): Promise<void> {
		const shared = await sharedRedis()?.breakerFailed(...split(key), !NOT_COUNTED.has(kind), settings.threshold, settings.cooldownMs);
		if (shared !== undefined && shared !== UNAVAILABLE) return;
		const s = this.state(key);
		if (NOT_COUNTED.has(kind)) {
			// The probe proved nothing either way; let the next request probe again.
			s.probing = false;
			return;
		}
		s.failures++;
		if (s.probing || s.failures >= settings.threshold) {
			s.openUntil = now + settings.cooldownMs;
			s.probing = false;
		}
	}

	async isOpen(key: string, now = Date.now()): Promise<boolean> {
		const shared = await sharedRedis()?.breakerOpen(...split(key));
		if (shared !== undefined && shared !== UNAVAILABLE) return shared;
		const s = this.states.get(key);
		return !!s && s.openUntil > now;
	}

	/** Forgets this process's breakers (tests; Redis state expires on its own). */
	clear(): void {
		this.states.clear();
	}
}

function split(key: string): [credentialId: string, model: string] {
	const at = key.indexOf('\n');
	return at < 0 ? [key, ''] : [key.slice(0, at), key.slice(at + 1)];
}

export const breakers = new BreakerRegistry();
