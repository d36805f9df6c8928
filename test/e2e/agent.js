'use strict';
/**
 * e2e phase: BYOK Chat Model inside n8n's own AI nodes, in real n8n 2.41.1, headless (`n8n execute`).
 *
 *   npm run test:e2e              (run.js calls agentPhase() with its n8n user folder)
 *   node test/e2e/agent.js        (alone: packs dist/ as it is, own scratch folder)
 *
 * Against test/fake-provider.js, scripted like a model that uses tools: with tools offered and no
 * tool result yet it calls the calculator (6*7), after one result it calls it again on that
 * result (+1), after two it answers with the last result. So "The answer is 43" proves two tool
 * round trips through n8n's Calculator with our model's tool calls and n8n's tool results.
 *
 * Proves: the AI Agent's tool loop; streaming through a Webhook that responds by streaming (one
 * server, read chunk by chunk); the fallback chain of sub-nodes (primary 503 -> fallback);
 * a key's Max Concurrent honoured across the agent's parallel items; Basic LLM Chain, Information
 * Extractor, Text Classifier and Summarization Chain; errors readable at the agent; a non-BYOK
 * fallback refused; who answered and the attempts in the sub-node's stored data; token usage
 * where n8n shows it; the key nowhere in outputs, logs or n8n's database.
 */
const fs = require('node:fs');
const path = require('node:path');
const { runN8nCli, startN8n, parseExecuteOutput, sleep, tail, seconds } = require('./run.js');
const { calculatorScript, completion, numberIn } = require('../fake-provider.js');

const KEY = 'sk-e2e-agent-5b2c9e1d7f3a4460';
const LIMITED_KEY = 'sk-e2e-agent-limited-90ab17cd';
const DENIED_KEY = 'sk-e2e-agent-denied-3e7f20aa';
const KEYS = [KEY, LIMITED_KEY, DENIED_KEY];
const PACKAGE = 'n8n-nodes-byok';
const LC = '@n8n/n8n-nodes-langchain';
/** Each credential reaches the fake provider under its own path, so requests tell who was called. */
const CREDENTIALS = {
	custom: { id: 'byokAgentCustom', type: 'byokCustomApi', provider: 'custom', data: (fake) => ({ apiKey: KEY, baseUrl: `${fake.url}/primary/v1` }) },
	ollama: { id: 'byokAgentOllama', type: 'byokOllamaApi', provider: 'ollama', data: (fake) => ({ apiKey: '', baseUrl: `${fake.url}/fallback/v1` }) },
	limited: { id: 'byokAgentLimited', type: 'byokCustomApi', provider: 'custom', data: (fake) => ({ apiKey: LIMITED_KEY, baseUrl: `${fake.url}/limited/v1`, maxConcurrent: 1 }) },
	denied: { id: 'byokAgentDenied', type: 'byokCustomApi', provider: 'custom', data: (fake) => ({ apiKey: DENIED_KEY, baseUrl: `${fake.url}/denied/v1` }) },
	openai: { id: 'byokAgentN8nOpenAi', type: 'openAiApi', data: (fake) => ({ apiKey: KEY, url: `${fake.url}/primary/v1` }) },
};
const credentialRef = (key) => ({ [CREDENTIALS[key].type]: { id: CREDENTIALS[key].id, name: CREDENTIALS[key].id } });
/** The credentials as `n8n import:credentials` takes them, pointing at `fake`. */
const credentialImport = (fake) => Object.values(CREDENTIALS).map((c) => ({ id: c.id, name: c.id, type: c.type, data: c.data(fake) }));

// ---------------------------------------------------------------------------------------------
// Workflow building

let nodeCount = 0;
function node(name, type, typeVersion, parameters = {}, extra = {}) {
	nodeCount++;
	return { id: `00000000-0000-4000-8000-${String(nodeCount).padStart(12, '0')}`, name, type, typeVersion, position: [nodeCount * 200, 0], parameters, ...extra };
}

function byokModel(name, credential, model = 'fake-small', options = {}) {
	return node(name, `${PACKAGE}.byokChatModel`, 1, { provider: CREDENTIALS[credential].provider, model: { __rl: true, mode: 'id', value: model }, options }, { credentials: credentialRef(credential) });
}

