/**
 * What a chat request is, validated with zod, and how it becomes an OpenAI-compatible body.
 * Input errors name the field and say what to do; they are never retried.
 */
import { z } from 'zod';
import type { ProviderInfo } from './catalog';
import { InputError } from './errors';

const textPart = z.object({ type: z.literal('text'), text: z.string() }).passthrough();
const imagePart = z
	.object({
		type: z.literal('image_url'),
		image_url: z.object({ url: z.string().min(1), detail: z.enum(['auto', 'low', 'high']).optional() }).passthrough(),
	})
	.passthrough();
const audioPart = z.object({ type: z.literal('input_audio'), input_audio: z.object({ data: z.string(), format: z.string() }) });
const userPart = z.discriminatedUnion('type', [textPart, imagePart, audioPart]);
const toolCall = z
	.object({
		id: z.string(),
		type: z.literal('function'),
		function: z.object({ name: z.string(), arguments: z.string() }),
	})
	.passthrough();

export const messageSchema = z.discriminatedUnion('role', [
	z.object({ role: z.literal('system'), content: z.union([z.string(), z.array(textPart)]), name: z.string().optional() }).strict(),
	z.object({ role: z.literal('developer'), content: z.union([z.string(), z.array(textPart)]), name: z.string().optional() }).strict(),
	z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(userPart)]), name: z.string().optional() }).strict(),
	z
		.object({
			role: z.literal('assistant'),
			content: z.union([z.string(), z.array(textPart), z.null()]).optional(),
			name: z.string().optional(),
			tool_calls: z.array(toolCall).optional(),
			reasoning_content: z.string().optional(),
		})
		.strict(),
	z.object({ role: z.literal('tool'), content: z.union([z.string(), z.array(textPart)]), tool_call_id: z.string().min(1) }).strict(),
]).superRefine((m, ctx) => {
	if (m.role === 'assistant' && m.content == null && !m.tool_calls?.length) {
		ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['content'], message: 'an assistant message needs content or tool_calls' });
	}
});

export type ChatMessage = z.infer<typeof messageSchema>;
export type UserPart = z.infer<typeof userPart>;

const toolSchema = z
	.object({
		name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'a tool name is 1-64 letters, digits, _ or -'),
		description: z.string().optional(),
		parameters: z.record(z.unknown()).optional(),
		strict: z.boolean().nullish(),
	})
	.passthrough();

export interface ToolDefinition {
	type: 'function';
	function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export type ResponseFormat =
	| { type: 'text' }
	| { type: 'json_object' }
	| { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict: boolean };

export interface ChatOptions {
	temperature?: number;
	maxTokens?: number;
	topP?: number;
	frequencyPenalty?: number;
	presencePenalty?: number;
	stop?: string[];
	seed?: number;
	responseFormat?: ResponseFormat;
	tools?: ToolDefinition[];
	toolChoice?: 'auto' | 'none' | 'required';
}

export interface ChatRequest {
	messages: ChatMessage[];
	options: ChatOptions;
}

function describeIssues(error: z.ZodError, root: string): string {
	return error.issues
		.slice(0, 5)
		.map((issue) => {
			const path = issue.path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : `${acc}.${key}`), root);
			// A union (e.g. string or parts) says only "Invalid input"; its first branch says what is wrong.
			if (issue.code === 'invalid_union') return `${path}: ${issue.unionErrors[0]?.issues[0]?.message ?? issue.message}`;
			if (issue.code === 'invalid_union_discriminator') return `${path}: must be one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}`;
			return `${path}: ${issue.message}`;
		})
		.join('; ');
}

function parseJsonField(value: unknown, field: string, what: string): unknown {
	if (typeof value !== 'string') return value;
	if (value.trim() === '') return undefined;
	try {
		return JSON.parse(value);
	} catch (err) {
		throw new InputError(field, `${what} is not valid JSON: ${(err as Error).message}`);
	}
}

