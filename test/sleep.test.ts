/**
 * The engine's one wait (retry backoff, waiting for a rate-limit slot) must end even when garbage
 * collection runs while it waits: on Node 20 a signal that only feeds AbortSignal.any() is
 * collected with its listener, and a wait built that way never ended (a limiter queue stuck
 * until the request's deadline).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sleep } from '../nodes/llm/sleep';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('waits end while garbage collection runs, with and without a signal', async () => {
	const collecting = setInterval(gc, 5);
	try {
		const controllers = Array.from({ length: 50 }, () => new AbortController());
		// A wait that never ends fails this test by jest's timeout.
		await Promise.all([...controllers.map((c) => sleep(100, c.signal)), ...controllers.map(() => sleep(100))]);
	} finally {
		clearInterval(collecting);
	}
});

test('an aborted signal ends the wait at once with its reason', async () => {
	const controller = new AbortController();
	const wait = sleep(10_000, controller.signal);
	controller.abort(new Error('stop'));
	await expect(wait).rejects.toThrow('stop');
	await expect(sleep(10, controller.signal)).rejects.toThrow('stop');
});
