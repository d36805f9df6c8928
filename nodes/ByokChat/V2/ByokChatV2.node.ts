/**
 * BYOK Chat version 2: one credential picker (the credential is the provider) and a model from its
 * live list; fallbacks are BYOK Chat Models connected to the Fallback Model input, in chain order,
 * the same way as under n8n's AI Agent. This node's Options apply to the whole chain.
 */
import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeBaseDescription,
	type INodeTypeDescription,
} from 'n8n-workflow';
import { connectedChains, modelInput } from '../../shared/chain';
import { answerItem, callSettings, chatOptionsProperty, promptProperties, readRequest, responseFormatProperties, resultJson, runItems } from '../../shared/chat';
import {
	byokCredentialTest,
	modelProperty,
	ownCandidate,
	providerModelSubtitle,
	providerProperty,
	searchModels,
	singleProviderCredentials,
} from '../../shared/n8n';

export class ByokChatV2 implements INodeType {
	description: INodeTypeDescription;

	constructor(base: INodeTypeBaseDescription) {
		this.description = {
			...base,
			version: 2,
			subtitle: providerModelSubtitle,
			defaults: { name: 'BYOK Chat' },
			inputs: [NodeConnectionTypes.Main, modelInput('Fallback Model')],
			outputs: [NodeConnectionTypes.Main],
			usableAsTool: true,
			credentials: singleProviderCredentials,
			properties: [
				{
					displayName:
						'To fall back to another model, provider or key, connect a BYOK Chat Model to the Fallback Model input (and another to that one\'s, and so on). These Options apply to the whole chain.',
					name: 'notice',
					type: 'notice',
					default: '',
				},
				providerProperty,
				modelProperty,
				...promptProperties,
				...responseFormatProperties,
				chatOptionsProperty,
			],
		};
	}

	methods = {
		listSearch: { searchModels },
		credentialTest: { byokCredentialTest },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runItems(this, 1, async (i, secrets, signal) => {
			const [fallbacks = []] = await connectedChains(this, i);
			const candidates = [await ownCandidate(this, i), ...fallbacks];
			secrets.push(...candidates.flatMap((c) => c.connection.secrets));
			const options = this.getNodeParameter('options', i, {}) as IDataObject;
			const request = await readRequest(this, i, options);
			const result = await answerItem(this, i, request, candidates, callSettings(options, signal, this.logger), secrets);
			return { data: resultJson(result) };
		});
	}
}
