/**
 * The one error taxonomy. Every failure of a provider call is classed here, once, from the HTTP
 * status, the provider's error code/type and its message. The class decides the action; nothing
 * else in the package looks at status codes.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';

/** One call to one candidate, as reported in output metadata and errors. Never holds prompt content or keys. */
export interface Attempt {
	/** The credential's name in n8n (several keys of one provider can be candidates). */
	credential: string;
	provider: string;
	model: string;
	outcome: 'ok' | ErrorKind;
	status?: number;
	/** The candidate was not called; `reason` says why. */
	skipped?: boolean;
	reason?: string;
	/** Time spent waiting before this attempt (backoff, Retry-After, rate-limit slot). */
	waitedMs: number;
	durationMs: number;
	/** What the call cost in USD, on every call the provider answered (billed); null when its price is not known. */
	costUsd?: number | null;
	/** What happened and what came next, in plain words: "server error (HTTP 503), retried after 1.0 s". */
	note: string;
}

export type ErrorKind =
	| 'rate_limited'
	| 'quota_exhausted'
	| 'auth'
	| 'model_not_found'
	| 'endpoint_not_found'
	| 'context_length'
	| 'content_policy'
	| 'bad_request'
	| 'server'
	| 'timeout'
	| 'connection'
	| 'invalid_response'
	| 'invalid_output'
	| 'cut_off'
	| 'stream_interrupted'
	| 'invalid_credential'
	| 'daily_limit'
	| 'budget_exhausted'
	| 'breaker_open'
	| 'limits_unavailable'
	| 'cancelled';

/** What the engine does next for each class (see README "Errors and what happens next"). */
export type ErrorAction = 'retry' | 'next_candidate' | 'fail';

export const ERROR_ACTIONS: Record<ErrorKind, ErrorAction> = {
	rate_limited: 'retry',
	server: 'retry',
	timeout: 'retry',
	connection: 'retry',
	invalid_response: 'retry',
	limits_unavailable: 'retry',
	quota_exhausted: 'next_candidate',
	auth: 'next_candidate',
	model_not_found: 'next_candidate',
	endpoint_not_found: 'next_candidate',
	context_length: 'next_candidate',
	invalid_output: 'next_candidate',
	invalid_credential: 'next_candidate',
	daily_limit: 'next_candidate',
	budget_exhausted: 'next_candidate',
	breaker_open: 'next_candidate',
	content_policy: 'fail',
	bad_request: 'fail',
	cut_off: 'fail',
	stream_interrupted: 'fail',
	cancelled: 'fail',
};

/** Each class in plain words, for an attempt's note. */
const OUTCOME_WORDS: Record<ErrorKind, string> = {
	rate_limited: 'rate limited',
	quota_exhausted: 'out of quota or credit',
	auth: 'API key rejected',
	model_not_found: 'model not found',
	endpoint_not_found: 'no such endpoint (check the Base URL)',
	context_length: 'input too long for this model',
	content_policy: 'refused under the content policy',
	bad_request: 'request rejected',
	server: 'server error',
	timeout: 'no answer in time',
	connection: 'could not connect',
	invalid_response: 'not a chat completion',
	invalid_output: 'answer was not the JSON asked for',
	cut_off: 'answer cut off at Max Tokens',
	stream_interrupted: 'stream broke off',
	invalid_credential: 'credential cannot be used',
	daily_limit: "key used up its Requests per Day",
	budget_exhausted: 'key used up its budget',
	breaker_open: 'paused by its circuit breaker',
	limits_unavailable: 'limits store (Redis) did not answer',
	cancelled: 'cancelled',
};

/** An outcome in plain words: "answered", "server error (HTTP 503)". */
export function outcomeWords(outcome: Attempt['outcome'], status?: number): string {
	if (outcome === 'ok') return 'answered';
	return `${OUTCOME_WORDS[outcome]}${status ? ` (HTTP ${status})` : ''}`;
}

