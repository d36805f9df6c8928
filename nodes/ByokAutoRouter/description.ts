/**
 * What both versions of the Auto-Router share: category labels and hints, the Category Override,
 * the router's own options, and routing one item (the classifier settings read from the node).
 */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import type { Category } from '../llm/catalog';
import type { CallSettings, Candidate } from '../llm/dispatch';
import type { ChatMessage } from '../llm/request';
import { CATEGORIES } from '../llm/catalog';
import { DEFAULT_HYBRID_THRESHOLD, route, type ClassifierMode, type Routing } from '../llm/router';
import { chatOptionsProperty } from '../shared/chat';

export const LABELS: Record<Category, string> = {
	fast: 'Fast',
	balanced: 'Balanced',
	reasoning: 'Reasoning',
	long_context: 'Long Context',
	vision: 'Vision',
	code: 'Code',
};

export const HINTS: Record<Category, string> = {
	fast: 'Short, simple, low-stakes requests',
	balanced: 'Everyday writing and explanation',
	reasoning: 'Math, logic, planning, trade-offs',
	long_context: 'Requests carrying a very long input',
	vision: 'Requests with an image',
	code: 'Code, SQL, regex, shell, configs, stack traces',
};

/** One output per category, in CATEGORIES order. */
export const CATEGORY_OUTPUTS = JSON.stringify(CATEGORIES.map((c) => ({ type: 'main', displayName: LABELS[c] })));

export const categoryOverrideProperty: INodeProperties = {
	displayName: 'Category Override',
	name: 'categoryOverride',
	type: 'string',
	default: '',
	placeholder: 'e.g. {{ $json.category }}',
	description: `A category for this item that wins over the classifier: ${CATEGORIES.join(', ')}. Leave empty to classify.`,
};

const routerOptions: INodeProperties[] = [
	{
		displayName: 'Classifier Timeout (Seconds)',
		name: 'classifierTimeout',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 15,
		description: 'How long the LLM classifier may take before the rules decide instead',
	},
	{
		displayName: 'Hybrid Threshold',
		name: 'hybridThreshold',
		type: 'number',
		typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 },
		default: DEFAULT_HYBRID_THRESHOLD,
		description: 'In Hybrid mode, the LLM is asked only when the local classifier is less confident than this (0-1)',
	},
	{
		displayName: 'Long Context Threshold (Tokens)',
		name: 'longContextTokens',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 8000,
		description: 'Requests longer than this (estimated over the whole conversation) go to Long Context, whatever the task',
	},
];

/** BYOK Chat's options plus the router's (and any a version adds), sorted as n8n wants. */
export function routerOptionsProperty(extra: INodeProperties[] = []): INodeProperties {
	return {
		...chatOptionsProperty,
		options: [...(chatOptionsProperty.options as INodeProperties[]), ...routerOptions, ...extra].sort((a, b) => a.displayName.localeCompare(b.displayName)),
	};
}

/** Decides one item's category with the node's classifier settings; `fast` gives the LLM classifier's candidates. */
export async function routeItem(
	ctx: IExecuteFunctions,
	itemIndex: number,
	messages: ChatMessage[],
	options: IDataObject,
	settings: CallSettings,
	fast: () => Promise<Candidate[]>,
): Promise<Routing> {
	const classifier = ctx.getNodeParameter('classifier', itemIndex) as ClassifierMode;
	return await route(messages, {
		mode: classifier,
		threshold: (options.hybridThreshold as number | undefined) ?? DEFAULT_HYBRID_THRESHOLD,
		longContextTokens: (options.longContextTokens as number | undefined) ?? 8000,
		override: String(ctx.getNodeParameter('categoryOverride', itemIndex, '') ?? ''),
		llmCandidates: classifier === 'rules' ? undefined : fast,
		llmSettings: { ...settings, timeoutMs: ((options.classifierTimeout as number | undefined) ?? 15) * 1000, retries: 0 },
	});
}
