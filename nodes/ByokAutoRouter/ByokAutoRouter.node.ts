import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';
import { CATEGORIES, type Category } from '../llm/catalog';
import { categoryEntries, DEFAULT_HYBRID_THRESHOLD, route, type ClassifierMode } from '../llm/router';
import { answerItem, callSettings, chatOptionsProperty, promptProperties, readRequest, responseFormatProperties, resultJson, runItems } from '../shared/chat';
import { byokCredentialTest, providerCredentials, providersProperty, selectedProviders, toCandidates } from '../shared/n8n';

const LABELS: Record<Category, string> = {
	fast: 'Fast',
	balanced: 'Balanced',
	reasoning: 'Reasoning',
	long_context: 'Long Context',
	vision: 'Vision',
	code: 'Code',
};
const HINTS: Record<Category, string> = {
	fast: 'Short, simple, low-stakes requests',
	balanced: 'Everyday writing and explanation',
	reasoning: 'Math, logic, planning, trade-offs',
	long_context: 'Requests carrying a very long input',
	vision: 'Requests with an image',
	code: 'Code, SQL, regex, shell, configs, stack traces',
};

const ROUTE = { mode: ['route'] };
const CLASSIFY_WITH_LLM = { mode: ['classify'], classifier: ['llm', 'hybrid'] };

/** Shown in route mode, and in classify mode when an LLM classifies (n8n shows by AND only, so twice). */
function whenModelsNeeded(property: INodeProperties): INodeProperties[] {
	return [ROUTE, CLASSIFY_WITH_LLM].map((show) => ({ ...property, displayOptions: { show } }));
}

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
	{
		displayName: 'Pick Provider by Model Name',
		name: 'providerByModelName',
		type: 'boolean',
		default: false,
		description: 'Whether a bare model name picks its provider: claude* Anthropic, gpt*/o1*/o3*/o4* OpenAI, gemini* Gemini, a "/" OpenRouter, a ":" Ollama; otherwise the first provider',
	},
];

export class ByokAutoRouter implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'BYOK Auto-Router',
		name: 'byokAutoRouter',
		icon: { light: 'file:router.svg', dark: 'file:router.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["mode"] === "classify" ? "Classify only" : "Route and complete"}}',
		description: 'Classify each request (Fast, Balanced, Reasoning, Long context, Vision, Code) and send it to that category\'s models, or branch the canvas by category',
		defaults: { name: 'Auto-Router' },
		inputs: [NodeConnectionTypes.Main],
		outputs: `={{$parameter["mode"] === "classify" ? ${JSON.stringify(CATEGORIES.map((c) => ({ type: 'main', displayName: LABELS[c] })))} : ["main"]}}`,
		usableAsTool: true,
		credentials: providerCredentials,
		properties: [
			{
				displayName: 'Mode',
				name: 'mode',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Route and Complete', value: 'route', description: 'Classify, then answer with the category\'s models' },
					{ name: 'Classify Only', value: 'classify', description: 'No answer: each item leaves on its category\'s output' },
				],
				default: 'route',
			},
			{
				displayName: 'Classifier',
				name: 'classifier',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Rules', value: 'rules', description: 'Local and instant (rules and a small built-in model), no network, no cost' },
					{ name: 'LLM', value: 'llm', description: 'The Fast category\'s first model classifies; the rules decide if it fails' },
					{ name: 'Hybrid', value: 'hybrid', description: 'Rules first; the LLM only when they are unsure (see Hybrid Threshold)' },
				],
				default: 'rules',
			},
			...whenModelsNeeded(providersProperty),
			{
				displayName: 'Category Override',
				name: 'categoryOverride',
				type: 'string',
				default: '',
				placeholder: 'e.g. {{ $json.category }}',
				description: `A category for this item that wins over the classifier: ${CATEGORIES.join(', ')}. Leave empty to classify.`,
			},
			...promptProperties,
			...responseFormatProperties.map((p) => ({ ...p, displayOptions: { show: { ...p.displayOptions?.show, ...ROUTE } } })),
			...whenModelsNeeded({
				displayName: 'Models per Category',
				name: 'categoryModels',
				type: 'collection',
				placeholder: 'Set Models',
				default: {},
				description: 'Each category\'s models, tried in order (a fallback chain). Unset categories use the first provider\'s defaults. Prefix a model with a provider ID to pick its provider, e.g. groq:llama-3.3-70b-versatile.',
				options: CATEGORIES.map((c) => ({
					displayName: LABELS[c],
					name: c,
					type: 'string',
					default: '',
					placeholder: 'e.g. gpt-4.1-mini, anthropic:claude-haiku-4-5',
					description: `${HINTS[c]}: comma-separated model IDs`,
				})),
			}),
			{
				...chatOptionsProperty,
				options: [...(chatOptionsProperty.options as INodeProperties[]), ...routerOptions].sort((a, b) => a.displayName.localeCompare(b.displayName)),
			},
		],
	};

	methods = {
		credentialTest: { byokCredentialTest },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const mode = this.getNodeParameter('mode', 0) as string;
		return await runItems(this, mode === 'classify' ? CATEGORIES.length : 1, async (i, secrets, signal) => {
			const options = this.getNodeParameter('options', i, {}) as IDataObject;
			const classifier = this.getNodeParameter('classifier', i) as ClassifierMode;
			const request = await readRequest(this, i, options);
			const settings = callSettings(options, signal, this.logger);
			const candidatesOf = async (category: Category) => {
				const primary = selectedProviders(this, i)[0];
				const list = String(this.getNodeParameter(`categoryModels.${category}`, i, '') ?? '');
				const entries = categoryEntries(list, category, primary, options.providerByModelName === true);
				const candidates = await toCandidates(
					this,
					i,
					entries.map((e, n) => ({ ...e, where: `${LABELS[category]} model ${n + 1}`, field: 'categoryModels' })),
				);
				secrets.push(...candidates.flatMap((c) => c.connection.secrets));
				return candidates;
			};
			const routing = await route(request.messages, {
				mode: classifier,
				threshold: (options.hybridThreshold as number | undefined) ?? DEFAULT_HYBRID_THRESHOLD,
				longContextTokens: (options.longContextTokens as number | undefined) ?? 8000,
				override: String(this.getNodeParameter('categoryOverride', i, '') ?? ''),
				llmCandidates: classifier === 'rules' ? undefined : async () => await candidatesOf('fast'),
				llmSettings: { ...settings, timeoutMs: ((options.classifierTimeout as number | undefined) ?? 15) * 1000, retries: 0 },
			});
			if (mode === 'classify') {
				return { data: { ...this.getInputData()[i].json, routing: routing as unknown as IDataObject }, output: CATEGORIES.indexOf(routing.category) };
			}
			const result = await answerItem(this, i, request, await candidatesOf(routing.category), settings, secrets);
			return { data: { ...resultJson(result), routing: routing as unknown as IDataObject } };
		});
	}
}