/** One line per class, shown to the user after the provider's own message. */
const HINTS: Record<ErrorKind, string> = {
	rate_limited: 'The provider is rate limiting this key. Lower the concurrency or set the key\'s limits on the credential.',
	quota_exhausted: 'The key has run out of quota or credit. Top up the account or add a fallback.',
	auth: 'The provider rejected the API key. Check the key in the credential (and that it may use this model).',
	model_not_found: 'The provider does not know this model. Pick one from the list or check its exact ID.',
	endpoint_not_found: 'The server has no such endpoint (404 without naming a model). Check that the Base URL is the API root, which usually ends in /v1.',
	context_length: 'The request is longer than the model\'s context window. Shorten the input or use a model with a larger context.',
	content_policy: 'The provider refused the request under its content policy.',
	bad_request: 'The provider rejected the request. Check the options sent (see the message).',
	server: 'The provider had a server error. Try again later or add a fallback.',
	timeout: 'No answer within the timeout. Raise the Timeout option for slow models, or check the base URL.',
	connection: 'Could not reach the provider. Check the base URL and that the server is running.',
	invalid_response: 'The provider answered with something that is not a chat completion. Check that the base URL points at an OpenAI-compatible API (it usually ends in /v1).',
	invalid_output: 'The model\'s answer did not match the requested JSON format, even after one repair attempt.',
	cut_off: 'The answer reached the Max Tokens limit before it was complete. Raise Max Tokens under Options.',
	stream_interrupted: 'The provider stopped in the middle of a streamed answer. Part of it had already been sent on, so no other model was asked; run it again.',
	invalid_credential: 'The credential of this provider cannot be used as it is. Open it and fix the field named in the message.',
	daily_limit: 'The key has used its requests for today (the Requests per Day limit on its credential). Add a fallback or raise the limit.',
	budget_exhausted: 'The key has spent its daily or monthly budget (set on its credential). Add a fallback on another key, raise the budget, or wait for the reset.',
	breaker_open: 'This provider and model failed repeatedly and are paused for a cooldown. Add a fallback to keep going meanwhile.',
	limits_unavailable: 'Queue mode keeps this key\'s limits in Redis, which did not answer, and BYOK_REDIS_ON_ERROR=fail forbids sending without them. Check Redis, or set BYOK_REDIS_ON_ERROR=local to fall back to per-process limits.',
	cancelled: 'The execution was cancelled.',
};

export class LlmError extends Error {
	readonly kind: ErrorKind;
	readonly status?: number;
	readonly code?: string;
	/** The provider's own words, HTML stripped and shortened. */
	readonly providerMessage: string;
	/** From Retry-After / retry-after-ms, when the provider sent one. */
	readonly retryAfterMs?: number;
	/** Every attempt made before giving up; set by the dispatcher. */
	attempts: Attempt[] = [];

	constructor(
		kind: ErrorKind,
		providerMessage: string,
		extra: { status?: number; code?: string; retryAfterMs?: number } = {},
	) {
		super(providerMessage);
		this.name = 'LlmError';
		this.kind = kind;
		this.providerMessage = providerMessage;
		this.status = extra.status;
		this.code = extra.code;
		this.retryAfterMs = extra.retryAfterMs;
	}

	get action(): ErrorAction {
		return ERROR_ACTIONS[this.kind];
	}

	get hint(): string {
		return HINTS[this.kind];
	}
}

const CONTEXT_LENGTH =
	/context[_ ]length|context window|maximum context|too many tokens|prompt is too long|input is too long|exceeds? the (maximum|max)|reduce the length|token limit|maximum number of tokens|n_ctx|exceed_context_size|inputs` tokens \+ `max_new_tokens/i;
const QUOTA = /insufficient_quota|quota|billing|credit|balance|payment required|exceeded your current/i;
const CONTENT_POLICY = /content[_ ]?(policy|filter|management)|safety|moderation|flagged/i;
/** A 404 (or a 400 with such a code) about the model rather than the path; OpenRouter says "No endpoints found for <model>". */
const MODEL_NOT_FOUND = /model|no endpoints found for/i;

/**
 * Provider text read at most: classification and the shown message need only the start of a
 * body, and every pattern here then runs over a bounded string whatever a server sends.
 */
const MAX_READ = 64 * 1024;

