/**
 * The Auto-Router's local classifier ("Rules" in the node): deterministic, no network, no n8n.
 *
 * Order of decisions:
 * 1. any image part anywhere in the conversation -> vision;
 * 2. estimated tokens of the whole conversation over the threshold -> long_context
 *    (length decides even when the task is simple);
 * 3. a last user turn that is only a greeting or thanks -> fast;
 * 4. otherwise a text model (classifier-model.ts: logistic regression over words, character
 *    n-grams, multilingual concepts and facts such as "a code block", trained offline) reads the
 *    last user turn and picks fast, balanced, reasoning or code, with a calibrated confidence.
 *    Around it, the conversation: a system prompt that describes the task itself ("translate the
 *    user's message", "output only SQL") decides when the model reads a task in it; a persona
 *    ("you are a senior Python developer") is not read. A short follow-up ("now make it return a
 *    list", "and if two of them refuse?") continues the task of the user turn before.
 * The phrase lists for the conversation rules are data, in classifier-lexicon.ts.
 *
 * Every decision has a confidence (the model's calibrated probability; Hybrid mode asks an LLM
 * below a threshold) and a reason naming what decided it: the rule, or the words and facts that
 * pulled most towards the category.
 *
 * Speed: the model reads a bounded prefix and suffix of a long message, and the length check reads
 * string lengths (it scans characters only in the narrow band where CJK text could tip the estimate).
 * Requiring this module is cheap: the model is read and the regexes warmed up on the first call.
 */
import type { Category } from './catalog';
import { BACK_REFERENCES, DIRECTIVES, FILLER, FOLLOW_UP_STARTS, GREETINGS, TOPIC_SWITCHES } from './classifier-lexicon';
import { TEXT_CATEGORIES } from './classifier-features';
import { scoreText, type ModelScore } from './classifier-model';
import type { ChatMessage } from './request';

export const DEFAULT_LONG_CONTEXT_TOKENS = 8000;

export interface RulesOptions {
	/** Estimated tokens above which a conversation is long_context. Default 8000. */
	longContextTokens?: number;
}

export interface RouterDecision {
	category: Category;
	/** 0..1: how sure the classifier is. Hybrid mode asks an LLM below a threshold. */
	confidence: number;
	/** A short human-readable reason. */
	reason: string;
	/** The text model's calibrated probability per text category, when the model decided. */
	probabilities?: Partial<Record<Category, number>>;
}

/**
 * Latin-script entries match whole words; CJK entries match anywhere. Explicit letter ranges
 * rather than \p{L}: Unicode property classes make V8 compile a regex for milliseconds.
 */
const LETTER = 'a-z0-9_\\u00df-\\u024f\\u0400-\\u04ff';
const CJK = /[\u3040-\u9fff\uac00-\ud7af]/;
function phrases(list: string[], anchored: boolean): RegExp {
	const latin = list.filter((p) => !CJK.test(p));
	const cjk = list.filter((p) => CJK.test(p));
	const body = [`(?:^|[^${LETTER}])(?:${latin.join('|')})(?![${LETTER}])`, ...(cjk.length ? [`(?:${cjk.join('|')})`] : [])].join('|');
	return new RegExp(anchored ? `^(?:${body})` : body, 'g');
}
const GREETING_RE = phrases(GREETINGS, false);
const FOLLOW_UP_START_RE = phrases(FOLLOW_UP_STARTS, true);
const BACK_REFERENCE_RE = phrases(BACK_REFERENCES, false);
const TOPIC_SWITCH_RE = phrases(TOPIC_SWITCHES, false);
const DIRECTIVE_RE = phrases(DIRECTIVES, false);
const matches = (re: RegExp, text: string) => {
	re.lastIndex = 0;
	return re.test(text);
};
const PUNCT = /[\s!?.,;:¡¿。、！？…~'"“”«»()-]+/g;

/** Whole-message small talk: greetings and thanks with at most a few filler words around them. */
function isSmallTalk(text: string): boolean {
	if (text.length > 80) return false;
	const stripped = text.toLowerCase().replace(PUNCT, ' ').trim();
	if (!stripped) return false;
	let found = false;
	const rest = stripped.replace(GREETING_RE, () => {
		found = true;
		return ' ';
	});
	return found && rest.split(' ').every((word) => !word || FILLER.has(word));
}

/** Text of a message's content (strings and text parts), whatever its role. */
export function textOf(message: ChatMessage): string {
	const content = (message as { content?: unknown }).content;
	if (typeof content === 'string') return content;
	if (!Array.isArray(content)) return '';
	let out = '';
	for (const part of content) {
		if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
			out += (out ? '\n' : '') + (part as { text: string }).text;
		}
	}
	return out;
}

