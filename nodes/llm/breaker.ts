/**
 * Circuit breakers, one per candidate (credential + model), shared by every workflow in the
 * process. After `threshold` consecutive failures that point at the provider (not at the
 * request), the breaker opens for `cooldownMs`: the candidate is skipped and the next one used.
 * Then one probe request is let through; its outcome closes or reopens the breaker.
 */
import type { ErrorKind } from './errors';

export interface BreakerSettings {
	threshold: number;
	cooldownMs: number;
}

/** Failures that say nothing about the provider's health: the request itself was at fault. */
const NOT_COUNTED: ReadonlySet<ErrorKind> = new Set(['bad_request', 'context_length', 'content_policy', 'invalid_output', 'cancelled', 'daily_limit']);

interface State {
	failures: number;
	openUntil: number;
	probing: boolean;
}

export class BreakerRegistry {
	private readonly states = new Map<string, State>();

	private state(key: string): State {
		let s = this.states.get(key);
		if (!s) this.states.set(key, (s = { failures: 0, openUntil: 0, probing: false }));
		return s;
	}

	/** Whether a request may go to this candidate now. Claims the single probe when half-open. */
	allow(key: string, now = Date.now()): boolean {
		const s = this.states.get(key);
		if (!s || s.openUntil === 0) return true;
		if (now < s.openUntil || s.probing) return false;
		s.probing = true;
		return true;
	}

	succeeded(key: string): void {
		this.states.delete(key);
	}

	failed(key: string, kind: ErrorKind, settings: BreakerSettings, now = Date.now()): void {
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

	isOpen(key: string, now = Date.now()): boolean {
		const s = this.states.get(key);
		return !!s && s.openUntil > now;
	}

	clear(): void {
		this.states.clear();
	}
}

export const breakers = new BreakerRegistry();
