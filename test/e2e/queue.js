'use strict';
/**
 * Queue-mode e2e: real n8n 2.41.1 as a main process and two workers (EXECUTIONS_MODE=queue,
 * Redis on 127.0.0.1:6379, PostgreSQL on 127.0.0.1:5432 in a fresh database when it is there,
 * else SQLite). Many manual executions are started at once; each sends one request with a key
 * whose credential allows REQUESTS_PER_MINUTE. The package finds Redis from n8n's own
 * QUEUE_BULL_REDIS_* settings (nothing BYOK-specific but a key prefix, to keep this run's keys
 * apart), so both workers share the key's limit: the fake provider's log must never show more
 * than the limit in any 60-second window, and every execution must succeed, on the workers.
 *
 *   npm run test:e2e           (run.js calls queuePhase() last)
 *   node test/e2e/queue.js     (alone: packs dist/ as it is; run `npm run build` first)
 *
 * It takes about 70 s: the limit must be reached and a real minute must pass before the last
 * requests may go. Without Redis on 127.0.0.1:6379 it is skipped with the reason.
 *
 * Then the same under Redis trouble (redisTroublePhase): the package's limits on a redis-server
 * of this test's own (BYOK_REDIS_URL; n8n's queue stays on 127.0.0.1:6379), killed mid-run and
 * restarted empty, while a smoothed key's requests are waiting and after a burst key's window has
 * filled: the smoothed key keeps one start per spacing per process through the outage, the burst
 * key's window after the restart still holds what was sent before it, and each worker logs one
 * warning and one recovery. About 80 s more; skipped without a redis-server binary.
 */
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { makeScratch, installPackage, startN8n, restClient, freePort, seconds, sleep, tail } = require('./run.js');
const { maxInWindow } = require('../fake-provider.js');
const { deleteKeys, hasRedisServer, listKeys, ownRedisServer } = require('../helpers/cluster.js');

const REDIS_URL = 'redis://127.0.0.1:6379';

const REQUESTS_PER_MINUTE = 12;
const EXECUTIONS = 16;
const WORKER_CONCURRENCY = 8;
const GOOD_KEY = 'sk-queue-e2e-5b2d8f1a9c';
const OWNER = { email: 'owner@byok-queue.test', firstName: 'Queue', lastName: 'Owner', password: 'ByokQueue-Passw0rd' };
const WINDOW_MS = 60_000;

function reachable(port, host = '127.0.0.1') {
	return new Promise((resolve) => {
		const socket = net.connect(port, host);
		socket.setTimeout(1500, () => (socket.destroy(), resolve(false)));
		socket.on('connect', () => (socket.end(), resolve(true)));
		socket.on('error', () => resolve(false));
	});
}

/** A fresh PostgreSQL database for this run (n8n's own `pg`), or undefined to use SQLite. */
async function freshPostgres(n8n, name) {
	if (!(await reachable(5432))) return undefined;
	const { Client } = require(path.join(n8n.cache, 'node_modules/pg'));
	const admin = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', connectionTimeoutMillis: 3000 };
	const client = new Client(admin);
	try {
		await client.connect();
		await client.query(`CREATE DATABASE "${name}"`);
	} catch (err) {
		console.log(`# PostgreSQL on 127.0.0.1:5432 not usable (${err.message}); using SQLite`);
		return undefined;
	} finally {
		await client.end().catch(() => undefined);
	}
	return {
		env: { DB_TYPE: 'postgresdb', DB_POSTGRESDB_HOST: '127.0.0.1', DB_POSTGRESDB_PORT: '5432', DB_POSTGRESDB_DATABASE: name, DB_POSTGRESDB_USER: 'postgres', DB_POSTGRESDB_PASSWORD: '' },
		async drop() {
			const c = new Client(admin);
			await c.connect();
			await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).finally(() => c.end());
		},
	};
}

