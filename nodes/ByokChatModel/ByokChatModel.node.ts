import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type INodeType,
	type INodeTypeDescription,
	type ISupplyDataFunctions,
	type SupplyData,
} from 'n8n-workflow';
import { callSettings, modelOptionsProperty, samplingOptions } from '../shared/chat';
import { byokCredentialTest, candidateFor, modelProperty, providerProperty, searchModels, singleProviderCredentials, toNodeError } from '../shared/n8n';
import { byokCandidates, ByokModel, supplyByokModel } from '../shared/sdk-model';

const NODE_TYPE = 'n8n-nodes-byok.byokChatModel';

/**
 * A chat model for n8n's AI Agent and chains, with BYOK's limits, retries, breaker and fallback.
 * One sub-node is one candidate (provider, credential, model); its optional "Fallback Model"
 * input takes the next BYOK Chat Model, so a chain on the canvas is the fallback order.
 */
export class ByokChatModel implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'BYOK Chat Model',
		name: 'byokChatModel',
		icon: { light: 'file:../ByokChat/byok.svg', dark: 'file:../ByokChat/byok.dark.svg' },
		group: ['transform'],
		version: 1,
		// In expressions a resource locator reads as its plain value.
		subtitle: '={{$parameter["provider"] + ($parameter["model"] ? ": " + $parameter["model"] : "")}}',
		description: 'Any LLM provider with your own key for the AI Agent and chains: per-key limits, retries, fallback',
		defaults: { name: 'BYOK Chat Model' },
		inputs: [
			{
				type: NodeConnectionTypes.AiLanguageModel,
				displayName: 'Fallback Model',
				required: false,
				maxConnections: 1,
				filter: { nodes: [NODE_TYPE] },
			},
		],
		outputs: [NodeConnectionTypes.AiLanguageModel],
		outputNames: ['Model'],
		credentials: singleProviderCredentials,
		properties: [
			{
				displayName:
					'Connect to an AI Agent or chain. To fall back to another provider or key, connect another BYOK Chat Model to this one\'s Fallback Model input; these options apply to the whole chain.',
				name: 'notice',
				type: 'notice',
				default: '',
			},
			providerProperty,
			modelProperty,
			modelOptionsProperty,
		],
	};

	methods = {
		listSearch: { searchModels },
		credentialTest: { byokCredentialTest },
	};

	async supplyData(this: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
		const node = this.getNode();
		const model = String(this.getNodeParameter('model', itemIndex, '', { extractValue: true }) ?? '').trim();
		if (!model) throw new NodeOperationError(node, 'No model is selected. Pick one from the list or enter its ID.', { itemIndex });
		const own = await candidateFor(this, this.getNodeParameter('provider', itemIndex) as string, model, itemIndex);
		const fallback = await this.getInputConnectionData(NodeConnectionTypes.AiLanguageModel, itemIndex);
		const fallbacks = fallback === undefined ? [] : byokCandidates(fallback);
		if (!fallbacks) {
			throw new NodeOperationError(node, 'The model connected to "Fallback Model" is not a BYOK Chat Model.', {
				itemIndex,
				description: 'Connect a BYOK Chat Model there (each has its own provider, credential and model), or remove the connection.',
			});
		}
		const candidates = [own, ...fallbacks];
		const secrets = candidates.flatMap((c) => c.connection.secrets);
		const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
		return supplyByokModel(
			this,
			new ByokModel({
				candidates,
				options: samplingOptions(options),
				settings: callSettings(options, this.getExecutionCancelSignal?.(), this.logger),
				toError: (err) => toNodeError(node, err, undefined, ...secrets),
			}),
		);
	}
}