/**
 * Manual Trigger -> Items (one per entry of `items`) -> root; `subNodes` are [node, connection type, target].
 * Roots read `$json.question`.
 */
function workflow(id, { items, root, subNodes = [] }) {
	const start = node('Start', 'n8n-nodes-base.manualTrigger', 1);
	const set = node('Items', 'n8n-nodes-base.set', 3.4, { mode: 'raw', jsonOutput: JSON.stringify({ items }), options: {} });
	const split = node('Split', 'n8n-nodes-base.splitOut', 1, { fieldToSplitOut: 'items', options: {} });
	const main = (to) => ({ main: [[{ node: to, type: 'main', index: 0 }]] });
	const connections = { Start: main('Items'), Items: main('Split'), Split: main(root.name) };
	for (const [sub, type, target] of subNodes) connections[sub.name] = { [type]: [[{ node: target, type, index: 0 }]] };
	return { id, name: `BYOK agent e2e ${id}`, active: false, settings: { executionOrder: 'v1' }, nodes: [start, set, split, root, ...subNodes.map(([sub]) => sub)], connections };
}

/** The AI Agent, by default as the editor adds it today (3.1), prompt from the item. */
const agent = (options = {}, extra = {}, version = 3.1) => node('AI Agent', `${LC}.agent`, version, { promptType: 'define', text: '={{ $json.question }}', options }, extra);
const calculator = () => node('Calculator', `${LC}.toolCalculator`, 1);
const QUESTION = { question: 'What is 6 times 7, plus 1?' };

/** Agent + model chain + Calculator. `models` = [head, fallback, ...] sub-nodes, connected in a chain. */
function toolAgent(id, { items = [QUESTION], models, agentOptions, agentExtra, agentVersion }) {
	const chain = models.map((m, n) => [m, 'ai_languageModel', n === 0 ? 'AI Agent' : models[n - 1].name]);
	return workflow(id, { items, root: agent(agentOptions, agentExtra, agentVersion), subNodes: [...chain, [calculator(), 'ai_tool', 'AI Agent']] });
}

function chain(id, root, model = byokModel('BYOK Chat Model', 'custom')) {
	return workflow(id, { items: [{ question: 'Ana Ruiz moved to Oslo and asks about her invoice.' }], root, subNodes: [[model, 'ai_languageModel', root.name]] });
}

/** The workflows, by id (at most 21 characters, n8n's limit for imported ids). */
function workflows() {
	return {
		byokAgentTool: toolAgent('byokAgentTool', { models: [byokModel('BYOK Chat Model', 'custom')] }),
		byokAgentFallback: toolAgent('byokAgentFallback', {
			models: [byokModel('BYOK Chat Model', 'custom', 'fake-small', { retries: 1 }), byokModel('Fallback Model', 'ollama', 'fake-large')],
		}),
		// Four questions at once (batch size 4): the agent's calls run in parallel unless the key's limit holds them.
		byokAgentLimit: toolAgent('byokAgentLimit', { items: Array(4).fill(QUESTION), models: [byokModel('BYOK Chat Model', 'limited')], agentOptions: { batching: { batchSize: 4 } } }),
		byokAgentNoLimit: toolAgent('byokAgentNoLimit', { items: Array(4).fill(QUESTION), models: [byokModel('BYOK Chat Model', 'custom')], agentOptions: { batching: { batchSize: 4 } } }),
		byokAgentError: toolAgent('byokAgentError', { models: [byokModel('BYOK Chat Model', 'denied', 'fake-small', { retries: 0 })], agentExtra: { onError: 'continueRegularOutput' } }),
		byokAgentNotByok: toolAgent('byokAgentNotByok', {
			models: [byokModel('BYOK Chat Model', 'custom'), node('OpenAI Chat Model', `${LC}.lmChatOpenAi`, 1.3, { model: { __rl: true, mode: 'id', value: 'fake-small' }, responsesApiEnabled: false, options: {} }, { credentials: credentialRef('openai') })],
		}),
		byokChainLlm: chain('byokChainLlm', node('Basic LLM Chain', `${LC}.chainLlm`, 1.9, { promptType: 'define', text: '={{ $json.question }}' })),
		byokInfoExtract: chain(
			'byokInfoExtract',
			node('Information Extractor', `${LC}.informationExtractor`, 1.2, { text: '={{ $json.question }}', schemaType: 'fromJson', jsonSchemaExample: '{"name": "Ana", "city": "Oslo"}', options: {} }),
		),
		byokTextClassify: chain(
			'byokTextClassify',
			node('Text Classifier', `${LC}.textClassifier`, 1.1, { inputText: '={{ $json.question }}', categories: { categories: [{ category: 'billing' }, { category: 'support' }] }, options: {} }),
		),
		// "Stuff": map-reduce counts tokens with tiktoken, which fetches its tables from the internet
		// (LangChain retries that for about 90 s offline, with any model).
		byokSummarize: chain('byokSummarize', node('Summarization Chain', `${LC}.chainSummarization`, 2.1, { options: { summarizationMethodAndPrompts: { values: { summarizationMethod: 'stuff' } } } })),
	};
}