function workflow(id, credential, model = 'fake-small') {
	return {
		name: `BYOK queue e2e ${id}`,
		nodes: [
			{ id: '00000000-0000-4000-8000-000000000101', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: '00000000-0000-4000-8000-000000000102',
				name: 'BYOK Chat',
				type: 'n8n-nodes-byok.byokChat',
				typeVersion: 1,
				position: [220, 0],
				parameters: {
					providers: ['custom'],
					model: { __rl: true, mode: 'id', value: model },
					promptType: 'simple',
					prompt: 'hello from a worker',
					// Waiting for a slot counts against the timeout; the last requests wait over a minute.
					options: { timeout: 240, retries: 0 },
				},
				credentials: { byokCustomApi: { id: credential.id, name: credential.name } },
			},
		],
		connections: { Start: { main: [[{ node: 'BYOK Chat', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
		active: false,
	};
}

/** Main and two workers in queue mode, sharing `env`; n8n's own queue on 127.0.0.1:6379 under `bullPrefix`. */
async function startCluster(n8n, scratch, env, processes, { concurrency = WORKER_CONCURRENCY } = {}) {
	const main = await startN8n(n8n, scratch.userFolder, { env, logFile: path.join(scratch.dir, 'main.log') });
	processes.push(main);
	const workers = await Promise.all(
		[1, 2].map((n) => startN8n(n8n, scratch.userFolder, { env, args: ['worker', `--concurrency=${concurrency}`], logFile: path.join(scratch.dir, `worker-${n}.log`) })),
	);
	processes.push(...workers);
	return { main, workers };
}

/** Polls executions until all have ended (or the deadline); returns id -> execution. */
async function waitForExecutions(api, ids, deadlineMs) {
	const finished = new Map();
	const deadline = Date.now() + deadlineMs;
	while (finished.size < ids.length && Date.now() < deadline) {
		await sleep(2000);
		for (const id of ids) {
			if (finished.has(id)) continue;
			const execution = await api.call('GET', `/executions/${id}`);
			if (execution?.finished || ['success', 'error', 'crashed', 'canceled'].includes(execution?.status)) finished.set(id, execution);
		}
	}
	return finished;
}

/** What the BYOK Chat node of each execution put out: status, text, provider, error. */
function outputsOf(n8n, ids, finished) {
	const { parse } = require(path.join(n8n.cache, 'node_modules/flatted'));
	return ids.map((id) => {
		const execution = finished.get(id);
		if (!execution) return { id, status: 'unfinished' };
		const data = typeof execution.data === 'string' ? parse(execution.data) : execution.data;
		const item = data?.resultData?.runData?.['BYOK Chat']?.[0]?.data?.main?.[0]?.[0]?.json;
		return { id, status: execution.status, text: item?.text, provider: item?.provider, error: data?.resultData?.error?.message };
	});
}

const run = (api, workflowId) => api.call('POST', `/workflows/${workflowId}/run`, { triggerToStartFrom: { name: 'Start' } }).then((r) => String(r.executionId));

async function queuePhase({ n8n, fake, t, timings, tarball }) {
	const started = Date.now();
	if (!(await reachable(6379))) {
		console.log('# skip queue mode: nothing listens on 127.0.0.1:6379 (start Redis to run it)');
		return;
	}
	const scratch = makeScratch('byok-queue-');
	const runId = `byok-e2e-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
	const bullPrefix = `${runId}-bull`;
	const db = await freshPostgres(n8n, runId.replace(/-/g, '_'));
	console.log(`# queue mode: scratch ${scratch.dir}, database ${db ? `PostgreSQL ${runId.replace(/-/g, '_')}` : 'SQLite'}, Redis prefixes ${runId}, ${bullPrefix}`);
	const env = {
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: '127.0.0.1',
		QUEUE_BULL_REDIS_PORT: '6379',
		QUEUE_BULL_PREFIX: bullPrefix,
		// The only BYOK setting: keep this run's keys apart from other tests. Redis itself comes
		// from n8n's QUEUE_BULL_REDIS_* above.
		BYOK_REDIS_PREFIX: runId,
		OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
		QUEUE_HEALTH_CHECK_ACTIVE: 'true',
		N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
		...(db?.env ?? {}),
	};
	const processes = [];
	let passed = false;
	try {
		await installPackage(scratch.userFolder, tarball);
		const { main, workers } = await startCluster(n8n, scratch, env, processes);
		console.log(`# queue mode: main ready in ${seconds(main.readyMs)}, workers in ${workers.map((w) => seconds(w.readyMs)).join(', ')}`);

		const api = restClient(main.url);
		await api.call('POST', '/owner/setup', OWNER);
		const credential = await api.call('POST', '/credentials', {
			name: 'BYOK queue e2e key',
			type: 'byokCustomApi',
			data: { apiKey: GOOD_KEY, baseUrl: fake.baseUrl, requestsPerMinute: REQUESTS_PER_MINUTE },
		});
		const created = await api.call('POST', '/workflows', workflow(runId, credential));

		fake.reset();
		const runStarted = Date.now();
		const ids = await Promise.all(Array.from({ length: EXECUTIONS }, () => run(api, created.id)));
		t.check(`queue mode: ${EXECUTIONS} manual executions started at once`, ids.every((id) => /^\d+$/.test(id)), JSON.stringify(ids));

		const finished = await waitForExecutions(api, ids, 180_000);
		const runMs = Date.now() - runStarted;
		console.log(`# queue mode: ${finished.size}/${ids.length} executions finished in ${seconds(runMs)}`);
		const outputs = outputsOf(n8n, ids, finished);
		t.check(
			`queue mode: all ${EXECUTIONS} executions succeeded with the provider's answer`,
			outputs.every((o) => o.status === 'success' && o.text === 'echo: hello from a worker' && o.provider === 'custom'),
			JSON.stringify(outputs.filter((o) => o.status !== 'success' || o.text !== 'echo: hello from a worker')),
		);

		const ranOn = workers.map((w) => ids.filter((id) => new RegExp(`Worker started execution ${id} \\(`).test(w.output.stdout + w.output.stderr)));
		const mainLog = main.output.stdout + main.output.stderr;
		console.log(`# queue mode: executions per worker: ${ranOn.map((r) => r.length).join(' + ')}`);
		t.check(
			'queue mode: every execution ran on a worker, both workers took some, none on main',
			ranOn.flat().length === EXECUTIONS && new Set(ranOn.flat()).size === EXECUTIONS && ranOn.every((r) => r.length > 0) && !/Worker started execution/.test(mainLog),
			`per worker: ${JSON.stringify(ranOn)}\n${tail(workers.map((w) => w.output.stdout + w.output.stderr).join('\n'), 30)}`,
		);

		const arrivals = fake.chatRequests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.at);
		const most = maxInWindow(arrivals, WINDOW_MS);
		const firstMinute = arrivals.filter((at) => at - Math.min(...arrivals) < WINDOW_MS).length;
		console.log(`# queue mode: ${arrivals.length} requests at the provider; most in any 60 s window: ${most} (limit ${REQUESTS_PER_MINUTE}); in the first minute: ${firstMinute}; last arrived ${seconds(Math.max(...arrivals) - Math.min(...arrivals))} after the first`);
		t.check(`queue mode: the provider got one request per execution (${EXECUTIONS})`, arrivals.length === EXECUTIONS, String(arrivals.length));
		t.check(
			`queue mode: the two workers together never sent more than ${REQUESTS_PER_MINUTE} requests in any 60 s window`,
			most <= REQUESTS_PER_MINUTE && most === REQUESTS_PER_MINUTE,
			`most in a window: ${most}`,
		);
		const keys = await listKeys(REDIS_URL, runId);
		t.check(
			"queue mode: the key's window lives in Redis (found from n8n's QUEUE_BULL_REDIS_* settings), under the credential id",
			keys.includes(`${runId}:{${credential.id}}:window`) && keys.every((k) => !k.includes(GOOD_KEY)),
			JSON.stringify(keys),
		);
		const logs = [mainLog, ...workers.map((w) => w.output.stdout + w.output.stderr)].join('\n');
		t.check('queue mode: no Redis warning from the package, and the key appears in no log', !/\[n8n-nodes-byok\] Redis/.test(logs) && !logs.includes(GOOD_KEY), tail(logs, 20));
		passed = true;
	} catch (err) {
		t.check('queue mode e2e completed', false, err.stack ?? err);
	} finally {
		for (const proc of processes.reverse()) await proc.stop();
		// This run's keys: the package's limits and Bull's queue.
		for (const prefix of [runId, bullPrefix]) await deleteKeys(REDIS_URL, prefix).catch((err) => console.log(`# could not delete Redis keys: ${err.message}`));
		await db?.drop().catch((err) => console.log(`# could not drop the database: ${err.message}`));
		timings.queue = Date.now() - started;
		if (passed && !process.env.BYOK_E2E_KEEP) fs.rmSync(scratch.dir, { recursive: true, force: true });
		else console.log(`# kept ${scratch.dir} (main.log, worker-1.log, worker-2.log)`);
	}
	await redisTroublePhase({ n8n, fake, t, timings, tarball });
}

/** Keys for the Redis-trouble phase: one that bursts, one that is smoothed (one start every 3.03 s). */
const BURST = { model: 'fake-burst', limits: { requestsPerMinute: 8 }, before: 6, after: 8 };
const SMOOTHED = { model: 'fake-smoothed', limits: { requestsPerMinute: 20, pacing: 'smoothed' }, executions: 12, spacingMs: 60_600 / 20 };
const OUTAGE_MS = 6000;

async function redisTroublePhase({ n8n, fake, t, timings, tarball }) {
	const started = Date.now();
	if (!hasRedisServer()) {
		console.log('# skip queue mode under Redis trouble: no redis-server binary on PATH (apt-get install redis-server to run it)');
		return;
	}
	const scratch = makeScratch('byok-queue-trouble-');
	const runId = `byok-e2e-trouble-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
	const bullPrefix = `${runId}-bull`;
	const limitsRedis = await ownRedisServer();
	const db = await freshPostgres(n8n, runId.replace(/-/g, '_'));
	console.log(
		`# queue mode under Redis trouble: scratch ${scratch.dir}, database ${db ? 'PostgreSQL' : 'SQLite'}, the package's limits on redis-server 127.0.0.1:${limitsRedis.port}, n8n's queue on 127.0.0.1:6379 under ${bullPrefix}`,
	);
	const env = {
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: '127.0.0.1',
		QUEUE_BULL_REDIS_PORT: '6379',
		QUEUE_BULL_PREFIX: bullPrefix,
		BYOK_REDIS_URL: limitsRedis.url,
		OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
		QUEUE_HEALTH_CHECK_ACTIVE: 'true',
		N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
		...(db?.env ?? {}),
	};
	const processes = [];
	const failedBefore = t.failed;
	/** Starts `count` executions one after another (SQLite, if that is the database, is not made for many writers at once). */
	const start = async (api, workflowId, count) => {
		const ids = [];
		for (let i = 0; i < count; i++) ids.push(await run(api, workflowId));
		return ids;
	};
	try {
		await installPackage(scratch.userFolder, tarball);
		const { main, workers } = await startCluster(n8n, scratch, env, processes, { concurrency: 20 });
		const api = restClient(main.url);
		await api.call('POST', '/owner/setup', OWNER);
		const workflowFor = async (key) => {
			const credential = await api.call('POST', '/credentials', { name: `BYOK ${key.model}`, type: 'byokCustomApi', data: { apiKey: GOOD_KEY, baseUrl: fake.baseUrl, ...key.limits } });
			return (await api.call('POST', '/workflows', workflow(`${runId}-${key.model}`.slice(-21), credential, key.model))).id;
		};
		const burstWorkflow = await workflowFor(BURST);
		const smoothedWorkflow = await workflowFor(SMOOTHED);
		const arrivals = (model) => fake.chatRequests.filter((r) => r.path === '/v1/chat/completions' && r.body?.model === model).map((r) => r.at);

		fake.reset();
		const ids = [...(await start(api, burstWorkflow, BURST.before)), ...(await start(api, smoothedWorkflow, SMOOTHED.executions))];
		// Smoothed requests are waiting for their turn (and the burst key's window is full for this minute).
		const deadline = Date.now() + 60_000;
		while (arrivals(SMOOTHED.model).length < 3 && Date.now() < deadline) await sleep(100);
		await limitsRedis.stop();
		const stoppedAt = Date.now();
		await sleep(OUTAGE_MS);
		await limitsRedis.start(); // no persistence: empty
		const restartedAt = Date.now();
		await sleep(3000); // the workers reconnect and write back what they sent
		ids.push(...(await start(api, burstWorkflow, BURST.after)));
		const finished = await waitForExecutions(api, ids, 180_000);
		const outputs = outputsOf(n8n, ids, finished);
		console.log(`# queue mode under Redis trouble: ${finished.size}/${ids.length} executions finished in ${seconds(Date.now() - stoppedAt)} after Redis was stopped`);
		t.check(
			`queue mode under Redis trouble: all ${ids.length} executions succeeded`,
			outputs.every((o) => o.status === 'success' && o.provider === 'custom'),
			JSON.stringify(outputs.filter((o) => o.status !== 'success' || o.provider !== 'custom')),
		);

		const burst = arrivals(BURST.model);
		const most = maxInWindow(burst, WINDOW_MS);
		console.log(`# queue mode under Redis trouble: burst key (${BURST.limits.requestsPerMinute}/min): ${BURST.before} before the restart, ${BURST.after} after; most in any 60 s window: ${most}`);
		t.check(
			`queue mode under Redis trouble: after Redis restarted empty, the burst key still sent at most ${BURST.limits.requestsPerMinute} in any 60 s window (the workers gave back what they had sent)`,
			burst.length === BURST.before + BURST.after && most === BURST.limits.requestsPerMinute,
			`${burst.length} requests, most in a window ${most}`,
		);
		const smoothed = arrivals(SMOOTHED.model);
		const during = smoothed.filter((at) => at > stoppedAt && at < restartedAt);
		// One start per spacing per process: with two workers at most two within 90% of a spacing.
		const close = maxInWindow(smoothed, 0.9 * SMOOTHED.spacingMs);
		console.log(`# queue mode under Redis trouble: smoothed key (one start per ${seconds(SMOOTHED.spacingMs)}): ${during.length} of ${smoothed.length} sent during the ${seconds(OUTAGE_MS)} outage; most within ${seconds(0.9 * SMOOTHED.spacingMs)}: ${close}`);
		t.check(
			'queue mode under Redis trouble: the smoothed key kept its spacing through the outage (per worker), instead of sending what was waiting at once',
			smoothed.length === SMOOTHED.executions && during.length >= 2 && close <= 2,
			`arrivals (ms after the first): ${smoothed.map((at) => at - smoothed[0]).join(' ')}; stopped at ${stoppedAt - smoothed[0]}, restarted at ${restartedAt - smoothed[0]}`,
		);
		const logs = workers.map((w) => w.output.stdout + w.output.stderr);
		const said = logs.map((log) => ({
			down: (log.match(/\[n8n-nodes-byok\] Redis at 127\.0\.0\.1:\d+\/0 is unreachable .*per process until it is back\./g) ?? []).length,
			back: (log.match(/\[n8n-nodes-byok\] Redis at 127\.0\.0\.1:\d+\/0 is back/g) ?? []).length,
		}));
		t.check(
			'queue mode under Redis trouble: each worker logged one warning and one recovery, and no key',
			said.every((x) => x.down === 1 && x.back === 1) && logs.every((log) => !log.includes(GOOD_KEY)),
			JSON.stringify(said),
		);
	} catch (err) {
		t.check('queue mode under Redis trouble e2e completed', false, err.stack ?? err);
	} finally {
		for (const proc of processes.reverse()) await proc.stop();
		await limitsRedis.stop();
		await deleteKeys(REDIS_URL, bullPrefix).catch((err) => console.log(`# could not delete Redis keys: ${err.message}`));
		await db?.drop().catch((err) => console.log(`# could not drop the database: ${err.message}`));
		timings.queueTrouble = Date.now() - started;
		if (t.failed === failedBefore && !process.env.BYOK_E2E_KEEP) fs.rmSync(scratch.dir, { recursive: true, force: true });
		else console.log(`# kept ${scratch.dir} (main.log, worker-1.log, worker-2.log)`);
	}
}

module.exports = { queuePhase, redisTroublePhase };

if (require.main === module) require('./run.js').runPhaseAlone(queuePhase);
