'use strict';
/**
 * e2e phase: counts survive a real n8n restart without Redis. One n8n server (SQLite, no Redis,
 * its own user folder) runs BYOK Chat twice over REST with a key allowing 3 requests per day and
 * a daily budget; the server is stopped and started again on the same user folder; then the
 * third request is allowed, the fourth refused (Requests per Day kept its count), and the BYOK
 * Usage node reports all four runs' usage (the embedded store in <user folder>/.n8n/byok).
 *
 *   npm run test:e2e           (run.js calls restartPhase())
 *   node test/e2e/restart.js   (alone: packs dist/ as it is; run `npm run build` first)
 */
const fs = require('node:fs');
const path = require('node:path');
const { makeScratch, installPackage, startN8n, restClient, seconds, sleep, tail } = require('./run.js');

const KEY = 'sk-restart-e2e-3c9a1f7d2b';
const OWNER = { email: 'owner@byok-restart.test', firstName: 'Restart', lastName: 'Owner', password: 'ByokRestart-Passw0rd' };
const REQUESTS_PER_DAY = 3;
const DAILY_TOKENS = 1000;

function workflows(credential) {
	const trigger = { id: '00000000-0000-4000-8000-000000000201', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} };
	const next = (to) => ({ Start: { main: [[{ node: to, type: 'main', index: 0 }]] } });
	return {
		chat: {
			name: 'BYOK restart e2e: chat',
			nodes: [
				trigger,
				{
					id: '00000000-0000-4000-8000-000000000202',
					name: 'BYOK Chat',
					type: 'n8n-nodes-byok.byokChat',
					typeVersion: 1,
					position: [220, 0],
					parameters: { providers: ['custom'], model: { __rl: true, mode: 'id', value: 'fake-small' }, promptType: 'simple', prompt: 'hello across restarts', options: { retries: 0 } },
					credentials: { byokCustomApi: { id: credential.id, name: credential.name } },
					onError: 'continueRegularOutput',
				},
			],
			connections: next('BYOK Chat'),
			settings: { executionOrder: 'v1' },
			active: false,
		},
		usage: {
			name: 'BYOK restart e2e: usage',
			nodes: [trigger, { id: '00000000-0000-4000-8000-000000000203', name: 'BYOK Usage', type: 'n8n-nodes-byok.byokUsage', typeVersion: 1, position: [220, 0], parameters: { output: 'perKey', options: {} } }],
			connections: next('BYOK Usage'),
			settings: { executionOrder: 'v1' },
			active: false,
		},
	};
}

/** Runs a workflow over REST and returns the first output item of `nodeName` once the execution has finished. */
async function runOnce(api, n8n, workflowId, nodeName) {
	const { parse } = require(path.join(n8n.cache, 'node_modules/flatted'));
	const { executionId } = await api.call('POST', `/workflows/${workflowId}/run`, { triggerToStartFrom: { name: 'Start' } });
	const deadline = Date.now() + 60_000;
	while (Date.now() < deadline) {
		const execution = await api.call('GET', `/executions/${executionId}`);
		if (execution?.finished || ['success', 'error', 'crashed', 'canceled'].includes(execution?.status)) {
			const data = typeof execution.data === 'string' ? parse(execution.data) : execution.data;
			return data?.resultData?.runData?.[nodeName]?.[0]?.data?.main?.[0]?.[0]?.json ?? { runError: data?.resultData?.error?.message ?? execution.status };
		}
		await sleep(300);
	}
	throw new Error(`execution ${executionId} did not finish within 60 s`);
}

async function restartPhase({ n8n, fake, t, timings, tarball }) {
	const started = Date.now();
	const scratch = makeScratch('byok-restart-');
	let passed = false;
	let server;
	try {
		await installPackage(scratch.userFolder, tarball);
		const start = async (n) => {
			server = await startN8n(n8n, scratch.userFolder, { logFile: path.join(scratch.dir, `n8n-${n}.log`) });
			return restClient(server.url);
		};
		let api = await start(1);
		await api.call('POST', '/owner/setup', OWNER);
		const credential = await api.call('POST', '/credentials', {
			name: 'BYOK restart e2e key',
			type: 'byokCustomApi',
			data: { apiKey: KEY, baseUrl: fake.baseUrl, requestsPerDay: REQUESTS_PER_DAY, dailyBudgetTokens: DAILY_TOKENS },
		});
		const defs = workflows(credential);
		const chat = await api.call('POST', '/workflows', defs.chat);
		const usage = await api.call('POST', '/workflows', defs.usage);

		fake.reset();
		const before = [await runOnce(api, n8n, chat.id, 'BYOK Chat'), await runOnce(api, n8n, chat.id, 'BYOK Chat')];
		t.check('restart: two answers before the restart', before.every((item) => item.text === 'echo: hello across restarts'), JSON.stringify(before));
		t.check('restart: the embedded store is in the n8n user folder', fs.existsSync(path.join(scratch.userFolder, '.n8n', 'byok', 'usage.json')), fs.readdirSync(path.join(scratch.userFolder, '.n8n')).join(', '));
		await server.stop();
		const downAt = Date.now();

		api = await start(2);
		console.log(`# restart: n8n stopped and started again on the same user folder in ${seconds(Date.now() - downAt)}`);
		await api.call('POST', '/login', { emailOrLdapLoginId: OWNER.email, password: OWNER.password });
		const third = await runOnce(api, n8n, chat.id, 'BYOK Chat');
		const fourth = await runOnce(api, n8n, chat.id, 'BYOK Chat');
		t.check(`restart: the third request of the day is answered (limit ${REQUESTS_PER_DAY})`, third.text === 'echo: hello across restarts', JSON.stringify(third));
		t.check(
			'restart: the fourth is refused: Requests per Day kept its count across the restart',
			fourth.errorKind === 'daily_limit' && /reached its limit of 3 requests per day/.test(fourth.error),
			JSON.stringify(fourth),
		);
		t.check('restart: the provider got exactly three requests', fake.chatRequests.length === 3, String(fake.chatRequests.length));
		const report = await runOnce(api, n8n, usage.id, 'BYOK Usage');
		t.check(
			'restart: BYOK Usage reports the usage from before and after the restart (3 answered, 30 tokens in, 15 out) and the budget',
			report.credential === 'BYOK restart e2e key' &&
				report.today?.requests === 3 &&
				report.today.inputTokens === 30 &&
				report.today.outputTokens === 15 &&
				report.budgets?.day?.tokens?.used === 45 &&
				report.budgets.day.tokens.limit === DAILY_TOKENS,
			JSON.stringify(report),
		);
		const logs = fs.readdirSync(scratch.dir).filter((f) => f.endsWith('.log')).map((f) => fs.readFileSync(path.join(scratch.dir, f), 'utf8')).join('\n');
		t.check('restart: the key appears in no log and no store file', !logs.includes(KEY) && !fs.readFileSync(path.join(scratch.userFolder, '.n8n', 'byok', 'usage.json'), 'utf8').includes(KEY), tail(logs, 10));
		passed = true;
	} catch (err) {
		t.check('restart e2e completed', false, err.stack ?? err);
	} finally {
		await server?.stop();
		timings.restart = Date.now() - started;
		if (passed && !process.env.BYOK_E2E_KEEP) fs.rmSync(scratch.dir, { recursive: true, force: true });
		else console.log(`# kept ${scratch.dir} (n8n-1.log, n8n-2.log, home/.n8n/byok)`);
	}
}

module.exports = { restartPhase };

if (require.main === module) require('./run.js').runPhaseAlone(restartPhase);
