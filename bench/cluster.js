'use strict';
/**
 * Queue mode: one key's limits shared by several processes through Redis, side by side with
 * per-process limits, and the latency the Redis-backed limiter adds to each request.
 *
 *   npm run build && node bench/cluster.js
 *
 * Needs Redis on 127.0.0.1:6379 (BYOK_BENCH_REDIS_URL to use another); its keys go under a
 * prefix of their own and are deleted at the end.
 *
 * 1. Rate: 1, 2 and 4 worker processes (test/helpers/cluster-child.js, engine from dist/) share
 *    one credential with a per-minute limit, on a 6 s "minute" (the limiter's knob: a minute ten
 *    times faster; slack as in production, 1% of the window), with each pacing. Every request is queued at
 *    once; the figures are from arrival times at the local fake provider: the most in any sliding
 *    window, and achieved / allowed rate. The same with BYOK_REDIS=off shows what per-process
 *    limits do.
 * 2. Latency: one process, requests one after another to the fake provider (which answers at
 *    once), limits set but never binding, local limiter vs Redis-backed one (limiter and breaker
 *    state in Redis: 4 round trips per request, plus a lease release not waited for). Also the
 *    limiter alone: schedule() of an empty task.
 */
require('./scratch-usage.js');
const { maxInWindow, startFakeProvider } = require('../test/fake-provider.js');
const { deleteKeys, runWorkers } = require('../test/helpers/cluster.js');
const { connectionFromCredential } = require('../dist/nodes/llm/client.js');
const { complete } = require('../dist/nodes/llm/dispatch.js');
const { limiters } = require('../dist/nodes/llm/limiter.js');
const { RedisStore, useRedis } = require('../dist/nodes/llm/redis.js');
const { redisSettings } = require('../dist/nodes/llm/redis-settings.js');

const REDIS_URL = process.env.BYOK_BENCH_REDIS_URL || 'redis://127.0.0.1:6379/0';
const PREFIX = `byok-bench-${Date.now().toString(36)}`;
const WINDOW_MS = 6000;
const LIMIT = 30;
/** Three windows' worth plus one: n requests take n - 1 spacings. */
const REQUESTS = 3 * LIMIT + 1;

const pct = (x) => `${(100 * x).toFixed(1)}%`;

async function rateCase(fake, workers, redis, pacing) {
	const credentialId = `bench-${workers}-${redis ? 'redis' : 'local'}-${pacing}`;
	const counts = Array.from({ length: workers }, (_, i) => Math.floor(REQUESTS / workers) + (i < REQUESTS % workers ? 1 : 0));
	const jobs = counts.map((count) => ({ baseUrl: fake.baseUrl, credentialId, count, limits: { requestsPerMinute: LIMIT, pacing }, windowMs: WINDOW_MS }));
	const env = redis ? { BYOK_REDIS: '', BYOK_REDIS_URL: REDIS_URL, BYOK_REDIS_PREFIX: PREFIX } : { BYOK_REDIS: 'off' };
	const results = await runWorkers(jobs, env, { engine: 'dist', onReady: () => fake.reset() });
	const failed = results.flat().filter((r) => !r.ok).length;
	const times = fake.chatRequests.map((r) => r.at).sort((a, b) => a - b);
	const achieved = (times.length - 1) / (times[times.length - 1] - times[0]);
	return { workers, redis, most: maxInWindow(times, WINDOW_MS), ratio: achieved / (LIMIT / WINDOW_MS), failed, n: times.length };
}

function stats(samples) {
	const sorted = [...samples].sort((a, b) => a - b);
	const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
	return { p50: at(0.5), p95: at(0.95), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length };
}

async function latency(fake, store) {
	const limits = { requestsPerMinute: 1_000_000, requestsPerDay: 1_000_000_000, maxConcurrent: 1000 };
	const connection = connectionFromCredential('custom', { apiKey: 'sk-bench', baseUrl: fake.baseUrl, ...limits }, 'bench-latency', 'Bench key');
	const request = { messages: [{ role: 'user', content: 'hi' }], options: {} };
	const modes = { local: null, redis: store };
	const call = { local: [], redis: [] };
	const schedule = { local: [], redis: [] };
	const task = async () => 1;
	// Interleaved blocks, so drift on a shared machine hits both alike.
	for (let block = 0; block < 22; block++) {
		for (const [name, redis] of Object.entries(modes)) {
			useRedis(redis);
			for (let i = 0; i < 50; i++) {
				let t = performance.now();
				await complete(request, [{ connection, model: 'm' }], { timeoutMs: 10_000, retries: 0 });
				if (block >= 2) call[name].push(performance.now() - t); // first blocks: warm-up
				t = performance.now();
				await limiters.get(connection.credentialId, connection.label, connection.limits).schedule(task);
				if (block >= 2) schedule[name].push(performance.now() - t);
			}
		}
	}
	useRedis(null);
	return { call: { local: stats(call.local), redis: stats(call.redis) }, schedule: { local: stats(schedule.local), redis: stats(schedule.redis) }, n: call.local.length };
}

async function main() {
	const fake = await startFakeProvider();
	const store = new RedisStore(redisSettings({ BYOK_REDIS_URL: REDIS_URL, BYOK_REDIS_PREFIX: PREFIX }));
	try {
		console.log('command: npm run build && node bench/cluster.js');
		console.log(`Redis ${REDIS_URL.replace(/\/\/[^@]*@/, '//')}; fake provider on 127.0.0.1; Node ${process.version}; ${require('node:os').cpus().length} CPUs`);
		console.log();
		console.log(`1. One key, limit ${LIMIT} per ${WINDOW_MS / 1000} s window, ${REQUESTS} requests queued at once, split over the processes`);
		console.log('pacing     processes   limits shared through   most in any window   achieved / allowed rate   failed');
		for (const pacing of ['burst', 'smoothed']) {
			for (const workers of [1, 2, 4]) {
				for (const redis of [true, false]) {
					if (workers === 1 && !redis) continue;
					const r = await rateCase(fake, workers, redis, pacing);
					console.log(
						`${pacing.padEnd(8)} ${String(workers).padStart(11)}   ${(redis ? 'Redis (cluster-wide)' : 'nothing (per process)').padEnd(21)}   ${`${r.most} (limit ${LIMIT})`.padStart(18)}   ${pct(r.ratio).padStart(23)}   ${String(r.failed).padStart(6)}`,
					);
				}
			}
		}
		console.log();
		const l = await latency(fake, store);
		const row = (name, s) => `${name.padEnd(44)} ${s.local.p50.toFixed(3).padStart(8)} ${s.redis.p50.toFixed(3).padStart(8)} ${(s.redis.p50 - s.local.p50).toFixed(3).padStart(9)}   ${s.local.p95.toFixed(3).padStart(8)} ${s.redis.p95.toFixed(3).padStart(8)}`;
		console.log(`2. Latency per request, ms (${l.n} sequential requests per mode, interleaved)`);
		console.log('                                             p50 local  p50 Redis  added   p95 local  p95 Redis');
		console.log(row('complete(): limiter + breaker + HTTP call', l.call));
		console.log(row('limiter alone: schedule(empty task)', l.schedule));
	} finally {
		limiters.clear();
		await store.close();
		await deleteKeys(REDIS_URL, PREFIX);
		await fake.close();
	}
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
