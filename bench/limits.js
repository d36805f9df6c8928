'use strict';
/**
 * Per-key rate limiter, against the local fake provider (which answers at once). Every case is a
 * key of its own with all its requests queued at once by three callers (as three workflows would).
 * The run takes about four minutes.
 *
 * 1. How long N items take under Requests per Minute 30 on the real 60 s window, for N = limit
 *    and N = 2 x limit, with each pacing, against the ideal (the fastest any sliding-window limit
 *    allows: ceil(N / limit) - 1 windows), and the most requests that arrived in any sliding 60 s
 *    window (must never exceed the limit). The four keys run side by side.
 * 2. Sustained load, 3 windows' worth plus one, on 6 s windows (the limiter's test knob: a minute
 *    ten times faster; the slack is the production rule, 1% of the window): achieved / allowed
 *    rate and the most requests in any sliding window. One key at a time: hundreds of requests
 *    created at once on other keys would hold up the event loop, so requests would leave later
 *    than the limiter let them go by more than the slack covers.
 *
 *   npm run build && node bench/limits.js
 */
require('./scratch-usage.js');
const { maxInWindow, startFakeProvider } = require('../test/fake-provider.js');
const { connectionFromCredential } = require('../dist/nodes/llm/client.js');
const { complete } = require('../dist/nodes/llm/dispatch.js');
const { limiters } = require('../dist/nodes/llm/limiter.js');

const PACINGS = ['burst', 'smoothed'];
const MINUTE_LIMIT = 30;
const SUSTAINED = { windowMs: 6000, limits: [10, 100, 300] };

const request = (text) => ({ messages: [{ role: 'user', content: text }], options: {} });

/** A key with its own limiter on `windowMs`, and a function that queues `n` requests on it at once. */
function key(fake, { windowMs, limit, pacing, n, model }) {
	const connection = connectionFromCredential('custom', { apiKey: 'sk-bench', baseUrl: fake.baseUrl, requestsPerMinute: limit, pacing }, `bench-${model}`);
	limiters.clock = { windowMs, dayMs: 86_400_000 };
	limiters.get(connection.credentialId, connection.label, connection.limits); // created on this window
	const call = () => complete(request('hi'), [{ connection, model }], { timeoutMs: 600_000 });
	return {
		windowMs,
		limit,
		pacing,
		n,
		model,
		async run() {
			const started = Date.now();
			await Promise.all([0, 1, 2].map((w) => Promise.all(Array.from({ length: Math.ceil(n / 3) }, (_, i) => (i * 3 + w < n ? call() : null)))));
			this.ms = Date.now() - started;
			this.arrivals = fake.chatRequests.filter((r) => r.body?.model === model).map((r) => r.at).sort((a, b) => a - b);
		},
	};
}

async function main() {
	const fake = await startFakeProvider();
	// A cold start (connection, first SDK call) arrives tens of ms after it is sent.
	await complete(request('warm up'), [{ connection: connectionFromCredential('custom', { apiKey: 'sk-bench', baseUrl: fake.baseUrl }, 'warmup'), model: 'warmup' }], { timeoutMs: 600_000 });
	fake.reset();
	const minute = PACINGS.flatMap((pacing) => [MINUTE_LIMIT, 2 * MINUTE_LIMIT].map((n) => key(fake, { windowMs: 60_000, limit: MINUTE_LIMIT, pacing, n, model: `minute-${pacing}-${n}` })));
	await Promise.all(minute.map((k) => k.run()));
	const sustained = PACINGS.flatMap((pacing) => SUSTAINED.limits.map((limit) => key(fake, { windowMs: SUSTAINED.windowMs, limit, pacing, n: 3 * limit + 1, model: `sustained-${pacing}-${limit}` })));
	for (const k of sustained) await k.run();

	console.log('command: npm run build && node bench/limits.js   (local fake provider; each key\'s requests queued at once by 3 callers)');
	console.log();
	console.log(`1. Requests per Minute ${MINUTE_LIMIT}, real 60 s window: time for N items against the ideal`);
	console.log('pacing      N   time (s)   ideal (s)   time / ideal   most in any 60 s window');
	for (const k of minute) {
		const ideal = (Math.ceil(k.n / k.limit) - 1) * k.windowMs;
		const ratio = ideal > 0 ? `${(k.ms / ideal).toFixed(2)}x` : 'n/a';
		console.log(`${k.pacing.padEnd(9)} ${String(k.n).padStart(3)} ${(k.ms / 1000).toFixed(1).padStart(10)} ${(ideal / 1000).toFixed(1).padStart(11)} ${ratio.padStart(14)} ${`${maxInWindow(k.arrivals, k.windowMs)} (limit ${k.limit})`.padStart(25)}`);
	}
	console.log();
	console.log(`2. Sustained load on ${SUSTAINED.windowMs / 1000} s windows (a minute 10x faster): achieved / allowed rate`);
	console.log('pacing     limit   requests   most in any window   achieved / allowed rate');
	for (const k of sustained) {
		// n requests take (n - 1) gaps; the allowed rate is limit per window.
		const achieved = (k.arrivals.length - 1) / (k.arrivals[k.arrivals.length - 1] - k.arrivals[0]);
		const allowed = k.limit / k.windowMs;
		console.log(`${k.pacing.padEnd(9)} ${String(k.limit).padStart(6)} ${String(k.arrivals.length).padStart(10)} ${`${maxInWindow(k.arrivals, k.windowMs)} (limit ${k.limit})`.padStart(20)} ${`${((100 * achieved) / allowed).toFixed(1)}%`.padStart(25)}`);
	}
	limiters.clear();
	await fake.close();
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
