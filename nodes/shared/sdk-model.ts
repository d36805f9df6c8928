/**
 * The one file that speaks n8n's AI node SDK (`@n8n/ai-node-sdk`, a preview; written and tested
 * against 0.31.1 as shipped with n8n 2.41.1). It holds ByokModel, the model object a BYOK Chat
 * Model sub-node hands to n8n: every generate() and stream() goes through the engine's complete()
 * (limits, retries, breaker, fallback chain), and the conversions between the SDK's messages,
 * tools and results and the engine's. n8n wraps the model in its LangChain adapter
 * (LangchainChatModelAdapter) for the agent and chains; supplyByokModel() also makes that adapter
 * show who answered and the attempts in the sub-node's output data, and real token usage when
 * streaming.
 *
 * The SDK is a peer dependency: at run time it is n8n's own copy (n8n checks the model with
 * instanceof against it), so nothing here may be bundled.
 */
import {
	BaseChatModel,
	getParametersJsonSchema,
	supplyModel,
	type ChatModelConfig,
	type FinishReason,
	type GenerateResult,
	type Message,
	type MessageContent,
	type StreamChunk,
	type TokenUsage,
	type Tool,
} from '@n8n/ai-node-sdk';
import type { ISupplyDataFunctions, SupplyData } from 'n8n-workflow';
import { usageWritten } from '../llm/budgets';
import { complete, type CallSettings, type Candidate, type ChatResult, type StreamDelta, type ToolCall } from '../llm/dispatch';
import { InputError, type Attempt } from '../llm/errors';
import type { ChatMessage, ChatOptions, ToolDefinition, UserPart } from '../llm/request';
import type { Routing } from '../llm/router';
import { CHAIN, type Chain } from './chain';

/** What a sub-node's parameters decided: the chain's candidates and its head's options. */
export interface ModelSetup {
	/** The sub-node's name: a node using the chain finds it by this. */
	node: string;
	candidates: Candidate[];
	/** Sampling options (temperature, max tokens, stop ...): the chain head's apply to every candidate. */
	options: ChatOptions;
	/** Timeout, retries, max wait, breaker, the execution's cancel signal. */
	settings: CallSettings;
	/** Engine errors to n8n errors, without keys. */
	toError: (err: unknown) => Error;
	/** Route by Category: the candidates for one call, from its messages, and why. */
	route?: (messages: ChatMessage[]) => { candidates: Candidate[]; routing: Routing };
}

/** Who answered, shown in the sub-node's output data and in the answer's response_metadata. */
export interface AnswerInfo {
	/** The credential's name and the model, as in BYOK Chat's output: "Groq (team key) · llama-3.3-70b". */
	answeredBy: string;
	fallbackUsed: boolean;
	/** With Route by Category: the call's category and why. */
	routing?: Routing;
	attempts: Attempt[];
	latencyMs: number;
}

/**
 * Answer metadata by the call-options object: LangChain hands the same object to the adapter's
 * _generate/_streamResponseChunks and (as `config`) to our generate/stream.
 */
const answers = new WeakMap<object, AnswerInfo>();

export class ByokModel extends BaseChatModel {
	readonly #setup: ModelSetup;

	constructor(setup: ModelSetup, tools: Tool[] = []) {
		const head = setup.candidates[0];
		super(head.connection.provider.id, head.model, undefined, tools);
		this.#setup = setup;
	}

