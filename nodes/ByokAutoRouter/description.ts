/**
 * What both versions of the Auto-Router share (category labels and hints, the Category Override,
 * the router's own options, routing one item with the classifier settings read from the node),
 * and the per-category model fields that Auto-Router 2 and BYOK Chat Model's Route by Category use.
 */
import type { IDataObject, IExecuteFunctions, INodeProperties, NodeParameterValue } from 'n8n-workflow';
import type { Category } from '../llm/catalog';
import type { CallSettings, Candidate } from '../llm/dispatch';
import type { ChatMessage } from '../llm/request';
import { CATEGORIES, PROVIDERS } from '../llm/catalog';
import { DEFAULT_LONG_CONTEXT_TOKENS } from '../llm/classifier';
import { DEFAULT_HYBRID_THRESHOLD, route, type ClassifierMode, type Routing } from '../llm/router';
import { chatOptionsProperty } from '../shared/chat';
import { searchCategoryModels } from '../shared/n8n';

export const LABELS: Record<Category, string> = {
	fast: 'Fast',
	balanced: 'Balanced',
	reasoning: 'Reasoning',
	long_context: 'Long Context',
	vision: 'Vision',
	code: 'Code',
};

/** The Auto-Router's category inputs: six share the node's bottom edge, about 48 px each, so longer names run into each other on the canvas. */
export const INPUT_LABELS: Record<Category, string> = { ...LABELS, reasoning: 'Reason', long_context: 'Long' };

export const HINTS: Record<Category, string> = {
	fast: 'Short, simple, low-stakes requests',
	balanced: 'Everyday writing and explanation',
	reasoning: 'Math, logic, planning, trade-offs',
	long_context: 'Requests carrying a very long input',
	vision: 'Requests with an image',
	code: 'Code, SQL, regex, shell, configs, stack traces',
};

/** The parameter holding a category's model, and the list search behind it. */
export const MODEL_PARAMETER: Record<Category, string> = {
	fast: 'fastModel',
	balanced: 'balancedModel',
	reasoning: 'reasoningModel',
	long_context: 'longContextModel',
	vision: 'visionModel',
	code: 'codeModel',
};
const SEARCH_METHOD = Object.fromEntries(CATEGORIES.map((c) => [c, `search${LABELS[c].replace(' ', '')}Models`])) as Record<Category, string>;

/** The list searches behind categoryModelProperties: each puts the provider's default for its category first. */
export const categoryModelSearches = Object.fromEntries(CATEGORIES.map((c) => [SEARCH_METHOD[c], searchCategoryModels(c)]));

/**
 * A model per category, each from the picked credential's live list or by ID; empty means the
 * provider's default, which a notice above them lists for the picked provider. `show`: when they
 * are shown; `instead`: what else can answer a category, for the descriptions; `withoutDefault`:
 * what the notice says for a provider with no defaults.
 */
export function categoryModelProperties(show: Record<string, NodeParameterValue[]>, instead = '', withoutDefault = 'pick a model for each category you use'): INodeProperties[] {
	const notices: INodeProperties[] = PROVIDERS.map((p) => ({
		displayName: CATEGORIES.every((c) => p.routerModels[c])
			? `Categories left empty use ${p.name}'s defaults: ${CATEGORIES.map((c) => `${LABELS[c]} ${p.routerModels[c]}`).join(' · ')}.`
			: `${p.name} has no default models: ${withoutDefault}${instead ? `, or ${instead.replace('{label}', 'its')}` : ''}.`,
		name: 'categoryDefaults',
		type: 'notice',
		default: '',
		displayOptions: { show: { ...show, provider: [p.id] } },
	}));
	const fields = CATEGORIES.map((category): INodeProperties => {
		const label = LABELS[category];
		const other = instead ? ` ${instead[0].toUpperCase()}${instead.slice(1).replace('{label}', `the ${INPUT_LABELS[category]}`)} answers this category instead.` : '';
		const description = `${HINTS[category]}. Empty: the provider's default (above).${other}`;
		return {
			displayName: `${label} Model`,
			name: MODEL_PARAMETER[category],
			type: 'resourceLocator',
			default: { mode: 'list', value: '' },
			description,
			displayOptions: { show },
			modes: [
				{
					displayName: 'From List',
					name: 'list',
					type: 'list',
					placeholder: `Empty: the default for ${label}`,
					typeOptions: { searchListMethod: SEARCH_METHOD[category], searchable: true },
				},
				{ displayName: 'By ID', name: 'id', type: 'string', placeholder: `Empty: the default for ${label}` },
			],
		};
	});
	return [...notices, ...fields];
}

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
		default: DEFAULT_LONG_CONTEXT_TOKENS,
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
		longContextTokens: (options.longContextTokens as number | undefined) ?? DEFAULT_LONG_CONTEXT_TOKENS,
		override: String(ctx.getNodeParameter('categoryOverride', itemIndex, '') ?? ''),
		llmCandidates: classifier === 'rules' ? undefined : fast,
		llmSettings: { ...settings, timeoutMs: ((options.classifierTimeout as number | undefined) ?? 15) * 1000, retries: 0 },
	});
}
