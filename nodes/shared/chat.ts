/**
 * The chat part both BYOK nodes share: prompt and option parameters, reading one item into an
 * engine request, the engine's call settings, the output item, and the item loop (concurrency,
 * input order, pairedItem, continueOnFail, errors without keys).
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties, Logger } from 'n8n-workflow';
import { mapOrdered } from '../llm/concurrency';
import { usageWritten } from '../llm/budgets';
import { complete, DEFAULTS, type CallSettings, type Candidate, type ChatResult, type StreamDelta } from '../llm/dispatch';
import { InputError, redact } from '../llm/errors';
import { parseMessages, parseTools, simpleMessages, withImages, type ChatOptions, type ChatRequest, type ResponseFormat } from '../llm/request';
import { checkSchema } from '../llm/structured';
import { describeError, errorItemJson, toNodeError } from './n8n';

const DEFAULT_TIMEOUT_S = 600;
const DEFAULT_CONCURRENCY = 4;

export const promptProperties: INodeProperties[] = [
	{
		displayName: 'Prompt',
		name: 'promptType',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'System and User Message', value: 'simple', description: 'A system message and a user prompt' },
			{ name: 'Messages Array', value: 'messages', description: 'An OpenAI-style messages array from an expression' },
		],
		default: 'simple',
	},
	{
		displayName: 'System Message',
		name: 'systemMessage',
		type: 'string',
		typeOptions: { rows: 2 },
		default: '',
		placeholder: 'e.g. You are a concise assistant.',
		displayOptions: { show: { promptType: ['simple'] } },
	},
	{
		displayName: 'User Message',
		name: 'prompt',
		type: 'string',
		typeOptions: { rows: 4 },
		required: true,
		default: '',
		placeholder: 'e.g. Summarize: {{ $json.text }}',
		displayOptions: { show: { promptType: ['simple'] } },
	},
	{
		displayName: 'Messages',
		name: 'messages',
		type: 'json',
		required: true,
		default: '[\n  {"role": "system", "content": "You are a helpful assistant."},\n  {"role": "user", "content": "Hello"}\n]',
		description: 'Roles system, user, assistant or tool; content as a string or content parts (text, image_url)',
		displayOptions: { show: { promptType: ['messages'] } },
	},
];

/** Text, JSON object or JSON schema; only for nodes that answer. */
export const responseFormatProperties: INodeProperties[] = [
	{
		displayName: 'Response Format',
		name: 'responseFormat',
		type: 'options',
		options: [
			{ name: 'JSON Object', value: 'json_object', description: 'Any JSON object, parsed for the next nodes' },
			{ name: 'JSON Schema', value: 'json_schema', description: 'JSON that matches your schema, checked and parsed' },
			{ name: 'Text', value: 'text' },
		],
		default: 'text',
	},
	{
		displayName: 'JSON Schema',
		name: 'jsonSchema',
		type: 'json',
		required: true,
		default: '{\n  "type": "object",\n  "properties": {\n    "answer": { "type": "string" }\n  },\n  "required": ["answer"],\n  "additionalProperties": false\n}',
		description: 'The answer must match this schema. If it does not, the model is asked once to fix it.',
		displayOptions: { show: { responseFormat: ['json_schema'] } },
	},
];

