/**
 * What every BYOK node shares at the n8n boundary: the provider and model parameters, the live
 * model list, the credential Test, reading a credential into a connection, and turning engine
 * errors into n8n errors. The engine (../llm) knows nothing of n8n; this file is the bridge.
 */
import {
	NodeApiError,
	NodeOperationError,
	type ICredentialsDecrypted,
	type ICredentialTestFunctions,
	type IDataObject,
	type IExecuteFunctions,
	type ILoadOptionsFunctions,
	type INode,
	type INodeCredentialDescription,
	type INodeCredentialTestResult,
	type INodeListSearchResult,
	type INodeProperties,
	type ISupplyDataFunctions,
	type JsonObject,
	type NodeParameterValue,
} from 'n8n-workflow';
import { getProvider, PROVIDERS, type Category, type ProviderInfo } from '../llm/catalog';
import { connectionFromCredential, listModels, type Connection } from '../llm/client';
import type { Candidate } from '../llm/dispatch';
import { InputError, LlmError, redact } from '../llm/errors';

const providerOptions = PROVIDERS.map((p) => ({ name: p.name, value: p.id, description: p.defaultBaseUrl || 'Any OpenAI-compatible URL' }));

/**
 * BYOK Chat version 1 and Auto-Router version 1: one multi-select for every provider the node may
 * call, because n8n shows a credential only when a single parameter's value matches it: the first
 * provider answers, the others serve the fallbacks. (Version 2 of both nodes picks one credential
 * and takes every other candidate from connected BYOK Chat Models.)
 */
export const providersProperty: INodeProperties = {
	displayName: 'Providers',
	name: 'providers',
	type: 'multiOptions',
	noDataExpression: true,
	required: true,
	options: providerOptions,
	default: ['openai'],
	description: 'The first provider answers; add more to use them in Fallbacks. Each one\'s credential (your key, base URL and limits) appears below.',
};

/**
 * One provider, for a node with one credential of its own (every other candidate is a connected
 * BYOK Chat Model). The editor shows it through the credential picker (see singleProviderCredentials).
 */
export const providerProperty: INodeProperties = {
	displayName: 'Provider',
	name: 'provider',
	type: 'options',
	noDataExpression: true,
	options: providerOptions,
	default: 'openai',
	description: 'Who answers: set by the credential you pick (your key, base URL and limits)',
};

export const modelProperty: INodeProperties = {
	displayName: 'Model',
	name: 'model',
	type: 'resourceLocator',
	default: { mode: 'list', value: '' },
	required: true,
	description: 'The model to call, from the provider\'s live list or by ID',
	modes: [
		{
			displayName: 'From List',
			name: 'list',
			type: 'list',
			typeOptions: { searchListMethod: 'searchModels', searchable: true },
		},
		{
			displayName: 'By ID',
			name: 'id',
			type: 'string',
			placeholder: 'e.g. gpt-4.1-mini',
		},
	],
};

function credentialOf(providerId: string, displayOptions: INodeCredentialDescription['displayOptions']): INodeCredentialDescription {
	return { name: getProvider(providerId).credentialType, required: true, testedBy: 'byokCredentialTest', displayOptions };
}

/**
 * With the Providers multi-select, each selected provider's credential shows. Written as "hide
 * unless selected" rather than "show when selected": n8n's editor takes a parameter that every
 * credential's `show` depends on for the node's authentication field, and would then hide
 * Providers (and what it depends on) behind a single credential picker.
 */
export const providerCredentials: INodeCredentialDescription[] = PROVIDERS.map((p) =>
	// n8n evaluates `_cnd` conditions for credentials too; its type only lists plain values.
	credentialOf(p.id, { hide: { providers: [{ _cnd: { not: p.id } }] as unknown as NodeParameterValue[] } }),
);

/**
 * With a single Provider, exactly that authentication-field behaviour is what we want (checked in
 * n8n 2.41.1's editor): Provider is not shown as a field; the one "Credential" picker lists every
 * BYOK credential with its provider beside its name, picking one sets Provider, and "Create new
 * credential" opens the dialog with a provider selector. The credential is the provider.
 */
export function singleProviderCredentialsWhen(show: Record<string, NodeParameterValue[]>): INodeCredentialDescription[] {
	return PROVIDERS.map((p) => credentialOf(p.id, { show: { provider: [p.id], ...show } }));
}
export const singleProviderCredentials = singleProviderCredentialsWhen({});