// ---------------------------------------------------------------------------------------------
// The fake provider's script

const answer = (text) => ({ body: (b) => completion(b, text) });

/** The calculator-using model (see the header); the extractor and classifier get the JSON their prompts ask for. */
function modelScript(record) {
	const system = (record.body?.messages ?? []).filter((m) => m.role === 'system').map((m) => String(m.content)).join('\n');
	if (/extraction algorithm/.test(system)) return answer('{"name": "Ana Ruiz", "city": "Oslo"}');
	if (/classify the text/.test(system)) return answer('{"billing": true, "support": false}');
	return calculatorScript(record);
}

/** Per workflow: how the fake answers (default modelScript). */
const SCRIPTS = {
	byokAgentFallback: (record) => (record.path.startsWith('/primary/') ? { status: 503, headers: { 'retry-after-ms': '50' }, body: { error: { message: 'upstream overloaded' } } } : modelScript(record)),
	byokAgentLimit: (record) => ({ ...modelScript(record), delayMs: 150 }),
	byokAgentNoLimit: (record) => ({ ...modelScript(record), delayMs: 150 }),
	byokAgentError: () => ({ status: 401, body: { error: { message: 'Incorrect API key provided: sk-e2e...20aa.', type: 'invalid_request_error', code: 'invalid_api_key' } } }),
};

// ---------------------------------------------------------------------------------------------
// Streaming: a Webhook that streams its response, read chunk by chunk

const STREAM_WORKFLOW = 'byokAgentStream';
const STREAM_PATH = 'byok-agent-stream';

/** Webhook (responds by streaming) -> AI Agent (streaming on by default) with BYOK Chat Model and Calculator. */
function streamingWorkflow() {
	const hook = node('Webhook', 'n8n-nodes-base.webhook', 2.1, { httpMethod: 'POST', path: STREAM_PATH, responseMode: 'streaming', options: {} }, { webhookId: 'b1f0c2d3-4e5f-4a6b-8c7d-9e0f1a2b3c4d' });
	const root = node('AI Agent', `${LC}.agent`, 3.1, { promptType: 'define', text: '={{ $json.body.question }}', options: {} });
	const model = byokModel('BYOK Chat Model', 'custom', 'fake-small', { retries: 0 });
	return {
		id: STREAM_WORKFLOW,
		name: `BYOK agent e2e ${STREAM_WORKFLOW}`,
		active: false,
		settings: { executionOrder: 'v1' },
		nodes: [hook, root, model, calculator()],
		connections: {
			Webhook: { main: [[{ node: 'AI Agent', type: 'main', index: 0 }]] },
			'BYOK Chat Model': { ai_languageModel: [[{ node: 'AI Agent', type: 'ai_languageModel', index: 0 }]] },
			Calculator: { ai_tool: [[{ node: 'AI Agent', type: 'ai_tool', index: 0 }]] },
		},
	};
}

/**
 * Posts a question to the streaming webhook and reads n8n's JSON lines as they come. `onContent`
 * sees each piece of text the moment it arrives.
 */
