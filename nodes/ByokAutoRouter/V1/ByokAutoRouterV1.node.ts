/**
 * Auto-Router version 1, kept so that existing workflows load and run unchanged: Providers
 * multi-select, Models per Category as comma-separated `provider:model` lists, and outputs that
 * follow Mode (six in Classify Only, one in Route and Complete).
 */
import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
	type INodeType,
	type INodeTypeBaseDescription,
	type INodeTypeDescription,
} from 'n8n-workflow';
import { CATEGORIES, type Category } from '../../llm/catalog';
import { categoryEntries } from '../../llm/router';
import { answerItem, callSettings, promptProperties, readRequest, responseFormatProperties, resultJson, runItems } from '../../shared/chat';
import { byokCredentialTest, providerCredentials, providersProperty, selectedProviders, toCandidates } from '../../shared/n8n';
import { CATEGORY_OUTPUTS, categoryOverrideProperty, HINTS, LABELS, routeItem, routerOptionsProperty } from '../description';

const ROUTE = { mode: ['route'] };
const CLASSIFY_WITH_LLM = { mode: ['classify'], classifier: ['llm', 'hybrid'] };

/** Shown in route mode, and in classify mode when an LLM classifies (n8n shows by AND only, so twice). */
function whenModelsNeeded(property: INodeProperties): INodeProperties[] {
	return [ROUTE, CLASSIFY_WITH_LLM].map((show) => ({ ...property, displayOptions: { show } }));
}

export class ByokAutoRouterV1 implements INodeType {
	description: INodeTypeDescription;

	constructor(base: INodeTypeBaseDescription) {
		this.description = {
			...base,
			version: 1,
			defaults: { name: 'Auto-Router' },
			inputs: [NodeConnectionTypes.Main],
			outputs: `={{$parameter["mode"] === "classify" ? ${CATEGORY_OUTPUTS} : ["main"]}}`,
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
				categoryOverrideProperty,
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
				routerOptionsProperty([
					{
						displayName: 'Pick Provider by Model Name',
						name: 'providerByModelName',
						type: 'boolean',
						default: false,
						description: 'Whether a bare model name picks its provider: claude* Anthropic, gpt*/o1*/o3*/o4* OpenAI, gemini* Gemini, a "/" OpenRouter, a ":" Ollama; otherwise the first provider',
					},
				]),
			],
		};
	}

	methods = {
		credentialTest: { byokCredentialTest },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const mode = this.getNodeParameter('mode', 0) as string;
		return await runItems(this, mode === 'classify' ? CATEGORIES.length : 1, async (i, secrets, signal) => {
			const options = this.getNodeParameter('options', i, {}) as IDataObject;
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
			const routing = await routeItem(this, i, request.messages, options, settings, async () => await candidatesOf('fast'));
			if (mode === 'classify') {
				return { data: { ...this.getInputData()[i].json, routing: routing as unknown as IDataObject }, output: CATEGORIES.indexOf(routing.category) };
			}
			const result = await answerItem(this, i, request, await candidatesOf(routing.category), settings, secrets);
			return { data: { ...resultJson(result), routing: routing as unknown as IDataObject } };
		});
	}
}
