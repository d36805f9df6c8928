'use strict';
/**
 * BYOK Chat Model vs n8n's own OpenAI Chat Model (lmChatOpenAi, openAiApi credential pointing at
 * the same local fake provider) inside n8n's AI Agent 3.1 with a Calculator tool, in real n8n
 * 2.41.1 (`n8n execute`, one run each, side by side):
 *
 *   1. added latency per agent turn: each item is one agent run of three model calls (two tool
 *      calls, then the answer) against a provider that answers at once; per model call, the
 *      time n8n records for the sub-node's run (from the call's start to its end), median, and
 *      the whole execution divided by the turns made (two executions each, interleaved);
 *   2. 20 agent runs against a provider that answers 429 with `Retry-After: 1` to one call in
 *      three: runs that completed, each model with its default settings (the agent set to
 *      continue on error, so one failed run does not stop the others), with Agent 3.1 (the
 *      editor's default) and Agent 2.2 (which runs tools inside the node).
 *
 *   npm run build && node bench/agent.js [items for part 1, default 10]
 */
const fs = require('node:fs');
const path = require('node:path');
const { provisionN8n, makeScratch, packPackage, installPackage, runN8nCli, parseExecuteOutput, tail } = require('../test/e2e/run.js');
const { CREDENTIALS, byokModel, node, toolAgent, credentialImport } = require('../test/e2e/agent.js');
const { startFakeProvider, calculatorScript } = require('../test/fake-provider.js');

const ITEMS = Number(process.argv[2] ?? 10);
const ROUNDS = 2;
const LC = '@n8n/n8n-nodes-langchain';
const QUESTION = { question: 'What is 6 times 7, plus 1?' };

const n8nModel = () => node('Chat Model', `${LC}.lmChatOpenAi`, 1.3, { model: { __rl: true, mode: 'id', value: 'fake-small' }, responsesApiEnabled: false, options: {} }, { credentials: { openAiApi: { id: CREDENTIALS.openai.id, name: CREDENTIALS.openai.id } } });
const byok = () => byokModel('Chat Model', 'custom');
const items = (n) => Array(n).fill(QUESTION);
const continueOnError = { onError: 'continueRegularOutput' };

const WORKFLOWS = [
	toolAgent('byokBenchTurnOwn', { items: items(ITEMS), models: [byok()] }),
	toolAgent('byokBenchTurnN8n', { items: items(ITEMS), models: [n8nModel()] }),
	toolAgent('byokBench429Own', { items: items(20), models: [byok()], agentExtra: continueOnError }),
	toolAgent('byokBench429N8n', { items: items(20), models: [n8nModel()], agentExtra: continueOnError }),
	toolAgent('byokBench429Own22', { items: items(20), models: [byok()], agentExtra: continueOnError, agentVersion: 2.2 }),
	toolAgent('byokBench429N8n22', { items: items(20), models: [n8nModel()], agentExtra: continueOnError, agentVersion: 2.2 }),
];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function execute(n8n, scratch, id) {
	const run = await runN8nCli(n8n, scratch.userFolder, ['execute', `--id=${id}`, '--rawOutput'], { logFile: path.join(scratch.dir, 'bench.log'), allowFailure: true, timeoutMs: 600_000 });
	let data;
	try {
		data = parseExecuteOutput(run.stdout);
	} catch {
		throw new Error(`${id}: no run data\n${tail(run.stdout + run.stderr)}`);
	}
	const { runData } = data.data.resultData;
	const answers = (runData['AI Agent'] ?? []).flatMap((task) => task.data?.main?.[0] ?? []).map((i) => i.json);
	return {
		modelCallMs: (runData['Chat Model'] ?? []).map((task) => task.executionTime),
		executionMs: new Date(data.stoppedAt).getTime() - new Date(data.startedAt).getTime(),
		completed: answers.filter((a) => a.output === 'The answer is 43').length,
		errors: answers.filter((a) => a.error).map((a) => a.error),
	};
}