/**
 * Subtitle of a node with one Provider: "groq: llama-3.3-70b", just the provider while no model is
 * set. In expressions a resource locator reads as its plain value.
 */
export const providerModelSubtitle = '={{$parameter["provider"] + ($parameter["model"] ? ": " + $parameter["model"] : "")}}';

/** The selected providers, first = primary. */
export function selectedProviders(ctx: IExecuteFunctions | ILoadOptionsFunctions, itemIndex?: number): string[] {
	const raw = itemIndex === undefined ? (ctx as ILoadOptionsFunctions).getNodeParameter('providers') : (ctx as IExecuteFunctions).getNodeParameter('providers', itemIndex);
	const ids = (Array.isArray(raw) ? raw : [raw]).map(String).filter(Boolean);
	if (ids.length === 0) throw new InputError('providers', 'No provider is selected. Pick the provider that should answer under Providers.');
	return ids;
}

/** The provider whose model list the editor shows: a node's single Provider, else the first of its Providers. */
function listedProvider(ctx: ILoadOptionsFunctions): string {
	const single = ctx.getNodeParameter('provider', '') as string;
	return single || selectedProviders(ctx)[0];
}

export const fallbacksProperty: INodeProperties = {
	displayName: 'Fallbacks',
	name: 'fallbacks',
	type: 'fixedCollection',
	typeOptions: { multipleValues: true, sortable: true },
	placeholder: 'Add Fallback',
	default: {},
	description: 'Tried in order when the model above cannot answer (outage, rate limit beyond Max Wait, quota, bad key, unknown model, context too long). Never on a bad request.',
	options: [
		{
			displayName: 'Fallback',
			name: 'fallback',
			values: [
				{
					displayName: 'Provider',
					name: 'provider',
					type: 'options',
					options: PROVIDERS.map((p) => ({ name: p.name, value: p.id })),
					default: 'openai',
					description: 'Must also be selected under Providers, so that its credential can be chosen',
				},
				{
					displayName: 'Model',
					name: 'model',
					type: 'string',
					default: '',
					placeholder: 'e.g. llama-3.3-70b-versatile',
					description: 'Model ID at that provider',
				},
			],
		},
	],
};

/** The id and name of the node's credential for a provider: what limits and breakers are keyed by, and messages name. */
function credentialRef(ctx: IExecuteFunctions | ISupplyDataFunctions | ILoadOptionsFunctions, provider: ProviderInfo): { id: string; label: string } {
	const node = ctx.getNode();
	const ref = node.credentials?.[provider.credentialType];
	return { id: String(ref?.id ?? `${node.id}:${provider.credentialType}`), label: ref?.name ?? provider.name };
}

/** Loads the node's credential for a provider as an engine connection. */
export async function connectionFor(ctx: IExecuteFunctions | ISupplyDataFunctions | ILoadOptionsFunctions, providerId: string, itemIndex = 0): Promise<Connection> {
	const provider = getProvider(providerId);
	const data = (await (ctx as IExecuteFunctions).getCredentials(provider.credentialType, itemIndex)) as IDataObject;
	const { id, label } = credentialRef(ctx, provider);
	return connectionFromCredential(providerId, data, id, label);
}

/** A provider + model the node may call, as the user wrote it; `where` names it in errors. */
export interface CandidateEntry {
	provider: string;
	model: string;
	where: string;
	field: string;
}

/**
 * Turns entries into engine candidates, each with its provider's connection (loaded once).
 * A provider that is not selected under Providers is a clear input error: its credential
 * cannot be chosen otherwise. A credential that is there but broken (say, a Base URL that is
 * not a URL) makes its candidate unusable, not the item: the engine skips it with an attempt
 * saying why, so a healthy primary still answers.
 */
export async function toCandidates(ctx: IExecuteFunctions, itemIndex: number, entries: CandidateEntry[]): Promise<Candidate[]> {
	const providers = selectedProviders(ctx, itemIndex);
	const byProvider = new Map<string, Candidate>();
	const candidates: Candidate[] = [];
	for (const entry of entries) {
		const provider = getProvider(entry.provider);
		const model = entry.model.trim();
		if (!model) throw new InputError(entry.field, `${entry.where} has no model. Enter the model ID to use at ${provider.name}.`);
		if (!providers.includes(provider.id)) {
			throw new InputError(entry.field, `${entry.where} uses ${provider.name}, which is not selected under Providers. Add it there and choose its credential.`);
		}
		let candidate = byProvider.get(provider.id);
		if (!candidate) byProvider.set(provider.id, (candidate = await candidateFor(ctx, provider.id, model, itemIndex)));
		candidates.push({ ...candidate, model });
	}
	return candidates;
}

