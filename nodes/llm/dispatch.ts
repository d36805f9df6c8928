/**
 * The engine's call path, used by every node: a request goes to its candidates in order
 * (primary first, then fallbacks). Each failure is classed once (errors.ts) and the class
 * decides: fail now, or move on to the next candidate.
 */
import type OpenAI from 'openai';
import { clientFor, type Connection } from './client';
import { classify, LlmError, redact, type Attempt } from './errors';
import { toRequestBody, type ChatMessage, type ChatRequest } from './request';
import { parseJsonAnswer, validateAgainstSchema } from './structured';

export interface Candidate {
	connection: Connection;
	model: string;
}

export interface CallSettings {
	/** Per request, in ms. */
	timeoutMs: number;
	signal?: AbortSignal;
	includeRaw?: boolean;
}

export interface ToolCall {
	id: string;
	name: string;
	/** Parsed when the model sent valid JSON, else the raw string. */
	arguments: unknown;
}

export interface Usage {
	promptTokens?: number;
	completionTokens?: number;
	totalTokens?: number;
	reasoningTokens?: number;
}

export interface ChatResult {
	text: string;
	json?: unknown;
	toolCalls?: ToolCall[];
	reasoning?: string;
	finishReason: string | null;
	provider: string;
	model: string;
	usage: Usage;
	latencyMs: number;
	attempts: Attempt[];
	raw?: unknown;
}

type Completion = OpenAI.Chat.Completions.ChatCompletion;
type AnswerMessage = Completion['choices'][number]['message'] & { reasoning_content?: unknown; reasoning?: unknown };

/** One HTTP call; anything that is not a usable completion becomes an LlmError. */
async function callOnce(candidate: Candidate, body: Record<string, unknown>, settings: CallSettings): Promise<Completion> {
	// Our own deadline rather than only the SDK's, so a timeout is told apart from a cancel for certain.
	const deadline = AbortSignal.timeout(settings.timeoutMs);
	const signal = settings.signal ? AbortSignal.any([settings.signal, deadline]) : deadline;
	let completion: unknown;
	try {
		completion = await clientFor(candidate.connection).chat.completions.create(
			body as unknown as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming,
			{ signal, timeout: settings.timeoutMs + 1000 },
		);
	} catch (err) {
		if (settings.signal?.aborted) throw new LlmError('cancelled', 'The execution was cancelled.');
		if (deadline.aborted) throw new LlmError('timeout', `No answer within ${Math.round(settings.timeoutMs / 1000)} s.`);
		throw classify(err);
	}
	const choices = (completion as Completion | null)?.choices;
	if (typeof completion !== 'object' || completion === null) {
		const text = typeof completion === 'string' ? completion : '';
		throw new LlmError('invalid_response', `Expected a JSON chat completion, got ${/<html|<!doctype/i.test(text) ? 'an HTML page' : 'a non-JSON body'}.`);
	}
	if (!Array.isArray(choices) || choices.length === 0 || typeof choices[0]?.message !== 'object') {
		throw new LlmError('invalid_response', 'The provider answered without any choices.');
	}
	return completion as Completion;
}

function textOf(content: unknown): string {
	if (typeof content === 'string') return content;
	if (Array.isArray(content)) return content.map((p) => (typeof p === 'string' ? p : ((p as { text?: string })?.text ?? ''))).join('');
	return '';
}

function toolCallsOf(message: AnswerMessage): ToolCall[] | undefined {
	const calls = message.tool_calls;
	if (!Array.isArray(calls) || calls.length === 0) return undefined;
	return calls.map((call) => {
		const fn = (call as { function?: { name?: string; arguments?: string } }).function ?? {};
		let args: unknown = fn.arguments ?? '';
		try {
			args = typeof args === 'string' && args ? JSON.parse(args) : args;
		} catch {
			// keep the raw string: the model sent arguments that are not JSON
		}
		return { id: call.id, name: fn.name ?? '', arguments: args };
	});
}

function usageOf(completion: Completion): Usage {
	const u = completion.usage;
	if (!u) return {};
	return {
		promptTokens: u.prompt_tokens,
		completionTokens: u.completion_tokens,
		totalTokens: u.total_tokens,
		reasoningTokens: u.completion_tokens_details?.reasoning_tokens ?? undefined,
	};
}

function addUsage(a: Usage, b: Usage): Usage {
	const sum = (x?: number, y?: number) => (x === undefined && y === undefined ? undefined : (x ?? 0) + (y ?? 0));
	return {
		promptTokens: sum(a.promptTokens, b.promptTokens),
		completionTokens: sum(a.completionTokens, b.completionTokens),
		totalTokens: sum(a.totalTokens, b.totalTokens),
		reasoningTokens: sum(a.reasoningTokens, b.reasoningTokens),
	};
}

