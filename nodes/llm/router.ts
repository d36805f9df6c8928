/**
 * The Auto-Router's decisions, free of n8n: which category a request belongs to (rules, an LLM,
 * or both), and which candidates (provider + model, in order) serve a category.
 */
import { CATEGORIES, getProvider, providerForModel, type Category } from './catalog';
import { classifyByRules, systemTextOf, textOf, type RouterDecision } from './classifier';
import { complete, type CallSettings, type Candidate } from './dispatch';
import { InputError, LlmError } from './errors';
import type { ChatMessage } from './request';

export type ClassifierMode = 'rules' | 'llm' | 'hybrid';

/**
 * Hybrid mode asks the LLM below this local confidence. Chosen from `npm run eval:router -- FILE
 * --hybrid` and the cross-validated table of `npm run train:router` (README, Auto-Router): with an
 * LLM that answers right, 7% of requests go to the LLM and accuracy rises from 97.9% to 99.6%
 * (router-eval.jsonl), 22% and from 88.6% to 96.5% (router-train.jsonl, cross-validated by blocks),
 * 20% and from 92.4% to 98.5% (an independent held-out set); 0.9 asks half as often again for
 * less than half the gain.
 */
export const DEFAULT_HYBRID_THRESHOLD = 0.8;

export interface Routing {
	category: Category;
	confidence: number;
	classifier: 'rules' | 'llm' | 'override';
	reason: string;
}

export function isCategory(value: unknown): value is Category {
	return typeof value === 'string' && (CATEGORIES as readonly string[]).includes(value);
}

const LLM_INSTRUCTIONS = `You route requests to a model category. Reply with exactly one id and nothing else:
fast: short, simple, low-stakes (greetings, one-line facts, short translations or rewrites, simple extraction)
balanced: everyday writing and explanation (emails, summaries, explanations, copy)
reasoning: multi-step reasoning that is not mainly code (math, proofs, logic, planning, trade-offs, probability)
code: writing, reviewing, debugging, explaining or converting code, SQL, regex, shell, configs, stack traces
Context, when given, only tells you what the request refers to; classify the request.`;

