'use strict';
/**
 * Helpers for the queue-mode tests and bench/cluster.js: is Redis there, a Redis server of our
 * own (to stop and restart), "workers" as separate OS processes (cluster-child.js), and cleanup.
 * Plain JavaScript: it needs Node's process and network APIs. Its types for the TypeScript tests
 * are in cluster.d.ts: change them with it.
 */
const { fork, spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const Redis = require('ioredis');
const { freePort } = require('../e2e/run.js');

/** Whether something answers PING on 127.0.0.1:port, decided synchronously (jest picks tests before running them). */
function redisReachableSync(port = 6379) {
	const probe = `
		const s = require('node:net').connect(${port}, '127.0.0.1');
		s.setTimeout(1500, () => process.exit(1));
		s.on('connect', () => s.write('PING\\r\\n'));
		s.on('data', (d) => process.exit(String(d).startsWith('+PONG') ? 0 : 1));
		s.on('error', () => process.exit(1));`;
	return spawnSync(process.execPath, ['-e', probe], { timeout: 5000 }).status === 0;
}

function hasRedisServer() {
	return spawnSync('redis-server', ['--version'], { timeout: 5000 }).status === 0;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A throw-away redis-server on its own port (no persistence), with a password. stop() and start() again at will. */
async function ownRedisServer({ password } = {}) {
	const port = await freePort();
	let child;
	const server = {
		port,
		url: `redis://${password ? `:${password}@` : ''}127.0.0.1:${port}/0`,
		async start() {
			const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(password ? ['--requirepass', password] : [])];
			child = spawn('redis-server', args, { stdio: 'ignore' });
			const started = Date.now();
			for (;;) {
				const client = new Redis(server.url, { lazyConnect: true, retryStrategy: null, maxRetriesPerRequest: 0 });
				client.on('error', () => undefined);
				try {
					await client.connect();
					if ((await client.ping()) === 'PONG') return;
				} catch {
					// not up yet
				} finally {
					client.disconnect();
				}
				if (Date.now() - started > 10_000) throw new Error(`redis-server on port ${port} did not start`);
				await sleep(50);
			}
		},
		async stop() {
			if (!child || child.exitCode !== null || child.signalCode !== null) return;
			const exited = new Promise((resolve) => child.once('exit', resolve));
			child.kill('SIGKILL');
			await exited;
		},
	};
	await server.start();
	return server;
}

/**
 * Starts one worker process per job and waits until each is warm. Then `run(counts?)` releases
 * every worker at the same moment (each sends `counts[i]` requests, default its job's `count`)
 * and resolves with each worker's results; it may be called again (a test can stop Redis between
 * runs). `output[i]` holds the lines worker i printed. `stop()` ends the workers.
 */
async function startWorkers(jobs, env, { engine = 'src', timeoutMs = 120_000 } = {}) {
	const children = jobs.map(() =>
		fork(path.join(__dirname, 'cluster-child.js'), [], {
			env: { ...process.env, BYOK_ENGINE: engine, ...env },
			stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
		}),
	);
	// What each worker printed (the package's Redis warnings among it), kept for the test to check.
	const output = children.map((c) => {
		const lines = [];
		const keep = (chunk) => lines.push(...String(chunk).split('\n').filter(Boolean));
		c.stdout.on('data', keep);
		c.stderr.on('data', keep);
		return lines;
	});
	const message = (child, type) =>
		new Promise((resolve, reject) => {
			const onMessage = (m) => {
				if (m?.type !== type) return;
				child.off('message', onMessage);
				child.off('exit', onExit);
				resolve(m);
			};
			const onExit = (code) => reject(new Error(`worker exited with ${code} before '${type}':\n${output[children.indexOf(child)].join('\n')}`));
			child.on('message', onMessage);
			child.once('exit', onExit);
		});
	const timer = setTimeout(() => children.forEach((c) => c.kill('SIGKILL')), timeoutMs);
	const stop = async () => {
		clearTimeout(timer);
		for (const c of children) if (c.connected) c.disconnect();
		const exited = (c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((resolve) => c.once('exit', resolve)));
		const grace = sleep(5000).then(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));
		await Promise.race([Promise.all(children.map(exited)), grace]);
		await Promise.all(children.map(exited));
	};
	try {
		const ready = children.map((c) => message(c, 'ready'));
		children.forEach((c, i) => c.send({ type: 'job', ...jobs[i] }));
		await Promise.all(ready);
	} catch (err) {
		await stop();
		throw err;
	}
	return {
		async run(counts) {
			const done = children.map((c) => message(c, 'done'));
			children.forEach((c, i) => c.send({ type: 'go', count: counts?.[i] }));
			return (await Promise.all(done)).map((m) => m.results);
		},
		output,
		stop,
	};
}

/**
 * Runs one job per worker process, all released at the same moment once every worker is warm.
 * `env` is added to each worker's environment (Redis settings); `onReady` runs after the warm-up,
 * just before the release. Resolves with each worker's results.
 */
async function runWorkers(jobs, env, { onReady, ...options } = {}) {
	const workers = await startWorkers(jobs, env, options);
	try {
		onReady?.();
		return await workers.run();
	} finally {
		await workers.stop();
	}
}

/** A client for checks and cleanup (not the package's own). */
function redisClient(url) {
	return new Redis(url, { maxRetriesPerRequest: 1 });
}

/** Deletes every key under `prefix` (a test run's own keys). */
async function deleteKeys(url, prefix) {
	const client = redisClient(url);
	try {
		let cursor = '0';
		do {
			const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
			if (keys.length) await client.del(...keys);
			cursor = next;
		} while (cursor !== '0');
	} finally {
		client.disconnect();
	}
}

/** Keys under `prefix`, for checks that the cluster-wide state is really in Redis. */
async function listKeys(url, prefix) {
	const client = redisClient(url);
	try {
		return (await client.keys(`${prefix}:*`)).sort();
	} finally {
		client.disconnect();
	}
}

/**
 * Records every entry that passes through a credential's window log in Redis (member -> start
 * time on Redis's clock), by reading it more often than entries can leave it. stop() resolves
 * with the start times, sorted: the cluster's own record of when it let each request go.
 */
function watchWindowLog(url, key, everyMs = 100) {
	const client = redisClient(url);
	const seen = new Map();
	let stopped = false;
	const loop = (async () => {
		while (!stopped) {
			const flat = await client.zrange(key, 0, -1, 'WITHSCORES');
			for (let i = 0; i < flat.length; i += 2) seen.set(flat[i], Number(flat[i + 1]));
			await sleep(everyMs);
		}
	})();
	return {
		async stop() {
			stopped = true;
			await loop;
			const flat = await client.zrange(key, 0, -1, 'WITHSCORES');
			for (let i = 0; i < flat.length; i += 2) seen.set(flat[i], Number(flat[i + 1]));
			client.disconnect();
			return [...seen.values()].sort((a, b) => a - b);
		},
	};
}

module.exports = { redisReachableSync, hasRedisServer, ownRedisServer, startWorkers, runWorkers, redisClient, deleteKeys, listKeys, watchWindowLog, freePort, sleep };
