/**
 * The engine's call path, used by every node, and its one retry loop:
 *
 *   for each candidate (primary, then fallbacks), skipped while unusable (broken credential),
 *   already known to be too small for this request, or behind an open breaker:
 *     budgets(credential).admit -> limiter(credential).schedule(one HTTP call, SDK retries off;
 *       streamed when asked) -> settle what the answer used (tokens, cost) or give the estimate back
 *     on error -> classify once -> retry the same candidate | next candidate | fail now
 *
 * Retry = same candidate after backoff or Retry-After. Fallback = next candidate.
 * Cooldown = the candidate's breaker is open. The three stay apart. A candidate is a credential
 * plus a model: every decision (skips, breakers) is about candidates, never about model names.
 * Every call and every skip is recorded in `attempts`, each with a note in plain words that says
 * what happened and what came next. Once a provider has answered (HTTP 200),
 * nothing about that answer sends the same request again, except the one JSON repair round;
 * once a streamed token has been passed on, no other candidate may answer.
 */
import type OpenAI from 'openai';
import { addUsage, answerOf, StreamedAnswer, type Answer, type StreamDelta, type ToolCall, type Usage } from './answer';
import { breakers, type BreakerSettings } from './breaker';
import { admit, type BudgetWarning, type Charge, type Ticket } from './budgets';
import { clientFor, type Connection } from './client';
import { classify, InputError, LlmError, outcomeWords, redact, type Attempt } from './errors';
import { limiters } from './limiter';
import { roundUsd, type Cost } from './pricing';
import { sleep } from './sleep';
import { toRequestBody, type ChatMessage, type ChatRequest } from './request';
import { parseJsonAnswer, validateAgainstSchema } from './structured';

export type { StreamDelta, ToolCall, Usage };

export interface Candidate {
	connection: Connection;
	model: string;
	/** Why this candidate cannot be called (e.g. its credential is broken): it is skipped, with an attempt saying why. */
	unusable?: InputError;
}

export interface CallSettings {
	/** Per request, in ms, including time spent waiting for a rate-limit slot. */
	timeoutMs: number;
	signal?: AbortSignal;
	includeRaw?: boolean;
	/** Extra tries of the same candidate for retryable failures (the last candidate, and rate limits on any). */
	retries?: number;
	/** Extra tries of a candidate that has a next one after a server, timeout, connection or broken-answer failure. */
	retriesBeforeFallback?: number;
	/** Longest wait before a retry; a longer Retry-After moves on to the next candidate. */
	maxWaitMs?: number;
	breaker?: BreakerSettings;
	/** Streams the answer: called with each piece as it arrives. */
	onDelta?: (delta: StreamDelta) => void;
	/** Called once per budget and period when a key crosses 50, 75, 90 or 100% of a budget. */
	onBudgetWarning?: (warning: BudgetWarning) => void;
}

export const DEFAULTS = { retries: 3, retriesBeforeFallback: 1, maxWaitMs: 60_000, breaker: { threshold: 5, cooldownMs: 60_000 } };

/** Exponential backoff: 1 s, 2 s, 4 s ... capped at 30 s, each +-25% so clients do not retry in step. */
export const backoff = { baseMs: 1000, maxMs: 30_000 };
export function backoffDelay(retry: number, random = Math.random): number {
	const plain = Math.min(backoff.maxMs, backoff.baseMs * 2 ** retry);
	return Math.round(plain * (0.75 + random() * 0.5));
}

export interface ChatResult {
	text: string;
	json?: unknown;
	toolCalls?: ToolCall[];
	reasoning?: string;
	finishReason: string | null;
	provider: string;
	model: string;
	/** Which candidate answered: 0 = the first, more = a fallback. */
	candidateIndex: number;
	/** That candidate in words: its credential's name and the model, "Groq (team key) · llama-3.3-70b". Never a key. */
	answeredBy: string;
	usage: Usage;
	/** What the item cost: every billed call (retries, repair rounds, fallbacks) added up. */
	cost: Cost;
	/** The answering key's budgets after this item, when it has any. */
	budget?: Charge['budget'];
	latencyMs: number;
	attempts: Attempt[];
	raw?: unknown;
}