/** Validates an OpenAI-style messages array (or its JSON text). */
export function parseMessages(value: unknown, field = 'messages'): ChatMessage[] {
	const parsed = parseJsonField(value, field, 'Messages');
	if (!Array.isArray(parsed) || parsed.length === 0) {
		throw new InputError(field, 'Messages must be a non-empty array like [{"role": "user", "content": "Hello"}].');
	}
	const result = z.array(messageSchema).safeParse(parsed);
	if (!result.success) {
		throw new InputError(field, `Messages are malformed: ${describeIssues(result.error, 'messages')}.`);
	}
	return result.data;
}

/** Builds the messages of the simple prompt mode, with images attached to the user message. */
export function simpleMessages(system: string, prompt: string, images: string[]): ChatMessage[] {
	if (!prompt.trim() && images.length === 0) {
		throw new InputError('prompt', 'The prompt is empty. Enter a prompt, or map a field of the input item into it with an expression.');
	}
	const messages: ChatMessage[] = [];
	if (system.trim()) messages.push({ role: 'system', content: system });
	messages.push({ role: 'user', content: prompt });
	return withImages(messages, images);
}

/** Appends image parts to the last user message. */
export function withImages(messages: ChatMessage[], images: string[]): ChatMessage[] {
	if (images.length === 0) return messages;
	const index = messages.map((m) => m.role).lastIndexOf('user');
	if (index === -1) throw new InputError('images', 'Images need a user message to attach to.');
	const user = messages[index] as Extract<ChatMessage, { role: 'user' }>;
	const parts: UserPart[] = typeof user.content === 'string' ? (user.content ? [{ type: 'text', text: user.content }] : []) : [...user.content];
	for (const url of images) parts.push({ type: 'image_url', image_url: { url } });
	const copy = [...messages];
	copy[index] = { ...user, content: parts };
	return copy;
}

/** Validates a JSON array of tool (function) definitions; accepts bare or `{type: "function", function}` form. */
export function parseTools(value: unknown, field = 'tools'): ToolDefinition[] | undefined {
	const parsed = parseJsonField(value, field, 'Tools');
	if (parsed === undefined || parsed === null) return undefined;
	if (!Array.isArray(parsed)) throw new InputError(field, 'Tools must be a JSON array of function definitions: [{"name": "...", "description": "...", "parameters": {...}}].');
	return parsed.map((raw, i) => {
		const def = raw && typeof raw === 'object' && (raw as { type?: unknown }).type === 'function' ? (raw as { function?: unknown }).function : raw;
		const result = toolSchema.safeParse(def);
		if (!result.success) throw new InputError(field, `Tool ${i} is malformed: ${describeIssues(result.error, `tools[${i}]`)}.`);
		const { name, description, parameters, strict } = result.data;
		// Only send what every compatible server accepts: no nulls, no unknown keys.
		const fn: ToolDefinition['function'] = { name };
		if (description) fn.description = description;
		if (parameters) fn.parameters = parameters;
		if (typeof strict === 'boolean') fn.strict = strict;
		return { type: 'function', function: fn };
	});
}

/** The JSON body for `POST /chat/completions`. Unset options are left out, never sent as null. */
export function toRequestBody(request: ChatRequest, model: string, provider: ProviderInfo): Record<string, unknown> {
	const o = request.options;
	const body: Record<string, unknown> = { model, messages: request.messages };
	const set = (key: string, value: unknown) => {
		if (value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0)) body[key] = value;
	};
	set('temperature', o.temperature);
	set(provider.maxTokensField ?? 'max_tokens', o.maxTokens);
	set('top_p', o.topP);
	set('frequency_penalty', o.frequencyPenalty);
	set('presence_penalty', o.presencePenalty);
	set('stop', o.stop);
	set('seed', o.seed);
	set('tools', o.tools);
	if (o.tools?.length) set('tool_choice', o.toolChoice);
	const format = o.responseFormat;
	if (format?.type === 'json_object') body.response_format = { type: 'json_object' };
	if (format?.type === 'json_schema') {
		body.response_format = { type: 'json_schema', json_schema: { name: format.name, schema: format.schema, strict: format.strict } };
	}
	return body;
}
