#!/usr/bin/env node
/**
 * Trains the Auto-Router's text model and writes nodes/llm/classifier-model.json.
 *
 *   npm run train:router [-- --data FILE.jsonl ...] [--l2 X] [--epochs N] [--min-df N] [--prune X] [--folds N] [--block N] [--validate FILE.jsonl] [--misses] [--dry-run]
 *
 * Data: labelled JSONL in the eval format (test/fixtures/router-train.jsonl by default; --data may
 * be given several times). Only single-message requests in the four text categories (fast,
 * balanced, reasoning, code) are trained on: images and length are rules, and a conversation's
 * context is handled by the classifier's conversation logic, not by the model.
 *
 * Model: multinomial logistic regression over the features of nodes/llm/classifier-features.ts
 * (read from dist/, so the features are exactly the ones classification uses), L2-regularised,
 * trained full-batch with Adam from zero (deterministic: the same data gives the same file), each
 * category weighing the same whatever its share of the data.
 * Features seen in fewer than --min-df requests are dropped; weights are stored as int8, and
 * features whose weights are all under --prune (default 0.05) are left out of the file.
 *
 * Calibration: k-fold cross-validation (--folds, default 5) gives every request a prediction from a
 * model that did not see it; the temperature that makes those probabilities fit best (lowest
 * log-loss) is stored, and the cross-validated accuracy is printed as the honest figure for data
 * like the training data. Folds are made of blocks of --block consecutive lines (default 40): lines
 * written together often share a template, and random-line folds over-estimate (--block 1 shows
 * by how much). --misses lists the cross-validated misses.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const { extractFeatures, GROUP_COUNT, groupScales, TEXT_CATEGORIES } = require(path.join(root, 'dist', 'nodes', 'llm', 'classifier-features.js'));

const args = process.argv.slice(2);
const settings = { data: [], validate: [], l2: 1e-4, epochs: 200, minDf: 2, prune: 0.05, folds: 5, block: 40, dryRun: false, out: path.join(root, 'nodes', 'llm', 'classifier-model.json') };
for (let i = 0; i < args.length; i++) {
	const a = args[i];
	if (a === '--data') settings.data.push(args[++i]);
	else if (a === '--validate') settings.validate.push(args[++i]);
	else if (a === '--l2') settings.l2 = Number(args[++i]);
	else if (a === '--epochs') settings.epochs = Number(args[++i]);
	else if (a === '--min-df') settings.minDf = Number(args[++i]);
	else if (a === '--prune') settings.prune = Number(args[++i]);
	else if (a === '--folds') settings.folds = Number(args[++i]);
	else if (a === '--block') settings.block = Number(args[++i]);
	else if (a === '--out') settings.out = args[++i];
	else if (a === '--dry-run') settings.dryRun = true;
	else if (a === '--misses') settings.misses = true;
	else {
		console.error(`unknown argument ${a}\nusage: npm run train:router [-- --data FILE.jsonl ...] [--l2 X] [--epochs N] [--min-df N] [--prune X] [--folds N] [--block N] [--validate FILE.jsonl] [--misses] [--dry-run]`);
		process.exit(2);
	}
}
if (!settings.data.length) settings.data.push(path.join(root, 'test', 'fixtures', 'router-train.jsonl'));

const K = TEXT_CATEGORIES.length;

/** One request as its unique feature ids and their groups. */
function featurize(text) {
	const ids = [];
	const groups = [];
	const seen = new Set();
	extractFeatures(text, (id, group) => {
		if (seen.has(id)) return;
		seen.add(id);
		ids.push(id);
		groups.push(group);
	});
	return { ids, groups };
}

/** The request's features the vocabulary knows, as rows and values (each group scaled as when classifying). */
function known(e, vocab) {
	const rows = [];
	const groups = [];
	const counts = new Array(GROUP_COUNT).fill(0);
	e.ids.forEach((id, i) => {
		const row = vocab.get(id);
		if (row === undefined) return;
		rows.push(row);
		groups.push(e.groups[i]);
		counts[e.groups[i]]++;
	});
	const scales = groupScales(counts);
	return { rows, values: groups.map((g) => scales[g]) };
}

