'use strict';
/**
 * Helpers for the queue-mode tests and bench/cluster.js: is Redis there, a Redis server of our
 * own (to stop and restart), "workers" as separate OS processes (cluster-child.js), and cleanup.
 * Plain JavaScript: it needs Node's process and network APIs.
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
			if (!child || child.exitCode !== null) return;
			const exited = new Promise((resolve) => child.once('exit', resolve));
			child.kill('SIGKILL');
			await exited;
		},
	};
	await server.start();
	return server;
}

/**
 * Runs one job per worker process, all released at the same moment once every worker is warm.
 * `env` is added to each worker's environment (Redis settings); `onReady` runs after the warm-up,
 * just before the release. Resolves with each worker's results.
 */
async function runWorkers(jobs, env, { engine = 'src', timeoutMs = 120_000, onReady } = {}) {
	const children = jobs.map(() =>
		fork(path.join(__dirname, 'cluster-child.js'), [], {
			env: { ...process.env, BYOK_ENGINE: engine, ...env },
			stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
		}),
	);
	const message = (child, type) =>
		new Promise((resolve, reject) => {
			child.on('message', (m) => m?.type === type && resolve(m));
			child.once('exit', (code) => reject(new Error(`worker exited with ${code} before '${type}'`)));
		});
	const timer = setTimeout(() => children.forEach((c) => c.kill('SIGKILL')), timeoutMs);
	try {
		const ready = children.map((c) => message(c, 'ready'));
		const done = children.map((c) => message(c, 'done'));
		for (const p of done) p.catch(() => undefined); // reported through Promise.all below, or moot if 'ready' failed
		children.forEach((c, i) => c.send({ type: 'job', ...jobs[i] }));
		await Promise.all(ready);
		onReady?.();
		children.forEach((c) => c.send({ type: 'go' }));
		const results = (await Promise.all(done)).map((m) => m.results);
		for (const c of children) c.disconnect();
		await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((resolve) => c.once('exit', resolve)))));
		return results;
	} finally {
		clearTimeout(timer);
		for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
	}
}

/** Deletes every key under `prefix` (a test run's own keys). */
async function deleteKeys(url, prefix) {
	const client = new Redis(url, { maxRetriesPerRequest: 1 });
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
	const client = new Redis(url, { maxRetriesPerRequest: 1 });
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
	const client = new Redis(url, { maxRetriesPerRequest: 1 });
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

module.exports = { redisReachableSync, hasRedisServer, ownRedisServer, runWorkers, deleteKeys, listKeys, watchWindowLog, freePort, sleep };
