/**
 * The Auto-Router's text model: a multinomial logistic regression over the features of
 * classifier-features.ts, trained offline by `npm run train:router` (scripts/train-router.js) on
 * test/fixtures/router-train.jsonl and shipped as data (classifier-model.json). It scores the four
 * text categories; images and length are decided by rules before it runs.
 *
 * The file holds the feature ids (sorted, delta-coded 32-bit) and their weights (int8, one per
 * category, times `scale`), base64. On the first classification (not when the module loads, so
 * n8n's startup does not pay for it) they go into one open-addressing table (Table), so a
 * feature costs a hash probe and four multiply-adds. Probabilities are softmax(logits /
 * temperature), with the temperature fitted on cross-validated predictions, so a confidence of 0.8
 * is right about 80% of the time: that is what the Hybrid threshold compares against.
 */
import { extractFeatures, FACT_NAMES, GROUP_COUNT, groupScales, TEXT_CATEGORIES, wordText, type TextCategory, type TextView } from './classifier-features';

const K = TEXT_CATEGORIES.length;

export interface ModelFile {
	categories: string[];
	temperature: number;
	bias: number[];
	scale: number;
	/** Sorted feature ids, delta-coded, as little-endian uint32, base64. */
	ids: string;
	/** int8 weights, K per feature in id order, base64. */
	weights: string;
	trainedOn: string;
}

export interface ModelScore {
	category: TextCategory;
	/** Calibrated probability of `category`. */
	confidence: number;
	/** Calibrated probability of each text category, in TEXT_CATEGORIES order. */
	probabilities: number[];
	/** The words and facts that pushed most towards `category`, most first. */
	evidence: string[];
}

/** Pulls smaller than this are not worth naming in a reason. */
const MIN_PULL = 0.05;

/**
 * Feature id -> row, by open addressing in one array of [id, row] pairs (one cache line per
 * probe), and the rows' int8 weights (K bytes each): small enough to stay in the CPU cache.
 */
class Table {
	readonly slots: Int32Array;
	readonly weights: Int8Array;
	readonly mask: number;

	constructor(file: ModelFile) {
		if (file.categories.join() !== TEXT_CATEGORIES.join()) throw new Error('classifier-model.json: categories do not match');
		const idBytes = Buffer.from(file.ids, 'base64');
		const count = idBytes.length / 4;
		this.weights = new Int8Array(Buffer.from(file.weights, 'base64'));
		if (this.weights.length !== count * K) throw new Error('classifier-model.json: ids and weights do not match');
		let size = 1;
		while (size < count * 2) size <<= 1;
		this.mask = size - 1;
		this.slots = new Int32Array(size * 2).fill(-1);
		let id = 0;
		for (let r = 0; r < count; r++) {
			id = (id + idBytes.readUInt32LE(r * 4)) >>> 0;
			let slot = slotOf(id) & this.mask;
			while (this.slots[slot * 2 + 1] !== -1) slot = (slot + 1) & this.mask;
			this.slots[slot * 2] = id | 0;
			this.slots[slot * 2 + 1] = r;
		}
	}

	row(id: number): number {
		const key = id | 0;
		let slot = slotOf(id) & this.mask;
		for (;;) {
			const row = this.slots[slot * 2 + 1];
			if (row === -1 || this.slots[slot * 2] === key) return row;
			slot = (slot + 1) & this.mask;
		}
	}
}

/** FNV ids are well mixed in their high bits; fold them down for the table slot. */
const slotOf = (id: number) => (id ^ (id >>> 15)) >>> 0;

/** The model file, its table and a per-row stamp, built on the first classification. */
interface Loaded {
	file: ModelFile;
	table: Table;
	bias: Float64Array;
	/** A stamp per row, so each feature counts once per text. */
	seen: Int32Array;
}
let loaded: Loaded | undefined;

function load(): Loaded {
	if (!loaded) {
		// eslint-disable-next-line @typescript-eslint/no-require-imports -- the model is read on first use, not when n8n loads the node
		const file = require('./classifier-model.json') as ModelFile;
		const table = new Table(file);
		loaded = { file, table, bias: Float64Array.from(file.bias), seen: new Int32Array(table.weights.length / K) };
	}
	return loaded;
}

