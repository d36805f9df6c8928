/**
 * What the Auto-Router's classifier model reads in a text: hashed features, each emitted once per
 * occurrence through a callback (no arrays or strings are built per feature, so a request costs
 * microseconds). The same function feeds training (scripts/train-router.js, through dist/) and
 * classification, so the two cannot drift apart.
 *
 * Features, in seven groups. A feature counts once per text, whatever its repeats; each group's
 * features are scaled by 1/sqrt(how many of them the model knows in this text), so a long text
 * does not outvote a short one by its size alone (facts count 1 each).
 * - words: every word. Digits become 0 ("2024" -> "0000"); a CJK character is a word of its own.
 * - pairs: every pair of neighbouring words (for CJK, character bigrams), in a group of their own:
 *   there are about as many as words, and mixed with them they would halve the words' weight.
 * - head and tail: the first and the last EDGE_WORDS words and their concepts again, each in its
 *   own group: the instruction usually comes first (or last, after a pasted text), and in its own
 *   group it keeps its weight however long the pasted text is.
 * - chars: character 3- and 4-grams of the lowercased text with whitespace collapsed, so "terraform"
 *   still says something when the word itself was never seen, and code punctuation ("();", "=> ")
 *   is seen too.
 * - concepts: words that mean the same in many languages (classifier-lexicon.ts).
 * - facts: language-independent facts about the text (a code block, a stack trace, a formula,
 *   several numbers, its length, ...).
 *
 * The text is read on a bounded prefix and suffix, so a 100,000-character document costs no more
 * than a 1,600-character one.
 */

import { CONCEPTS, STOPWORDS } from './classifier-lexicon';

/** The categories the model scores (images and length are rules). */
export const TEXT_CATEGORIES = ['fast', 'balanced', 'reasoning', 'code'] as const;
export type TextCategory = (typeof TEXT_CATEGORIES)[number];

export const GROUP_WORDS = 0;
export const GROUP_PAIRS = 1;
export const GROUP_HEAD = 2;
export const GROUP_TAIL = 3;
export const GROUP_CHARS = 4;
export const GROUP_CONCEPTS = 5;
export const GROUP_FACTS = 6;
export const GROUP_COUNT = 7;

/** A feature's value from how many features of its group the model knows in the text; facts count 1 each. */
export function groupScales(counts: ArrayLike<number>, out: number[] = new Array<number>(GROUP_COUNT)): number[] {
	for (let g = 0; g < GROUP_COUNT; g++) out[g] = g === GROUP_FACTS ? 1 : 1 / Math.sqrt(Math.max(1, counts[g]));
	return out;
}

/**
 * Receives one feature: its 32-bit id, its group, and what names it in a reason: the index of
 * its word, or for a fact -1 - its index in FACT_NAMES.
 */
export type Emit = (id: number, group: number, word: number) => void;

/** The normalized text and its words, to name features in a decision's reason. */
export interface TextView {
	/** Lowercased, whitespace collapsed, digits as 0, with a space at both ends. */
	chars: Uint16Array;
	wordStart: number[];
	wordEnd: number[];
}

/** Scan limits: a long text is read on its first HEAD and last TAIL characters. */
const HEAD = 1200;
const TAIL = 400;
const EDGE_WORDS = 8;
const MIN_GRAM = 3;
const MAX_GRAM = 4;

/** Language-independent facts, matched on the original text (SQL keywords and camelCase need its case). */
interface Fact {
	name: string;
	re: RegExp;
	/** Emitted once per match, up to `cap` times: three lines of code syntax say more than one. */
	cap: number;
}