/** The system (and developer) messages' text, joined. */
export function systemTextOf(messages: readonly ChatMessage[]): string {
	return messages
		.filter((m) => m?.role === 'system' || m?.role === 'developer')
		.map(textOf)
		.join('\n');
}

function hasImage(message: ChatMessage): boolean {
	const content = (message as { content?: unknown }).content;
	if (!Array.isArray(content)) return false;
	for (const part of content) {
		const type = part && typeof part === 'object' ? (part as { type?: unknown }).type : undefined;
		if (type === 'image_url' || type === 'image' || type === 'input_image') return true;
	}
	return false;
}

/** Characters of everything the model reads: contents and tool-call arguments. */
function collectTexts(messages: ChatMessage[]): string[] {
	const texts: string[] = [];
	for (const message of messages) {
		const text = textOf(message);
		if (text) texts.push(text);
		const calls = (message as { tool_calls?: Array<{ function?: { arguments?: unknown; name?: unknown } }> }).tool_calls;
		if (Array.isArray(calls)) {
			for (const call of calls) {
				if (typeof call?.function?.arguments === 'string') texts.push(call.function.arguments);
			}
		}
	}
	return texts;
}

const isWide = (c: number) => (c >= 0x3040 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af) || (c >= 0xff00 && c <= 0xffef);

/** CJK characters in a text: counted exactly up to 2,048 characters, else from 4 fixed 512-character samples. */
function wideCount(text: string): number {
	const n = text.length;
	if (n <= 2048) {
		let wide = 0;
		for (let i = 0; i < n; i++) if (isWide(text.charCodeAt(i))) wide++;
		return wide;
	}
	let wide = 0;
	const step = Math.floor((n - 512) / 3);
	for (let k = 0; k < 4; k++) {
		const from = k * step;
		for (let i = from; i < from + 512; i++) if (isWide(text.charCodeAt(i))) wide++;
	}
	return Math.round((wide / 2048) * n);
}

/**
 * Cheap token estimate: 4 characters per token, 1 per CJK character. Characters are looked at
 * only when the answer depends on them (between `threshold` and `4 * threshold` characters),
 * and then on a bounded sample of each long text.
 */
function estimateTokens(texts: string[], threshold: number): { tokens: number; over: boolean } {
	let chars = 0;
	for (const t of texts) chars += t.length;
	if (chars / 4 > threshold) return { tokens: Math.round(chars / 4), over: true };
	if (chars <= threshold) return { tokens: Math.round(chars / 4), over: false };
	let wide = 0;
	for (const t of texts) wide += wideCount(t);
	const tokens = Math.round(wide + (chars - wide) / 4);
	return { tokens, over: tokens > threshold };
}

/** 12345 -> "12,345" (toLocaleString would load ICU data on its first call: milliseconds). */
const thousands = (n: number) => String(Math.round(n)).replace(/\B(?=(\d{3})+$)/g, ',');

const clamp = (x: number) => Math.max(0, Math.min(1, Math.round(x * 100) / 100));

function decide(category: Category, confidence: number, reason: string, score?: ModelScore): RouterDecision {
	const decision: RouterDecision = { category, confidence: clamp(confidence), reason };
	if (score) {
		const probabilities: RouterDecision['probabilities'] = {};
		for (let k = 0; k < TEXT_CATEGORIES.length; k++) probabilities[TEXT_CATEGORIES[k]] = clamp(score.probabilities[k]);
		decision.probabilities = probabilities;
	}
	return decision;
}

function fromModel(score: ModelScore, prefix = ''): RouterDecision {
	const why = score.evidence.length ? score.evidence.join(', ') : 'no strong signal';
	return decide(score.category, score.confidence, `${prefix}${score.category}: ${why}`, score);
}

function lastIndexOfRole(messages: ChatMessage[], role: string, before = messages.length): number {
	for (let i = before - 1; i >= 0; i--) if (messages[i]?.role === role) return i;
	return -1;
}

/** Words in a text, roughly (a CJK character counts as half a word); reads at most 400 characters. */
function roughWords(text: string): number {
	const n = Math.min(text.length, 400);
	let words = 0;
	let cjk = 0;
	let inWord = false;
	for (let i = 0; i < n; i++) {
		const c = text.charCodeAt(i);
		if ((c >= 0x3040 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af)) cjk++;
		if (c <= 0x20 || c === 0x3000) inWord = false;
		else if (!inWord) {
			inWord = true;
			words++;
		}
	}
	return words + Math.ceil(cjk / 2) + (text.length > n ? 100 : 0);
}

/** A task-setting system prompt decides when the model is at least this sure of its task. */
const SYSTEM_TASK_CONFIDENCE = 0.5;
/** A follow-up is at most this many words. */
const FOLLOW_UP_WORDS = 20;

let warm = false;

/**
 * Classifies a conversation. Deterministic and local: the same messages always give the same
 * category, confidence and reason. The first call loads the model and warms up (see warmUp).
 */
