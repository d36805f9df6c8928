/**
 * The HTTP side: an OpenAI SDK client per connection (the SDK never retries; the engine decides),
 * the model list, and one chat completion call. Knows nothing of n8n.
 */
import OpenAI from 'openai';
import { readSpendSettings, type Budgets } from './budgets';
import { getProvider, type ProviderInfo } from './catalog';
import { classify, InputError, LlmError, shownUrl } from './errors';
import type { OwnPrices } from './pricing';

/** Everything needed to reach one provider with one key. Built from a credential's data. */
export interface Connection {
	provider: ProviderInfo;
	/** Scheme, host, port and path only: safe to show. The query and any user:password@ travel apart. */
	baseUrl: string;
	/** The Base URL's query parameters (e.g. api-version), sent with every request. */
	query?: Record<string, string>;
	apiKey?: string;
	headers: Record<string, string>;
	/** Everything that must never be shown: the key, a Base URL's password, secret-looking query values. */
	secrets: string[];
	/** Identifies the key for limits and breakers without holding the key itself. */
	credentialId: string;
	/** The credential's name, for messages. */
	label: string;
	limits: KeyLimits;
	/** The key's budgets per day and month (budgets.ts); undefined = none. */
	budgets?: Budgets;
	/** The key's own prices, which win over the price table. */
	prices?: OwnPrices;
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
		// Where a URL does not parse, it cannot be told where a password ends: then it is not shown at all.
		const shown = rawUrl.includes('@') ? ' is not a valid URL (not shown here: it holds a user name and password)' : ` "${shownUrl(rawUrl)}" is not a valid URL`;
		throw new InputError('baseUrl', `The ${provider.name} credential's Base URL${shown}. Use a full URL such as ${provider.defaultBaseUrl || 'http://localhost:1234/v1'}.`);
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
	const secrets = apiKey ? [apiKey] : [];
	if (url.username || url.password) {
		const basic = basicAuth(url, provider.name, apiKey);
		headers.Authorization = `Basic ${basic.token}`;
		secrets.push(...basic.secrets);
	}
	for (const [name, value] of url.searchParams) if (SECRET_PARAMETER.test(name)) secrets.push(value);
	return {
		provider,
		baseUrl: `${url.origin}${url.pathname}`.replace(/\/+$/, ''),
		query: url.search ? Object.fromEntries(url.searchParams) : undefined,
		apiKey,
		headers,
		secrets,
		credentialId,
		label,
		limits: {
			requestsPerMinute: positive(data.requestsPerMinute),
			requestsPerDay: positive(data.requestsPerDay),
			maxConcurrent: positive(data.maxConcurrent),
			pacing: data.pacing === 'smoothed' ? 'smoothed' : undefined,
		},
		...readSpendSettings(data, provider),
	};
}

/** Query parameters whose values are treated as secrets (?key=, ?access_token=, ?sig=...). */
const SECRET_PARAMETER = /key|token|secret|sig|pass|auth/i;

/**
 * `https://user:password@host/v1` is how servers behind a Basic-auth proxy (a common way to put
 * Ollama or llama.cpp on the network) are reached with curl, so it works here too: sent as an
 * Authorization: Basic header, never as part of the URL (fetch refuses such URLs anyway). One
 * Authorization header cannot carry both that and an API key, so having both is an input error.
 * Messages here never repeat the URL.
 */
function basicAuth(url: URL, providerName: string, apiKey: string | undefined): { token: string; secrets: string[] } {
	if (apiKey) {
		throw new InputError(
			'baseUrl',
			`The ${providerName} credential's Base URL holds a user name and password, and the credential also has an API key: both would need the one Authorization header. Keep the API key (and remove user:password@ from the Base URL), or, for a server behind Basic authentication, leave the API key empty.`,
		);
	}
	let user: string;
	let password: string;
	try {
		user = decodeURIComponent(url.username);
		password = decodeURIComponent(url.password);
	} catch {
		throw new InputError('baseUrl', `The user name or password in the ${providerName} credential's Base URL is not correctly URL-encoded (write @ as %40, : as %3A, / as %2F).`);
	}
	const token = Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
	return { token, secrets: [url.password, password, token] };
}

/**
 * The SDK keeps only `body.error` of an error response, but compatible servers also answer
 * {"message"}, {"detail"}, {"object": "error", ...} or plain text: hand the whole body to the
 * taxonomy (errors.ts reads every shape).
 */
class CompatibleClient extends OpenAI {
	protected override makeStatusError(status: number, error: object, message: string | undefined, headers: Headers) {
		return Object.assign(super.makeStatusError(status, error, message, headers), { body: error ?? message });
	}
}

const clients = new Map<string, OpenAI>();
const MAX_CACHED_CLIENTS = 200;

/** One SDK client per (URL, query, key, headers), reused so calls keep their HTTP connections. */
export function clientFor(connection: Connection): OpenAI {
	const cacheKey = `${connection.baseUrl}\n${JSON.stringify(connection.query ?? {})}\n${connection.apiKey ?? ''}\n${JSON.stringify(connection.headers)}`;
	let client = clients.get(cacheKey);
	if (!client) {
		if (clients.size >= MAX_CACHED_CLIENTS) clients.clear();
		client = new CompatibleClient({
			baseURL: connection.baseUrl,
			// The SDK insists on a key; a keyless server gets no Bearer header (Basic auth, if any, stays).
			apiKey: connection.apiKey ?? 'none',
			defaultHeaders: { ...connection.headers, ...(connection.apiKey || connection.headers.Authorization ? {} : { Authorization: null }) },
			defaultQuery: connection.query,
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