/** One call's timing, and what it cost once the provider answered (billed). */
type Timing = { sentAt?: number; streamed?: boolean; charge?: Charge };

const cancelled = () => new LlmError('cancelled', 'The execution was cancelled.');

/** One HTTP call (streamed or not) through the key's limiter; anything that is not a usable answer becomes an LlmError. */
async function send(candidate: Candidate, body: Record<string, unknown>, settings: CallSettings, timing: Timing): Promise<{ answer: Answer; raw?: unknown }> {
	const { connection } = candidate;
	// Our own deadline rather than only the SDK's: it also covers the wait for a rate-limit slot,
	// and tells a timeout apart from a cancel for certain.
	const deadline = AbortSignal.timeout(settings.timeoutMs);
	const signal = settings.signal ? AbortSignal.any([settings.signal, deadline]) : deadline;
	const limiter = limiters.get(connection.credentialId, connection.label, connection.limits);
	const options = { signal, timeout: settings.timeoutMs + 1000 };
	const client = clientFor(connection);
	// Outside the task: a stream that breaks off after tokens were passed on is billed for them.
	const answer = new StreamedAnswer();
	let ticket: Ticket | undefined;
	try {
		ticket = await admit(connection, candidate.model, body, { signal, timeoutMs: settings.timeoutMs, onWarning: settings.onBudgetWarning });
		const reply = await limiter.schedule(async () => {
			timing.sentAt = performance.now();
			if (!settings.onDelta) {
				const raw: unknown = await client.chat.completions.create(body as unknown as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming, options);
				return { answer: answerOf(raw), raw };
			}
			const stream = await client.chat.completions.create(
				{ ...body, stream: true, stream_options: { include_usage: true } } as unknown as OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming,
				options,
			);
			for await (const chunk of stream) {
				const delta = answer.add(chunk);
				if (delta) {
					timing.streamed = true;
					settings.onDelta?.(delta);
				}
			}
			const result = answer.result();
			if (answer.chunks === 0) throw new LlmError('invalid_response', 'The provider sent no stream events (does it support streaming?).');
			// Every compatible server ends a stream with a finish reason; without one it was cut short.
			if (result.finishReason === null) throw new LlmError('connection', 'The stream ended before the answer was finished.');
			return { answer: result };
		}, signal);
		timing.charge = await ticket.settle(reply.answer);
		return reply;
	} catch (err) {
		if (timing.streamed) timing.charge = await ticket?.settle(answer.result());
		else ticket?.release();
		if (settings.signal?.aborted) throw cancelled();
		const unsent = timing.sentAt === undefined;
		const error = deadline.aborted
			? new LlmError('timeout', `No answer within ${Math.round(settings.timeoutMs / 1000)} s${unsent ? " (it was still waiting for a slot under the key's rate limits or budget)" : ''}.`, unsent ? { code: NOT_SENT } : {})
			: classify(err);
		if (!timing.streamed) throw error;
		throw new LlmError('stream_interrupted', `The answer stopped after part of it had been streamed: ${error.providerMessage}`, { status: error.status });
	}
}