	/** Hands the chain to a node it is connected to (see chain.ts). */
	get [CHAIN](): Chain {
		return { node: this.#setup.node, candidates: this.#setup.candidates };
	}

	/** The SDK's copy-by-assign would drop the private setup; a new model keeps it. */
	withTools(tools: Tool[]): ByokModel {
		return new ByokModel(this.#setup, [...this.tools, ...tools]);
	}

	async generate(messages: Message[], config?: ChatModelConfig): Promise<GenerateResult> {
		const { result, info } = await this.#complete(messages, config);
		return toGenerateResult(result, info);
	}

	/**
	 * Text deltas as the engine passes them on (it streams from the provider), then each tool call
	 * whole (one chunk per call, with its id: n8n's adapter gives every tool-call chunk index 0, and
	 * LangChain keeps chunks with the same index apart only by their ids), then the finish with
	 * usage. The engine falls back only before the first token; a failure after it is an error
	 * thrown from here, never a silent restart.
	 */
	async *stream(messages: Message[], config?: ChatModelConfig): AsyncIterable<StreamChunk> {
		const pending: StreamChunk[] = [];
		let wake = () => {};
		let settled = false;
		let streamed = '';
		const stop = new AbortController();
		const answer = this.#complete(messages, config, stop.signal, (delta) => {
			if (delta.text) {
				streamed += delta.text;
				pending.push({ type: 'text-delta', delta: delta.text });
			}
			if (delta.reasoning) pending.push({ type: 'reasoning-delta', delta: delta.reasoning });
			wake();
		}).finally(() => {
			settled = true;
			wake();
		});
		answer.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"
		try {
			while (true) {
				while (pending.length > 0) yield pending.shift()!;
				if (settled) break;
				await new Promise<void>((resolve) => (wake = resolve));
			}
			const { result } = await answer;
			// Whatever the engine did not pass on as deltas (a provider may answer a stream request whole).
			if (result.text.startsWith(streamed) && result.text.length > streamed.length) {
				yield { type: 'text-delta', delta: result.text.slice(streamed.length) };
			}
			for (const call of result.toolCalls ?? []) {
				yield { type: 'tool-call-delta', id: call.id, name: call.name, argumentsDelta: argumentsText(call) };
			}
			yield { type: 'finish', finishReason: finishReasonOf(result) ?? 'other', usage: usageOf(result) };
		} finally {
			// A consumer that stops reading cancels the request.
			if (!settled) stop.abort();
		}
	}

	async #complete(messages: Message[], config: ChatModelConfig | undefined, stop?: AbortSignal, onDelta?: (delta: StreamDelta) => void) {
		const { candidates, options, settings, toError } = this.#setup;
		const callOptions = (config ?? {}) as ChatModelConfig & { signal?: AbortSignal; stop?: string[] };
		const signals = [settings.signal, callOptions.abortSignal, callOptions.signal, stop].filter((s): s is AbortSignal => s !== undefined);
		const stopSequences = [...(options.stop ?? []), ...(callOptions.stop ?? callOptions.stopSequences ?? [])];
		const callSettings: CallSettings = { ...settings, signal: signals.length ? AbortSignal.any(signals) : undefined, onDelta };
		let routed: ReturnType<NonNullable<ModelSetup['route']>> | undefined;
		let result: ChatResult;
		try {
			// Inside the try: a message or tool n8n hands over that cannot be sent is an input error, shown like the others.
			const request = {
				messages: toChatMessages(messages),
				options: { ...options, stop: stopSequences.length ? stopSequences : undefined, tools: toToolDefinitions(this.tools) },
			};
			routed = this.#setup.route?.(request.messages);
			result = await complete(request, routed?.candidates ?? candidates, callSettings);
		} catch (err) {
			throw toError(err);
		} finally {
			// n8n gives a sub-node no end of its own: each call's usage is in the store before it returns.
			await usageWritten();
		}
		const info = { ...answerInfo(result), ...(routed ? { routing: routed.routing } : {}) };
		if (config && typeof config === 'object') answers.set(config, info);
		return { result, info };
	}
}

/** supplyModel(), with n8n's adapter fitted to show who answered and streamed token usage (see fitAdapter). */
export function supplyByokModel(ctx: ISupplyDataFunctions, model: ByokModel): SupplyData {
	const supplied = supplyModel(ctx, model);
	fitAdapter(supplied.response as LangchainAdapter);
	return supplied;
}

// ---------------------------------------------------------------------------------------------
// Conversions