// Per-call scratch, reused (classification is synchronous): the rows, groups and words of the
// features found.
let stamp = 0;
const hitRows: number[] = [];
const hitGroups: number[] = [];
const hitWords: number[] = [];
const known = new Int32Array(GROUP_COUNT);
const logits = new Float64Array(K);
const scaleScratch: number[] = new Array<number>(GROUP_COUNT);
let current: Loaded;

function collect(id: number, group: number, word: number): void {
	const row = current.table.row(id);
	if (row < 0 || current.seen[row] === stamp) return;
	current.seen[row] = stamp;
	known[group]++;
	hitRows.push(row);
	hitGroups.push(group);
	hitWords.push(word);
}

/** Scores a text for the four text categories; deterministic. */
export function scoreText(text: string): ModelScore {
	current = load();
	const { table, bias, file: model } = current;
	stamp = (stamp + 1) | 0;
	if (stamp === 0) {
		current.seen.fill(0);
		stamp = 1;
	}
	hitRows.length = 0;
	hitGroups.length = 0;
	hitWords.length = 0;
	known.fill(0);
	const view = extractFeatures(text, collect);
	const scales = groupScales(known, scaleScratch);

	logits.fill(0);
	for (let i = 0; i < hitRows.length; i++) {
		const base = hitRows[i] * K;
		const s = scales[hitGroups[i]];
		for (let k = 0; k < K; k++) logits[k] += s * table.weights[base + k];
	}
	for (let k = 0; k < K; k++) logits[k] = bias[k] + model.scale * logits[k];
	let best = 0;
	let second = 1;
	for (let k = 1; k < K; k++) {
		if (logits[k] > logits[best]) {
			second = best;
			best = k;
		} else if (k !== second && logits[k] > logits[second]) second = k;
	}
	const top = logits[best];
	let sum = 0;
	for (let k = 0; k < K; k++) sum += logits[k] = Math.exp((logits[k] - top) / model.temperature);
	const probabilities = Array.from(logits, (p) => p / sum);
	return { category: TEXT_CATEGORIES[best], confidence: probabilities[best], probabilities, evidence: evidence(view, best, second, scales, model.scale, table.weights) };
}

/** Pull per fact, then per word of the text (one slot more for a text without words), reused. */
let pull = new Float64Array(512);

/**
 * The words and facts that favour the winner most over the runner-up: each word gets the pull of
 * its own features (the word, its pairs, its character n-grams), each fact its own.
 */
function evidence(view: TextView, best: number, second: number, scales: number[], scale: number, weights: Int8Array): string[] {
	const facts = FACT_NAMES.length;
	const size = facts + view.wordStart.length;
	if (pull.length <= size) pull = new Float64Array(size + 1);
	pull.fill(0, 0, size + 1);
	for (let i = 0; i < hitRows.length; i++) {
		const base = hitRows[i] * K;
		const at = hitWords[i] >= 0 ? facts + hitWords[i] : -1 - hitWords[i];
		pull[at] += scale * scales[hitGroups[i]] * (weights[base + best] - weights[base + second]);
	}
	const out: string[] = [];
	while (out.length < 3) {
		let top = -1;
		for (let i = 0; i < size; i++) if (pull[i] > MIN_PULL && (top < 0 || pull[i] > pull[top])) top = i;
		if (top < 0) break;
		pull[top] = 0;
		const text = top < facts ? FACT_NAMES[top] : wordText(view, top - facts);
		const name = top < facts ? text : text && `"${text}"`;
		// "a question" and "a question in a short message" are one thing to a reader.
		if (name && !out.some((o) => o.includes(name) || name.includes(o))) out.push(name);
	}
	return out;
}

/** What the shipped model is (loads it). */
export function modelInfo(): { features: number; trainedOn: string } {
	const { table, file } = load();
	return { features: table.weights.length / K, trainedOn: file.trainedOn };
}
