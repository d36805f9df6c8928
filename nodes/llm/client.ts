/**
 * The HTTP side: an OpenAI SDK client per connection (the SDK never retries; the engine decides),
 * the model list, and one chat completion call. Knows nothing of n8n.
 */
import OpenAI from 'openai';
import { getProvider, type ProviderInfo } from './catalog';
import { classify, InputError, LlmError } from './errors';

/** Everything needed to reach one provider with one key. Built from a credential's data. */
export interface Connection {
	provider: ProviderInfo;
	baseUrl: string;
	apiKey?: string;
	headers: Record<string, string>;
	/** Identifies the key for limits and breakers without holding the key itself. */
	credentialId: string;
	/** The credential's name, for messages. */
	label: string;
	limits: KeyLimits;
}

/** The key's own limits, from its credential. Undefined = no limit. */
export interface KeyLimits {
	requestsPerMinute?: number;
	requestsPerDay?: number;
	maxConcurrent?: number;
	/** How starts under Requests per Minute are spread (limiter.ts); undefined = burst. */
	pacing?: 'burst' | 'smoothed';
}

function positive(value: unknown): number | undefined {
	const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
	return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Turns a credential's data into a connection, checking what a user could have typed wrong. */
export function connectionFromCredential(
	providerId: string,
	data: Record<string, unknown>,
	credentialId = providerId,
	label = credentialId,
): Connection {
	const provider = getProvider(providerId);
	const rawUrl = String(data.baseUrl ?? '').trim() || provider.defaultBaseUrl;
	if (!rawUrl) {
		throw new InputError('baseUrl', `The ${provider.name} credential has no Base URL. Enter the server's OpenAI-compatible URL, e.g. http://localhost:1234/v1.`);
	}
	let url: URL;
	try {
		url = new URL(rawUrl);
	} catch {
		throw new InputError('baseUrl', `The ${provider.name} credential's Base URL "${rawUrl}" is not a valid URL. Use a full URL such as ${provider.defaultBaseUrl || 'http://localhost:1234/v1'}.`);
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') {
		throw new InputError('baseUrl', `The ${provider.name} credential's Base URL must start with http:// or https:// (got "${url.protocol}").`);
	}
	const apiKey = String(data.apiKey ?? '').trim() || undefined;
	if (!apiKey && provider.apiKeyRequired) {
		throw new InputError('apiKey', `The ${provider.name} credential has no API key. Paste the key from your ${provider.name} account.`);
	}
	const headers: Record<string, string> = { ...provider.extraHeaders };
	for (const name of provider.keyHeaders ?? []) if (apiKey) headers[name] = apiKey;
	for (const field of provider.headerFields ?? []) {
		const value = String(data[field.name] ?? '').trim();
		if (value) headers[field.header] = value;
	}
	return {
		provider,
		baseUrl: rawUrl.replace(/\/+$/, ''),
		apiKey,
		headers,
		credentialId,
		label,
		limits: {
			requestsPerMinute: positive(data.requestsPerMinute),
			requestsPerDay: positive(data.requestsPerDay),
			maxConcurrent: positive(data.maxConcurrent),
			pacing: data.pacing === 'smoothed' ? 'smoothed' : undefined,
		},
	};
}

const clients = new Map<string, OpenAI>();
const MAX_CACHED_CLIENTS = 200;

/** One SDK client per (URL, key, headers), reused so calls keep their HTTP connections. */
export function clientFor(connection: Connection): OpenAI {
	const cacheKey = `${connection.baseUrl}\n${connection.apiKey ?? ''}\n${JSON.stringify(connection.headers)}`;
	let client = clients.get(cacheKey);
	if (!client) {
		if (clients.size >= MAX_CACHED_CLIENTS) clients.clear();
		client = new OpenAI({
			baseURL: connection.baseUrl,
			// The SDK insists on a key; a keyless server gets no Authorization header at all.
			apiKey: connection.apiKey ?? 'none',
			defaultHeaders: { ...connection.headers, ...(connection.apiKey ? {} : { Authorization: null }) },
			maxRetries: 0,
			timeout: 600_000,
		});
		clients.set(cacheKey, client);
	}
	return client;
}

/** Model IDs from `GET {baseUrl}/models`, sorted. Accepts the list shapes compatible servers use. */
export async function listModels(connection: Connection, timeoutMs = 30_000): Promise<string[]> {
	let body: unknown;
	try {
		body = await clientFor(connection).get('/models', { timeout: timeoutMs });
	} catch (err) {
		throw classify(err);
	}
	const obj = body as { data?: unknown; models?: unknown } | unknown[] | null;
	const list = Array.isArray(obj) ? obj : Array.isArray(obj?.data) ? obj.data : Array.isArray(obj?.models) ? obj.models : undefined;
	if (!list) {
		throw new LlmError('invalid_response', `GET ${connection.baseUrl}/models did not return a model list. Check that the Base URL points at an OpenAI-compatible API.`);
	}
	const ids = list
		.map((m) => (typeof m === 'string' ? m : ((m as { id?: unknown; name?: unknown })?.id ?? (m as { name?: unknown })?.name)))
		.filter((id): id is string => typeof id === 'string' && id.length > 0);
	return [...new Set(ids)].sort((a, b) => a.localeCompare(b));
}