function textOf(content: MessageContent[]): string {
	return content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

/** A tool result as text: strings as they are, text blocks joined, anything else as JSON. */
function resultText(result: unknown): string {
	if (typeof result === 'string') return result;
	if (Array.isArray(result) && result.every((r) => (r as { type?: string })?.type === 'text')) return result.map((r) => (r as { text: string }).text).join('');
	return JSON.stringify(result);
}

function userContent(content: MessageContent[]): string | UserPart[] {
	if (content.every((c) => c.type === 'text')) return textOf(content);
	return content.flatMap((c): UserPart[] => {
		if (c.type === 'text') return [{ type: 'text', text: c.text }];
		if (c.type !== 'file') return [];
		const url = c.providerMetadata?.url;
		if (typeof url === 'string') return [{ type: 'image_url', image_url: { url } }];
		const mediaType = c.mediaType ?? 'application/octet-stream';
		if (!mediaType.startsWith('image/')) {
			throw new InputError('messages', `BYOK Chat Model sends text and images; a message carries a ${mediaType} file. Send its text instead.`);
		}
		const data = typeof c.data === 'string' ? c.data : Buffer.from(c.data).toString('base64');
		return [{ type: 'image_url', image_url: { url: data.startsWith('data:') ? data : `data:${mediaType};base64,${data}` } }];
	});
}

/** SDK messages to the engine's OpenAI-style messages. Reasoning and provider blocks are not sent back. */
export function toChatMessages(messages: Message[]): ChatMessage[] {
	return messages.flatMap((message): ChatMessage[] => {
		const { content } = message;
		switch (message.role) {
			case 'system':
				return [{ role: 'system', content: textOf(content) }];
			case 'assistant': {
				const calls = content.flatMap((c, n) =>
					c.type === 'tool-call' ? [{ id: c.toolCallId ?? `call_${n + 1}`, type: 'function' as const, function: { name: c.toolName, arguments: c.input } }] : [],
				);
				const text = textOf(content);
				return [calls.length ? { role: 'assistant', content: text || null, tool_calls: calls } : { role: 'assistant', content: text }];
			}
			case 'tool':
				return content.flatMap((c): ChatMessage[] => (c.type === 'tool-result' ? [{ role: 'tool', tool_call_id: c.toolCallId, content: resultText(c.result) }] : []));
			default:
				return [{ role: 'user', content: userContent(content) }];
		}
	});
}

/** SDK tools (JSON schema or zod) to OpenAI function definitions. */
export function toToolDefinitions(tools: Tool[]): ToolDefinition[] | undefined {
	if (tools.length === 0) return undefined;
	return tools.map((tool) => {
		if (tool.type !== 'function') {
			throw new InputError('tools', `The tool "${tool.name}" is a provider-side tool, which BYOK Chat Model cannot send. Use function tools.`);
		}
		// `$schema` (from zod) says nothing to a provider, and some reject unknown keys.
		const parameters = { ...(getParametersJsonSchema(tool) as Record<string, unknown>) };
		delete parameters.$schema;
		const fn: ToolDefinition['function'] = { name: tool.name, parameters };
		if (tool.description) fn.description = tool.description;
		return { type: 'function', function: fn };
	});
}

function argumentsText(call: ToolCall): string {
	return typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {});
}

const FINISH_REASONS: Record<string, FinishReason> = {
	stop: 'stop',
	length: 'length',
	tool_calls: 'tool-calls',
	function_call: 'tool-calls',
	content_filter: 'content-filter',
};

function usageOf(result: ChatResult): TokenUsage | undefined {
	const { promptTokens, completionTokens, totalTokens, reasoningTokens } = result.usage;
	if (promptTokens === undefined && completionTokens === undefined) return undefined;
	return {
		promptTokens: promptTokens ?? 0,
		completionTokens: completionTokens ?? 0,
		totalTokens: totalTokens ?? (promptTokens ?? 0) + (completionTokens ?? 0),
		...(reasoningTokens ? { outputTokenDetails: { reasoning: reasoningTokens } } : {}),
	};
}

function answerInfo(result: ChatResult): AnswerInfo {
	return {
		answeredBy: result.answeredBy,
		fallbackUsed: result.candidateIndex > 0,
		attempts: result.attempts,
		latencyMs: result.latencyMs,
	};
}

function finishReasonOf(result: ChatResult): FinishReason | undefined {
	return result.finishReason ? (FINISH_REASONS[result.finishReason] ?? 'other') : undefined;
}