export function classifyByRules(messages: ChatMessage[], options: RulesOptions = {}): RouterDecision {
	if (!warm) {
		warm = true;
		warmUp();
	}
	return classify(messages, options);
}

function classify(messages: ChatMessage[], options: RulesOptions): RouterDecision {
	const threshold = options.longContextTokens && options.longContextTokens > 0 ? options.longContextTokens : DEFAULT_LONG_CONTEXT_TOKENS;
	const list = Array.isArray(messages) ? messages : [];

	let images = 0;
	for (const m of list) if (m && hasImage(m)) images++;
	if (images > 0) return decide('vision', 0.95, images === 1 ? 'the conversation has an image' : `the conversation has ${images} messages with images`);

	const size = estimateTokens(collectTexts(list), threshold);
	if (size.over) {
		const ratio = size.tokens / threshold;
		return decide('long_context', Math.min(0.95, 0.7 + (ratio - 1) * 0.5), `about ${thousands(size.tokens)} tokens, over the ${thousands(threshold)}-token threshold`);
	}

	const userIndex = lastIndexOfRole(list, 'user');
	const userText = userIndex >= 0 ? textOf(list[userIndex]) : '';
	if (!userText.trim()) return decide('fast', 0.4, 'no user text');
	if (isSmallTalk(userText)) return decide('fast', 0.95, 'small talk (greeting or thanks)');

	// A system prompt that describes the task ("translate the user's message", "output only SQL")
	// is the instruction and the user turn its data: it decides, unless it is unsure what the task is.
	const systemText = systemTextOf(list).slice(0, 2000);
	const own = scoreText(userText);
	if (systemText && matches(DIRECTIVE_RE, systemText.toLowerCase())) {
		const task = scoreText(systemText);
		if (task.confidence >= SYSTEM_TASK_CONFIDENCE) return fromModel(task, 'task set by the system prompt; ');
	}
	// A short follow-up ("now make it handle tuples", "and if two of them refuse?", "fix that")
	// says little on its own: it is read together with the user turn before. A turn that changes
	// the subject ("by the way, what is the capital of Finland?") is not a follow-up.
	const previous = lastIndexOfRole(list, 'user', userIndex);
	if (previous >= 0 && roughWords(userText) <= FOLLOW_UP_WORDS) {
		const lower = userText.trimStart().toLowerCase();
		if ((matches(FOLLOW_UP_START_RE, lower) || matches(BACK_REFERENCE_RE, lower)) && !matches(TOPIC_SWITCH_RE, lower)) {
			const before = scoreText(textOf(list[previous]));
			if (before.category !== 'fast' && before.category !== own.category) {
				return decide(before.category, before.confidence, `follow-up to an earlier ${before.category} request (${before.evidence.join(', ') || 'no strong signal'})`, before);
			}
		}
	}
	return fromModel(own);
}

/**
 * V8 compiles a regex lazily, on its first runs, and separately for one-byte and two-byte
 * strings: a few milliseconds in all. Pay that once, on the first classification, rather than a
 * little on each of the first requests of each kind. Every path above runs on these samples.
 */
function warmUp(): void {
	const samples: ChatMessage[][] = [
		[{ role: 'system', content: 'You convert text. Output only SQL.' }, { role: 'user', content: 'hi, thanks!' }],
		[{ role: 'system', content: 'You convert text. Output only SQL.' }, { role: 'user', content: 'all orders from May' }],
		[
			{ role: 'user', content: 'Write a Python function: ```def f(x): return x**2``` TypeError at app.py line 3, in f; SELECT a FROM b; `x` <b> {"a": 1}' },
			{ role: 'assistant', content: 'ok' },
			{ role: 'user', content: 'Now prove that 1+1=2 if 3 in 4 km; 20% of $5? "quoted"\n\n\n' },
		],
		[{ role: 'user', content: 'こんにちは！ この関数のバグを直して: ```x = 1;``` 確率は？ 翻訳して、要約して。 “prove” x^2 = 0 …' }],
		[{ role: 'developer', content: 'ユーザーのメッセージを翻訳し、翻訳のみを出力。' }, { role: 'user', content: 'それは何ですか？ 1 + 2 = 3' }],
		// Long texts take the bounded-window path, in one-byte and two-byte strings.
		[{ role: 'user', content: `Summarize this:\n${'The board met on 3 May, reviewed a budget of 4,500 and agreed on the plan. '.repeat(60)}` }],
		[{ role: 'user', content: `要約してください。\n${'本契約において、甲は乙に対し必要な情報を適時に提供するものとする。'.repeat(60)}` }],
	];
	// Twice: a regex runs interpreted the first time and is compiled to machine code the second.
	for (let i = 0; i < 2; i++) for (const messages of samples) classify(messages, {});
}