export const chatOptionsProperty: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Circuit Breaker Cooldown (Seconds)',
			name: 'breakerCooldown',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 60,
			description: 'How long a provider and model that keep failing are skipped before one probe request tries them again',
		},
		{
			displayName: 'Circuit Breaker Threshold',
			name: 'breakerThreshold',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 5,
			description: 'Consecutive failures of one provider and model (in any workflow) that pause it for the cooldown',
		},
		{
			displayName: 'Concurrency',
			name: 'concurrency',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 4,
			description: 'How many items are sent at once. Output keeps the input order.',
		},
		{
			displayName: 'Frequency Penalty',
			name: 'frequencyPenalty',
			type: 'number',
			typeOptions: { minValue: -2, maxValue: 2, numberPrecision: 2 },
			default: 0,
		},
		{
			displayName: 'Image Binary Properties',
			name: 'imageBinaryProperties',
			type: 'string',
			default: '',
			placeholder: 'e.g. data, photo',
			description: 'Binary properties of the item holding images to send (comma-separated)',
		},
		{
			displayName: 'Image URLs',
			name: 'imageUrls',
			type: 'string',
			default: '',
			placeholder: 'e.g. https://example.com/cat.png',
			description: 'Image URLs (or data URLs) to send with the user message, comma- or newline-separated',
		},
		{
			displayName: 'Include Raw Response',
			name: 'includeRaw',
			type: 'boolean',
			default: false,
			description: 'Whether to add the provider\'s whole response under "raw"',
		},
		{
			displayName: 'Max Tokens',
			name: 'maxTokens',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 1024,
			description: 'The most tokens the answer may have',
		},
		{
			displayName: 'Max Wait (Seconds)',
			name: 'maxWait',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 60,
			description: 'Longest pause before a retry. When a provider asks for a longer wait (Retry-After), the next fallback is used instead.',
		},
		{
			displayName: 'Presence Penalty',
			name: 'presencePenalty',
			type: 'number',
			typeOptions: { minValue: -2, maxValue: 2, numberPrecision: 2 },
			default: 0,
		},
		{
			displayName: 'Retries Before Fallback',
			name: 'retriesBeforeFallback',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 1,
			description: 'When a fallback is waiting: extra tries of a provider and model after a server error, timeout, connection error or broken answer before the fallback is used. Rate limits and the last model keep Retries per Candidate.',
		},
		{
			displayName: 'Retries per Candidate',
			name: 'retries',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 3,
			description: 'Extra tries of the same provider and model after a rate limit, server error, timeout, connection error or broken answer, with exponential backoff or the provider\'s Retry-After',
		},
		{
			displayName: 'Seed',
			name: 'seed',
			type: 'number',
			default: 0,
			description: 'Ask for repeatable sampling (where the provider supports it)',
		},
		{
			displayName: 'Stop Sequences',
			name: 'stop',
			type: 'string',
			default: '',
			description: 'Where the model stops: one sequence per line, or a JSON array of strings',
		},
		{
			displayName: 'Temperature',
			name: 'temperature',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 2, numberPrecision: 2 },
			default: 0.7,
		},
		{
			displayName: 'Timeout (Seconds)',
			name: 'timeout',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 600,
			description: 'How long to wait for one answer. Reasoning models can take minutes.',
		},
		{
			displayName: 'Tool Choice',
			name: 'toolChoice',
			type: 'options',
			options: [
				{ name: 'Auto', value: 'auto' },
				{ name: 'None', value: 'none' },
				{ name: 'Required', value: 'required' },
			],
			default: 'auto',
			description: 'Whether the model may, must not, or must call a tool',
		},
		{
			displayName: 'Tools',
			name: 'tools',
			type: 'json',
			default: '[]',
			description: 'Function definitions the model may call: [{"name", "description", "parameters"}]. Calls come back in "toolCalls".',
		},
		{
			displayName: 'Top P',
			name: 'topP',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 },
			default: 1,
		},
	],
};

/**
 * The options of a chat model sub-node: BYOK Chat's, less those that belong to the root node
 * (items, images, raw output and tools come from the agent or chain).
 */
const ROOT_NODE_OPTIONS = ['concurrency', 'imageBinaryProperties', 'imageUrls', 'includeRaw', 'toolChoice', 'tools'];
export const modelOptionsProperty: INodeProperties = {
	...chatOptionsProperty,
	options: chatOptionsProperty.options!.filter((o) => !ROOT_NODE_OPTIONS.includes((o as INodeProperties).name)),
};

/** The engine's settings from the node's options; budget warnings go to n8n's log. */
export function callSettings(options: IDataObject, signal?: AbortSignal, logger?: Logger): CallSettings {
	return {
		timeoutMs: ((options.timeout as number) || DEFAULT_TIMEOUT_S) * 1000,
		signal,
		includeRaw: options.includeRaw === true,
		retries: options.retries as number | undefined,
		retriesBeforeFallback: options.retriesBeforeFallback as number | undefined,
		maxWaitMs: options.maxWait === undefined ? undefined : (options.maxWait as number) * 1000,
		breaker: {
			threshold: (options.breakerThreshold as number | undefined) ?? DEFAULTS.breaker.threshold,
			cooldownMs: ((options.breakerCooldown as number | undefined) ?? DEFAULTS.breaker.cooldownMs / 1000) * 1000,
		},
		onBudgetWarning: logger && ((warning) => logger.warn(`[n8n-nodes-byok] ${warning.message}`, { credential: warning.credential, budget: `${warning.period} ${warning.unit}`, percent: warning.threshold })),
	};
}

