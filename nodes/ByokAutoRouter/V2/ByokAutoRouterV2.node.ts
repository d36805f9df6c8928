/**
 * Auto-Router version 2: one credential picker (the credential is the provider) with a model per
 * category from its live list, empty meaning the provider's default (shown on the form); a BYOK
 * Chat Model chain connected to a category's input answers that category instead. Outputs follow
 * only the Outputs parameter, so changing Mode never removes connections.
 */
import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeBaseDescription,
	type INodeTypeDescription,
} from 'n8n-workflow';
import { CATEGORIES, type Category } from '../../llm/catalog';
import type { Candidate } from '../../llm/dispatch';
import { connectedChains, modelInput } from '../../shared/chain';
import { answerItem, callSettings, promptProperties, readRequest, responseFormatProperties, resultJson, runItems } from '../../shared/chat';
import { byokCredentialTest, ownCategoryCandidate, providerProperty, singleProviderCredentialsWhen } from '../../shared/n8n';
import { CATEGORY_OUTPUTS, categoryModelProperties, categoryModelSearches, categoryOverrideProperty, INPUT_LABELS, LABELS, MODEL_PARAMETER, routeItem, routerOptionsProperty } from '../description';

const ROUTE = { mode: ['route'] };

/**
 * Inputs: Main, then one model input per category, in CATEGORIES order. Classify Only has no
 * credential of its own, so there the LLM classifier's model must be on the Fast input: the editor
 * then marks that input as required. (n8n ends an expression at the first "}}": none inside.)
 */
const FAST_REQUIRED = '$parameter["mode"] === "classify" && $parameter["classifier"] !== "rules"';
const categoryInputs = CATEGORIES.map((c) => ({ ...modelInput(INPUT_LABELS[c]), required: c === 'fast' ? '@' : false }));
const INPUTS: `={{${string}}}` = `={{["main"].concat(${JSON.stringify(categoryInputs).replace(/}}/g, '} }').replace('"@"', FAST_REQUIRED)})}}`;

export class ByokAutoRouterV2 implements INodeType {
	description: INodeTypeDescription;

	constructor(base: INodeTypeBaseDescription) {
		this.description = {
			...base,
			version: 2,
			defaults: { name: 'Auto-Router' },
			inputs: INPUTS,
			outputs: `={{$parameter["outputs"] === "perCategory" ? ${CATEGORY_OUTPUTS} : ["main"]}}`,
			usableAsTool: true,
			// The credential only in Route and Complete: Classify Only never needs one of its own.
			credentials: singleProviderCredentialsWhen(ROUTE),
			properties: [
				{
					displayName: 'Mode',
					name: 'mode',
					type: 'options',
					noDataExpression: true,
					options: [
						{ name: 'Route and Complete', value: 'route', description: 'Classify, then answer with the category\'s model' },
						{ name: 'Classify Only', value: 'classify', description: 'No answer: each item gets its category under "routing"' },
					],
					default: 'route',
				},
				{
					displayName: 'Outputs',
					name: 'outputs',
					type: 'options',
					noDataExpression: true,
					options: [
						{ name: 'One', value: 'one', description: 'Every item leaves on one output' },
						{ name: 'One per Category', value: 'perCategory', description: 'Fast, Balanced, Reasoning, Long Context, Vision, Code: each item leaves on its category\'s output' },
					],
					default: 'one',
					description: 'Changing this adds or removes outputs, and removes the connections of outputs that go away. Mode never changes the outputs.',
				},
				{
					displayName: 'Items leave on one output with their category under "routing". To branch the canvas by category, set Outputs to One per Category.',
					name: 'branchNotice',
					type: 'notice',
					default: '',
					displayOptions: { show: { mode: ['classify'], outputs: ['one'] } },
				},
				{
					displayName: 'Classifier',
					name: 'classifier',
					type: 'options',
					noDataExpression: true,
					options: [
						{ name: 'Rules', value: 'rules', description: 'Local and instant (rules and a small built-in model), no network, no cost' },
						{ name: 'LLM', value: 'llm', description: 'The Fast category\'s model classifies; the rules decide if it fails' },
						{ name: 'Hybrid', value: 'hybrid', description: 'Rules first; the LLM only when they are unsure (see Hybrid Threshold)' },
					],
					default: 'rules',
				},
				{
					displayName: 'In Classify Only, the LLM classifier asks the BYOK Chat Model connected to the Fast input.',
					name: 'fastNotice',
					type: 'notice',
					default: '',
					displayOptions: { show: { mode: ['classify'], classifier: ['llm', 'hybrid'] } },
				},
				providerProperty,
				categoryOverrideProperty,
				...promptProperties,
				...responseFormatProperties.map((p) => ({ ...p, displayOptions: { show: { ...p.displayOptions?.show, ...ROUTE } } })),
				...categoryModelProperties(ROUTE, 'a BYOK Chat Model connected to {label} input'),
				routerOptionsProperty(),
			],
		};
	}

	methods = {
		listSearch: categoryModelSearches,
		credentialTest: { byokCredentialTest },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const mode = this.getNodeParameter('mode', 0) as string;
		const perCategory = this.getNodeParameter('outputs', 0) === 'perCategory';
		return await runItems(this, perCategory ? CATEGORIES.length : 1, async (i, secrets, signal) => {
			const options = this.getNodeParameter('options', i, {}) as IDataObject;
			const request = await readRequest(this, i, options);
			const settings = callSettings(options, signal, this.logger);
			let chains: Promise<Array<Candidate[] | undefined>> | undefined;
			const candidatesOf = async (category: Category) => {
				chains ??= connectedChains(this, i);
				let candidates = (await chains)[CATEGORIES.indexOf(category)];
				if (!candidates && mode !== 'route') {
					throw new NodeOperationError(this.getNode(), `Classify Only has no model of its own: connect a BYOK Chat Model to the ${INPUT_LABELS[category]} input, or use the Rules classifier.`, { itemIndex: i });
				}
				candidates ??= [await ownCategoryCandidate(this, i, category, MODEL_PARAMETER[category], LABELS[category], INPUT_LABELS[category])];
				secrets.push(...candidates.flatMap((c) => c.connection.secrets));
				return candidates;
			};
			// A Fast model that cannot be set up is the node's configuration, not the LLM failing:
			// it fails the item rather than letting the rules decide quietly.
			let setupError: unknown;
			const fast = async () =>
				await candidatesOf('fast').catch((err: unknown) => {
					setupError = err;
					throw err;
				});
			const routing = await routeItem(this, i, request.messages, options, settings, fast);
			if (setupError) throw setupError;
			const output = perCategory ? CATEGORIES.indexOf(routing.category) : 0;
			if (mode === 'classify') return { data: { ...this.getInputData()[i].json, routing: routing as unknown as IDataObject }, output };
			const result = await answerItem(this, i, request, await candidatesOf(routing.category), settings, secrets);
			return { data: { ...resultJson(result), routing: routing as unknown as IDataObject }, output };
		});
	}
}