async function main() {
	const n8n = await provisionN8n();
	const scratch = makeScratch('byok-bench-agent-');
	const fake = await startFakeProvider();
	try {
		await installPackage(scratch.userFolder, await packPackage(scratch.dir));
		const files = { credentials: path.join(scratch.dir, 'credentials.json'), workflows: path.join(scratch.dir, 'workflows.json') };
		fs.writeFileSync(files.credentials, JSON.stringify(credentialImport(fake)));
		fs.writeFileSync(files.workflows, JSON.stringify(WORKFLOWS));
		await runN8nCli(n8n, scratch.userFolder, ['import:credentials', `--input=${files.credentials}`]);
		await runN8nCli(n8n, scratch.userFolder, ['import:workflow', `--input=${files.workflows}`]);

		// Interleaved, two executions each, samples pooled: machine noise hits both alike.
		fake.setHandler(calculatorScript);
		const pooled = { own: { modelCallMs: [], executionMs: 0 }, theirs: { modelCallMs: [], executionMs: 0 } };
		for (let round = 0; round < ROUNDS; round++) {
			for (const [key, id] of [['own', 'byokBenchTurnOwn'], ['theirs', 'byokBenchTurnN8n']]) {
				const r = await execute(n8n, scratch, id);
				if (r.completed !== ITEMS) throw new Error(`${id}: ${r.completed}/${ITEMS} runs answered: ${r.errors.slice(0, 3).join(' | ')}`);
				pooled[key].modelCallMs.push(...r.modelCallMs);
				pooled[key].executionMs += r.executionMs;
			}
		}
		const { own, theirs } = pooled;
		const turns = ROUNDS * ITEMS * 3;
		console.log(`Agent 3.1 + Calculator, ${ROUNDS} x ${ITEMS} runs x 3 model calls each, provider answering at once (n8n ${path.basename(n8n.cache)}):`);
		console.log('                          model call (median)   execution / turn');
		const row = (label, r) => console.log(`  ${label.padEnd(24)}${`${median(r.modelCallMs)} ms`.padEnd(22)}${(r.executionMs / turns).toFixed(1)} ms`);
		row('BYOK Chat Model', own);
		row("n8n's OpenAI Chat Model", theirs);
		const added = median(own.modelCallMs) - median(theirs.modelCallMs);
		console.log(`  added per turn: ${added} ms per model call (ratio ${(median(own.modelCallMs) / median(theirs.modelCallMs)).toFixed(2)}), ${((own.executionMs - theirs.executionMs) / turns).toFixed(1)} ms per turn over the whole execution (ratio ${(own.executionMs / theirs.executionMs).toFixed(2)})`);

		// One call in three answered 429 with Retry-After: 1 (counted over all calls, as a busy key would see).
		let calls = 0;
		let refused = 0;
		const rateLimited = (record) => {
			if (++calls % 3 !== 0) return calculatorScript(record);
			refused++;
			return { status: 429, headers: { 'retry-after': '1' }, body: { error: { message: 'Rate limit reached for requests. Please try again in 1s.', type: 'requests', code: 'rate_limit_exceeded' } } };
		};
		console.log('\n20 agent runs, 429 with Retry-After: 1 to one call in three, default settings:');
		const rows = [
			['Agent 3.1, BYOK Chat Model', 'byokBench429Own'],
			["Agent 3.1, n8n's OpenAI", 'byokBench429N8n'],
			['Agent 2.2, BYOK Chat Model', 'byokBench429Own22'],
			["Agent 2.2, n8n's OpenAI", 'byokBench429N8n22'],
		];
		for (const [label, id] of rows) {
			calls = 0;
			refused = 0;
			fake.reset();
			fake.setHandler(rateLimited);
			const r = await execute(n8n, scratch, id);
			const errors = [...new Set(r.errors.map((e) => e.slice(0, 100)))];
			console.log(`  ${label.padEnd(28)}${String(r.completed).padStart(2)}/20 completed, ${calls} calls (${refused} answered 429), ${(r.executionMs / 1000).toFixed(1)} s${errors.length ? `; errors: ${errors.join(' | ')}` : ''}`);
		}
	} finally {
		await fake.close();
		fs.rmSync(scratch.dir, { recursive: true, force: true });
	}
}

main().catch((err) => {
	console.error(err);
	process.exitCode = 1;
});