/** Problem with a structured answer, or undefined when it is fine (or no structure was asked for). */
function structureProblem(request: ChatRequest, text: string, hasToolCalls: boolean): { problem?: string; value?: unknown } {
	const format = request.options.responseFormat;
	if (!format || format.type === 'text' || hasToolCalls) return {};
	const parsed = parseJsonAnswer(text);
	if (!parsed.ok) return { problem: parsed.problem };
	if (format.type === 'json_schema') {
		const problems = validateAgainstSchema(parsed.value, format.schema);
		if (problems.length) return { problem: `it does not match the schema: ${problems.join('; ')}` };
	}
	return { value: parsed.value };
}

/** Asks once more, telling the model what was wrong with its JSON. */
function repairMessages(request: ChatRequest, answer: string, problem: string): ChatMessage[] {
	return [
		...request.messages,
		{ role: 'assistant', content: answer },
		{
			role: 'user',
			content: `Your previous answer could not be used: ${problem}. Reply again with only the JSON, no prose and no code fences${
				request.options.responseFormat?.type === 'json_schema' ? ', matching the JSON schema exactly' : ''
			}.`,
		},
	];
}

/** Calls one candidate, with one repair attempt for structured output. */
async function completeWith(candidate: Candidate, request: ChatRequest, settings: CallSettings, attempts: Attempt[]) {
	const { provider } = candidate.connection;
	let messages = request.messages;
	let usage: Usage = {};
	for (let round = 0; ; round++) {
		const started = performance.now();
		const record = (outcome: Attempt['outcome'], status?: number) =>
			attempts.push({ provider: provider.id, model: candidate.model, outcome, status, waitedMs: 0, durationMs: Math.round(performance.now() - started) });
		let completion: Completion;
		try {
			completion = await callOnce(candidate, toRequestBody({ ...request, messages }, candidate.model, provider), settings);
		} catch (err) {
			const error = classify(err);
			record(error.kind, error.status);
			throw error;
		}
		usage = addUsage(usage, usageOf(completion));
		const choice = completion.choices[0];
		const message = choice.message as AnswerMessage;
		const text = textOf(message.content);
		const toolCalls = toolCallsOf(message);
		const { problem, value } = structureProblem(request, text, toolCalls !== undefined);
		if (problem) {
			record('invalid_output', 200);
			if (round === 0) {
				messages = repairMessages(request, text, problem);
				continue;
			}
			throw new LlmError('invalid_output', `The model's answer could not be used as JSON after one repair attempt: ${problem}.`);
		}
		record('ok', 200);
		const reasoning = message.reasoning_content ?? message.reasoning;
		return { completion, text, json: value, toolCalls, reasoning: typeof reasoning === 'string' && reasoning ? reasoning : undefined, usage, finishReason: choice.finish_reason ?? null };
	}
}

/**
 * Sends a request to its candidates in order and returns the first usable answer.
 * Errors carry every attempt and never a key.
 */
export async function complete(request: ChatRequest, candidates: Candidate[], settings: CallSettings): Promise<ChatResult> {
	const started = performance.now();
	const attempts: Attempt[] = [];
	const secrets = candidates.map((c) => c.connection.apiKey);
	let lastError: LlmError | undefined;
	const failedModels = new Set<string>();
	for (const candidate of candidates) {
		if (lastError?.action === 'next_other_model' && failedModels.has(candidate.model)) continue;
		try {
			const answer = await completeWith(candidate, request, settings, attempts);
			return {
				text: answer.text,
				json: answer.json,
				toolCalls: answer.toolCalls,
				reasoning: answer.reasoning,
				finishReason: answer.finishReason,
				provider: candidate.connection.provider.id,
				model: answer.completion.model || candidate.model,
				usage: answer.usage,
				latencyMs: Math.round(performance.now() - started),
				attempts,
				raw: settings.includeRaw ? answer.completion : undefined,
			};
		} catch (err) {
			lastError = classify(err);
			failedModels.add(candidate.model);
			if (lastError.action === 'fail') break;
		}
	}
	const error = lastError ?? new LlmError('bad_request', 'No provider was configured for this request.');
	const final = new LlmError(error.kind, redact(error.providerMessage, secrets), {
		status: error.status,
		code: error.code,
		retryAfterMs: error.retryAfterMs,
	});
	final.attempts = attempts;
	throw final;
}
