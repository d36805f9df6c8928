'use strict';
/**
 * A fake OpenAI-compatible provider on 127.0.0.1 (random port) for tests, e2e and benchmarks.
 * It records every request and answers by script: each test says what the next request(s) get
 * (status, headers, body, delay, hang, connection reset, HTML, plain text, invalid JSON, SSE stream).
 * Without a script, /chat/completions answers "echo: <last user text>" (streamed word by word
 * when the request asks for `stream`) and /models lists `models`.
 * Each recorded request says whether the client went away before the answer was complete
 * (`abandoned`), so tests can tell an aborted request from a finished one.
 *
 * Plain JavaScript on purpose: it is used by jest, by the e2e runner and by bench/ alike.
 * Its types for the TypeScript tests are in fake-provider.d.ts: change them with it.
 */
const http = require('node:http');

/** A default completion for a request body. */
function completion(body, content, extra = {}) {
	return {
		id: 'chatcmpl-fake',
		object: 'chat.completion',
		created: Math.floor(Date.now() / 1000),
		model: body.model,
		choices: [{ index: 0, message: { role: 'assistant', content, ...extra.message }, finish_reason: extra.finishReason ?? 'stop' }],
		usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
	};
}

let toolCallCount = 0;

/** A completion whose answer is tool calls: `calls` = [{name, arguments}] (arguments as an object); ids unique, as a provider's. */
function toolCallCompletion(body, calls) {
	const toolCalls = calls.map((call) => ({
		id: call.id ?? `call_${++toolCallCount}`,
		type: 'function',
		function: { name: call.name, arguments: JSON.stringify(call.arguments ?? {}) },
	}));
	return completion(body, null, { message: { tool_calls: toolCalls }, finishReason: 'tool_calls' });
}

/** A number in a tool result however the caller wrapped it ("42", [{"response":"42"}], ...). */
function numberIn(text) {
	const match = String(text).match(/-?\d+(\.\d+)?/);
	return match ? match[0] : undefined;
}

/**
 * A handler playing a model that uses a calculator tool, decided from the request alone (so any
 * number of conversations can run at once): with tools offered and no tool result yet it calls
 * the first tool with "6*7"; after one result, with "<result>+1"; after two it answers
 * "The answer is <last result>". Requests without tools get the default echo.
 */
function calculatorScript(record) {
	const body = record.body ?? {};
	const tool = body.tools?.[0]?.function?.name;
	if (!tool) return undefined;
	const results = (body.messages ?? []).filter((m) => m.role === 'tool').map((m) => numberIn(typeof m.content === 'string' ? m.content : JSON.stringify(m.content)));
	if (results.length === 0) return { body: (b) => toolCallCompletion(b, [{ name: tool, arguments: { input: '6*7' } }]) };
	if (results.length === 1) return { body: (b) => toolCallCompletion(b, [{ name: tool, arguments: { input: `${results[0]}+1` } }]) };
	return { body: (b) => completion(b, `The answer is ${results[results.length - 1]}`) };
}

/** A completion as stream chunks: its text word by word, tool calls, then finish and usage. */
function chunksOf(full) {
	const base = { id: full.id, object: 'chat.completion.chunk', created: full.created, model: full.model };
	const choice = full.choices[0] ?? {};
	const message = choice.message ?? {};
	const chunk = (delta, finish = null) => ({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] });
	const words = typeof message.content === 'string' ? message.content.match(/\S+\s*|\s+/g) ?? [] : [];
	const chunks = [chunk({ role: 'assistant', content: '' })];
	for (const word of words) chunks.push(chunk({ content: word }));
	(message.tool_calls ?? []).forEach((call, index) => chunks.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: call.function }] })));
	chunks.push(chunk({}, choice.finish_reason ?? 'stop'));
	if (full.usage) chunks.push({ ...base, choices: [], usage: full.usage });
	return chunks;
}

