/**
 * The engine's call path, used by every node, and its one retry loop:
 *
 *   for each candidate (primary, then fallbacks), skipped while its breaker is open:
 *     limiter(credential).schedule(one HTTP call, SDK retries off)
 *     on error -> classify once -> retry the same candidate | next candidate | fail now
 *
 * Retry = same candidate after backoff or Retry-After. Fallback = next candidate.
 * Cooldown = the candidate's breaker is open. The three stay apart.
 */
import type OpenAI from 'openai';
import { breakers, type BreakerSettings } from './breaker';
import { clientFor, type Connection } from './client';
import { classify, LlmError, redact, type Attempt } from './errors';
import { limiters } from './limiter';
import { sleep } from './sleep';
import { toRequestBody, type ChatMessage, type ChatRequest } from './request';
import { parseJsonAnswer, validateAgainstSchema } from './structured';

export interface Candidate {
	connection: Connection;
	model: string;
}

export interface CallSettings {
	/** Per request, in ms, including time spent waiting for a rate-limit slot. */
	timeoutMs: number;
	signal?: AbortSignal;
	includeRaw?: boolean;
	/** Extra tries of the same candidate for retryable failures. */
	retries?: number;
	/** Longest wait before a retry; a longer Retry-After moves on to the next candidate. */
	maxWaitMs?: number;
	breaker?: BreakerSettings;
}

export const DEFAULTS = { retries: 3, maxWaitMs: 60_000, breaker: { threshold: 5, cooldownMs: 60_000 } };

/** Exponential backoff: 1 s, 2 s, 4 s ... capped at 30 s, each +-25% so clients do not retry in step. */
export const backoff = { baseMs: 1000, maxMs: 30_000 };
export function backoffDelay(retry: number, random = Math.random): number {
	const plain = Math.min(backoff.maxMs, backoff.baseMs * 2 ** retry);
	return Math.round(plain * (0.75 + random() * 0.5));
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

/** One HTTP call through the key's limiter; anything that is not a usable completion becomes an LlmError. */
async function callOnce(candidate: Candidate, body: Record<string, unknown>, settings: CallSettings, timing: { sentAt?: number }): Promise<Completion> {
	const { connection } = candidate;
	// Our own deadline rather than only the SDK's: it also covers the wait for a rate-limit slot,
	// and tells a timeout apart from a cancel for certain.
	const deadline = AbortSignal.timeout(settings.timeoutMs);
	const signal = settings.signal ? AbortSignal.any([settings.signal, deadline]) : deadline;
	const limiter = limiters.get(connection.credentialId, connection.label, connection.limits);
	let completion: unknown;
	try {
		completion = await limiter.schedule(() => {
			timing.sentAt = performance.now();
			return clientFor(connection).chat.completions.create(
				body as unknown as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming,
				{ signal, timeout: settings.timeoutMs + 1000 },
			);
		}, signal);
	} catch (err) {
		if (settings.signal?.aborted) throw new LlmError('cancelled', 'The execution was cancelled.');
		if (deadline.aborted) {
			const queued = timing.sentAt === undefined ? ' (it was still waiting for a slot under the key\'s rate limits)' : '';
			throw new LlmError('timeout', `No answer within ${Math.round(settings.timeoutMs / 1000)} s${queued}.`);
		}
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

/** Calls one candidate once, plus one repair call when structured output does not parse or match. */
async function completeWith(candidate: Candidate, request: ChatRequest, settings: CallSettings, attempts: Attempt[], waitedMs: number) {
	const { provider } = candidate.connection;
	let messages = request.messages;
	let usage: Usage = {};
	for (let round = 0; ; round++) {
		const started = performance.now();
		const timing: { sentAt?: number } = {};
		const record = (outcome: Attempt['outcome'], status?: number) => {
			const sentAt = timing.sentAt ?? performance.now();
			attempts.push({
				provider: provider.id,
				model: candidate.model,
				outcome,
				status,
				waitedMs: Math.round(waitedMs + sentAt - started),
				durationMs: Math.round(performance.now() - sentAt),
			});
			waitedMs = 0;
		};
		let completion: Completion;
		try {
			completion = await callOnce(candidate, toRequestBody({ ...request, messages }, candidate.model, provider), settings, timing);
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

/** Breakers are per candidate: one key and one model. */
function breakerKey(candidate: Candidate): string {
	return `${candidate.connection.credentialId}\n${candidate.model}`;
}

/**
 * Sends a request to its candidates in order and returns the first usable answer.
 * Errors carry every attempt and never a key.
 */
export async function complete(request: ChatRequest, candidates: Candidate[], settings: CallSettings): Promise<ChatResult> {
	const started = performance.now();
	const retries = settings.retries ?? DEFAULTS.retries;
	const maxWaitMs = settings.maxWaitMs ?? DEFAULTS.maxWaitMs;
	const breakerSettings = settings.breaker ?? DEFAULTS.breaker;
	const attempts: Attempt[] = [];
	const secrets = candidates.map((c) => c.connection.apiKey);
	const failedModels = new Set<string>();
	let lastError: LlmError | undefined;

	// A probe holds its breaker's claim as long as it may run: its tries (a JSON repair makes two) up to the timeout each.
	const probeHoldMs = 2 * settings.timeoutMs + 1000;
	const skipOpen = (candidate: Candidate) => {
		attempts.push({ provider: candidate.connection.provider.id, model: candidate.model, outcome: 'breaker_open', waitedMs: 0, durationMs: 0 });
		lastError = new LlmError('breaker_open', `${candidate.connection.provider.name} ${candidate.model} failed repeatedly and is paused for a cooldown.`);
	};

	candidates: for (const candidate of candidates) {
		// After "context too long", only a different model can help.
		if (lastError?.action === 'next_other_model' && failedModels.has(candidate.model)) continue;
		const key = breakerKey(candidate);
		let pass = await breakers.allow(key, probeHoldMs);
		if (!pass) {
			skipOpen(candidate);
			continue;
		}
		let waitedMs = 0;
		for (let retry = 0; ; retry++) {
			try {
				const answer = await completeWith(candidate, request, settings, attempts, waitedMs);
				await breakers.succeeded(key, pass);
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
				const error = classify(err);
				lastError = error;
				failedModels.add(candidate.model);
				await breakers.failed(key, pass, error.kind, breakerSettings);
				if (error.action === 'fail') break candidates;
				if (error.action !== 'retry' || retry >= retries || (await breakers.isOpen(key))) continue candidates;
				const wait = error.retryAfterMs ?? backoffDelay(retry);
				if (wait > maxWaitMs) continue candidates;
				await sleep(wait, settings.signal).catch(() => {
					throw new LlmError('cancelled', 'The execution was cancelled.');
				});
				waitedMs = wait;
				// The breaker may have opened while this request waited.
				pass = await breakers.allow(key, probeHoldMs);
				if (!pass) {
					skipOpen(candidate);
					continue candidates;
				}
			}
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