function load(file) {
	const out = [];
	for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
		const t = line.trim();
		if (!t || t.startsWith('//')) continue;
		const r = JSON.parse(t);
		const k = TEXT_CATEGORIES.indexOf(r.expected);
		if (k < 0 || r.repeat || r.messages.length !== 1 || r.messages[0].role !== 'user' || typeof r.messages[0].content !== 'string') continue;
		out.push({ id: r.id, label: k, hard: Boolean(r.hard), text: r.messages[0].content, ...featurize(r.messages[0].content) });
	}
	return out;
}

const examples = settings.data.flatMap(load);
const labelCounts = TEXT_CATEGORIES.map((_, k) => examples.filter((e) => e.label === k).length);
console.log(`training examples: ${examples.length} (${TEXT_CATEGORIES.map((c, k) => `${c} ${labelCounts[k]}`).join(', ')}) from ${settings.data.map((f) => path.relative(root, f)).join(', ')}`);

/** Trains on `train`; returns { vocab: Map id -> row, W: Float64Array rows*K, b: K }. */
function train(train) {
	const df = new Map();
	for (const e of train) for (const id of e.ids) df.set(id, (df.get(id) ?? 0) + 1);
	const vocab = new Map();
	for (const [id, n] of [...df].sort((a, b) => a[0] - b[0])) if (n >= settings.minDf) vocab.set(id, vocab.size);
	// All requests' features in flat arrays: request i's are at offsets start[i] .. start[i + 1].
	const start = new Int32Array(train.length + 1);
	const cols = [];
	const vals = [];
	const labels = new Int32Array(train.length);
	train.forEach((e, i) => {
		const x = known(e, vocab);
		cols.push(...x.rows);
		vals.push(...x.values);
		labels[i] = e.label;
		start[i + 1] = cols.length;
	});
	const col = Int32Array.from(cols);
	const val = Float64Array.from(vals);
	const W = new Float64Array(vocab.size * K);
	const b = new Float64Array(K);
	const gW = new Float64Array(W.length);
	const gb = new Float64Array(K);
	const mW = new Float64Array(W.length);
	const vW = new Float64Array(W.length);
	const mb = new Float64Array(K);
	const vb = new Float64Array(K);
	const lr = 0.05;
	const [b1, b2, eps] = [0.9, 0.999, 1e-8];
	const n = train.length;
	const logits = new Float64Array(K);
	const p = new Float64Array(K);
	const d = new Float64Array(K);
	// Each category weighs the same in the loss, whatever its share of the data: the requests a
	// router sees need not come in the training data's proportions.
	const counts = new Float64Array(K);
	for (let i = 0; i < n; i++) counts[labels[i]]++;
	const weight = Float64Array.from(counts, (c) => n / (K * Math.max(1, c)));
	for (let epoch = 1; epoch <= settings.epochs; epoch++) {
		gW.fill(0);
		gb.fill(0);
		for (let i = 0; i < n; i++) {
			for (let k = 0; k < K; k++) logits[k] = b[k];
			for (let j = start[i]; j < start[i + 1]; j++) {
				const base = col[j] * K;
				for (let k = 0; k < K; k++) logits[k] += val[j] * W[base + k];
			}
			let top = -Infinity;
			for (let k = 0; k < K; k++) top = Math.max(top, logits[k]);
			let sum = 0;
			for (let k = 0; k < K; k++) sum += p[k] = Math.exp(logits[k] - top);
			for (let k = 0; k < K; k++) {
				d[k] = (weight[labels[i]] * (p[k] / sum - (k === labels[i] ? 1 : 0))) / n;
				gb[k] += d[k];
			}
			for (let j = start[i]; j < start[i + 1]; j++) {
				const base = col[j] * K;
				for (let k = 0; k < K; k++) gW[base + k] += d[k] * val[j];
			}
		}
		const c1 = 1 - b1 ** epoch;
		const c2 = 1 - b2 ** epoch;
		for (let j = 0; j < W.length; j++) {
			const g = gW[j] + settings.l2 * W[j];
			mW[j] = b1 * mW[j] + (1 - b1) * g;
			vW[j] = b2 * vW[j] + (1 - b2) * g * g;
			W[j] -= (lr * (mW[j] / c1)) / (Math.sqrt(vW[j] / c2) + eps);
		}
		for (let k = 0; k < K; k++) {
			mb[k] = b1 * mb[k] + (1 - b1) * gb[k];
			vb[k] = b2 * vb[k] + (1 - b2) * gb[k] * gb[k];
			b[k] -= (lr * (mb[k] / c1)) / (Math.sqrt(vb[k] / c2) + eps);
		}
	}
	return { vocab, W, b };
}