function lastUserText(body) {
	const users = (body.messages ?? []).filter((m) => m.role === 'user');
	const last = users[users.length - 1];
	if (!last) return '';
	if (typeof last.content === 'string') return last.content;
	return (last.content ?? []).filter((p) => p.type === 'text').map((p) => p.text).join('');
}

async function startFakeProvider({ models = ['fake-small', 'fake-large', 'fake-vision'], port = 0 } = {}) {
	const requests = [];
	/** Steps for the next requests, in order; each is consumed once. */
	const queue = [];
	/** Called for a request when the queue is empty; returns a step or undefined for the default. */
	let handler;
	const sockets = new Set();
	let inFlight = 0;
	let maxInFlight = 0;

	const server = http.createServer((req, res) => {
		const arrivedAt = Date.now();
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			const raw = Buffer.concat(chunks).toString('utf8');
			let body;
			try {
				body = raw ? JSON.parse(raw) : undefined;
			} catch {
				body = raw;
			}
			const path = req.url.replace(/\?.*$/, '');
			const record = { method: req.method, path, url: req.url, headers: req.headers, body, at: arrivedAt };
			requests.push(record);
			const step = queue.shift() ?? (handler ? handler(record) : undefined) ?? {};
			inFlight++;
			maxInFlight = Math.max(maxInFlight, inFlight);
			let finished = false;
			const done = () => {
				if (!finished) {
					finished = true;
					inFlight--;
				}
			};
			res.on('close', () => {
				if (!res.writableFinished) record.abandoned = true;
				done();
			});
			const go = () => respond(req, res, record, step);
			if (step.delayMs) setTimeout(go, step.delayMs);
			else go();
		});
	});

	function respond(req, res, record, step) {
		if (step.hang) return; // never answer; the client's timeout must fire
		if (step.reset) return req.socket.destroy();
		const headers = { ...(step.headers ?? {}) };
		let status = step.status ?? 200;
		let payload = step.body;
		if (payload === undefined) {
			if (record.path.endsWith('/models')) payload = { object: 'list', data: models.map((id) => ({ id, object: 'model', owned_by: 'fake' })) };
			else if (record.path.endsWith('/chat/completions')) payload = completion(record.body ?? {}, `echo: ${lastUserText(record.body ?? {})}`);
			else {
				status = 404;
				payload = { error: { message: `No route ${record.path}`, type: 'not_found' } };
			}
		}
		if (typeof payload === 'function') payload = payload(record.body ?? {}, record);
		const streamChunks = step.stream ?? (record.body?.stream && status === 200 && payload?.choices ? chunksOf(payload) : undefined);
		if (streamChunks) return streamOut(req, res, status, headers, streamChunks, step);
		const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
		if (!headers['content-type']) headers['content-type'] = typeof payload !== 'string' || step.json ? 'application/json' : step.text ? 'text/plain' : 'text/html';
		if (step.resetMidBody) {
			res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(text) + 100) });
			res.write(text.slice(0, Math.floor(text.length / 2)));
			return setTimeout(() => req.socket.destroy(), 20);
		}
		res.writeHead(status, headers);
		res.end(text);
	}

	/**
	 * Server-sent events, one chunk each `streamDelayMs` apart; `streamBreakAfter: N` destroys
	 * the connection after N chunks (a stream that breaks mid-answer); `streamEndAfter: N` ends
	 * the response cleanly after N chunks, with no finish reason and no [DONE]; `holdAfter: N`
	 * with `hold` pauses after N chunks until `hold` resolves (proof that a client got them early).
	 */
	function streamOut(req, res, status, headers, chunks, step) {
		res.writeHead(status, { 'content-type': 'text/event-stream', ...headers });
		let sent = 0;
		const next = () => {
			if (res.destroyed) return;
			// Written chunks sit in the corked socket until the next tick: let them reach the client first.
			if (step.streamBreakAfter !== undefined && sent >= step.streamBreakAfter) return setTimeout(() => req.socket.destroy(), 20);
			if (step.streamEndAfter !== undefined && sent >= step.streamEndAfter) return res.end();
			if (sent >= chunks.length) return res.end('data: [DONE]\n\n');
			// `holdAfter: N` with `hold` (a promise): the rest waits until the test says it saw the first N.
			if (step.hold && sent === step.holdAfter) {
				const held = step.hold;
				step.hold = undefined;
				return held.then(next);
			}
			res.write(`data: ${JSON.stringify(chunks[sent++])}\n\n`);
			if (step.streamDelayMs) setTimeout(next, step.streamDelayMs);
			else next();
		};
		next();
	}

	server.on('connection', (s) => {
		sockets.add(s);
		s.on('close', () => sockets.delete(s));
	});
	await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
	const url = `http://127.0.0.1:${server.address().port}`;

	return {
		url,
		/** The OpenAI-compatible base URL. */
		baseUrl: `${url}/v1`,
		requests,
		get chatRequests() {
			return requests.filter((r) => r.path.endsWith('/chat/completions'));
		},
		get maxInFlight() {
			return maxInFlight;
		},
		/** Queue one or more steps for the next requests. */
		enqueue(...steps) {
			queue.push(...steps);
		},
		/** Decide per request (after the queue is used up). */
		setHandler(fn) {
			handler = fn;
		},
		reset() {
			requests.length = 0;
			queue.length = 0;
			handler = undefined;
			maxInFlight = 0;
		},
		async close() {
			for (const s of sockets) s.destroy();
			await new Promise((resolve) => server.close(resolve));
		},
	};
}

