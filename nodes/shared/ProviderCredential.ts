import type { IAuthenticateGeneric, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';
import { BUDGET_FIELDS, PRICE_FIELDS } from '../llm/budgets';
import { getProvider, type ProviderInfo } from '../llm/catalog';

/**
 * Every provider credential is this class filled from one catalog row, so the 13 credential
 * files only name their provider. The Test button is the BYOK nodes' `byokCredentialTest`
 * (a real GET {baseUrl}/models that reports the provider's own error message).
 */
export abstract class ProviderCredential implements ICredentialType {
	name: string;
	displayName: string;
	documentationUrl: string;
	icon: Icon;
	properties: INodeProperties[];
	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: {
			headers: { Authorization: '={{$credentials.apiKey ? "Bearer " + $credentials.apiKey : undefined}}' },
		},
	};

	constructor(providerId: string) {
		const provider = getProvider(providerId);
		this.name = provider.credentialType;
		this.displayName = `BYOK ${provider.name} API`;
		this.documentationUrl = provider.docsUrl;
		// Relative to the credential files in dist/credentials.
		this.icon = { light: `file:icons/${provider.id}.svg`, dark: `file:icons/${provider.id}.dark.svg` };
		const limit = (name: string, displayName: string, description: string): INodeProperties => ({
			displayName,
			name,
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 0,
			description: `${description} Shared by every workflow and node that uses this credential. 0 or empty = no limit.`,
		});
		this.properties = [
			{
				displayName: 'API Key',
				name: 'apiKey',
				type: 'string',
				typeOptions: { password: true },
				required: provider.apiKeyRequired,
				default: '',
				description: provider.apiKeyRequired
					? `Your ${provider.name} API key`
					: 'Only needed if the server asks for one; leave empty otherwise',
			},
			// eslint-disable-next-line n8n-nodes-base/node-param-default-missing -- the default is the provider's URL from the catalog
			{
				displayName: 'Base URL',
				name: 'baseUrl',
				type: 'string',
				required: true,
				default: provider.defaultBaseUrl,
				placeholder: provider.defaultBaseUrl || 'http://localhost:1234/v1',
				description: 'The OpenAI-compatible API root; requests go to {Base URL}/chat/completions and {Base URL}/models',
			},
			...(provider.headerFields ?? []).map(
				(field): INodeProperties => ({
					displayName: field.displayName,
					name: field.name,
					type: 'string',
					default: '',
					placeholder: field.placeholder,
					description: field.description,
				}),
			),
			limit('requestsPerMinute', 'Requests per Minute', 'Most requests this key may send in any 60-second window.'),
			limit('requestsPerDay', 'Requests per Day', 'Most requests this key may send per day.'),
			limit('maxConcurrent', 'Max Concurrent Requests', 'Most requests this key may have in flight at once.'),
			{
				displayName: 'Pacing',
				name: 'pacing',
				type: 'options',
				options: [
					{
						name: 'Burst up to the Limit',
						value: 'burst',
						description: 'Each request starts as soon as the last 60 seconds allow: up to Requests per Minute at once, the most throughput the limit permits',
					},
					{
						name: 'Smoothed',
						value: 'smoothed',
						description: 'Starts are spread evenly, one every 60 / Requests per Minute seconds, for providers that enforce the limit per second',
					},
				],
				default: 'burst',
				description: 'How requests under Requests per Minute are spread. Either way no 60-second window ever holds more than the limit.',
			},
			...spendProperties(provider),
		];
	}
}

const BUDGET_DESCRIPTIONS: Record<string, string> = {
	dailyBudgetUsd: 'Most this key may spend per day (UTC), at the prices below. At 100% its requests go to the next fallback, or fail, until midnight UTC.',
	monthlyBudgetUsd: 'Most this key may spend per calendar month (UTC), at the prices below. At 100% its requests go to the next fallback, or fail, until the month ends.',
	dailyBudgetTokens: 'Most tokens (input plus output) this key may use per day (UTC). At 100% its requests go to the next fallback, or fail, until midnight UTC.',
	monthlyBudgetTokens: 'Most tokens (input plus output) this key may use per calendar month (UTC). At 100% its requests go to the next fallback, or fail, until the month ends.',
};

/** Budgets and prices (nodes/llm/budgets.ts reads them back, with the same names and labels). */
function spendProperties(provider: ProviderInfo): INodeProperties[] {
	const budgets = BUDGET_FIELDS.map(
		(b): INodeProperties => ({
			displayName: b.label,
			name: b.field,
			type: 'number',
			typeOptions: { minValue: 0, numberPrecision: b.unit === 'usd' ? 2 : 0 },
			default: 0,
			description: `${BUDGET_DESCRIPTIONS[b.field]} Warnings at 50, 75 and 90% go to the n8n log and the output items. 0 = no budget.`,
		}),
	);
	const prices = PRICE_FIELDS.map(
		(p): INodeProperties => ({
			displayName: p.label,
			name: p.field,
			type: 'number',
			typeOptions: { minValue: 0, numberPrecision: 4 },
			default: 0,
			description: `What your provider charges per million ${p.key === 'inputPerMillion' ? 'input (prompt) tokens, cached ones included' : 'output tokens, reasoning included'}, in USD. 0 = free.`,
			displayOptions: { show: { pricing: ['own'] } },
		}),
	);
	return [
		...budgets,
		{
			displayName: 'Prices',
			name: 'pricing',
			type: 'options',
			options: [
				{
					name: 'From the Price Table',
					value: 'table',
					description: provider.priceTable
						? `Public ${provider.name} prices, from the price table bundled with the package; a model it does not know has no cost (null)`
						: `${provider.name} has no public price list: costs stay unknown (null) unless you enter your own prices`,
				},
				{ name: 'My Own Prices', value: 'own', description: 'The prices below, for every model of this key (self-hosted, custom or negotiated prices)' },
			],
			default: 'table',
			description: 'Where the cost of each request comes from, shown on every output item and counted against the USD budgets',
		},
		...prices,
	];
}