function softmax(logits, temperature) {
	const top = Math.max(...logits);
	const e = Array.from(logits, (l) => Math.exp((l - top) / temperature));
	const s = e.reduce((a, c) => a + c, 0);
	return e.map((x) => x / s);
}

function logitsOf(m, e) {
	const l = Array.from(m.b);
	const x = known(e, m.vocab);
	x.rows.forEach((row, i) => {
		for (let k = 0; k < K; k++) l[k] += x.values[i] * m.W[row * K + k];
	});
	return l;
}

/**
 * The model as shipped: weights as int8 times one scale, features whose every weight is below
 * --prune dropped. Cross-validation measures this form, so its figures are the file's.
 */
function shipped(m) {
	let maxAbs = 0;
	for (const w of m.W) maxAbs = Math.max(maxAbs, Math.abs(w));
	const scale = maxAbs / 127;
	const kept = [];
	for (const [id, row] of m.vocab) {
		const q = [];
		for (let k = 0; k < K; k++) q.push(Math.round(m.W[row * K + k] / scale));
		if (q.some((x) => x !== 0 && Math.abs(x * scale) >= settings.prune)) kept.push({ id, q });
	}
	kept.sort((a, b) => a.id - b.id);
	const vocab = new Map(kept.map(({ id }, row) => [id, row]));
	const W = Float64Array.from(kept.flatMap(({ q }) => q.map((x) => x * scale)));
	return { vocab, W, b: m.b, scale, kept, features: m.vocab.size };
}

// Cross-validation by batch: requests written together (near one another in the file, often
// from one template) would make random-line folds over-estimate, so consecutive blocks of
// --block lines stay in one fold (--block 1: folds of random lines, for comparison).
const foldOf = (i) => Math.floor(i / settings.block) % settings.folds;
const oof = [];
const started = Date.now();
for (let f = 0; f < settings.folds; f++) {
	const m = shipped(train(examples.filter((_, i) => foldOf(i) !== f)));
	examples.forEach((e, i) => {
		if (foldOf(i) === f) oof.push({ e, logits: logitsOf(m, e) });
	});
}
const argmax = (a) => a.indexOf(Math.max(...a));
const cvRight = oof.filter((o) => argmax(o.logits) === o.e.label).length;
console.log(`${settings.folds}-fold cross-validated accuracy (blocks of ${settings.block} lines): ${cvRight}/${oof.length} = ${((100 * cvRight) / oof.length).toFixed(1)}%`);
{
	const hard = oof.filter((o) => o.e.hard);
	const right = hard.filter((o) => argmax(o.logits) === o.e.label).length;
	console.log(`  hard cases ${right}/${hard.length} = ${((100 * right) / hard.length).toFixed(1)}%`);
}
{
	const recalls = TEXT_CATEGORIES.map((_, k) => {
		const mine = oof.filter((o) => o.e.label === k);
		return mine.filter((o) => argmax(o.logits) === k).length / mine.length;
	});
	console.log(`  mean recall over the categories ${((100 * recalls.reduce((a, b) => a + b, 0)) / K).toFixed(1)}%`);
}
for (let k = 0; k < K; k++) {
	const mine = oof.filter((o) => o.e.label === k);
	const right = mine.filter((o) => argmax(o.logits) === k).length;
	console.log(`  ${TEXT_CATEGORIES[k].padEnd(10)} recall ${right}/${mine.length} = ${((100 * right) / mine.length).toFixed(1)}%`);
}

