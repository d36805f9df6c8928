#!/usr/bin/env node
/**
 * Evaluates the Auto-Router's local classifier on a labelled JSONL file.
 *
 *   npm run eval:router -- FILE.jsonl [--subset even|odd] [--long-context-tokens N] [--hybrid] [--summary] [--verbose]
 *
 * It runs the compiled classifier (dist/nodes/llm/classifier.js, built by the npm script) and
 * times the same call the node makes: classifyByRules(messages, options).
 *
 * --hybrid adds what Hybrid mode would do at several thresholds, with an LLM classifier that
 * always answers the true label: the share of requests sent to the LLM (router.ts asksLlm, the
 * rule the node uses) and the accuracy that results.
 * --summary prints aggregate figures only (no misses, no request ids, no request text): for a
 * held-out set that must stay unseen.
 *
 * One JSON object per line (blank lines and lines starting with // are skipped):
 *   {"id": "r001", "expected": "code", "messages": [OpenAI chat messages], "hard": false}
 * - expected: fast | balanced | reasoning | long_context | vision | code
 * - hard (optional): counted separately as "hard cases".
 * - repeat (optional): {"text": "...", "times": N, "message": I} appends `text` repeated N times
 *   to message I (default: the last user message), so long documents stay short in the file.
 *   A string content gets the text appended; a parts array gets it appended to its last text part.
 *
 * --subset even|odd keeps only ids whose last digit is even or odd.
 *
 * test/fixtures/router-eval.jsonl (471 requests) was written and labelled before the rules it
 * measures, in four batches; the rules were tuned on the even ids only (233), never on the odd
 * ids (238, the held-out half):
 * - r001-r224: the first set, written before any classifier code. Even ids: tuning (round 1).
 *   Odd ids: held out.
 * - f002-f120: written after round 1 was frozen, run once blind, then tuned on (round 2).
 * - g002-g122: written after round 2 was frozen, run once blind, then tuned on (round 3).
 * - h001-h251: written after round 3 was frozen; held out, never tuned on.
 * So `--subset odd` measures requests the rules were not tuned on.
 *
 * Output: accuracy overall, per category and on hard cases; a confusion matrix; the misses
 * with the classifier's reason; the time to require the classifier and of its first call (which
 * loads the model and warms up); classification time per request (p50, p90, max; every request
 * timed once, in file order, wall time and the process's CPU time); then timings on
 * 100,000-character documents.
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const loadStart = process.hrtime.bigint();
const { classifyByRules } = require(path.join(__dirname, '..', 'dist', 'nodes', 'llm', 'classifier.js'));
const loadNs = Number(process.hrtime.bigint() - loadStart);
// The classifier loads its model and warms up on its first call: timed here, on a request of its
// own, so the per-request figures below are the steady state.
const firstStart = process.hrtime.bigint();
classifyByRules([{ role: 'user', content: 'Can you help me with something?' }]);
const firstNs = Number(process.hrtime.bigint() - firstStart);
const { CATEGORIES: ROUTER_CATEGORIES } = require(path.join(__dirname, '..', 'dist', 'nodes', 'llm', 'catalog.js'));
const { asksLlm, DEFAULT_HYBRID_THRESHOLD } = require(path.join(__dirname, '..', 'dist', 'nodes', 'llm', 'router.js'));

function usage(message) {
	if (message) console.error(message);
	console.error('usage: npm run eval:router -- FILE.jsonl [--subset even|odd] [--long-context-tokens N] [--hybrid] [--summary] [--verbose]');
	process.exit(2);
}

const args = process.argv.slice(2);
let file;
let subset;
let verbose = false;
let summary = false;
let hybrid = false;
const options = {};
for (let i = 0; i < args.length; i++) {
	const a = args[i];
	if (a === '--subset') subset = args[++i];
	else if (a.startsWith('--subset=')) subset = a.slice(9);
	else if (a === '--long-context-tokens') options.longContextTokens = Number(args[++i]);
	else if (a.startsWith('--long-context-tokens=')) options.longContextTokens = Number(a.slice(22));
	else if (a === '--verbose') verbose = true;
	else if (a === '--summary') summary = true;
	else if (a === '--hybrid') hybrid = true;
	else if (a.startsWith('--')) usage(`unknown option ${a}`);
	else if (!file) file = a;
	else usage(`unexpected argument ${a}`);
}
if (!file) usage('no file given');
if (subset !== undefined && subset !== 'even' && subset !== 'odd') usage('--subset is even or odd');
if (summary && verbose) usage('--summary and --verbose exclude each other');

function expand(record) {
	const messages = JSON.parse(JSON.stringify(record.messages));
	const r = record.repeat;
	if (!r) return messages;
	let index = r.message;
	if (index === undefined) {
		for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === 'user') { index = i; break; }
	}
	const target = messages[index];
	if (!target) throw new Error(`${record.id}: repeat.message ${index} does not exist`);
	const extra = String(r.text).repeat(Number(r.times) || 0);
	if (typeof target.content === 'string' || target.content == null) target.content = (target.content || '') + extra;
	else {
		const parts = target.content;
		let last = -1;
		for (let i = parts.length - 1; i >= 0; i--) if (parts[i].type === 'text') { last = i; break; }
		if (last >= 0) parts[last] = { ...parts[last], text: parts[last].text + extra };
		else parts.push({ type: 'text', text: extra });
	}
	return messages;
}

const records = [];
const lines = fs.readFileSync(file, 'utf8').split('\n');
lines.forEach((line, n) => {
	const trimmed = line.trim();
	if (!trimmed || trimmed.startsWith('//')) return;
	let record;
	try {
		record = JSON.parse(trimmed);
	} catch (err) {
		usage(`${file}:${n + 1}: not JSON (${err.message})`);
	}
	if (!ROUTER_CATEGORIES.includes(record.expected)) usage(`${file}:${n + 1}: expected must be one of ${ROUTER_CATEGORIES.join(', ')}`);
	if (!Array.isArray(record.messages)) usage(`${file}:${n + 1}: messages must be an array`);
	const id = String(record.id ?? `line${n + 1}`);
	if (subset) {
		const digit = Number(id.slice(-1));
		if (Number.isNaN(digit) || (digit % 2 === 0) !== (subset === 'even')) return;
	}
	records.push({ ...record, id, messages: expand(record) });
});
if (!records.length) usage('no requests to evaluate');

const ns = (a, b) => Number(b - a);
// Wall time, and the process's CPU time (all its threads, microseconds): on a busy machine a
// request can wait for a CPU far longer than it computes, and the two tell those apart.
const results = records.map((record) => {
	const cpu = process.cpuUsage();
	const start = process.hrtime.bigint();
	const decision = classifyByRules(record.messages, options);
	const end = process.hrtime.bigint();
	const used = process.cpuUsage(cpu);
	return { record, decision, ns: ns(start, end), cpuNs: (used.user + used.system) * 1000 };
});

const pct = (a, b) => (b ? `${((100 * a) / b).toFixed(1)}%` : '-');
const fmt = (nsValue) => (nsValue >= 1e6 ? `${(nsValue / 1e6).toFixed(2)} ms` : `${(nsValue / 1e3).toFixed(1)} µs`);
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

const correct = results.filter((r) => r.decision.category === r.record.expected).length;
const hard = results.filter((r) => r.record.hard);
const hardCorrect = hard.filter((r) => r.decision.category === r.record.expected).length;

console.log(`file: ${file}${subset ? ` (subset: ids ending in an ${subset} digit)` : ''}`);
console.log(`requests: ${results.length}${options.longContextTokens ? `, long-context threshold ${options.longContextTokens} tokens` : ''}`);
console.log(`accuracy: ${correct}/${results.length} = ${pct(correct, results.length)}`);
const textOnly = results.filter((r) => r.record.expected !== 'vision' && r.record.expected !== 'long_context');
console.log(`  text requests (fast, balanced, reasoning, code): ${textOnly.filter((r) => r.decision.category === r.record.expected).length}/${textOnly.length} = ${pct(textOnly.filter((r) => r.decision.category === r.record.expected).length, textOnly.length)}`);
console.log(`hard cases: ${hardCorrect}/${hard.length} = ${pct(hardCorrect, hard.length)}`);
console.log('');
console.log('per category (recall = right / expected; precision = right / predicted):');
for (const c of ROUTER_CATEGORIES) {
	const expected = results.filter((r) => r.record.expected === c);
	const predicted = results.filter((r) => r.decision.category === c);
	const right = expected.filter((r) => r.decision.category === c).length;
	console.log(`  ${c.padEnd(13)} recall ${`${right}/${expected.length}`.padStart(7)} ${pct(right, expected.length).padStart(6)}   precision ${pct(right, predicted.length).padStart(6)}`);
}
console.log('');
console.log('confusion matrix (rows: expected, columns: predicted):');
const short = { fast: 'fast', balanced: 'bal', reasoning: 'reas', long_context: 'long', vision: 'vis', code: 'code' };
console.log(`  ${''.padEnd(13)}${ROUTER_CATEGORIES.map((c) => short[c].padStart(6)).join('')}`);
for (const e of ROUTER_CATEGORIES) {
	const row = ROUTER_CATEGORIES.map((p) => String(results.filter((r) => r.record.expected === e && r.decision.category === p).length).padStart(6));
	console.log(`  ${e.padEnd(13)}${row.join('')}`);
}
if (hybrid) {
	// The LLM answers the true label; the local decision stands otherwise.
	console.log('');
	console.log('hybrid mode, with an LLM classifier that answers the true label:');
	console.log(`  ${'threshold'.padEnd(20)}${'sent to the LLM'.padStart(20)}${'accuracy'.padStart(18)}${'hard cases'.padStart(18)}`);
	const thresholds = [...new Set([0.5, 0.6, 0.7, DEFAULT_HYBRID_THRESHOLD, 0.9])].sort((a, b) => a - b);
	for (const threshold of thresholds) {
		const asked = results.map((r) => asksLlm('hybrid', r.decision, threshold));
		const right = (r, i) => asked[i] || r.decision.category === r.record.expected;
		const sent = asked.filter(Boolean).length;
		const ok = results.filter(right).length;
		const hardOk = results.filter((r, i) => r.record.hard && right(r, i)).length;
		const label = `${threshold.toFixed(2)}${threshold === DEFAULT_HYBRID_THRESHOLD ? ' (default)' : ''}`;
		console.log(`  ${label.padEnd(20)}${`${sent}/${results.length} = ${pct(sent, results.length)}`.padStart(20)}${pct(ok, results.length).padStart(18)}${pct(hardOk, hard.length).padStart(18)}`);
	}
}

const misses = results.filter((r) => r.decision.category !== r.record.expected);
if (!summary) {
	console.log('');
	console.log(`misses (${misses.length}):`);
	for (const r of misses) {
		const text = (() => {
			for (let i = r.record.messages.length - 1; i >= 0; i--) {
				const m = r.record.messages[i];
				if (m.role !== 'user') continue;
				const c = typeof m.content === 'string' ? m.content : (m.content || []).filter((p) => p.type === 'text').map((p) => p.text).join(' ');
				return c.replace(/\s+/g, ' ').slice(0, 70);
			}
			return '';
		})();
		console.log(`  ${r.record.id}${r.record.hard ? ' (hard)' : ''}: expected ${r.record.expected}, got ${r.decision.category} (${r.decision.confidence}; ${r.decision.reason}) | ${text}`);
	}
}
if (verbose) {
	console.log('');
	for (const r of results) console.log(`  ${r.record.id} ${r.record.expected} -> ${r.decision.category} ${r.decision.confidence} ${r.decision.reason}`);
}

const times = results.map((r) => r.ns).sort((a, b) => a - b);
const slowest = results.reduce((a, b) => (b.ns > a.ns ? b : a));
const position = results.indexOf(slowest) + 1;
console.log('');
console.log(`classification time per request (${times.length} requests, each timed once, in file order, after the first call):`);
console.log(`  module load (require): ${fmt(loadNs)}; first call (loads the model, compiles and warms up the regexes): ${fmt(firstNs)}`);
console.log(`  p50 ${fmt(quantile(times, 0.5))}   p90 ${fmt(quantile(times, 0.9))}   max ${fmt(times[times.length - 1])}${summary ? '' : ` (${slowest.record.id}, request #${position} of the run)`}   over 1 ms: ${times.filter((t) => t > 1e6).length}, over 5 ms: ${times.filter((t) => t > 5e6).length}`);
const cpuTimes = results.map((r) => r.cpuNs).sort((a, b) => a - b);
console.log(`  CPU time of the same calls: p50 ${fmt(quantile(cpuTimes, 0.5))}   p90 ${fmt(quantile(cpuTimes, 0.9))}   max ${fmt(cpuTimes[cpuTimes.length - 1])}   over 5 ms: ${cpuTimes.filter((t) => t > 5e6).length}; the slowest call's: ${fmt(slowest.cpuNs)}`);
// A single slow measurement can be the machine (scheduling, GC) rather than the request: time
// the five slowest again, 100 times each, so a reproducible slow path shows as such.
const retimed = [...results].sort((a, b) => b.ns - a.ns).slice(0, 5).map((r) => {
	const runs = [];
	for (let i = 0; i < 100; i++) {
		const s = process.hrtime.bigint();
		classifyByRules(r.record.messages, options);
		runs.push(ns(s, process.hrtime.bigint()));
	}
	runs.sort((a, b) => a - b);
	return `${summary ? '' : `${r.record.id} `}${fmt(r.ns)} -> p50 ${fmt(quantile(runs, 0.5))}, max ${fmt(runs[runs.length - 1])}`;
});
console.log(`  the 5 slowest, timed again 100x each: ${retimed.join('; ')}`);
// Each request's own cost, without one-off interference (another process, a GC pause): the
// median of 5 more runs of it. Its maximum is the slowest request, not the slowest moment.
const medians = results
	.map((r) => {
		const runs = [];
		for (let i = 0; i < 5; i++) {
			const s = process.hrtime.bigint();
			classifyByRules(r.record.messages, options);
			runs.push(ns(s, process.hrtime.bigint()));
		}
		return runs.sort((a, b) => a - b)[2];
	})
	.sort((a, b) => a - b);
console.log(`  per request, median of 5 more runs: p50 ${fmt(quantile(medians, 0.5))}   p90 ${fmt(quantile(medians, 0.9))}   max ${fmt(medians[medians.length - 1])}`);
console.log(`  machine: ${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

// 100,000-character documents: with the default threshold they are long_context from their length
// alone; with a threshold above their size the task scan runs, on a bounded prefix and suffix.
const paragraph =
	'The committee reviewed the proposal in detail, discussed the budget, the timeline and the risks, and asked for a revised plan with clearer milestones before the next meeting. ';
const doc = (unit, size) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
const cases = [
	['English prose, summarise', [{ role: 'user', content: `Summarize this document:\n\n${doc(paragraph, 100000)}` }], {}],
	['English prose, threshold 100k tokens', [{ role: 'user', content: `Summarize this document:\n\n${doc(paragraph, 100000)}` }], { longContextTokens: 100000 }],
	['code file, threshold 100k tokens', [{ role: 'user', content: `Review this:\n\n\`\`\`ts\n${doc('export const f = (a: number, b: number): number => a + b; // sum\n', 100000)}\n\`\`\`` }], { longContextTokens: 100000 }],
	['Japanese, threshold 100k tokens', [{ role: 'user', content: `次の文章を要約してください。\n${doc('本契約において、甲は乙に対し必要な情報を適時に提供するものとする。', 100000)}` }], { longContextTokens: 100000 }],
	['one 100k-char word, threshold 100k tokens', [{ role: 'user', content: 'x'.repeat(100000) }], { longContextTokens: 100000 }],
	['100k chars of 1+1=2 ( `a`, threshold 100k tokens', [{ role: 'user', content: doc('1+1=2 ( `a` ', 100000) }], { longContextTokens: 100000 }],
	['30k chars (the character-scan band)', [{ role: 'user', content: doc(paragraph, 31000) }], {}],
];
console.log('');
console.log('100,000-character documents (first call, then p50 and max of 200 more calls):');
for (const [name, messages, opts] of cases) {
	const t0 = process.hrtime.bigint();
	const decision = classifyByRules(messages, opts);
	const first = ns(t0, process.hrtime.bigint());
	const runs = [];
	for (let i = 0; i < 200; i++) {
		const s = process.hrtime.bigint();
		classifyByRules(messages, opts);
		runs.push(ns(s, process.hrtime.bigint()));
	}
	runs.sort((a, b) => a - b);
	console.log(`  ${name.padEnd(44)} -> ${decision.category.padEnd(12)} first ${fmt(first).padStart(9)}   p50 ${fmt(quantile(runs, 0.5)).padStart(9)}   max ${fmt(runs[runs.length - 1]).padStart(9)}`);
}
