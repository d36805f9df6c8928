'use strict';
/**
 * Time the engine takes on provider-sent text built to stall a parser, at 1 KB, 10 KB, 100 KB and
 * 1 MB (goal: under 50 ms each, as the event loop is blocked meanwhile). Side by side, where it is
 * cheap, the regular expressions these inputs used to go through (before issue 9): they are run
 * only on the sizes where they finish within seconds; larger ones would block for minutes or hours.
 *
 *   npm run build && node bench/adversarial.js
 */
require('./scratch-usage.js');
const { APIError } = require('openai');
const { classify, plainText } = require('../dist/nodes/llm/errors.js');
const { parseJsonAnswer, validateAgainstSchema } = require('../dist/nodes/llm/structured.js');

const SIZES = [1_000, 10_000, 100_000, 1_000_000];
const RUNS = 5;

// The code as it was, for the "old" column.
const old = {
	fence: (text) => /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/i.exec(text),
	plainText(text) {
		const isHtml = /<\/?(html|head|body|h1|title|center)[\s>]/i.test(text);
		const out = isHtml ? text.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' ') : text;
		return out.replace(/\s+/g, ' ').trim().slice(0, 300);
	},
};

/** An error response as the client hands it to classify(): the SDK's error plus the whole body. */
const httpError = (status, body) =>
	Object.assign(APIError.generate(status, typeof body === 'string' ? undefined : body, typeof body === 'string' ? body : undefined, new Headers()), { body });

const pad = (text, size) => text.repeat(Math.ceil(size / text.length)).slice(0, size);

const CASES = [
	{ name: 'JSON answer: ```json + newlines', input: (n) => '```json\n' + '\n'.repeat(n), run: parseJsonAnswer, old: old.fence, oldUpTo: 1_000 },
	{ name: 'JSON answer: ``` + spaces + x', input: (n) => '```' + ' '.repeat(n) + 'x', run: parseJsonAnswer, old: old.fence, oldUpTo: 1_000 },
	{ name: 'error page: unclosed <script <b <style', input: (n) => '<html><body><h1>502</h1>' + pad('<script <b <style x ', n), run: plainText, old: old.plainText, oldUpTo: 100_000 },
	{ name: 'error page: "<a " without ">"', input: (n) => '<html>' + pad('<a ', n), run: plainText, old: old.plainText, oldUpTo: 100_000 },
	{ name: 'classify: 502 malformed HTML body', input: (n) => httpError(502, '<html><body>' + pad('<script <b <style x ', n)), run: classify },
	{ name: 'classify: 400 plain-text body', input: (n) => httpError(400, pad('x ', n) + " This model's maximum context length is 4096"), run: classify },
	{ name: 'classify: 400 {"message": long}', input: (n) => httpError(400, { object: 'error', message: pad('context ', n) }), run: classify },
	{ name: 'classify: 404 {"error": {code: long}}', input: (n) => httpError(404, { error: { message: 'Not Found', code: pad('content_ ', n) } }), run: classify },
	{ name: 'schema check: [[[...]]] as deep as size/2', input: (n) => JSON.parse('['.repeat(n / 2) + ']'.repeat(n / 2)), run: (v) => validateAgainstSchema(v, { type: 'array', items: { $ref: '#' } }) },
];

function time(fn, input, runs) {
	const samples = [];
	for (let i = 0; i < runs; i++) {
		const started = process.hrtime.bigint();
		fn(input);
		samples.push(Number(process.hrtime.bigint() - started) / 1e6);
	}
	samples.sort((a, b) => a - b);
	return samples[Math.floor(samples.length / 2)];
}

const kb = (n) => (n >= 1_000_000 ? `${n / 1_000_000} MB` : `${n / 1000} KB`);
const ms = (v) => `${v.toFixed(2)} ms`;

console.log(`Median of ${RUNS} runs (new); one run (old). Goal: new under 50 ms at every size.`);
console.log('classify() rows include reading the body shape and stripping the page; "-": no separate old code (it went through the old error-page stripping above).\n');
console.log(['input'.padEnd(44), 'size'.padStart(7), 'new'.padStart(11), 'old (before issue 9)'.padStart(22)].join(' '));
let worst = 0;
for (const c of CASES) {
	for (const size of SIZES) {
		const input = c.input(size);
		const now = time(c.run, input, RUNS);
		worst = Math.max(worst, now);
		const before = !c.old ? '-' : size <= c.oldUpTo ? ms(time(c.old, input, 1)) : 'not run (minutes+)';
		console.log([c.name.padEnd(44), kb(size).padStart(7), ms(now).padStart(11), before.padStart(22)].join(' '));
	}
}
console.log(`\nSlowest new case: ${ms(worst)} (${worst < 50 ? 'under' : 'OVER'} the 50 ms goal).`);