async function readStream(url, question, onContent) {
	const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ question }), signal: AbortSignal.timeout(60_000) });
	const events = [];
	let buffer = '';
	const decoder = new TextDecoder();
	const take = (line) => {
		if (!line.trim()) return;
		let event;
		try {
			event = JSON.parse(line);
		} catch {
			event = { type: 'unparsed', content: line };
		}
		events.push(event);
		if (event.type === 'item' && typeof event.content === 'string') onContent?.(event.content);
	};
	for await (const bytes of res.body) {
		buffer += decoder.decode(bytes, { stream: true });
		const lines = buffer.split('\n');
		buffer = lines.pop();
		lines.forEach(take);
	}
	take(buffer);
	return { status: res.status, events, text: events.filter((e) => e.type === 'item').map((e) => e.content ?? '').join('') };
}

/** Streaming through a real server: tokens reach the HTTP client while the provider is still answering. */
async function streamingCheck(context) {
	const { n8n, scratch, fake, t } = context;
	const logFile = path.join(scratch.dir, 'n8n-agent.log');
	const file = path.join(scratch.dir, 'agent-stream-workflow.json');
	fs.writeFileSync(file, JSON.stringify([streamingWorkflow()]));
	const imported = await runN8nCli(n8n, scratch.userFolder, ['import:workflow', `--input=${file}`], { logFile, allowFailure: true });
	const published = await runN8nCli(n8n, scratch.userFolder, ['publish:workflow', `--id=${STREAM_WORKFLOW}`], { logFile, allowFailure: true });
	if (!t.check('streaming: webhook workflow imported and published', imported.code === 0 && published.code === 0, tail(imported.stdout + imported.stderr + published.stdout + published.stderr))) return;
	const server = await startN8n(n8n, scratch.userFolder, { logFile: path.join(scratch.dir, 'n8n-agent-server.log') });
	const url = `${server.url}/webhook/${STREAM_PATH}`;
	try {
		// n8n answers before it has activated its published workflows: wait until a GET is told to use POST.
		const deadline = Date.now() + 60_000;
		while (!/Did you mean to make a POST request/.test(await (await fetch(url)).text())) {
			if (Date.now() > deadline) throw new Error(`the webhook ${url} was not registered within 60 s`);
			await sleep(200);
		}
		// The final answer's stream pauses after its first words until the HTTP client has seen one:
		// if n8n (or our model) held the answer back until the end, this would never finish.
		let sawToken;
		const seen = new Promise((resolve) => (sawToken = resolve));
		const finalAnswer = (record) => (record.body?.messages ?? []).filter((m) => m.role === 'tool').length >= 2;
		fake.reset();
		fake.setHandler((record) => ({ ...calculatorScript(record), ...(finalAnswer(record) ? { holdAfter: 3, hold: seen } : {}) }));
		const pieces = [];
		const streamed = await readStream(url, 'What is 6 times 7, plus 1?', (content) => {
			pieces.push(content);
			sawToken();
		});
		console.log(`# streamed pieces: ${JSON.stringify(pieces)}`);
		t.check(
			'streaming: Webhook -> AI Agent -> BYOK Chat Model streams "The answer is 43" piece by piece, the first before the provider had finished',
			streamed.status === 200 && streamed.text === 'The answer is 43' && pieces.length >= 3 && fake.chatRequests.length === 3 && fake.chatRequests.every((r) => r.body.stream === true),
			JSON.stringify({ status: streamed.status, events: streamed.events }).slice(0, 1500),
		);

		// The final answer breaks after its first words: the client gets those words, then an error; no second try.
		fake.reset();
		fake.setHandler((record) => ({ ...calculatorScript(record), ...(finalAnswer(record) ? { streamBreakAfter: 3, streamDelayMs: 20 } : {}) }));
		const broken = await readStream(url, 'What is 6 times 7, plus 1?');
		const finals = fake.chatRequests.filter(finalAnswer);
		console.log(`# broken stream: text ${JSON.stringify(broken.text)}, then ${JSON.stringify(broken.events.find((e) => e.type === 'error'))}`);
		t.check(
			'streaming: a stream that breaks after some words ends in an error after those words, never a silent restart',
			broken.text === 'The answer ' && broken.events.some((e) => e.type === 'error') && finals.length === 1,
			JSON.stringify({ events: broken.events, finals: finals.length }).slice(0, 1500),
		);
	} finally {
		await server.stop();
	}
}

