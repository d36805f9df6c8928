'use strict';
/**
 * One "n8n worker" for the queue-mode tests and bench/cluster.js: a separate OS process running
 * the engine, which finds Redis the way n8n's workers do (from its environment: BYOK_REDIS_URL,
 * BYOK_REDIS_PREFIX, BYOK_REDIS_ON_ERROR, or the QUEUE_BULL_REDIS_* settings).
 *
 * The engine comes from the TypeScript sources (transpiled on load, no build needed) or, with
 * BYOK_ENGINE=dist, from the built dist/ folder (the benchmark).
 *
 * Protocol over the IPC channel:
 *   parent -> {type: 'job', baseUrl, credentialId, limits, count, prompt?, windowMs?, slackMs?, dayMs?,
 *              sequential?, options?, fallbackUrl?}
 *   child  -> {type: 'ready'}        after one unlimited warm-up call (a cold first request
 *                                    arrives tens of ms late, more than a shortened window's slack)
 *   parent -> {type: 'go', count?}   send `count` requests (default: the job's), then
 *   child  -> {type: 'done', results: [{ok, provider?, kind?, message?, attempts}]}
 *   ('go' may come again; the engine's state carries over, as in a long-running worker)
 *   parent disconnects; the child closes its Redis connection and exits.
 *
 * Every request's prompt is the job's `prompt` (default 'hi'), so a test can tell the workers'
 * requests apart at the provider. With `fallbackUrl`, a second candidate (another key) follows.
 */
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
let engine;
if (process.env.BYOK_ENGINE === 'dist') {
	engine = path.join(ROOT, 'dist/nodes/llm');
} else {
	require('./ts-require.js');
	engine = path.join(ROOT, 'nodes/llm');
}
const { connectionFromCredential } = require(path.join(engine, 'client'));
const { complete } = require(path.join(engine, 'dispatch'));
const { limiters } = require(path.join(engine, 'limiter'));
const { sharedRedis } = require(path.join(engine, 'redis'));
const { usageStore } = require(path.join(engine, 'usage-store'));

const outcome = (a) => `${a.provider}/${a.model}:${a.outcome}${a.status ? `:${a.status}` : ''}`;

async function call(request, candidates, settings) {
	try {
		const result = await complete(request, candidates, settings);
		return { ok: true, provider: result.provider, attempts: result.attempts.map(outcome) };
	} catch (err) {
		return { ok: false, kind: err.kind, message: err.message, attempts: (err.attempts ?? []).map(outcome) };
	}
}

function nextMessage(type) {
	return new Promise((resolve) => {
		const listener = (message) => {
			if (message?.type !== type) return;
			process.off('message', listener);
			resolve(message);
		};
		process.on('message', listener);
	});
}

async function main() {
	// A 'message' listener keeps the IPC channel, and so this process, alive: the engine's own
	// waits (AbortSignal.timeout) do not, and nothing else may be pending while it waits for a slot.
	const keepAlive = () => undefined;
	process.on('message', keepAlive);
	const job = await nextMessage('job');
	limiters.clock = { windowMs: job.windowMs ?? 60_000, dayMs: job.dayMs ?? 86_400_000, slackMs: job.slackMs };
	const connection = connectionFromCredential('custom', { apiKey: 'sk-cluster-test', baseUrl: job.baseUrl, ...job.limits }, job.credentialId, 'Cluster test key');
	const candidates = [{ connection, model: 'm' }];
	if (job.fallbackUrl) candidates.push({ connection: connectionFromCredential('ollama', { baseUrl: job.fallbackUrl }, `${job.credentialId}-fallback`), model: 'fb' });
	const request = { messages: [{ role: 'user', content: job.prompt ?? 'hi' }], options: {} };
	const settings = { timeoutMs: 120_000, retries: 0, ...job.options };
	await call(request, [{ connection: { ...connection, credentialId: `${job.credentialId}-warmup`, limits: {} }, model: 'm' }], { timeoutMs: 10_000, retries: 0 });
	process.send({ type: 'ready' });
	const disconnected = new Promise((resolve) => process.once('disconnect', () => resolve({ type: 'disconnect' })));
	for (;;) {
		const go = await Promise.race([nextMessage('go'), disconnected]);
		if (go.type !== 'go') break;
		const count = go.count ?? job.count;
		let results;
		if (job.sequential) {
			results = [];
			for (let i = 0; i < count; i++) results.push(await call(request, candidates, settings));
		} else {
			results = await Promise.all(Array.from({ length: count }, () => call(request, candidates, settings)));
		}
		// The parent disconnects once it has the results (exiting first could lose them).
		process.send({ type: 'done', results });
	}
	process.off('message', keepAlive);
	await sharedRedis()?.close();
	await usageStore().close();
	limiters.clear();
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