if (settings.misses) {
	for (const o of oof) {
		const k = argmax(o.logits);
		if (k !== o.e.label) console.log(`  miss ${o.e.id}: ${TEXT_CATEGORIES[o.e.label]} -> ${TEXT_CATEGORIES[k]} | ${o.e.text.replace(/\s+/g, ' ').slice(0, 110)}`);
	}
}

// Temperature: the one that minimises the cross-validated log-loss.
let temperature = 1;
let bestLoss = Infinity;
for (let t = 0.3; t <= 4.001; t += 0.05) {
	const loss = oof.reduce((s, o) => s - Math.log(Math.max(1e-12, softmax(o.logits, t)[o.e.label])), 0) / oof.length;
	if (loss < bestLoss) {
		bestLoss = loss;
		temperature = Math.round(t * 100) / 100;
	}
}
console.log(`temperature ${temperature} (cross-validated log-loss ${bestLoss.toFixed(3)})`);
const confidence = (o) => Math.max(...softmax(o.logits, temperature));
// Reliability: how often the cross-validated prediction is right, by confidence band.
const bands = [0.5, 0.6, 0.7, 0.8, 0.9, 1.01];
let from = 0;
const reliability = bands.map((to) => {
	const inBand = oof.filter((o) => confidence(o) >= from && confidence(o) < to);
	const right = inBand.filter((o) => argmax(o.logits) === o.e.label).length;
	const label = `${from.toFixed(1)}-${Math.min(to, 1).toFixed(1)}: ${inBand.length ? ((100 * right) / inBand.length).toFixed(0) : '-'}% right of ${inBand.length}`;
	from = to;
	return label;
});
console.log(`calibration (confidence band: share right): ${reliability.join('; ')}`);
// Hybrid mode on the cross-validated predictions, with an LLM that answers right.
const hybrid = [0.6, 0.7, 0.8, 0.9].map((t) => {
	const asked = oof.filter((o) => confidence(o) < t).length;
	const right = oof.filter((o) => confidence(o) < t || argmax(o.logits) === o.e.label).length;
	return `${t}: ${((100 * asked) / oof.length).toFixed(1)}% asked, ${((100 * right) / oof.length).toFixed(1)}% right`;
});
console.log(`hybrid, cross-validated (threshold: share sent to an LLM that answers right, accuracy): ${hybrid.join('; ')}`);

const final = shipped(train(examples));
for (const file of settings.validate) {
	const held = load(file);
	const right = held.filter((e) => argmax(logitsOf(final, e)) === e.label).length;
	console.log(`validation on ${path.relative(root, file)} (single-message text requests): ${right}/${held.length} = ${((100 * right) / held.length).toFixed(1)}%`);
}
const idBytes = Buffer.alloc(final.kept.length * 4);
const weightBytes = Buffer.alloc(final.kept.length * K);
let last = 0;
final.kept.forEach(({ id, q }, r) => {
	idBytes.writeUInt32LE((id - last) >>> 0, r * 4);
	last = id;
	q.forEach((x, k) => weightBytes.writeInt8(x, r * K + k));
});
const file = {
	categories: [...TEXT_CATEGORIES],
	temperature,
	bias: Array.from(final.b, (x) => Math.round(x * 1e4) / 1e4),
	scale: Number(final.scale.toPrecision(6)),
	trainedOn: `${examples.length} requests from ${settings.data.map((f) => path.basename(f)).join(', ')}; ${settings.folds}-fold CV accuracy (blocks of ${settings.block} lines) ${((100 * cvRight) / oof.length).toFixed(1)}%`,
	ids: idBytes.toString('base64'),
	weights: weightBytes.toString('base64'),
};
const json = `${JSON.stringify(file, null, '\t')}\n`;
console.log(`model: ${final.kept.length} features (of ${final.features}), ${(json.length / 1024).toFixed(0)} KiB; trained in ${((Date.now() - started) / 1000).toFixed(1)} s`);
if (settings.dryRun) console.log('dry run: model not written');
else {
	fs.writeFileSync(settings.out, json);
	console.log(`wrote ${path.relative(root, settings.out)}`);
}
