/**
 * Circuit breakers, one per candidate (credential + model), shared by every workflow in the
 * process, and in queue mode by every process through Redis (./redis.ts), so one worker's
 * discovery that a provider is down spares the others. After `threshold` consecutive failures that
 * point at the provider (not at the request), the breaker opens for `cooldownMs`: the candidate is
 * skipped and the next one used. Then exactly one probe request is let through; its outcome closes
 * or reopens the breaker.
 *
 * The probe is a claim with a token: `allow()` hands the token to the one request that may probe,
 * for as long as that request may run, and only that request's outcome (`succeeded()`/`failed()`
 * with its pass) closes the breaker, reopens it or gives the claim back. A claim whose holder
 * vanished (a worker that died) expires when the probe would have timed out.
 */
import { randomBytes } from 'node:crypto';
import type { ErrorKind } from './errors';
import { sharedRedis, UNAVAILABLE } from './redis';

export interface BreakerSettings {
	threshold: number;
	cooldownMs: number;
}

/** What `allow()` gives a request that may go; `probe` is set when it holds the half-open breaker's one claim. */
export interface BreakerPass {
	probe?: string;
}

/** Failures that say nothing about the provider's health: the request itself was at fault. */
const NOT_COUNTED: ReadonlySet<ErrorKind> = new Set(['bad_request', 'context_length', 'content_policy', 'invalid_output', 'cut_off', 'cancelled', 'daily_limit', 'budget_exhausted', 'invalid_credential', 'limits_unavailable']);

/** Most candidates a process keeps breaker state for; the least recently used is forgotten first. */
const MAX_BREAKERS = 10_000;

const tokenPrefix = randomBytes(6).toString('hex');
let tokens = 0;

interface State {
	failures: number;
	/** Monotonic ms; 0 while closed. */
	openUntil: number;
	probe?: { token: string; until: number };
}

const holdsClaim = (s: State | undefined, pass: BreakerPass) => pass.probe !== undefined && s?.probe?.token === pass.probe;

/**
 * Keys are `<credential id>\n<model>` (see dispatch.ts). With Redis the state lives there; while
 * Redis cannot answer, each process keeps its own (whatever BYOK_REDIS_ON_ERROR says: a breaker
 * only ever saves requests, it never lets more through), on a monotonic clock. A success forgets
 * its candidate, and the table keeps at most MAX_BREAKERS entries (forgetting one costs at most
 * a few more requests to a failing candidate), so distinct failing models cannot fill memory.
 */
export class BreakerRegistry {
	private readonly states = new Map<string, State>();

	get size(): number {
		return this.states.size;
	}

	/** The candidate's state, now the most recently used. */
	private touch(key: string, create: boolean): State | undefined {
		const s = this.states.get(key) ?? (create ? { failures: 0, openUntil: 0 } : undefined);
		if (!s) return undefined;
		this.states.delete(key);
		this.states.set(key, s);
		for (const oldest of this.states.keys()) {
			if (this.states.size <= MAX_BREAKERS) break;
			this.states.delete(oldest);
		}
		return s;
	}

	/**
	 * A pass if a request may go to this candidate now, else undefined. When half-open, the one
	 * probe claim goes to this request for `holdMs` (as long as it may run).
	 */
	async allow(key: string, holdMs: number): Promise<BreakerPass | undefined> {
		const token = `${tokenPrefix}:${++tokens}`;
		const shared = await sharedRedis()?.breakerAllow(...split(key), token, holdMs);
		if (shared !== undefined && shared !== UNAVAILABLE) return shared === 'pass' ? {} : shared === 'probe' ? { probe: token } : undefined;
		const s = this.touch(key, false);
		if (!s || s.openUntil === 0) return {};
		const now = performance.now();
		if (now < s.openUntil || (s.probe && now < s.probe.until)) return undefined;
		s.probe = { token, until: now + holdMs };
		return { probe: token };
	}

	/** The probe's success closes the breaker; another success resets the failure count of a closed one. */
	async succeeded(key: string, pass: BreakerPass): Promise<void> {
		await sharedRedis()?.breakerSucceeded(...split(key), pass.probe);
		const s = this.states.get(key);
		if (s && (s.openUntil === 0 || holdsClaim(s, pass))) this.states.delete(key);
	}

	/** `sent`: false when the request never reached the provider (it timed out waiting for a slot): says nothing of its health. */
	async failed(key: string, pass: BreakerPass, kind: ErrorKind, settings: BreakerSettings, sent = true): Promise<void> {
		const counted = sent && !NOT_COUNTED.has(kind);
		const shared = await sharedRedis()?.breakerFailed(...split(key), pass.probe, counted, settings.threshold, settings.cooldownMs);
		if (shared !== undefined && shared !== UNAVAILABLE) return;
		const s = this.touch(key, counted);
		if (!s) return;
		const probed = holdsClaim(s, pass);
		// A probe that proved nothing either way gives its claim back; no one else's claim is touched.
		if (probed) s.probe = undefined;
		if (!counted) return;
		s.failures++;
		if (probed || s.failures >= settings.threshold) s.openUntil = performance.now() + settings.cooldownMs;
	}

	async isOpen(key: string): Promise<boolean> {
		const shared = await sharedRedis()?.breakerOpen(...split(key));
		if (shared !== undefined && shared !== UNAVAILABLE) return shared;
		const s = this.states.get(key);
		return !!s && s.openUntil > performance.now();
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