/** How much of the request the classifying model reads: its start and its end. */
const REQUEST_HEAD = 3000;
const REQUEST_TAIL = 1000;
/** How much of the context (a system prompt, the previous user turn) it reads. */
const CONTEXT_CHARS = 400;

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}...` : text);
const quoted = (title: string, text: string) => `${title}\n"""\n${text}\n"""`;

/**
 * What the classifying model sees: the last user turn (its start and end when long), and, as
 * context, the start of a system prompt (it may set the task: "translate the user's message") and
 * of the user turn before (a short follow-up such as "now make it shorter" only makes sense with
 * it). Never the whole conversation, so the request stays small whatever the conversation's size.
 */
export function classificationMessages(messages: ChatMessage[]): ChatMessage[] {
	const users = messages.filter((m) => m.role === 'user');
	const last = users.length ? textOf(users[users.length - 1]) : '';
	const request = last.length > REQUEST_HEAD + REQUEST_TAIL ? `${last.slice(0, REQUEST_HEAD)}\n...\n${last.slice(-REQUEST_TAIL)}` : last;
	const system = systemTextOf(messages).trim();
	const previous = users.length > 1 ? textOf(users[users.length - 2]).trim() : '';
	const parts: string[] = [];
	if (system) parts.push(quoted('System prompt of the conversation (context only):', clip(system, CONTEXT_CHARS)));
	if (previous) parts.push(quoted("The user's previous message (context only):", clip(previous, CONTEXT_CHARS)));
	parts.push(quoted('Request to classify:', request), 'Category id:');
	return [
		{ role: 'system', content: LLM_INSTRUCTIONS },
		{ role: 'user', content: parts.join('\n\n') },
	];
}

/** Reads a category id out of a model's short answer ("Reasoning.", "`code`", "long context"). */
export function parseCategory(answer: string): Category | undefined {
	const text = answer.toLowerCase().replace(/[\s-]+/g, '_');
	return CATEGORIES.find((c) => text.includes(c));
}

async function classifyByLlm(messages: ChatMessage[], candidates: Candidate[], settings: CallSettings): Promise<Category> {
	const result = await complete({ messages: classificationMessages(messages), options: { temperature: 0, maxTokens: 10 } }, candidates, settings);
	const category = parseCategory(result.text);
	if (!category) throw new Error(`the model answered "${result.text.slice(0, 40)}", not a category`);
	return category;
}

export interface RouteOptions {
	mode: ClassifierMode;
	/** Below this rules confidence, hybrid mode asks the LLM. */
	threshold: number;
	longContextTokens: number;
	/** A category given per item; wins over every classifier. */
	override?: string;
	/** The Fast category's candidates, for the LLM classifier. */
	llmCandidates?: () => Promise<Candidate[]>;
	llmSettings?: CallSettings;
}

/**
 * Whether the LLM classifies a request the local classifier decided: never for an image or a
 * length (facts, not judgement: a text-only or short-context model could not serve them); in
 * hybrid mode only when the local confidence is below the threshold.
 */
export function asksLlm(mode: ClassifierMode, local: RouterDecision, threshold: number): boolean {
	if (mode === 'rules' || local.category === 'vision' || local.category === 'long_context') return false;
	return mode === 'llm' || local.confidence < threshold;
}

/**
 * The local classifier's probability for a category: the text model's calibrated probability when
 * it decided, else (a rule decided) the rule's confidence for its own category and the rest shared
 * evenly among the others.
 */
export function localProbability(local: RouterDecision, category: Category): number {
	if (local.probabilities) return local.probabilities[category] ?? 0;
	if (category === local.category) return local.confidence;
	return Math.round(((1 - local.confidence) / (CATEGORIES.length - 1)) * 100) / 100;
}

/**
 * Decides the category of one request. LLM trouble never fails the item: the rules answer instead.
 * An LLM's one-word answer carries no probability of its own, so an LLM decision's confidence is
 * the local classifier's probability for the LLM's category: high when the two agree, low when the
 * LLM overruled it.
 */
export async function route(messages: ChatMessage[], o: RouteOptions): Promise<Routing> {
	const override = o.override?.trim();
	if (override) {
		if (!isCategory(override)) throw new InputError('categoryOverride', `Category override "${override}" is not one of ${CATEGORIES.join(', ')}.`);
		return { category: override, confidence: 1, classifier: 'override', reason: 'Category given by the override' };
	}
	const local = classifyByRules(messages, { longContextTokens: o.longContextTokens });
	const decided: Routing = { category: local.category, confidence: local.confidence, classifier: 'rules', reason: local.reason };
	if (!asksLlm(o.mode, local, o.threshold) || !o.llmCandidates || !o.llmSettings) return decided;
	try {
		const category = await classifyByLlm(messages, await o.llmCandidates(), o.llmSettings);
		const confidence = localProbability(local, category);
		const agreement = category === local.category ? 'the local classifier agrees' : `the local classifier said ${local.category}, ${local.confidence}`;
		return { category, confidence, classifier: 'llm', reason: `The Fast model classified it as ${category} (${agreement}; its probability for ${category}: ${confidence})` };
	} catch (err) {
		const why = err instanceof LlmError ? `${err.kind}${err.status ? ` ${err.status}` : ''}` : err instanceof Error ? err.message : String(err);
		return { ...decided, reason: `${local.reason} (LLM classifier failed: ${why}; used the rules)` };
	}
}

/**
 * One category's model list ("model, provider:model, ...") as provider + model entries. An entry
 * names its provider with a provider id prefix; otherwise, when `byName` is on, the model name
 * picks it (`claude*` Anthropic, `a/b` OpenRouter ...), else the first provider. An empty list
 * means the first provider's default for the category, from the catalog.
 */
export function categoryEntries(list: string, category: Category, primaryProvider: string, byName: boolean): Array<{ provider: string; model: string }> {
	const entries = list
		.split(/[\n,]/)
		.map((e) => e.trim())
		.filter(Boolean);
	if (entries.length === 0) {
		const model = getProvider(primaryProvider).routerModels[category];
		if (!model) {
			throw new InputError('categoryModels', `No model is set for the ${category} category, and ${getProvider(primaryProvider).name} has no default. Enter one under Models per Category.`);
		}
		return [{ provider: primaryProvider, model }];
	}
	return entries.map((entry) => {
		const colon = entry.indexOf(':');
		const explicit = colon > 0 ? entry.slice(0, colon) : '';
		if (explicit && isProviderId(explicit)) return { provider: explicit, model: entry.slice(colon + 1).trim() };
		return { provider: byName ? providerForModel(entry, primaryProvider) : primaryProvider, model: entry };
	});
}

function isProviderId(id: string): boolean {
	try {
		getProvider(id);
		return true;
	} catch {
		return false;
	}
}

/**
 * Routing per call for a model object (BYOK Chat Model's Route by Category): the local classifier
 * picks each call's category, and that category's model on the head candidate's credential
 * answers first; the head's own model and the rest of the chain follow as fallbacks. A category
 * with no model (none set and no provider default) goes straight to the chain.
 */
export function routeByCategory(chain: Candidate[], models: Partial<Record<Category, string>>) {
	const [head] = chain;
	return (messages: ChatMessage[]): { candidates: Candidate[]; routing: Routing } => {
		const decision = classifyByRules(messages);
		const routing: Routing = { ...decision, classifier: 'rules' };
		const model = models[decision.category];
		return { candidates: model && model !== head.model ? [{ ...head, model }, ...chain] : chain, routing };
	};
}
