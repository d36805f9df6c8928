import {
	NodeConnectionTypes,
	type IDataObject,
	type INodeType,
	type INodeTypeDescription,
	type ISupplyDataFunctions,
	type SupplyData,
} from 'n8n-workflow';
import { callSettings, modelOptionsProperty, samplingOptions } from '../shared/chat';
import {
	byokCredentialTest,
	categoryModel,
	modelProperty,
	ownCandidate,
	providerModelSubtitle,
	providerProperty,
	searchModels,
	singleProviderCredentials,
	toNodeError,
} from '../shared/n8n';
import { CATEGORIES } from '../llm/catalog';
import { routeByCategory } from '../llm/router';
import { categoryModelProperties, categoryModelSearches, MODEL_PARAMETER } from '../ByokAutoRouter/description';
import { chainOf, modelInput, notByokModel } from '../shared/chain';
import { ByokModel, supplyByokModel } from '../shared/sdk-model';

/**
 * A chat model for n8n's AI Agent and chains, with BYOK's limits, retries, breaker and fallback.
 * One sub-node is one candidate (provider, credential, model); its optional "Fallback Model"
 * input takes the next BYOK Chat Model, so a chain on the canvas is the fallback order. With
 * Route by Category, each call first goes to its category's model on the same credential.
 */
const ROUTED = { routeByCategory: [true] };

export class ByokChatModel implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'BYOK Chat Model',
		name: 'byokChatModel',
		icon: { light: 'file:../ByokChat/byok.svg', dark: 'file:../ByokChat/byok.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: providerModelSubtitle,
		description: 'Any LLM provider with your own key for the AI Agent and chains: per-key limits, retries, fallback',
		defaults: { name: 'BYOK Chat Model' },
		inputs: [modelInput('Fallback Model')],
		outputs: [NodeConnectionTypes.AiLanguageModel],
		outputNames: ['Model'],
		credentials: singleProviderCredentials,
		properties: [
			{
				displayName:
					'Connect to an AI Agent or chain, or to a BYOK node\'s model input (BYOK Chat\'s Fallback Model, an Auto-Router category). To fall back to another provider or key, connect another BYOK Chat Model to this one\'s Fallback Model input. One set of Options applies to the whole chain: those of the BYOK Chat Model at its head under an agent or chain, else those of the BYOK node it is connected to.',
				name: 'notice',
				type: 'notice',
				default: '',
			},
			providerProperty,
			modelProperty,
			{
				displayName: 'Route by Category',
				name: 'routeByCategory',
				type: 'boolean',
				default: false,
				description:
					"Whether each call of the agent or chain is classified on the spot (Fast, Balanced, Reasoning, Long Context, Vision, Code, by the Auto-Router's local classifier) and answered first by that category's model on this credential; the Model above and the fallback chain follow",
			},
			...categoryModelProperties(ROUTED, '', 'a category left empty is answered by the Model above'),
			modelOptionsProperty,
		],
	};

	methods = {
		listSearch: { searchModels, ...categoryModelSearches },
		credentialTest: { byokCredentialTest },
	};

	async supplyData(this: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
		const node = this.getNode();
		const own = await ownCandidate(this, itemIndex).catch((err: unknown) => {
			throw toNodeError(node, err, itemIndex);
		});
		const fallback = await this.getInputConnectionData(NodeConnectionTypes.AiLanguageModel, itemIndex);
		const fallbacks = fallback === undefined ? [] : chainOf(fallback)?.candidates;
		if (!fallbacks) throw notByokModel(node, 'Fallback Model', itemIndex);
		const candidates = [own, ...fallbacks];
		const secrets = candidates.flatMap((c) => c.connection.secrets);
		const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
		let route;
		if (this.getNodeParameter('routeByCategory', itemIndex, false) === true) {
			const models = Object.fromEntries(CATEGORIES.map((c) => [c, categoryModel(this, itemIndex, own.connection.provider, c, MODEL_PARAMETER[c])]));
			route = routeByCategory(candidates, models);
		}
		return supplyByokModel(
			this,
			new ByokModel({
				node: node.name,
				candidates,
				options: samplingOptions(options),
				settings: callSettings(options, this.getExecutionCancelSignal?.(), this.logger),
				toError: (err) => toNodeError(node, err, undefined, ...secrets),
				route,
			}),
		);
	}
}
