/**
 * Reading a provider's answer into the engine's shape (text, reasoning, tool calls, usage,
 * finish reason), from a whole completion or from stream chunks. Compatible servers send odd
 * things (null entries, missing fields, arguments that are not JSON): tolerate what can be
 * read, and flag what cannot be used instead of passing it on silently.
 */
import { randomUUID } from 'node:crypto';
import { LlmError } from './errors';

export interface ToolCall {
	id: string;
	name: string;
	/** Parsed JSON; the raw string when the model sent arguments that are not JSON (see argumentsError). */
	arguments: unknown;
	/** Set when `arguments` could not be parsed: the raw string is kept so nothing is lost. */
	argumentsError?: string;
}

export interface Usage {
	promptTokens?: number;
	completionTokens?: number;
	totalTokens?: number;
	/** Part of promptTokens served from the provider's prompt cache. */
	cachedTokens?: number;
	/** Part of completionTokens spent on reasoning. */
	reasoningTokens?: number;
}

export interface Answer {
	text: string;
	reasoning?: string;
	toolCalls?: ToolCall[];
	usage: Usage;
	finishReason: string | null;
	/** The model the provider says answered (some servers answer with their own alias). */
	model?: string;
}

/** A piece of a streamed answer, passed on as it arrives. */
export interface StreamDelta {
	text?: string;
	reasoning?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function textOf(content: unknown): string {
	if (typeof content === 'string') return content;
	if (Array.isArray(content)) return content.map((p) => (typeof p === 'string' ? p : (str((p as Obj)?.text) ?? ''))).join('');
	return '';
}

/** DeepSeek and others send reasoning_content, OpenRouter and vLLM `reasoning`. */
const reasoningOf = (message: Obj) => str(message.reasoning_content) ?? str(message.reasoning);

function toolCall(id: string, name: string, raw: string): ToolCall {
	if (!raw.trim()) return { id, name, arguments: {} };
	try {
		return { id, name, arguments: JSON.parse(raw) };
	} catch (err) {
		return { id, name, arguments: raw, argumentsError: `The model sent arguments that are not valid JSON (${(err as Error).message}); the raw text is kept.` };
	}
}

/**
 * An id for a tool call the provider sent without one, unique like a provider's: callers pair
 * calls with results by id, and n8n's AI Agent 3 tracks its steps across turns by id (the same
 * "call_0" on every turn made it loop to its iteration limit).
 */
function missingId(): string {
	return `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
}

function toolCallsOf(calls: unknown): ToolCall[] | undefined {
	if (!Array.isArray(calls)) return undefined;
	const out = calls.filter(isObj).map((call) => {
		const fn = isObj(call.function) ? call.function : {};
		const args = fn.arguments;
		return toolCall(str(call.id) ?? missingId(), str(fn.name) ?? '', typeof args === 'string' ? args : args === undefined ? '' : JSON.stringify(args));
	});
	return out.length ? out : undefined;
}

export function usageOf(usage: unknown): Usage {
	if (!isObj(usage)) return {};
	const prompt = isObj(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
	const completion = isObj(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
	return {
		promptTokens: num(usage.prompt_tokens),
		completionTokens: num(usage.completion_tokens),
		totalTokens: num(usage.total_tokens),
		cachedTokens: num(prompt.cached_tokens) || undefined,
		reasoningTokens: num(completion.reasoning_tokens) || undefined,
	};
}

export function addUsage(a: Usage, b: Usage): Usage {
	const out: Usage = {};
	for (const key of ['promptTokens', 'completionTokens', 'totalTokens', 'cachedTokens', 'reasoningTokens'] as const) {
		if (a[key] !== undefined || b[key] !== undefined) out[key] = (a[key] ?? 0) + (b[key] ?? 0);
	}
	return out;
}

/** A whole (non-streamed) completion. Anything that is not one is an invalid response. */
export function answerOf(completion: unknown): Answer {
	if (!isObj(completion)) {
		const text = typeof completion === 'string' ? completion.slice(0, 2000) : '';
		throw new LlmError('invalid_response', `Expected a JSON chat completion, got ${/<html|<!doctype/i.test(text) ? 'an HTML page' : 'a non-JSON body'}.`);
	}
	const choice = Array.isArray(completion.choices) ? completion.choices[0] : undefined;
	if (!isObj(choice) || !isObj(choice.message)) throw new LlmError('invalid_response', 'The provider answered without any choices.');
	const message = choice.message;
	return {
		text: textOf(message.content),
		reasoning: reasoningOf(message) || undefined,
		toolCalls: toolCallsOf(message.tool_calls),
		usage: usageOf(completion.usage),
		finishReason: str(choice.finish_reason) ?? null,
		model: str(completion.model) || undefined,
	};
}

/** Collects a streamed answer chunk by chunk; `add` returns what to pass on at once. */
export class StreamedAnswer {
	private text = '';
	private reasoning = '';
	private readonly calls: Array<{ id?: string; name: string; args: string }> = [];
	private usage: Usage = {};
	private finishReason: string | null = null;
	private model?: string;
	/** Chunks seen; a stream with none was not a stream at all. */
	chunks = 0;

	add(chunk: unknown): StreamDelta | undefined {
		if (!isObj(chunk)) return undefined;
		this.chunks++;
		if (isObj(chunk.usage)) this.usage = usageOf(chunk.usage);
		this.model = str(chunk.model) || this.model;
		const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
		if (!isObj(choice)) return undefined;
		if (typeof choice.finish_reason === 'string') this.finishReason = choice.finish_reason;
		const delta = isObj(choice.delta) ? choice.delta : {};
		if (Array.isArray(delta.tool_calls)) {
			for (const [position, part] of delta.tool_calls.entries()) {
				if (!isObj(part)) continue;
				const index = num(part.index) ?? position;
				const fn = isObj(part.function) ? part.function : {};
				const call = (this.calls[index] ??= { name: '', args: '' });
				call.id ??= str(part.id);
				call.name += str(fn.name) ?? '';
				call.args += str(fn.arguments) ?? '';
			}
		}
		const text = textOf(delta.content);
		const reasoning = reasoningOf(delta) ?? '';
		this.text += text;
		this.reasoning += reasoning;
		if (!text && !reasoning) return undefined;
		return { ...(text ? { text } : {}), ...(reasoning ? { reasoning } : {}) };
	}

	result(): Answer {
		const calls = this.calls.filter(Boolean).map((c) => toolCall(c.id ?? missingId(), c.name, c.args));
		return {
			text: this.text,
			reasoning: this.reasoning || undefined,
			toolCalls: calls.length ? calls : undefined,
			usage: this.usage,
			finishReason: this.finishReason,
			model: this.model,
		};
	}
}