/** What one item produced: its JSON and, for multi-output nodes, which output it leaves on. */
export interface ItemResult {
	data: IDataObject;
	output?: number;
}

/**
 * The item loop: runs `task` per item with the node's Concurrency, keeps input order and
 * pairedItem, and turns a failure into an error item (continueOnFail) or the node's error.
 * `task` adds every key it uses to `secrets`, so no error can carry one. Without
 * continueOnFail the first failure stops the node: no further item is sent, and requests in
 * flight are aborted through `signal` (a failed node's other answers would be thrown away,
 * yet billed and counted against the key's limits).
 */
export async function runItems(
	ctx: IExecuteFunctions,
	outputCount: number,
	task: (itemIndex: number, secrets: Array<string | undefined>, signal: AbortSignal) => Promise<ItemResult>,
): Promise<INodeExecutionData[][]> {
	const node = ctx.getNode();
	const concurrency = (ctx.getNodeParameter('options.concurrency', 0, DEFAULT_CONCURRENCY) as number) || DEFAULT_CONCURRENCY;
	const stop = new AbortController();
	const cancel = ctx.getExecutionCancelSignal?.();
	const signal = cancel ? AbortSignal.any([cancel, stop.signal]) : stop.signal;
	let failure: Error | undefined;
	const results = await mapOrdered(ctx.getInputData().length, concurrency, async (i): Promise<ItemResult | undefined> => {
		if (failure) return undefined;
		const secrets: Array<string | undefined> = [];
		try {
			return await task(i, secrets, signal);
		} catch (err) {
			const error = toNodeError(node, err, i, ...secrets);
			if (ctx.continueOnFail()) return { data: errorItemJson(error, err) };
			// The first failure is the node's error; the others are the aborts it caused.
			if (!failure) {
				failure = error;
				stop.abort();
			}
			return undefined;
		}
	});
	// Before the node ends (and a CLI run may exit): its items' usage is in the store.
	await usageWritten();
	if (failure) throw failure;
	const outputs: INodeExecutionData[][] = Array.from({ length: outputCount }, () => []);
	results.forEach((result, i) => outputs[result?.output ?? 0].push({ json: result?.data ?? {}, pairedItem: { item: i } }));
	return outputs;
}

/**
 * Answers one item through the engine. When the workflow streams its response (a Webhook or
 * Chat Trigger set to stream), the answer's text also goes out through n8n's streaming API as
 * it arrives: begin, items, then end or error. A JSON answer is only usable whole: not streamed.
 */
export async function answerItem(
	ctx: IExecuteFunctions,
	itemIndex: number,
	request: ChatRequest,
	candidates: Candidate[],
	settings: CallSettings,
	secrets: Array<string | undefined>,
): Promise<ChatResult> {
	const format = request.options.responseFormat?.type ?? 'text';
	if (!ctx.isStreaming?.() || format !== 'text') return await complete(request, candidates, settings);
	// Chunks go out one after another, in order, without holding up the answer.
	let sending: Promise<void> = Promise.resolve();
	let begun = false;
	const send = (type: 'begin' | 'item' | 'end' | 'error', content?: string) => {
		sending = sending.then(async () => await ctx.sendChunk(type, itemIndex, content)).catch(() => undefined);
	};
	const onDelta = (delta: StreamDelta) => {
		if (!delta.text) return;
		if (!begun) send('begin');
		begun = true;
		send('item', delta.text);
	};
	const answer = complete(request, candidates, { ...settings, onDelta });
	answer.then(
		() => begun && send('end'),
		(err: unknown) => begun && send('error', redact(describeError(err), secrets)),
	);
	try {
		return await answer;
	} finally {
		await sending;
	}
}

/** Reads one item's prompt, images and options into an engine request. */
export async function readRequest(ctx: IExecuteFunctions, i: number, options: IDataObject): Promise<ChatRequest> {
	const images = await readImages(ctx, i, options);
	const messages =
		ctx.getNodeParameter('promptType', i) === 'messages'
			? withImages(parseMessages(ctx.getNodeParameter('messages', i)), images)
			: simpleMessages(String(ctx.getNodeParameter('systemMessage', i, '') ?? ''), String(ctx.getNodeParameter('prompt', i, '') ?? ''), images);

	let responseFormat: ResponseFormat | undefined;
	const format = ctx.getNodeParameter('responseFormat', i, 'text') as string;
	if (format === 'json_object') responseFormat = { type: 'json_object' };
	if (format === 'json_schema') {
		const { schema, name } = checkSchema(ctx.getNodeParameter('jsonSchema', i));
		responseFormat = { type: 'json_schema', name: name ?? 'response', schema, strict: false };
	}

	const chatOptions: ChatOptions = {
		...samplingOptions(options),
		responseFormat,
		tools: parseTools(options.tools),
		toolChoice: options.toolChoice as ChatOptions['toolChoice'],
	};
	return { messages, options: chatOptions };
}

