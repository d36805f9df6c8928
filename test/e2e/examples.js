'use strict';
/**
 * e2e phase: every workflow in examples/ imported and run headlessly in real n8n (`n8n execute`),
 * with the example credentials pointing at the fake provider (one path per provider). The OpenAI
 * path answers 503, so the fallback example shows Groq taking over. Nodes that would reach a real
 * service (Slack) are disabled in the copy that is imported; the BYOK part still runs.
 */
const fs = require('node:fs');
const path = require('node:path');
const { ROOT, runN8nCli, parseExecuteOutput, tail, seconds } = require('./run.js');
const { calculatorScript } = require('../fake-provider.js');

const KEY = 'sk-e2e-examples-7c1d2e3f4a5b';
const CREDENTIALS = [
	['byokExampleOpenAi', 'BYOK OpenAI (example)', 'byokOpenAiApi', 'openai'],
	['byokExampleGroq', 'BYOK Groq (example)', 'byokGroqApi', 'groq'],
	['byokExampleOllama', 'BYOK Ollama (example)', 'byokOllamaApi', 'ollama'],
	['byokExampleOpenRouter', 'BYOK OpenRouter (example)', 'byokOpenRouterApi', 'openrouter'],
];

/** What each example must produce: [node name, check of its main outputs]. */
const EXPECT = {
	byokExBasic: ['BYOK Chat', ([items]) => items.length === 2 && items[0].json.text === 'echo: What is the capital of Norway?'],
	byokExStructured: ['Extract Contact', ([items]) => items.length === 2 && items.every((i) => ['buy', 'support', 'other'].includes(i.json.json?.intent))],
	byokExFallback: ['BYOK Chat', ([items]) => items.length === 1 && items[0].json.provider === 'groq' && items[0].json.attempts.at(-1).outcome === 'ok'],
	// Each request leaves on its category's output (Fast, Balanced, Reasoning, Long Context, Vision, Code); none has an image.
	byokExRouterBranch: [
		'Auto-Router',
		(outputs) =>
			outputs.length === 6 &&
			outputs.flatMap((o, k) => (o ?? []).map((i) => `${k}:${i.json.routing?.category}`)).join() === '0:fast,1:balanced,2:reasoning,3:long_context,5:code',
	],
	byokExRouterRoute: ['Auto-Router', ([items]) => items.length === 4 && items.every((i) => i.json.provider === 'openrouter' && i.json.routing?.category)],
	// OpenAI is down: Groq (the sub-node on the fallback input) answers, using the calculator twice.
	byokExAgent: ['AI Agent', ([items]) => items.length === 1 && items[0].json.output === 'The answer is 43'],
	// Runs after byok-chat-basic.json (files run in name order): its two answers are in the store the n8n processes share.
	byokExSpendReport: [
		'BYOK Usage',
		([items]) =>
			items.length === 1 &&
			/^BYOK usage on \d{4}-\d\d-\d\d \(UTC\)/.test(items[0].json.text) &&
			items[0].json.text.includes('BYOK OpenAI (example) (openai)') &&
			items[0].json.keys.find((k) => k.credential === 'BYOK OpenAI (example)')?.today.requests >= 2,
	],
};

/** Node types that would reach a real service: disabled in the imported copy. */
const OUTSIDE = new Set(['n8n-nodes-base.slack', 'n8n-nodes-base.emailSend']);

/**
 * The fake's answers: for the fallback examples OpenAI is down; a JSON schema request gets JSON; a
 * request offering tools, the calculator-using model; anything else an echo.
 */
const handler = (workflowId) => (record) => {
	if (['byokExFallback', 'byokExAgent'].includes(workflowId) && record.path.startsWith('/openai/')) return { status: 503, body: { error: { message: 'overloaded' } } };
	if (record.body?.tools?.length) return calculatorScript(record);
	if (record.body?.response_format?.type === 'json_schema') {
		return { body: (b) => ({ id: 'x', object: 'chat.completion', model: b.model, choices: [{ index: 0, message: { role: 'assistant', content: '{"name":"Ana Ruiz","company":"Lumen Labs","email":"ana@lumen.example","intent":"buy"}' }, finish_reason: 'stop' }] }) };
	}
	return undefined;
};

async function examplesPhase({ n8n, scratch, fake, t }) {
	const dir = path.join(ROOT, 'examples');
	const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
	const credentialFile = path.join(scratch.dir, 'example-credentials.json');
	fs.writeFileSync(
		credentialFile,
		JSON.stringify(CREDENTIALS.map(([id, name, type, provider]) => ({ id, name, type, data: { apiKey: provider === 'ollama' ? '' : KEY, baseUrl: `${fake.url}/${provider}/v1` } }))),
	);
	const logFile = path.join(scratch.dir, 'n8n-examples.log');
	const creds = await runN8nCli(n8n, scratch.userFolder, ['import:credentials', `--input=${credentialFile}`], { logFile, allowFailure: true });
	t.check('examples: credentials imported', creds.code === 0, tail(creds.stdout + creds.stderr));
	for (const file of files) {
		const workflow = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
		const expectation = EXPECT[workflow.id];
		if (!t.check(`examples: ${file} has a check`, !!expectation, workflow.id)) continue;
		const copy = path.join(scratch.dir, `example-${file}`);
		fs.writeFileSync(copy, JSON.stringify({ ...workflow, nodes: workflow.nodes.map((n) => (OUTSIDE.has(n.type) ? { ...n, disabled: true } : n)) }));
		const imported = await runN8nCli(n8n, scratch.userFolder, ['import:workflow', `--input=${copy}`], { logFile, allowFailure: true });
		if (!t.check(`examples: ${file} imports`, imported.code === 0, tail(imported.stdout + imported.stderr))) continue;
		fake.reset();
		fake.setHandler(handler(workflow.id));
		const run = await runN8nCli(n8n, scratch.userFolder, ['execute', `--id=${workflow.id}`, '--rawOutput'], { logFile, allowFailure: true });
		const output = run.stdout + run.stderr;
		let outputs = [];
		try {
			outputs = parseExecuteOutput(run.stdout).data.resultData.runData[expectation[0]]?.[0]?.data?.main ?? [];
		} catch (err) {
			t.check(`examples: ${file} output parses`, false, `${err.message}\n${tail(output)}`);
		}
		t.check(`examples: ${file} runs headlessly (${seconds(run.ms)})`, run.code === 0 && expectation[1](outputs), `${JSON.stringify(outputs.map((o) => (o ?? []).map((i) => i.json.routing ?? i.json.text ?? i.json.error))).slice(0, 1500)}\n${tail(output)}`);
		t.check(`examples: ${file}: the key appears nowhere in the output`, !output.includes(KEY));
	}
}

module.exports = { examplesPhase };