/**
 * The node's credential for a provider with a model, as an engine candidate. A broken credential
 * (say, a Base URL that is not a URL) gives an unusable candidate that names it and holds
 * nothing of it.
 */
export async function candidateFor(ctx: IExecuteFunctions | ISupplyDataFunctions, providerId: string, model: string, itemIndex: number): Promise<Candidate> {
	const connection = await connectionFor(ctx, providerId, itemIndex).catch((err: unknown) => {
		if (err instanceof InputError) return err;
		throw err;
	});
	if (!(connection instanceof InputError)) return { connection, model };
	const provider = getProvider(providerId);
	const { id, label } = credentialRef(ctx, provider);
	return { connection: { provider, baseUrl: '', headers: {}, secrets: [], credentialId: id, label, limits: {} }, model, unusable: connection };
}

/** A model field's value (a resource locator or plain text), trimmed; '' when empty. */
export function modelParameter(ctx: IExecuteFunctions | ISupplyDataFunctions, parameter: string, itemIndex: number): string {
	return String(ctx.getNodeParameter(parameter, itemIndex, '', { extractValue: true }) ?? '').trim();
}

/** A category's model: its field (`parameter`), or the provider's default for the category ('' when neither). */
export function categoryModel(ctx: IExecuteFunctions | ISupplyDataFunctions, itemIndex: number, provider: ProviderInfo, category: Category, parameter: string): string {
	return modelParameter(ctx, parameter, itemIndex) || (provider.routerModels[category] ?? '');
}

const NO_MODEL = 'No model is selected. Pick one from the list or enter its ID.';

/** The node's own candidate: the picked credential's provider (Provider) with the chosen Model. */
export async function ownCandidate(ctx: IExecuteFunctions | ISupplyDataFunctions, itemIndex: number): Promise<Candidate> {
	const model = modelParameter(ctx, 'model', itemIndex);
	if (!model) throw new InputError('model', NO_MODEL);
	return await candidateFor(ctx, ctx.getNodeParameter('provider', itemIndex) as string, model, itemIndex);
}

/**
 * An Auto-Router category's own candidate: the picked credential's provider with the category's
 * model (`parameter`), or the provider's default for the category when it is empty.
 */
export async function ownCategoryCandidate(ctx: IExecuteFunctions, itemIndex: number, category: Category, parameter: string, label: string, inputLabel: string): Promise<Candidate> {
	const provider = getProvider(ctx.getNodeParameter('provider', itemIndex) as string);
	const model = categoryModel(ctx, itemIndex, provider, category, parameter);
	if (!model) {
		throw new InputError(parameter, `No ${label} model is set, and ${provider.name} has no default for it. Pick one under ${label} Model, or connect a BYOK Chat Model to the ${inputLabel} input.`);
	}
	return await candidateFor(ctx, provider.id, model, itemIndex);
}

/** BYOK Chat version 1's candidates for one item: the first provider with the chosen model, then the fallbacks. */
export async function candidatesFor(ctx: IExecuteFunctions, itemIndex: number, primaryModel: string): Promise<Candidate[]> {
	if (!primaryModel) throw new InputError('model', NO_MODEL);
	const [primary] = selectedProviders(ctx, itemIndex);
	const fallbacks = (ctx.getNodeParameter('fallbacks.fallback', itemIndex, []) as Array<{ provider: string; model: string }>) ?? [];
	return await toCandidates(ctx, itemIndex, [
		{ provider: primary, model: primaryModel, where: 'The node', field: 'model' },
		...fallbacks.map((f, n) => ({ provider: f.provider, model: String(f.model ?? ''), where: `Fallback ${n + 1}`, field: 'fallbacks' })),
	]);
}

/** The model list for the node's provider, filtered by what the user typed. No name filtering otherwise. */
export async function searchModels(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
	return { results: (await listedModels(this, filter)).map((id) => ({ name: id, value: id })) };
}

/**
 * The model list for one Auto-Router category: as searchModels, with the provider's default for
 * the category first and marked, since an empty category uses it.
 */