/** Temperature, max tokens, top P, penalties, seed and stop sequences from the node's options. */
export function samplingOptions(options: IDataObject): ChatOptions {
	return {
		temperature: options.temperature as number | undefined,
		maxTokens: options.maxTokens as number | undefined,
		topP: options.topP as number | undefined,
		frequencyPenalty: options.frequencyPenalty as number | undefined,
		presencePenalty: options.presencePenalty as number | undefined,
		seed: options.seed as number | undefined,
		stop: readStop(options.stop),
	};
}

function readStop(value: unknown): string[] | undefined {
	if (Array.isArray(value)) return value.map(String);
	if (typeof value !== 'string' || value === '') return undefined;
	if (value.trim().startsWith('[')) {
		try {
			const parsed = JSON.parse(value);
			if (Array.isArray(parsed)) return parsed.map(String);
		} catch {
			// not JSON: one sequence per line
		}
	}
	return value.split('\n').filter((s) => s.length > 0);
}

function list(value: unknown): string[] {
	if (Array.isArray(value)) return value.map((v) => String(v).trim()).filter(Boolean);
	if (typeof value !== 'string') return [];
	return value.split(/[\n,]/).map((v) => v.trim()).filter(Boolean);
}

/** Image URLs, comma- or newline-separated, or an array. */
function urlList(value: unknown): string[] {
	const urls: string[] = [];
	for (const piece of list(value)) {
		const last = urls[urls.length - 1];
		// A data URL's own comma (data:image/png;base64,...) joins its header back to its data.
		if (last && /^data:[^,]*$/i.test(last)) urls[urls.length - 1] = `${last},${piece}`;
		else urls.push(piece);
	}
	return urls;
}

/** Image URLs plus binary images as data URLs. */
async function readImages(ctx: IExecuteFunctions, i: number, options: IDataObject): Promise<string[]> {
	const urls = urlList(options.imageUrls);
	for (const url of urls) {
		if (!/^(https?:|data:image\/)/i.test(url)) {
			throw new InputError('imageUrls', `Image URL "${url.slice(0, 80)}" must start with http://, https:// or data:image/.`);
		}
	}
	for (const property of list(options.imageBinaryProperties)) {
		const binary = ctx.getInputData()[i].binary?.[property];
		if (!binary) {
			throw new InputError('imageBinaryProperties', `Item ${i} has no binary property "${property}". Check the name in the previous node's output (Binary tab).`);
		}
		if (!binary.mimeType?.startsWith('image/')) {
			throw new InputError('imageBinaryProperties', `Binary property "${property}" of item ${i} is ${binary.mimeType || 'of unknown type'}, not an image.`);
		}
		const buffer = await ctx.helpers.getBinaryDataBuffer(i, property);
		urls.push(`data:${binary.mimeType};base64,${buffer.toString('base64')}`);
	}
	return urls;
}

/** The output item: answer first, then metadata. No prompt content. */
export function resultJson(result: ChatResult): IDataObject {
	const json: IDataObject = { text: result.text };
	if (result.json !== undefined) json.json = result.json as IDataObject;
	if (result.toolCalls) json.toolCalls = result.toolCalls as unknown as IDataObject[];
	if (result.reasoning) json.reasoning = result.reasoning;
	json.finishReason = result.finishReason;
	json.provider = result.provider;
	json.model = result.model;
	json.answeredBy = result.answeredBy;
	json.fallbackUsed = result.candidateIndex > 0;
	json.usage = result.usage as IDataObject;
	json.cost = result.cost as unknown as IDataObject;
	if (result.budget) json.budget = result.budget as IDataObject;
	json.latencyMs = result.latencyMs;
	json.attempts = result.attempts as unknown as IDataObject[];
	if (result.raw !== undefined) json.raw = result.raw as IDataObject;
	return json;
}
