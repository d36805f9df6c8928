'use strict';
/**
 * Per-key rate limiter under sustained load: achieved rate / allowed rate and the most requests
 * seen in any sliding window, for several limits, all in one run against the local fake provider.
 * Windows are shortened (the limiter's test knob) so a run takes seconds; the spacing logic is
 * the same as for the real 60 s window.
 *
 *   npm run build && node bench/limits.js
 */
const { maxInWindow, startFakeProvider } = require('../test/fake-provider.js');
const { connectionFromCredential } = require('../dist/nodes/llm/client.js');
const { complete } = require('../dist/nodes/llm/dispatch.js');
const { limiters } = require('../dist/nodes/llm/limiter.js');

const CASES = [
	{ windowMs: 1000, limit: 10, requests: 41 },
	{ windowMs: 1000, limit: 50, requests: 201 },
	{ windowMs: 2000, limit: 400, requests: 801 },
	{ windowMs: 10_000, limit: 200, requests: 401 },
];


async function main() {
	const fake = await startFakeProvider();
	console.log('command: node bench/limits.js   (local fake provider; every request queued at once, 3 "workflows" sharing one key)');
	console.log('window   limit   requests   max in any window   achieved/allowed rate');
	for (const c of CASES) {
		fake.reset();
		limiters.clear();
		limiters.clock = { windowMs: c.windowMs, dayMs: 86_400_000 };
		const connection = connectionFromCredential('custom', { apiKey: 'sk-bench', baseUrl: fake.baseUrl, requestsPerMinute: c.limit }, `bench-${c.limit}`);
		const call = () => complete({ messages: [{ role: 'user', content: 'hi' }], options: {} }, [{ connection, model: 'm' }], { timeoutMs: 600_000 });
		// One unlimited call first: a cold start (connection, first SDK call) arrives tens of ms after
		// it is sent, more than the limiter's slack on these shortened windows (1% of a real minute is 600 ms).
		await complete({ messages: [{ role: 'user', content: 'warm up' }], options: {} }, [{ connection: { ...connection, credentialId: 'warmup', limits: {} }, model: 'm' }], { timeoutMs: 600_000 });
		fake.reset();
		// Three callers share the key, as three workflows would.
		await Promise.all([0, 1, 2].map((w) => Promise.all(Array.from({ length: Math.ceil(c.requests / 3) }, (_, i) => (i * 3 + w < c.requests ? call() : null)))));
		const times = fake.chatRequests.map((r) => r.at).sort((a, b) => a - b);
		const span = times[times.length - 1] - times[0];
		// n requests take (n - 1) spacings; the allowed rate is limit per window.
		const achieved = (times.length - 1) / span;
		const allowed = c.limit / c.windowMs;
		console.log(
			`${String(c.windowMs).padStart(5)} ms ${String(c.limit).padStart(6)} ${String(times.length).padStart(10)} ${String(maxInWindow(times, c.windowMs)).padStart(13)} (<= ${c.limit}) ${((100 * achieved) / allowed).toFixed(1).padStart(14)}%`,
		);
	}
	limiters.clear();
	await fake.close();
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
