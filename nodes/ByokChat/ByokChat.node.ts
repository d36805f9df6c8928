import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';
import { callSettings, chatOptionsProperty, promptProperties, readRequest, responseFormatProperties, resultJson, runItems, answerItem } from '../shared/chat';
import {
	byokCredentialTest,
	candidatesFor,
	fallbacksProperty,
	modelProperty,
	providerCredentials,
	providersProperty,
	searchModels,
} from '../shared/n8n';

export class ByokChat implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'BYOK Chat',
		name: 'byokChat',
		icon: { light: 'file:byok.svg', dark: 'file:byok.dark.svg' },
		group: ['transform'],
		version: 1,
		// In expressions a resource locator reads as its plain value.
		subtitle: '={{[].concat($parameter["providers"])[0] + ": " + ($parameter["model"] || "")}}',
		description: 'Chat with any LLM provider or OpenAI-compatible server using your own API key',
		defaults: { name: 'BYOK Chat' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		credentials: providerCredentials,
		properties: [
			providersProperty,
			modelProperty,
			...promptProperties,
			...responseFormatProperties,
			fallbacksProperty,
			chatOptionsProperty,
		],
	};

	methods = {
		listSearch: { searchModels },
		credentialTest: { byokCredentialTest },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runItems(this, 1, async (i, secrets, signal) => {
			const model = String(this.getNodeParameter('model', i, '', { extractValue: true }) ?? '').trim();
			const candidates = await candidatesFor(this, i, model);
			secrets.push(...candidates.flatMap((c) => c.connection.secrets));
			const options = this.getNodeParameter('options', i, {}) as IDataObject;
			const request = await readRequest(this, i, options);
			const result = await answerItem(this, i, request, candidates, callSettings(options, signal, this.logger), secrets);
			return { data: resultJson(result) };
		});
	}
}