export function searchCategoryModels(category: Category) {
	return async function (this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
		const ids = await listedModels(this, filter);
		const fallback = getProvider(listedProvider(this)).routerModels[category];
		const needle = (filter ?? '').trim().toLowerCase();
		const results = ids.filter((id) => id !== fallback).map((id) => ({ name: id, value: id }));
		if (fallback && fallback.toLowerCase().includes(needle)) {
			results.unshift({ name: `${fallback} (default${ids.includes(fallback) ? '' : "; not in this server's list"})`, value: fallback });
		}
		return { results };
	};
}

async function listedModels(ctx: ILoadOptionsFunctions, filter?: string): Promise<string[]> {
	let connection: Connection | undefined;
	try {
		connection = await connectionFor(ctx, listedProvider(ctx));
		const ids = await listModels(connection);
		const needle = (filter ?? '').trim().toLowerCase();
		return ids.filter((id) => !needle || id.toLowerCase().includes(needle));
	} catch (err) {
		throw toNodeError(ctx.getNode(), err, undefined, ...(connection?.secrets ?? []));
	}
}

/** The credential's Test button: a real `GET {baseUrl}/models`, reporting the provider's own error. */
export async function byokCredentialTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const provider = PROVIDERS.find((p) => p.credentialType === credential.type);
	if (!provider) return { status: 'Error', message: `Unknown credential type ${credential.type}` };
	const data = (credential.data ?? {}) as IDataObject;
	let connection: Connection | undefined;
	try {
		connection = connectionFromCredential(provider.id, data);
		const ids = await listModels(connection, 20_000);
		return { status: 'OK', message: `Connection successful: ${ids.length} model${ids.length === 1 ? '' : 's'} available` };
	} catch (err) {
		return { status: 'Error', message: redact(describeError(err), connection?.secrets ?? [String(data.apiKey ?? '')]) };
	}
}

/** "HTTP 401: <provider's message>" style text for any engine error. */
export function describeError(err: unknown): string {
	if (err instanceof LlmError) return `${err.status ? `HTTP ${err.status}: ` : ''}${err.providerMessage}`;
	return err instanceof Error ? err.message : String(err);
}

function attemptsSummary(err: LlmError): string {
	if (err.attempts.length <= 1) return '';
	return ` Attempts: ${err.attempts.map((a) => `${a.provider}/${a.model}: ${a.note}`).join('; ')}.`;
}

/** The one place engine errors become n8n errors. Messages are redacted of every secret. */
export function toNodeError(node: INode, err: unknown, itemIndex: number | undefined, ...secrets: Array<string | undefined>) {
	if (err instanceof NodeApiError || err instanceof NodeOperationError) return err;
	const message = redact(describeError(err), secrets);
	let error: NodeApiError | NodeOperationError;
	if (err instanceof InputError) {
		error = new NodeOperationError(node, message, {
			itemIndex,
			description: `Check the "${err.field}" field${itemIndex === undefined ? '' : ` for item ${itemIndex}`}.`,
		});
	} else if (err instanceof LlmError) {
		const response: JsonObject = { message, kind: err.kind, ...(err.status ? { status: err.status } : {}) };
		error = new NodeApiError(node, response, {
			message,
			description: redact(`${err.hint}${attemptsSummary(err)}`, secrets),
			httpCode: err.status ? String(err.status) : undefined,
			itemIndex,
		});
	} else {
		error = new NodeOperationError(node, message, { itemIndex });
	}
	// n8n's errors replace any message containing a Node error code (ECONNREFUSED, ENOTFOUND,
	// ECONNRESET...) with a generic sentence ("The service refused the connection - perhaps it is
	// offline") and keep the original only in `messages`, which continue-on-fail items do not carry.
	// Ours already say what failed and where (host and port): put them back.
	error.message = message;
	return error;
}

/** The JSON of an error item under "Continue On Fail": what failed and why, never the key. */
export function errorItemJson(error: Error & { description?: string | null }, err: unknown): IDataObject {
	const json: IDataObject = { error: error.message };
	if (error.description) json.description = error.description;
	if (err instanceof LlmError) {
		json.errorKind = err.kind;
		if (err.status) json.status = err.status;
		if (err.attempts.length) json.attempts = err.attempts as unknown as IDataObject[];
	}
	if (err instanceof InputError) json.field = err.field;
	return json;
}