// ---------------------------------------------------------------------------------------------
// Running and checking

async function execute(context, id) {
	const { n8n, scratch, fake } = context;
	fake.reset();
	fake.setHandler(SCRIPTS[id] ?? modelScript);
	const run = await runN8nCli(n8n, scratch.userFolder, ['execute', `--id=${id}`, '--rawOutput'], { logFile: path.join(scratch.dir, 'n8n-agent.log'), allowFailure: true });
	const output = run.stdout + run.stderr;
	let data;
	try {
		data = parseExecuteOutput(run.stdout);
	} catch {
		// left undefined: the checks show the output
	}
	const runData = data?.data?.resultData?.runData ?? {};
	return { ...run, output, runData, requests: [...fake.chatRequests], maxInFlight: fake.maxInFlight };
}

/** The main output items of a node (output `index`). */
const itemsOf = (runData, name, index = 0) => (runData[name]?.[0]?.data?.main?.[index] ?? []).map((i) => i.json);

/** What n8n stored for each call of a model sub-node: the generations' info, token usage, error. */
function modelCalls(runData, name = 'BYOK Chat Model') {
	return (runData[name] ?? []).map((task) => {
		const json = task.data?.ai_languageModel?.[0]?.[0]?.json ?? {};
		return { info: json.response?.generations?.[0]?.[0]?.generationInfo, tokenUsage: json.tokenUsage, error: task.error };
	});
}

const outcomes = (attempts = []) => attempts.map((a) => `${a.provider}/${a.model}:${a.outcome}${a.status ? `:${a.status}` : ''}`).join(' ');