/**
 * An error answer in the body shape a kind of OpenAI-compatible server uses, so tests can check
 * that each is read: `errorStep('vllm', 400, 'This model's maximum context length is ...')`.
 */
const ERROR_SHAPES = {
	openai: (message) => ({ body: { error: { message, type: 'invalid_request_error', param: null, code: null } } }),
	gemini: (message, status) => ({ body: [{ error: { code: status, message, status: 'INVALID_ARGUMENT' } }] }),
	// vLLM and Mistral put the error at the top level.
	vllm: (message, status) => ({ body: { object: 'error', message, type: 'BadRequestError', param: null, code: status } }),
	mistral: (message) => ({ body: { object: 'error', message, type: 'invalid_request_message_error', param: null, code: '3051' } }),
	// FastAPI-based servers: `detail` as a string, an object or a list of validation errors.
	fastapi: (message) => ({ body: { detail: message } }),
	fastapiObject: (message) => ({ body: { detail: { message } } }),
	fastapiList: (message) => ({ body: { detail: [{ loc: ['body', 'messages'], msg: message, type: 'value_error' }] } }),
	message: (message) => ({ body: { message } }),
	// Ollama, TGI: the error as a plain string.
	errorString: (message) => ({ body: { error: message, error_type: 'validation' } }),
	text: (message) => ({ body: message, text: true }),
	html: (message, status) => ({ body: `<html><head><title>${status}</title></head><body><center><h1>${message}</h1></center><hr><center>nginx</center></body></html>` }),
};

function errorStep(shape, status, message) {
	return { status, ...ERROR_SHAPES[shape](message, status) };
}

/** The most requests that arrived within any window of `windowMs` (half-open), from arrival times. */
function maxInWindow(times, windowMs) {
	const sorted = [...times].sort((a, b) => a - b);
	let most = 0;
	for (let i = 0, j = 0; i < sorted.length; i++) {
		while (sorted[i] - sorted[j] >= windowMs) j++;
		most = Math.max(most, i - j + 1);
	}
	return most;
}

module.exports = { startFakeProvider, completion, chunksOf, toolCallCompletion, calculatorScript, numberIn, lastUserText, maxInWindow, errorStep };

if (require.main === module) {
	// Standalone: `node test/fake-provider.js [port]` prints its base URL and echoes.
	startFakeProvider({ port: Number(process.argv[2] ?? 0) }).then((fake) => console.log(fake.baseUrl));
}
