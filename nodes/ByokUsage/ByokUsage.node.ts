import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';
import { reportText, usageReport } from '../llm/usage-report';

/**
 * What each BYOK key used and spent (requests, tokens, cost, budgets, top models), today and
 * this month, from the package's usage store: for a scheduled spend report. Needs no
 * credential; it reads counts and credential names, never a key.
 */
export class ByokUsage implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'BYOK Usage',
		name: 'byokUsage',
		icon: { light: 'file:usage.svg', dark: 'file:usage.dark.svg' },
		group: ['input'],
		version: 1,
		subtitle: '={{$parameter["output"] === "report" ? "One report" : "One item per key"}}',
		description: 'Read what each BYOK key used and spent today and this month: requests, tokens, cost, budgets, top models',
		defaults: { name: 'BYOK Usage' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		properties: [
			{
				displayName: 'Output',
				name: 'output',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'One Item per Key', value: 'perKey', description: 'Today, this month, budgets and top models of each key that was used this month' },
					{ name: 'One Report', value: 'report', description: 'A single item: the report as text (for Slack or mail) and every key\'s figures' },
				],
				default: 'report',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Include Yesterday and Last Month',
						name: 'previous',
						type: 'boolean',
						default: false,
						description: 'Whether to add yesterday\'s and last month\'s figures (for a report sent just after midnight UTC)',
					},
					{
						displayName: 'Key Name Contains',
						name: 'nameContains',
						type: 'string',
						default: '',
						placeholder: 'e.g. production',
						description: 'Only keys whose credential name contains this text (any case)',
					},
					{
						displayName: 'Top Models',
						name: 'topModels',
						type: 'number',
						typeOptions: { minValue: 0 },
						default: 5,
						description: 'How many models to list per key and period, the most expensive first',
					},
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const out: INodeExecutionData[] = [];
		for (let i = 0; i < this.getInputData().length; i++) {
			try {
				const output = this.getNodeParameter('output', i) as string;
				const options = this.getNodeParameter('options', i, {}) as IDataObject;
				const keys = await usageReport({
					topModels: (options.topModels as number | undefined) ?? 5,
					previous: options.previous === true,
					nameContains: (options.nameContains as string | undefined) ?? '',
				});
				if (output === 'report') out.push({ json: { text: reportText(keys), keys: keys as unknown as IDataObject[] }, pairedItem: { item: i } });
				else for (const key of keys) out.push({ json: key as unknown as IDataObject, pairedItem: { item: i } });
			} catch (err) {
				const error = new NodeOperationError(this.getNode(), err as Error, { itemIndex: i });
				if (!this.continueOnFail()) throw error;
				out.push({ json: { error: error.message }, pairedItem: { item: i } });
			}
		}
		return [out];
	}
}
