/**
 * Types for fake-provider.js (plain JavaScript, shared with the e2e runner and bench/): what the
 * TypeScript tests see of the fake OpenAI-compatible provider. Keep in step with the JS.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** One part of a message's content, as OpenAI's API takes it (text, image_url, ...). */
export interface ChatContentPart {
	type: string;
	text?: string;
	image_url?: { url: string; detail?: string };
	[key: string]: unknown;
}

/** A tool call as it is sent back to the provider in an assistant message. */
export interface ChatToolCall {
	id: string;
	type: 'function';
	function: { name: string; arguments: string };
}

/** One message of a chat completion request. */
export interface ChatRequestMessage {
	role: string;
	content?: string | ChatContentPart[] | null;
	tool_calls?: ChatToolCall[];
	tool_call_id?: string;
	[key: string]: unknown;
}

/** A chat completion request's body, as the client sent it (the fields tests look at; any others too). */
export interface ChatRequestBody {
	model: string;
	messages: ChatRequestMessage[];
	stream?: boolean;
	stream_options?: { include_usage?: boolean };
	tools?: Array<{ type: 'function'; function: { name: string; description?: string; parameters?: unknown; strict?: boolean } }>;
	tool_choice?: unknown;
	response_format?: unknown;
	temperature?: number;
	max_tokens?: number;
	[key: string]: unknown;
}

/**
 * A request the fake received. `body` is the JSON the client sent (its text when it was not JSON,
 * undefined without one): a chat completion request for /chat/completions, which is what
 * `chatRequests` and the tests' handlers look at.
 */
export interface FakeRequest<Body = ChatRequestBody> {
	method: string;
	/** The URL's path, without the query. */
	path: string;
	/** The path with the query, as sent. */
	url: string;
	headers: IncomingHttpHeaders;
	body: Body;
	/** Arrival time (Date.now()). */
	at: number;
	/** Set when the client went away before the answer was complete. */
	abandoned?: boolean;
}

/** A chat completion as the fake answers it (and as `completion()` builds one). */
export interface ChatCompletion {
	id: string;
	object: 'chat.completion';
	created: number;
	model: string;
	choices: Array<{
		index: number;
		message: { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[]; [key: string]: unknown };
		finish_reason: string;
	}>;
	usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/**
 * How the fake answers one request; every field is optional, and an empty step is the default
 * answer (the model list, or an echo of the last user text).
 */
export interface FakeStep {
	/** HTTP status (default 200). */
	status?: number;
	headers?: Record<string, string>;
	/** The answer: an object or array (sent as JSON), a string (sent as is), or a function of the request's body making one. */
	body?: unknown;
	/** With a string body: send it as text/plain (default text/html). */
	text?: boolean;
	/** With a string body: send it as application/json. */
	json?: boolean;
	/** Wait this long before answering. */
	delayMs?: number;
	/** Never answer. */
	hang?: boolean;
	/** Destroy the connection without answering. */
	reset?: boolean;
	/** Send half the body (with a longer content-length), then destroy the connection. */
	resetMidBody?: boolean;
	/** Answer with these server-sent events instead (default for a 200 to a `stream` request: the completion's chunks). */
	stream?: unknown[];
	/** Time between stream chunks. */
	streamDelayMs?: number;
	/** Destroy the connection after this many chunks. */
	streamBreakAfter?: number;
	/** End the response cleanly after this many chunks, with no finish reason and no [DONE]. */
	streamEndAfter?: number;
	/** With `hold`: pause after this many chunks until `hold` resolves. */
	holdAfter?: number;
	hold?: Promise<unknown>;
}

/** What decides the answer to a request once the queue of steps is used up; undefined means the default. */
export type FakeHandler = (record: FakeRequest) => FakeStep | undefined;

export interface FakeProvider {
	/** http://127.0.0.1:<port> */
	readonly url: string;
	/** The OpenAI-compatible base URL (`${url}/v1`). */
	readonly baseUrl: string;
	/** Every request so far (model lists too), oldest first. */
	readonly requests: FakeRequest<unknown>[];
	/** The requests to a /chat/completions path, oldest first. */
	readonly chatRequests: FakeRequest[];
	/** The most requests being answered at once since the last reset(). */
	readonly maxInFlight: number;
	/** Queue one or more steps for the next requests. */
	enqueue(...steps: FakeStep[]): void;
	/** Decide per request (after the queue is used up). */
	setHandler(fn: FakeHandler): void;
	/** Forgets requests, queued steps, the handler and maxInFlight. */
	reset(): void;
	close(): Promise<void>;
}

export function startFakeProvider(options?: { models?: string[]; port?: number }): Promise<FakeProvider>;

/** A chat completion answering `body` with `content`; `extra.message` is merged into its message. */
export function completion(body: { model?: string }, content: string | null, extra?: { message?: Record<string, unknown>; finishReason?: string }): ChatCompletion;

/** A completion as stream chunks: its text word by word, tool calls, then finish and usage. */
export function chunksOf(full: ChatCompletion): object[];

/** A completion whose answer is tool calls (`arguments` as an object); ids are made unique unless given. */
export function toolCallCompletion(body: { model?: string }, calls: Array<{ id?: string; name: string; arguments?: unknown }>): ChatCompletion;

/** A handler playing a model that uses a calculator tool (see the JS); undefined for requests without tools. */
export function calculatorScript(record: FakeRequest<Partial<ChatRequestBody> | undefined>): FakeStep | undefined;

/** The first number in a tool result, as text. */
export function numberIn(text: unknown): string | undefined;

/** The text of the last user message of a request body ('' without one). */
export function lastUserText(body: { messages?: ChatRequestMessage[] }): string;

/** The most times that fall within any window of `windowMs` (half-open). */
export function maxInWindow(times: number[], windowMs: number): number;

/** The error body shapes `errorStep` knows. */
export type ErrorShape = 'openai' | 'gemini' | 'vllm' | 'mistral' | 'fastapi' | 'fastapiObject' | 'fastapiList' | 'message' | 'errorString' | 'text' | 'html';

/** An error answer in the body shape a kind of OpenAI-compatible server uses. */
export function errorStep(shape: ErrorShape, status: number, message: string): FakeStep;
