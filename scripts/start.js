'use strict';
/**
 * `npm start`: this package in a real, local n8n, ready to click through.
 *
 *   npm start          (builds first, then runs this file)
 *
 * Pinned n8n 2.41.1 on Node 24 (scripts/n8n-env.sh, cached outside git), the freshly packed package
 * installed into $N8N_USER_FOLDER/.n8n/nodes as n8n installs community packages, SQLite, no calls
 * to n8n's servers. The user folder persists between starts (your workflows and credentials stay);
 * the example workflows are imported once each, without credentials: you create your own (with
 * your key) in the editor, and nothing is picked for you that cannot work.
 * Ctrl-C stops n8n. Settings: BYOK_START_HOME (user folder), N8N_PORT (default 5678).
 */
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { ROOT, provisionN8n, packPackage, installPackage, startN8n, runN8nCli, freePort, seconds } = require('../test/e2e/run.js');

const HOME = process.env.BYOK_START_HOME || path.join(os.homedir(), '.cache/n8n-nodes-byok/start-home');
const PORT = Number(process.env.N8N_PORT || 5678);
/** A local account on 127.0.0.1 only; printed at every start. */
const OWNER = { email: 'owner@byok.local', firstName: 'BYOK', lastName: 'Owner', password: 'ByokLocal-Passw0rd' };
/** Examples already imported into this user folder, by workflow id: never overwritten, so your edits stay. */
const IMPORTED = path.join(HOME, 'examples-imported.json');

/** When `npm start` began: the `sh -c` that npm runs the script line in (so the build counts). */
function startedAt() {
	try {
		const ticks = Number(fs.readFileSync(`/proc/${process.ppid}/stat`, 'utf8').split(') ')[1].split(' ')[19]);
		const uptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
		return Date.now() - (uptime - ticks / 100) * 1000;
	} catch {
		return Date.now() - process.uptime() * 1000;
	}
}

async function portIsFree(port) {
	return new Promise((resolve) => {
		const server = net.createServer().once('error', () => resolve(false));
		server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
	});
}

/** Imports the examples not yet in this user folder. */
async function importExamples(n8n) {
	const done = fs.existsSync(IMPORTED) ? JSON.parse(fs.readFileSync(IMPORTED, 'utf8')) : [];
	const dir = path.join(ROOT, 'examples');
	const fresh = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))).filter((wf) => !done.includes(wf.id));
	if (fresh.length === 0) return 0;
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'byok-start-'));
	const logFile = path.join(HOME, 'n8n-import.log');
	try {
		const workflowFile = path.join(tmp, 'workflows.json');
		fs.writeFileSync(workflowFile, JSON.stringify(fresh));
		await runN8nCli(n8n, HOME, ['import:workflow', `--input=${workflowFile}`], { logFile });
	} finally {
		fs.rmSync(tmp, { recursive: true, force: true });
	}
	fs.writeFileSync(IMPORTED, JSON.stringify([...done, ...fresh.map((wf) => wf.id)], null, 2));
	return fresh.length;
}

/** Creates the owner account on a new instance; an existing one is left as it is. */
async function ensureOwner(url) {
	const settings = await (await fetch(`${url}/rest/settings`)).json();
	if (!settings.data.userManagement.showSetupOnFirstLoad) return false;
	const res = await fetch(`${url}/rest/owner/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(OWNER) });
	if (!res.ok) throw new Error(`owner setup: HTTP ${res.status} ${await res.text()}`);
	return true;
}

async function main() {
	const t0 = startedAt();
	const step = async (label, fn) => {
		const started = Date.now();
		process.stdout.write(`  ${label.padEnd(44)} `);
		const result = await fn();
		console.log(seconds(Date.now() - started));
		return result;
	};
	console.log(`n8n user folder ${HOME}`);
	fs.mkdirSync(HOME, { recursive: true });
	const n8n = await step('n8n 2.41.1 on Node 24 (first time: ~3 min)', provisionN8n);
	await step('pack + install into .n8n/nodes', async () => {
		// Remove the previous copy so npm cannot keep it: same name and version, new build.
		fs.rmSync(path.join(HOME, '.n8n/nodes/node_modules', require(path.join(ROOT, 'package.json')).name), { recursive: true, force: true });
		await installPackage(HOME, await packPackage(HOME));
	});
	const imported = await step('import example workflows', () => importExamples(n8n));
	const port = (await portIsFree(PORT)) ? PORT : await freePort();
	if (port !== PORT) console.log(`  port ${PORT} is in use; using ${port}`);
	const logFile = path.join(HOME, 'n8n.log');
	const server = await step('n8n start', () => startN8n(n8n, HOME, { port, logFile }));

	// Ctrl-C: n8n runs in its own process group (with its task runner); stop that group, gracefully.
	// These replace run.js's handlers, which would exit at once. A second Ctrl-C does not wait.
	let stopping = false;
	for (const signal of ['SIGINT', 'SIGTERM']) {
		process.removeAllListeners(signal);
		process.on(signal, async () => {
			if (stopping) process.exit(130);
			stopping = true;
			console.log('\nStopping n8n...');
			await server.stop();
			console.log('Stopped.');
			process.exit(0);
		});
	}
	const created = await step('owner account', () => ensureOwner(server.url));

	console.log(`
Editor ready in ${seconds(Date.now() - t0)} (since npm start, build included)

  Editor    ${server.url}
  Email     ${OWNER.email}
  Password  ${OWNER.password}${created ? '' : '   (account created by an earlier npm start)'}

  Examples  ${imported ? `${imported} imported` : 'already imported'}, without credentials. Open one, open a BYOK node and, under
            Credential, pick yours or create one (choose the provider at the dialog's top right, enter your key).
  n8n log   ${logFile}

Ctrl-C stops n8n.`);
	// n8n exits on its own only if something went wrong.
	const { code } = await server.exited;
	if (!stopping) {
		console.error(`n8n exited with ${code}; see ${logFile}`);
		process.exit(1);
	}
}

main().catch((err) => {
	console.error(err.stack ?? err);
	process.exit(1);
});