/** The engine's answer as the SDK's result: text and tool calls in one assistant message, usage, who answered. */
export function toGenerateResult(result: ChatResult, info: AnswerInfo): GenerateResult {
	const content: MessageContent[] = [{ type: 'text', text: result.text }];
	for (const call of result.toolCalls ?? []) content.push({ type: 'tool-call', toolCallId: call.id, toolName: call.name, input: argumentsText(call) });
	return {
		finishReason: finishReasonOf(result),
		usage: usageOf(result),
		message: { role: 'assistant', content },
		providerMetadata: { ...info },
	};
}

// ---------------------------------------------------------------------------------------------
// n8n's adapter

type TokenCounts = { promptTokens: number; completionTokens: number; totalTokens: number };
type UsageParser = (result: { llmOutput?: { tokenUsage?: Record<string, number | undefined> } }) => TokenCounts;

/** The parts of n8n's LangchainChatModelAdapter (a LangChain chat model) that fitAdapter wraps. */
interface LangchainAdapter {
	_generate(messages: unknown, options: object, runManager?: unknown): Promise<{ generations: Array<{ generationInfo?: object }> }>;
	_streamResponseChunks(messages: unknown, options: object, runManager?: unknown): AsyncGenerator<{ generationInfo?: { finish_reason?: unknown } }>;
	bindTools(tools: unknown[], kwargs?: unknown): LangchainAdapter;
	/** n8n's N8nLlmTracing, which stores each call in the sub-node's run data. */
	callbacks?: Array<{ options?: { tokensUsageParser?: UsageParser } }>;
}

/**
 * Two gaps in n8n 2.41.1's adapter, closed for our model only (anything unexpected is left alone):
 * - n8n stores a call's output in the sub-node's data as each generation's `text` and
 *   `generationInfo` (N8nLlmTracing), and the adapter sets no generationInfo: this adds ours
 *   (answeredBy, fallbackUsed, attempts, latencyMs), streamed or not;
 * - its token parser reads `input_tokens`/`output_tokens`, but a streamed call's usage comes as
 *   LangChain's `promptTokens`/`completionTokens`, so streamed runs showed only an estimate: the
 *   parser reads both.
 * The adapters bindTools() makes for the agent are fitted the same way.
 */
function fitAdapter(adapter: LangchainAdapter): LangchainAdapter {
	const base = Object.getPrototypeOf(adapter) as LangchainAdapter;
	if (typeof base._generate !== 'function' || typeof base._streamResponseChunks !== 'function' || typeof base.bindTools !== 'function') return adapter;
	adapter._generate = async function (messages, options, runManager) {
		const result = await base._generate.call(this, messages, options, runManager);
		const info = answers.get(options);
		if (info) for (const generation of result.generations) generation.generationInfo = { ...generation.generationInfo, ...info };
		return result;
	};
	adapter._streamResponseChunks = async function* (messages, options, runManager) {
		for await (const chunk of base._streamResponseChunks.call(this, messages, options, runManager)) {
			const info = answers.get(options);
			// The finish chunk comes after the answer: the info is there by then.
			if (info && chunk.generationInfo?.finish_reason !== undefined) chunk.generationInfo = { ...chunk.generationInfo, ...info };
			yield chunk;
		}
	};
	adapter.bindTools = function (tools, kwargs) {
		return fitAdapter(base.bindTools.call(this, tools, kwargs));
	};
	for (const tracing of adapter.callbacks ?? []) {
		const parse = tracing.options?.tokensUsageParser;
		if (!tracing.options || typeof parse !== 'function') continue;
		tracing.options.tokensUsageParser = (result) => {
			const usage = result?.llmOutput?.tokenUsage;
			if (usage?.output_tokens !== undefined || usage?.completionTokens === undefined) return parse(result);
			const promptTokens = usage.promptTokens ?? 0;
			return { promptTokens, completionTokens: usage.completionTokens, totalTokens: usage.totalTokens ?? promptTokens + usage.completionTokens };
		};
	}
	return adapter;
}