/** Parses Retry-After (seconds or an HTTP date) and retry-after-ms. */
export function parseRetryAfter(headers: { get(name: string): string | null } | undefined, now = Date.now()): number | undefined {
	if (!headers) return undefined;
	const ms = headers.get('retry-after-ms');
	if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
	const value = headers.get('retry-after');
	if (!value) return undefined;
	if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.max(0, Number(value) * 1000);
	const date = Date.parse(value);
	return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

type Body = Record<string, unknown>;
const isBody = (value: unknown): value is Body => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The words in a message field: a string, an object carrying one, or a list of them (FastAPI's
 * validation `detail`: [{loc, msg}]). Depth-bounded: a body is provider-sent.
 */
function wordsOf(value: unknown, depth = 0): string | undefined {
	if (typeof value === 'string') return value;
	if (depth > 3) return undefined;
	if (Array.isArray(value)) return value.slice(0, 5).map((v) => wordsOf(v, depth + 1)).filter(Boolean).join('; ') || undefined;
	if (!isBody(value)) return undefined;
	const words = wordsOf(value.message ?? value.msg ?? value.detail ?? value.error, depth + 1);
	const where = Array.isArray(value.loc) ? value.loc.join('.') : undefined;
	return words && where ? `${where}: ${words}` : words;
}

/**
 * The provider's message and error codes from any error body shape compatible servers use:
 * OpenAI's {"error": {message, code, type}} (Gemini wraps it in a list), {"error": "text"} (Ollama,
 * TGI), {"object": "error", message, type, code} at the top level (vLLM, Mistral), {"detail": ...}
 * (FastAPI servers: a string, an object or a list of {loc, msg}), {"message": ...}, plain text, HTML.
 */
function readErrorBody(body: unknown): { message: string; code: string } {
	const first = Array.isArray(body) ? body[0] : body;
	if (!isBody(first)) return { message: plainText(first === undefined || first === null ? '' : String(first)), code: '' };
	const inner = isBody(first.error) ? first.error : first;
	const code = [inner.code, inner.type, inner.status, first.error_type]
		.filter((v): v is string => typeof v === 'string' && v.length > 0)
		.join(' ')
		.slice(0, 200);
	const words = wordsOf(first.error ?? first.detail ?? first.message) ?? jsonText(first);
	return { message: plainText(words), code };
}

/** A body with no message field, as JSON text; a body nested too deeply to write out is named as such. */
function jsonText(body: Body): string {
	try {
		return JSON.stringify(body).slice(0, MAX_READ);
	} catch {
		return 'an error body that could not be read';
	}
}

const HTML = /<\/?(html|head|body|h1|title|center)[\s>]/i;
const RAW_TEXT_TAG = /^<(script|style)[\s>/]/i;

/**
 * Strips tags in one pass, dropping script and style contents: every search starts past the
 * previous one and a search that finds nothing ends the scan, so it is linear on any input
 * (regular expressions over malformed HTML backtrack: 4.6 s for 100 KB).
 */
function stripTags(html: string): string {
	const lower = html.toLowerCase();
	const unclosed = new Set<string>();
	let out = '';
	let at = 0;
	while (at < html.length) {
		const open = html.indexOf('<', at);
		if (open === -1) return out + html.slice(at);
		// "1 < 2" is text: a tag starts with a letter, /, ! or ?.
		if (!/[a-z/!?]/i.test(html.charAt(open + 1))) {
			out += html.slice(at, open + 1);
			at = open + 1;
			continue;
		}
		out += `${html.slice(at, open)} `;
		const raw = RAW_TEXT_TAG.exec(lower.slice(open, open + 8))?.[1];
		let close = -1;
		if (raw && !unclosed.has(raw)) {
			close = lower.indexOf(`</${raw}`, open);
			if (close === -1) unclosed.add(raw);
		}
		const end = html.indexOf('>', close === -1 ? open : close);
		if (end === -1) return out + html.slice(open);
		at = end + 1;
	}
	return out;
}

/** Strips HTML and shortens, so an nginx error page becomes a readable line. Reads at most MAX_READ characters. */
export function plainText(text: string, max = 300): string {
	const start = text.slice(0, MAX_READ);
	const isHtml = HTML.test(start);
	let out = (isHtml ? stripTags(start) : start).replace(/\s+/g, ' ').trim();
	if (isHtml) out = `HTML page: ${out}`;
	return out.length > max ? `${out.slice(0, max)}...` : out;
}

function kindOfStatus(status: number, code: string, message: string): ErrorKind {
	const text = `${code} ${message}`;
	if (status === 402) return 'quota_exhausted';
	if (status === 429) return QUOTA.test(code) || /insufficient_quota|exceeded your current quota|billing/i.test(message) ? 'quota_exhausted' : 'rate_limited';
	if (status === 401 || status === 403) return CONTENT_POLICY.test(code) ? 'content_policy' : 'auth';
	// A 404 that names no model is a wrong path (the Base URL): another candidate may still answer.
	if (status === 404) return MODEL_NOT_FOUND.test(text) ? 'model_not_found' : 'endpoint_not_found';
	if (status === 408) return 'timeout';
	if (status === 413) return 'context_length';
	if (status >= 500) return 'server';
	if (status >= 400) {
		if (CONTEXT_LENGTH.test(text)) return 'context_length';
		if (/model_not_found|invalid_model/i.test(code)) return 'model_not_found';
		if (CONTENT_POLICY.test(code) || /content policy|safety system|flagged/i.test(message)) return 'content_policy';
		return 'bad_request';
	}
	return 'invalid_response';
}

/** Classes any error thrown while calling a provider. Already-classed errors pass through. */
export function classify(err: unknown): LlmError {
	if (err instanceof LlmError) return err;
	if (err instanceof APIUserAbortError) return new LlmError('cancelled', 'The request was cancelled.');
	if (err instanceof APIConnectionTimeoutError) return timeoutError();
	if (err instanceof APIConnectionError) return connectionError(err);
	if (err instanceof APIError && err.status) {
		const { message, code } = readErrorBody(responseBody(err));
		const kind = kindOfStatus(err.status, code, message);
		return new LlmError(kind, message || 'the response had no body', {
			status: err.status,
			code: code || undefined,
			retryAfterMs: parseRetryAfter(err.headers as { get(name: string): string | null } | undefined),
		});
	}
	const name = (err as { name?: string })?.name;
	// By name, not instanceof: errors from Node's fetch may come from another realm (e.g. under jest).
	if (name === 'SyntaxError') return new LlmError('invalid_response', `The provider's answer is not valid JSON: ${(err as Error).message}`);
	if (name === 'AbortError') return new LlmError('cancelled', 'The request was cancelled.');
	const { code } = rootCause(err);
	if (code || /terminated|socket|ECONN|EPIPE|fetch failed/i.test((err as Error)?.message ?? '')) return connectionError(err);
	return new LlmError('invalid_response', (err as Error)?.message ?? String(err));
}

/**
 * The whole body of an error response. The SDK keeps only `body.error`, so the client (client.ts)
 * also hands over the body it read; an APIError made elsewhere falls back to what the SDK kept.
 */
function responseBody(err: APIError): unknown {
	if ('body' in err) return err.body;
	return err.error !== undefined ? { error: err.error } : err.message.slice(0, MAX_READ).replace(/^\d{3}\s*/, '');
}

function timeoutError(): LlmError {
	return new LlmError('timeout', 'The provider did not answer within the timeout.');
}

/** The innermost cause's code and message: fetch wraps the socket error (ECONNREFUSED, ECONNRESET). */
function rootCause(err: unknown): { code?: string; message?: string; name?: string } {
	let current = err as { code?: unknown; message?: string; name?: string; cause?: unknown } | undefined;
	let code: string | undefined;
	for (let depth = 0; current && depth < 5; depth++) {
		if (typeof current.code === 'string') code = current.code;
		if (!current.cause || typeof current.cause !== 'object') break;
		current = current.cause as typeof current;
	}
	return { code, message: current?.message, name: current?.name };
}

function connectionError(err: unknown): LlmError {
	const cause = rootCause(err);
	// A timed-out fetch can surface as a connection error wrapping the abort.
	if (cause.name === 'AbortError' || cause.name === 'TimeoutError' || /timed? ?out/i.test(cause.message ?? '')) return timeoutError();
	return new LlmError('connection', `Connection failed${cause.code ? ` (${cause.code})` : ''}: ${cause.message ?? 'no answer'}`, { code: cause.code });
}

/**
 * Replaces every secret (and any Bearer token) in a text, as given, as sent (trimmed) and
 * URL-encoded (a server may echo a key from a query string), and removes user:password@ and
 * query strings from every URL in it. Used on every message leaving the engine.
 */
export function redact(text: string, secrets: Array<string | undefined>): string {
	let out = text;
	for (const secret of secrets) {
		const trimmed = secret?.trim() ?? '';
		const encoded = encodeURIComponent(trimmed);
		for (const form of new Set([secret ?? '', trimmed, encoded, encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase())])) {
			if (form.length >= 4) out = out.split(form).join('***');
		}
	}
	return out.replace(/Bearer\s+[A-Za-z0-9._~+/=-]{8,}/g, 'Bearer ***').replace(/\bhttps?:\/\/\S+/gi, (url) => shownUrl(url));
}

/** A URL as it may be shown: without user:password@, query string or fragment. Plain string work, so it also serves URLs that do not parse. */
export function shownUrl(url: string): string {
	const withoutQuery = url.split(/[?#]/, 1)[0];
	const slashes = withoutQuery.indexOf('//');
	const scheme = slashes === -1 ? 0 : slashes + 2;
	const authorityEnd = withoutQuery.indexOf('/', scheme);
	const authority = withoutQuery.slice(scheme, authorityEnd === -1 ? undefined : authorityEnd);
	const at = authority.lastIndexOf('@');
	return at === -1 ? withoutQuery : withoutQuery.slice(0, scheme) + withoutQuery.slice(scheme + at + 1);
}

/** A problem with what the user configured or sent (a field, a value): never retried, never falls back. */
export class InputError extends Error {
	constructor(
		readonly field: string,
		message: string,
	) {
		super(message);
		this.name = 'InputError';
	}
}