/** What is wrong with a structured answer, or nothing (also when no structure was asked for). */
function structureProblem(request: ChatRequest, answer: Answer): { problem?: string; value?: unknown } {
	const format = request.options.responseFormat;
	if (!format || format.type === 'text' || answer.toolCalls) return {};
	const parsed = parseJsonAnswer(answer.text);
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

/** The code of a timeout that came before the request was sent (waiting for a rate-limit slot or budget). */
const NOT_SENT = 'not_sent';

function cutOff(request: ChatRequest): LlmError {
	const limit = request.options.maxTokens;
	return new LlmError(
		'cut_off',
		`The answer was cut off at ${limit ? `Max Tokens (${limit})` : "the provider's output limit"} before the JSON was complete. Raise Max Tokens${limit ? '' : ' (set it under Options)'}.`,
	);
}

type Record_ = (outcome: Attempt['outcome'], status?: number) => Attempt;

/** Calls one candidate once, plus one repair call when structured output does not parse or match. */
async function callCandidate(candidate: Candidate, request: ChatRequest, settings: CallSettings, newAttempt: (timing: Timing) => Record_) {
	let messages = request.messages;
	let usage: Usage = {};
	for (let round = 0; ; round++) {
		const timing: Timing = {};
		const record = newAttempt(timing);
		let reply: { answer: Answer; raw?: unknown };
		try {
			reply = await send(candidate, toRequestBody({ ...request, messages }, candidate.model, candidate.connection.provider), settings, timing);
		} catch (err) {
			const error = classify(err);
			record(error.kind, error.status);
			throw error;
		}
		// The provider has answered: from here on nothing may re-send this request (a failure
		// here is about the answer, so it is never retried on the same candidate).
		let checked: { problem?: string; value?: unknown };
		try {
			usage = addUsage(usage, reply.answer.usage);
			checked = structureProblem(request, reply.answer);
		} catch (err) {
			record('invalid_output', 200);
			throw new LlmError('invalid_output', `The answer could not be read: ${(err as Error)?.message ?? String(err)}`);
		}
		if (checked.problem) {
			if (reply.answer.finishReason === 'length') {
				record('cut_off', 200);
				throw cutOff(request);
			}
			const attempt = record('invalid_output', 200);
			// A streamed answer has already been passed on: it cannot be taken back and repaired.
			if (round === 0 && !settings.onDelta) {
				attempt.note += ', asked the model to fix it';
				messages = repairMessages(request, reply.answer.text, checked.problem);
				continue;
			}
			throw new LlmError('invalid_output', `The model's answer could not be used as JSON${settings.onDelta ? '' : ' after one repair attempt'}: ${checked.problem}.`);
		}
		record('ok', 200);
		return { ...reply, json: checked.value, usage };
	}
}

const seconds = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

/** One candidate: one key and one model. Breakers and skips are per candidate. */
function candidateKey(candidate: Candidate): string {
	return `${candidate.connection.credentialId}\n${candidate.model}`;
}

/** An item's cost: its billed calls added up; unknown if any of them is. */
function totalCost(charges: Charge[]): Cost {
	const unknown = charges.find((c) => c.cost.usd === null);
	if (unknown) return unknown.cost;
	const last = charges[charges.length - 1].cost;
	const estimated = charges.some((c) => c.cost.estimated);
	return { ...last, usd: roundUsd(charges.reduce((sum, c) => sum + (c.cost.usd ?? 0), 0)), ...(estimated ? { estimated } : {}) };
}

/** Failures that move on after fewer tries when another candidate is waiting. */
const QUICK_TO_FALL_BACK: ReadonlySet<string> = new Set(['server', 'timeout', 'connection', 'invalid_response']);

/**
 * Sends a request to its candidates in order and returns the first usable answer.
 * Errors carry every attempt and never a key.
 */
export async function complete(request: ChatRequest, candidates: Candidate[], settings: CallSettings): Promise<ChatResult> {
	const started = performance.now();
	const retries = settings.retries ?? DEFAULTS.retries;
	const retriesBeforeFallback = Math.min(retries, settings.retriesBeforeFallback ?? DEFAULTS.retriesBeforeFallback);
	const maxWaitMs = settings.maxWaitMs ?? DEFAULTS.maxWaitMs;
	const breakerSettings = settings.breaker ?? DEFAULTS.breaker;
	const attempts: Attempt[] = [];
	const charges: Charge[] = [];
	const secrets = candidates.flatMap((c) => c.connection.secrets);
	/** Candidates that said the input is too long: the same one will not be asked again. */
	const tooSmall = new Set<string>();
	let callError: LlmError | undefined;
	let skipError: LlmError | InputError | undefined;

	const skip = (candidate: Candidate, outcome: Attempt['outcome'], reason: string) =>
		attempts.push({
			credential: candidate.connection.label,
			provider: candidate.connection.provider.id,
			model: candidate.model,
			outcome,
			skipped: true,
			reason,
			waitedMs: 0,
			durationMs: 0,
			note: `skipped: ${outcomeWords(outcome)}`,
		});
	const skipOpen = (candidate: Candidate) => {
		skip(candidate, 'breaker_open', 'Paused by its circuit breaker after repeated failures.');
		skipError = new LlmError('breaker_open', `${candidate.connection.provider.name} ${candidate.model} failed repeatedly and is paused for a cooldown.`);
	};
	// A probe holds its breaker's claim as long as it may run: its calls (a JSON repair makes two) up to the timeout each.
	const probeHoldMs = 2 * settings.timeoutMs + 1000;

	candidates: for (const [index, candidate] of candidates.entries()) {
		const { provider } = candidate.connection;
		const key = candidateKey(candidate);
		if (candidate.unusable) {
			skip(candidate, 'invalid_credential', candidate.unusable.message);
			skipError ??= candidate.unusable;
			continue;
		}
		if (tooSmall.has(key)) {
			skip(candidate, 'context_length', 'The same provider and model already said this input is too long.');
			continue;
		}
		let pass = await breakers.allow(key, probeHoldMs);
		if (!pass) {
			skipOpen(candidate);
			continue;
		}
		const isLast = index === candidates.length - 1;
		let waitedMs = 0;
		const newAttempt = (timing: Timing): Record_ => {
			const begun = performance.now();
			const waited = waitedMs;
			waitedMs = 0;
			return (outcome, status) => {
				const sentAt = timing.sentAt ?? performance.now();
				const attempt: Attempt = {
					credential: candidate.connection.label,
					provider: provider.id,
					model: candidate.model,
					outcome,
					status,
					waitedMs: Math.round(waited + sentAt - begun),
					durationMs: Math.round(performance.now() - sentAt),
					...(timing.charge ? { costUsd: timing.charge.cost.usd } : {}),
					note: outcomeWords(outcome, status),
				};
				attempts.push(attempt);
				if (timing.charge) charges.push(timing.charge);
				return attempt;
			};
		};
		for (let retry = 0; ; retry++) {
			try {
				const reply = await callCandidate(candidate, request, settings, newAttempt);
				await breakers.succeeded(key, pass);
				return {
					text: reply.answer.text,
					json: reply.json,
					toolCalls: reply.answer.toolCalls,
					reasoning: reply.answer.reasoning,
					finishReason: reply.answer.finishReason,
					provider: provider.id,
					model: reply.answer.model || candidate.model,
					candidateIndex: index,
					answeredBy: `${candidate.connection.label} · ${candidate.model}`,
					usage: reply.usage,
					cost: totalCost(charges),
					budget: charges.at(-1)?.budget,
					latencyMs: Math.round(performance.now() - started),
					attempts,
					raw: settings.includeRaw ? reply.raw : undefined,
				};
			} catch (err) {
				const error = classify(err);
				callError = error;
				// The attempt this failure recorded: its note goes on to say what happens next.
				const failed = attempts[attempts.length - 1];
				const then = (what: string) => {
					if (failed) failed.note += `, ${what}`;
				};
				const next = isLast ? 'no model left to try' : 'moved on to the next model';
				if (error.kind === 'context_length') tooSmall.add(key);
				await breakers.failed(key, pass, error.kind, breakerSettings, error.code !== NOT_SENT);
				if (error.action === 'fail') {
					if (error.kind !== 'cancelled') then(error.kind === 'stream_interrupted' ? 'not retried: part of the answer had been passed on' : 'not retried: the same request would fail again');
					break candidates;
				}
				const allowed = isLast || !QUICK_TO_FALL_BACK.has(error.kind) ? retries : retriesBeforeFallback;
				if (error.action !== 'retry') {
					then(next);
					continue candidates;
				}
				if (retry >= allowed) {
					then(allowed > 0 ? `no retries left, ${next}` : next);
					continue candidates;
				}
				if (await breakers.isOpen(key)) {
					then(`its circuit breaker opened, ${next}`);
					continue candidates;
				}
				const wait = error.retryAfterMs ?? backoffDelay(retry);
				if (wait > maxWaitMs) {
					then(`asked to wait ${seconds(wait)} (over Max Wait), ${next}`);
					continue candidates;
				}
				then(`retried after ${seconds(wait)}`);
				await sleep(wait, settings.signal).catch(() => {
					throw cancelled();
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
	const error = callError ?? skipError ?? new LlmError('bad_request', 'No provider was configured for this request.');
	if (error instanceof InputError) throw error;
	const final = new LlmError(error.kind, redact(error.providerMessage, secrets), {
		status: error.status,
		code: error.code,
		retryAfterMs: error.retryAfterMs,
	});
	final.attempts = attempts;
	throw final;
}