async function agentPhase(context) {
	const { n8n, scratch, fake, t, timings = {} } = context;
	const started = Date.now();
	const logFile = path.join(scratch.dir, 'n8n-agent.log');
	const credentialFile = path.join(scratch.dir, 'agent-credentials.json');
	fs.writeFileSync(credentialFile, JSON.stringify(credentialImport(fake)));
	const creds = await runN8nCli(n8n, scratch.userFolder, ['import:credentials', `--input=${credentialFile}`], { logFile, allowFailure: true });
	t.check('agent: credentials imported', creds.code === 0, tail(creds.stdout + creds.stderr));
	const all = workflows();
	const workflowFile = path.join(scratch.dir, 'agent-workflows.json');
	fs.writeFileSync(workflowFile, JSON.stringify(Object.values(all), null, 2));
	const imported = await runN8nCli(n8n, scratch.userFolder, ['import:workflow', `--input=${workflowFile}`], { logFile, allowFailure: true });
	t.check('agent: workflows imported', imported.code === 0, tail(imported.stdout + imported.stderr));

	const outputs = [];
	const run = async (id) => {
		const result = await execute(context, id);
		outputs.push(result.output);
		console.log(`# ${id}: exit ${result.code} in ${seconds(result.ms)}, ${result.requests.length} model calls`);
		return result;
	};
	const show = (r, ...names) => `${names.map((n) => `${n}: ${JSON.stringify(r.runData[n]?.[0]?.data ?? r.runData[n]?.[0]?.error ?? null).slice(0, 600)}`).join('\n')}\n${tail(r.output, 15)}`;

	// The tool loop: three model calls, two Calculator runs, the tool's results sent back with their ids.
	const tool = await run('byokAgentTool');
	t.check('agent: AI Agent 3.1 + BYOK Chat Model + Calculator answers "The answer is 43"', tool.code === 0 && itemsOf(tool.runData, 'AI Agent')[0]?.output === 'The answer is 43', show(tool, 'AI Agent'));
	const [first, second, third] = tool.requests.map((r) => r.body);
	t.check(
		'agent: the model offered the Calculator as a function; the tool results came back paired with its call ids',
		tool.requests.length === 3 &&
			first.tools?.[0]?.function?.parameters?.properties?.input !== undefined &&
			second.messages.some((m) => m.role === 'tool' && numberIn(m.content) === '42' && m.tool_call_id === second.messages.find((a) => a.tool_calls)?.tool_calls[0].id) &&
			third.messages.filter((m) => m.role === 'tool').map((m) => numberIn(m.content)).join() === '42,43',
		JSON.stringify(tool.requests.map((r) => r.body.messages)).slice(0, 2000),
	);
	t.check('agent: Calculator ran twice', tool.runData.Calculator?.length === 2, JSON.stringify(tool.runData.Calculator ?? null).slice(0, 500));
	const calls = modelCalls(tool.runData);
	t.check(
		'agent: the sub-node\'s stored data shows token usage and who answered, per call',
		calls.length === 3 && calls.every((c) => c.tokenUsage?.totalTokens === 15 && c.info?.answeredBy === 'byokAgentCustom · fake-small' && c.info?.fallbackUsed === false && outcomes(c.info?.attempts) === 'custom/fake-small:ok:200'),
		JSON.stringify(calls),
	);

	// The fallback chain: the head's credential answers 503 (twice: one retry), the second sub-node answers.
	const fb = await run('byokAgentFallback');
	const fbCalls = modelCalls(fb.runData);
	t.check('agent: primary 503 -> the fallback sub-node answers ("The answer is 43")', fb.code === 0 && itemsOf(fb.runData, 'AI Agent')[0]?.output === 'The answer is 43', show(fb, 'AI Agent'));
	// Calls 1 and 2: the head fails twice (one retry), the fallback answers. Call 3: the head's fifth
	// failure in a row opens its circuit breaker (threshold 5), so the fallback answers at once.
	const twice = 'custom/fake-small:server:503 custom/fake-small:server:503 ollama/fake-large:ok:200';
	t.check(
		'agent: each call shows fallbackUsed and the attempts; the head\'s breaker opens across the agent\'s turns',
		fbCalls.map((c) => outcomes(c.info?.attempts)).join('\n') === [twice, twice, 'custom/fake-small:server:503 ollama/fake-large:ok:200'].join('\n') &&
			fbCalls.every((c) => c.info.fallbackUsed === true && c.info.answeredBy === 'byokAgentOllama · fake-large'),
		JSON.stringify(fbCalls),
	);
	t.check(
		'agent: the fallback was called on its own credential (its path, no Authorization header)',
		fb.requests.filter((r) => r.path.startsWith('/fallback/')).length === 3 && fb.requests.filter((r) => r.path.startsWith('/fallback/')).every((r) => !r.headers.authorization),
		JSON.stringify(fb.requests.map((r) => r.path)),
	);

	// A key's limit across the agent's parallel calls: Max Concurrent 1 holds; without it they overlap.
	const limited = await run('byokAgentLimit');
	const free = await run('byokAgentNoLimit');
	const answered = (r) => itemsOf(r.runData, 'AI Agent').filter((i) => i.output === 'The answer is 43').length;
	console.log(`# most requests in flight: ${limited.maxInFlight} with Max Concurrent 1, ${free.maxInFlight} without a limit`);
	t.check('agent: 4 questions at once, credential Max Concurrent 1: all answered, never more than 1 request in flight', limited.code === 0 && answered(limited) === 4 && limited.requests.length === 12 && limited.maxInFlight === 1, show(limited, 'AI Agent'));
	t.check('agent: the same without a limit overlaps (so the limit is what held it)', free.code === 0 && answered(free) === 4 && free.maxInFlight > 1, `${free.maxInFlight}\n${show(free, 'AI Agent')}`);

	// Errors: the provider refuses the key; the agent's error output says so, without the key.
	const denied = await run('byokAgentError');
	const deniedItem = itemsOf(denied.runData, 'AI Agent')[0] ?? {};
	const subError = modelCalls(denied.runData)[0]?.error ?? {};
	console.log(`# agent error output: ${JSON.stringify(deniedItem)}; sub-node error: ${subError.message} / ${subError.description}`);
	t.check("agent: a refused key reaches the agent's error output with the provider's words", denied.code === 0 && /HTTP 401: Incorrect API key provided/.test(deniedItem.error ?? ''), show(denied, 'AI Agent', 'BYOK Chat Model'));
	t.check("agent: the sub-node's stored error says what to do", /HTTP 401/.test(subError.message ?? '') && /rejected the API key/.test(subError.description ?? ''), JSON.stringify(subError).slice(0, 800));

	const notByok = await run('byokAgentNotByok');
	t.check('agent: a non-BYOK model as Fallback Model is refused, saying to use BYOK Chat Model', notByok.code !== 0 && /not a BYOK Chat Model/.test(notByok.output) && notByok.requests.length === 0, tail(notByok.output, 20));

	// Chains and other root nodes that take a chat model.
	const llmChain = await run('byokChainLlm');
	t.check('chains: Basic LLM Chain answers through BYOK Chat Model', llmChain.code === 0 && itemsOf(llmChain.runData, 'Basic LLM Chain')[0]?.text === 'echo: Ana Ruiz moved to Oslo and asks about her invoice.', show(llmChain, 'Basic LLM Chain'));
	const extract = await run('byokInfoExtract');
	const extracted = itemsOf(extract.runData, 'Information Extractor')[0]?.output;
	t.check('chains: Information Extractor returns the JSON the model gave', extract.code === 0 && extracted?.name === 'Ana Ruiz' && extracted?.city === 'Oslo', show(extract, 'Information Extractor'));
	const classify = await run('byokTextClassify');
	t.check('chains: Text Classifier sends the item to "billing" (output 0)', classify.code === 0 && itemsOf(classify.runData, 'Text Classifier', 0).length === 1 && itemsOf(classify.runData, 'Text Classifier', 1).length === 0, show(classify, 'Text Classifier'));
	const summary = await run('byokSummarize');
	t.check('chains: Summarization Chain summarizes through BYOK Chat Model', summary.code === 0 && summary.requests.length >= 1 && JSON.stringify(itemsOf(summary.runData, 'Summarization Chain')).includes('echo:'), show(summary, 'Summarization Chain'));

	await streamingCheck(context);

	// Keys: nowhere in what n8n printed, logged or stored (its database holds credentials encrypted).
	// With SQLite in WAL mode the newest execution data may still be in the -wal file.
	const database = path.join(scratch.userFolder, '.n8n', 'database.sqlite');
	const stored = [database, `${database}-wal`, `${database}-shm`, logFile, path.join(scratch.dir, 'n8n-agent-server.log')].filter((f) => fs.existsSync(f));
	const leaks = KEYS.flatMap((key) => [
		...(outputs.some((o) => o.includes(key)) ? [`execute output: ${key.slice(0, 12)}...`] : []),
		...stored.filter((f) => fs.readFileSync(f).includes(key)).map((f) => `${path.basename(f)}: ${key.slice(0, 12)}...`),
	]);
	t.check(`agent: no API key in execute output, ${stored.map((f) => path.basename(f)).join(', ')}`, leaks.length === 0, leaks.join('\n'));
	timings.agent = Date.now() - started;
	console.log(`# agent phase took ${seconds(timings.agent)}`);
}

// The builders are shared with bench/agent.js.
module.exports = { agentPhase, CREDENTIALS, credentialImport, node, byokModel, toolAgent };

if (require.main === module) {
	(async () => {
		const { provisionN8n, makeScratch, packPackage, installPackage, reporter } = require('./run.js');
		const t = reporter();
		const scratch = makeScratch('byok-agent-');
		let fake;
		try {
			const n8n = await provisionN8n();
			const tarball = await packPackage(scratch.dir);
			await installPackage(scratch.userFolder, tarball);
			fake = await require('../fake-provider.js').startFakeProvider();
			await agentPhase({ n8n, scratch, fake, t });
		} catch (err) {
			t.check('agent e2e completed', false, err.stack ?? err);
		} finally {
			await fake?.close();
		}
		if (t.failed === 0 && !process.env.BYOK_E2E_KEEP) fs.rmSync(scratch.dir, { recursive: true, force: true });
		else console.log(`# kept ${scratch.dir}`);
		console.log(`${t.passed} passed, ${t.failed} failed`);
		process.exitCode = t.failed === 0 ? 0 : 1;
	})();
}
