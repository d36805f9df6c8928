/**
 * BYOK Chat version 1, kept so that existing workflows load and run unchanged: a Providers
 * multi-select (the first answers) and a Fallbacks list of provider + model pairs.
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
import { answerItem, callSettings, chatOptionsProperty, promptProperties, readRequest, responseFormatProperties, resultJson, runItems } from '../../shared/chat';
import {
	byokCredentialTest,
	candidatesFor,
	fallbacksProperty,
	modelParameter,
	modelProperty,
	providerCredentials,
	providersProperty,
	searchModels,
} from '../../shared/n8n';

export class ByokChatV1 implements INodeType {
	description: INodeTypeDescription;

	constructor(base: INodeTypeBaseDescription) {
		this.description = {
			...base,
			version: 1,
			// In expressions a resource locator reads as its plain value.
			subtitle: '={{[].concat($parameter["providers"])[0] + ($parameter["model"] ? ": " + $parameter["model"] : "")}}',
			defaults: { name: 'BYOK Chat' },
			inputs: [NodeConnectionTypes.Main],
			outputs: [NodeConnectionTypes.Main],
			usableAsTool: true,
			credentials: providerCredentials,
			properties: [providersProperty, modelProperty, ...promptProperties, ...responseFormatProperties, fallbacksProperty, chatOptionsProperty],
		};
	}

	methods = {
		listSearch: { searchModels },
		credentialTest: { byokCredentialTest },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runItems(this, 1, async (i, secrets, signal) => {
			const model = modelParameter(this, 'model', i);
			const candidates = await candidatesFor(this, i, model);
			secrets.push(...candidates.flatMap((c) => c.connection.secrets));
			const options = this.getNodeParameter('options', i, {}) as IDataObject;
			const request = await readRequest(this, i, options);
			const result = await answerItem(this, i, request, candidates, callSettings(options, signal, this.logger), secrets);
			return { data: resultJson(result) };
		});
	}
}