const FACTS: Fact[] = [
	{ name: 'a code block', re: /```/g, cap: 1 },
	{
		name: 'a stack trace or error code',
		re: /Traceback \(most recent call last\)|^[ \t]+at [^\n]{1,200}:\d+(?::\d+)?\)?[ \t]*$|\b[A-Z][A-Za-z]{1,40}(?:Error|Exception)\b|\bE(?:CONNREFUSED|CONNRESET|NOENT|ACCES|ADDRINUSE|PERM|TIMEDOUT|PIPE|HOSTUNREACH|NOTFOUND|RESOLVE)\b|\bline \d+, in\b|panicked at|Segmentation fault/gm,
		cap: 1,
	},
	{ name: 'SQL', re: /\bSELECT\b[^;]{1,300}?\bFROM\b|\bINSERT\s+INTO\b|\bCREATE\s+(?:TABLE|INDEX|VIEW)\b|\bUPDATE\s+\w+\s+SET\b/g, cap: 1 },
	{ name: 'a shell command', re: /^[ \t]*(?:\$ |> )?(?:sudo|npm|npx|pip|git|docker|kubectl|curl|wget|chmod|chown|grep|ssh|apt(?:-get)?|brew|yarn|systemctl) [^\n]{0,120}$/gm, cap: 1 },
	{
		name: 'code syntax',
		re: /^[ \t]*(?:def |class \w|function |async function |const |let |var |import |from \S+ import|export |return\b|public |private |func |fn |#include|package \w|using \w|location |server \{|if \(|for \(|while \(|try:|except\b|catch\b)|^[ \t]*(?:for|if|elif|while|with)\b[^\n]{1,80}:[ \t]*$|^[ \t]*[A-Za-z_][\w.]{0,40}[ \t]*=[ \t]*(?:\[|\{|\(|'|"|\d+[ \t]*$|[A-Za-z_][\w.]{0,40}\()|[{};][ \t]*$|=>|!==|===|&&|\|\||::|\w\+\+/gm,
		cap: 3,
	},
	{ name: 'a file name', re: /\w\.(?:py|js|mjs|cjs|ts|tsx|jsx|java|go|rs|cpp|hpp|rb|php|sh|ps1|ya?ml|toml|ini|sql|json|xml|html|css|scss|vue|kt|swift|cs|ipynb|conf|tf|log)\b/g, cap: 1 },
	{ name: 'inline code', re: /`[^`\n]{1,80}`/g, cap: 2 },
	// camelCase (not a brand: "GitHub", "iPhone"), snake_case, a call.
	{ name: 'identifiers', re: /\b[a-z][a-z0-9]+[A-Z]|[a-z]_[a-z]|\w\([^()\n]{0,60}\)/g, cap: 2 },
	{ name: 'markup', re: /<\/?[a-z][a-z0-9]*(?:\s[^<>\n]{0,80})?>/g, cap: 1 },
	{ name: 'a JSON object', re: /\{\s*"[^"\n]{1,40}"\s*:/g, cap: 1 },
	{ name: 'a formula', re: /[\w)][ \t]*(?:\^|\*\*)|[²³√∑∫]|\b\d+[ \t]*[-+×÷*/][ \t]*\d+[^\n=]{0,20}=|=[ \t]*-?\d+\b[ \t]*$|\b[x-z][ \t]*=[ \t]*\?|\b\d+[ \t]*[+\-*/×÷][ \t]*[a-z]\b|\b[a-z][ \t]*[+\-*/×÷=][ \t]*\d/gm, cap: 1 },
	{ name: 'a quoted text', re: /"[^"\n]{2,}"|“[^”\n]{2,}”|«[^»\n]{2,}»|„[^“\n]{2,}“|「[^」\n]{1,}」|'[^'\n]{6,}'/g, cap: 1 },
	{ name: 'a question', re: /[?？]/g, cap: 1 },
	{ name: 'a money amount', re: /[$€£¥₹]|R\$|\b(?:usd|eur|gbp|euros?|dollars?)\b|円|元/gi, cap: 1 },
	{ name: 'a percentage', re: /\d[ \t]*%|\bpercent\b|prozent|por ?ciento|pour ?cent/gi, cap: 1 },
	{ name: 'a unit', re: /\d[ \t]*(?:km\/h|mph|km|kg|cm|mm|m²|m|g|l|h|min|hours?|minutes?|days?|weeks?|months?|years?|stunden|tage|jahre|heures|jours|horas|días|dias|時間|日|年|個|人|円)\b/gi, cap: 1 },
	{ name: 'several lines', re: /\n[^\n]*\n[^\n]*\n/g, cap: 1 },
];

const NUMBER = /\d+(?:[.,:]\d+)*/g;

/** Size facts: the message's length in words, bucketed. */
const SIZES: Array<[number, string]> = [
	[1, 'one word'],
	[3, 'two or three words'],
	[6, 'a very short message'],
	[12, 'a short message'],
	[25, 'a medium message'],
	[50, 'a long message'],
	[120, 'a very long message'],
	[Infinity, 'a document'],
];
const NUMBER_FACTS = ['no number', 'one number', 'two numbers', 'several numbers', 'many numbers'];

/** Fact names by index (a fact's word is -1 - its index). */
export const FACT_NAMES: string[] = [
	...FACTS.flatMap((f) => Array.from({ length: f.cap }, (_, k) => (k === 0 ? f.name : `${f.name} (x${k + 1})`))),
	...SIZES.map(([, name]) => name),
	...NUMBER_FACTS,
	// Numbers and a question mean one thing in a short message (a word problem) and another in a
	// pasted text (its data): the model sees them together with the size.
	...NUMBER_FACTS.flatMap((n) => SIZES.map(([, size]) => `${n} in ${size}`)),
	...SIZES.map(([, size]) => `a question in ${size}`),
];
const FACT_BASE: number[] = [];
{
	let at = 0;
	for (const f of FACTS) {
		FACT_BASE.push(at);
		at += f.cap;
	}
}
const SIZE_BASE = FACT_BASE[FACT_BASE.length - 1] + FACTS[FACTS.length - 1].cap;
const NUMBER_BASE = SIZE_BASE + SIZES.length;
const NUMBER_SIZE_BASE = NUMBER_BASE + NUMBER_FACTS.length;
const QUESTION_SIZE_BASE = NUMBER_SIZE_BASE + NUMBER_FACTS.length * SIZES.length;
const QUESTION_FACT = FACTS.findIndex((f) => f.name === 'a question');

// FNV-1a, 32 bits. A feature id is the hash of a kind letter and the feature's characters.
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const step = (h: number, c: number) => Math.imul(h ^ c, FNV_PRIME);
const KIND_WORD = 0x77; // w
const KIND_PAIR = 0x70; // p
const KIND_HEAD = 0x68; // h
const KIND_TAIL = 0x74; // t
const KIND_GRAM = 0x67; // g
const KIND_FACT = 0x66; // f
const KIND_CONCEPT = 0x63; // c
/** Mixes two hashes (a pair of words, a word and its kind). */
const mix = (a: number, b: number) => step(step(a, b & 0xffff), b >>> 16) >>> 0;

const hashOf = (kind: number, text: string) => {
	let h = step(FNV_OFFSET, kind);
	for (let i = 0; i < text.length; i++) h = step(h, text.charCodeAt(i));
	return h >>> 0;
};
const FACT_IDS = FACT_NAMES.map((name) => hashOf(KIND_FACT, name));

/** A letter of a word: Latin, Greek, Cyrillic, Hangul and digits (the text is lowercased and digits are 0). */
const isWordChar = (c: number) => (c >= 0x61 && c <= 0x7a) || c === 0x30 || (c >= 0xdf && c <= 0x24f && c !== 0xf7) || (c >= 0x370 && c <= 0x52f) || (c >= 0xac00 && c <= 0xd7af);
/** Kana and CJK ideographs: each character is a word of its own. */
const isCjk = (c: number) => (c >= 0x3040 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff);
const isSpace = (c: number) => c <= 0x20 || c === 0xa0 || c === 0x3000 || c === 0x2028 || c === 0x2029;

/**
 * The lexicon as two tables keyed by the same hash as a word feature: whole words, and stems
 * (matched against every prefix of a word, which the word hash passes through anyway) and CJK
 * entries (matched on their first CJK_SPAN characters against the characters from each CJK
 * character on).
 */
const CJK_SPAN = 4;
const CONCEPT_NAMES = Object.keys(CONCEPTS);
const CONCEPT_IDS = CONCEPT_NAMES.map((name) => hashOf(KIND_CONCEPT, name));
const HEAD_CONCEPT_IDS = CONCEPT_IDS.map((id) => mix(id, KIND_HEAD));
const TAIL_CONCEPT_IDS = CONCEPT_IDS.map((id) => mix(id, KIND_TAIL));
interface Lexicon {
	wholeWords: Map<number, number[]>;
	prefixes: Map<number, number[]>;
}
let lexicon: Lexicon | undefined;

/** Built on the first text, not when the module loads (n8n's startup should not pay for it). */
function buildLexicon(): Lexicon {
	const wholeWords = new Map<number, number[]>();
	const prefixes = new Map<number, number[]>();
	CONCEPT_NAMES.forEach((name, concept) => {
		for (const entry of CONCEPTS[name].split(' ')) {
			const stem = entry.endsWith('*');
			const cjk = isCjk(entry.charCodeAt(0));
			// An entry's id is its word's id (hashOf(KIND_WORD, ...)), computed in place; digits are 0
			// in the text ("ec2" reads "ec0").
			const end = cjk ? Math.min(entry.length, CJK_SPAN) : stem ? entry.length - 1 : entry.length;
			let h = step(FNV_OFFSET, KIND_WORD);
			let valid = end >= (stem ? 3 : 1);
			for (let i = 0; i < end; i++) {
				let c = entry.charCodeAt(i);
				if (c >= 0x31 && c <= 0x39) c = 0x30;
				valid &&= cjk ? isCjk(c) : isWordChar(c);
				h = step(h, c);
			}
			if (!valid) throw new Error(`classifier-lexicon.ts: "${entry}" in ${name} can never match a word`);
			const table = stem || cjk ? prefixes : wholeWords;
			const id = h >>> 0;
			const list = table.get(id);
			if (!list) table.set(id, [concept]);
			else if (!list.includes(concept)) list.push(concept);
		}
	});
	return { wholeWords, prefixes };
}

export function bounded(text: string, head = HEAD, tail = TAIL): string {
	return text.length <= head + tail ? text : `${text.slice(0, head)}\n${text.slice(text.length - tail)}`;
}

// Scratch reused by every call (the returned view is valid until the next call).
let buffer = new Uint16Array(HEAD + TAIL + 8);
const wordStart: number[] = [];
const wordEnd: number[] = [];

/**
 * Emits every feature of `text` (read on a bounded prefix and suffix) and returns the view that
 * names them. Deterministic: the same text always gives the same features in the same order.
 */
export function extractFeatures(text: string, emit: Emit): TextView {
	lexicon ??= buildLexicon();
	const { wholeWords, prefixes } = lexicon;
	const window = bounded(text);
	const lower = window.toLowerCase();

	// 1. Normalize into a buffer: whitespace collapsed, digits as 0, a space at both ends.
	if (buffer.length < lower.length + 2) buffer = new Uint16Array(lower.length + 2);
	const chars = buffer;
	let n = 0;
	chars[n++] = 0x20;
	for (let i = 0; i < lower.length; i++) {
		let c = lower.charCodeAt(i);
		if (isSpace(c)) {
			if (chars[n - 1] !== 0x20) chars[n++] = 0x20;
			continue;
		}
		if (c >= 0x31 && c <= 0x39) c = 0x30;
		chars[n++] = c;
	}
	if (chars[n - 1] !== 0x20) chars[n++] = 0x20;

	// 2. Words, their pairs and the head words.
	wordStart.length = 0;
	wordEnd.length = 0;
	let cjk = 0;
	for (let i = 0; i < n; ) {
		const c = chars[i];
		if (isCjk(c)) {
			wordStart.push(i);
			wordEnd.push(i + 1);
			cjk++;
			i++;
		} else if (isWordChar(c)) {
			const start = i;
			while (i < n && isWordChar(chars[i])) i++;
			wordStart.push(start);
			wordEnd.push(i);
		} else i++;
	}
	let previous = 0;
	const tailFrom = wordStart.length - EDGE_WORDS;
	const concept = (list: number[] | undefined, w: number) => {
		if (!list) return;
		for (let i = 0; i < list.length; i++) {
			emit(CONCEPT_IDS[list[i]], GROUP_CONCEPTS, w);
			if (w < EDGE_WORDS) emit(HEAD_CONCEPT_IDS[list[i]], GROUP_HEAD, w);
			if (w >= tailFrom) emit(TAIL_CONCEPT_IDS[list[i]], GROUP_TAIL, w);
		}
	};
	for (let w = 0; w < wordStart.length; w++) {
		let h = step(FNV_OFFSET, KIND_WORD);
		const start = wordStart[w];
		if (isCjk(chars[start])) {
			// A CJK entry may span the next characters (each a word of its own).
			let span = h;
			for (let i = start; i < start + CJK_SPAN && i < n && isCjk(chars[i]); i++) {
				span = step(span, chars[i]);
				concept(prefixes.get(span >>> 0), w);
			}
			h = step(h, chars[start]);
		} else {
			for (let i = start; i < wordEnd[w]; i++) {
				h = step(h, chars[i]);
				if (i - start >= 2 && i < wordEnd[w] - 1) concept(prefixes.get(h >>> 0), w);
			}
			concept(prefixes.get(h >>> 0), w);
			concept(wholeWords.get(h >>> 0), w);
		}
		const word = h >>> 0;
		emit(word, GROUP_WORDS, w);
		if (w < EDGE_WORDS) emit(mix(word, KIND_HEAD), GROUP_HEAD, w);
		if (w >= tailFrom) emit(mix(word, KIND_TAIL), GROUP_TAIL, w);
		if (w > 0) emit(mix(mix(previous, KIND_PAIR), word), GROUP_PAIRS, w - 1);
		previous = word;
	}

	// 3. Character n-grams, each credited to the word it starts in (or the next one; in a text
	// without words, to a word index past its end, which names nothing).
	let word = 0;
	for (let i = 0; i + MIN_GRAM <= n; i++) {
		while (word < wordStart.length - 1 && wordEnd[word] <= i) word++;
		let h = step(FNV_OFFSET, KIND_GRAM);
		for (let k = 0; k < MAX_GRAM && i + k < n; k++) {
			h = step(h, chars[i + k]);
			if (k + 1 >= MIN_GRAM) emit(h >>> 0, GROUP_CHARS, word);
		}
	}

	// 4. Facts, on the original case (SQL keywords, camelCase) of the same window.
	const fact = (index: number) => emit(FACT_IDS[index], GROUP_FACTS, -1 - index);
	const words = wordStart.length - cjk + Math.ceil(cjk / 2);
	const size = SIZES.findIndex(([max]) => words <= max);
	for (let f = 0; f < FACTS.length; f++) {
		const re = FACTS[f].re;
		re.lastIndex = 0;
		let count = 0;
		let m: RegExpExecArray | null;
		while (count < FACTS[f].cap && (m = re.exec(window)) !== null) {
			if (m[0].length === 0) re.lastIndex++;
			fact(FACT_BASE[f] + count);
			count++;
		}
		if (f === QUESTION_FACT && count) fact(QUESTION_SIZE_BASE + size);
	}
	fact(SIZE_BASE + size);
	NUMBER.lastIndex = 0;
	let numbers = 0;
	while (numbers < 6 && NUMBER.exec(window) !== null) numbers++;
	const numberBucket = numbers >= 6 ? 4 : numbers >= 3 ? 3 : numbers;
	fact(NUMBER_BASE + numberBucket);
	fact(NUMBER_SIZE_BASE + numberBucket * SIZES.length + size);

	return { chars, wordStart, wordEnd };
}

/**
 * The text of word `w` in a view, for reasons: a CJK character with the next one (alone it says
 * little), or undefined for a word that says nothing by itself ("a", "0", "with", "てく").
 */
export function wordText(view: TextView, w: number): string | undefined {
	const start = view.wordStart[w];
	let end = view.wordEnd[w];
	if (isCjk(view.chars[start])) {
		if (isCjk(view.chars[end])) end++;
		// Hiragana alone are particles and endings ("てく", "くだ").
		if (view.chars.subarray(start, end).every((c) => c >= 0x3040 && c <= 0x309f)) return undefined;
	} else if (end - start < 3 || view.chars.subarray(start, end).every((c) => c === 0x30)) return undefined;
	const text = String.fromCharCode(...view.chars.subarray(start, end));
	return STOPWORDS.has(text) ? undefined : text;
}
