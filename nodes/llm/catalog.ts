/**
 * Provider facts, as data. Adding a provider is one row here plus a three-line credential file.
 * Every provider is reached through its OpenAI-compatible `/chat/completions` and `/models`.
 */

/** A credential field that becomes a request header when set (e.g. OpenRouter's attribution headers). */
export interface HeaderField {
	name: string;
	displayName: string;
	header: string;
	placeholder?: string;
	description?: string;
}

/** Auto-Router categories, in output order. */
export const CATEGORIES = ['fast', 'balanced', 'reasoning', 'long_context', 'vision', 'code'] as const;
export type Category = (typeof CATEGORIES)[number];

export interface ProviderInfo {
	id: string;
	name: string;
	/** n8n credential type name; also the credential class name with a capital first letter. */
	credentialType: string;
	defaultBaseUrl: string;
	apiKeyRequired: boolean;
	/** Suggested model when the user has not picked one from the live list. */
	defaultModel: string;
	/** Model-name prefixes that identify this provider's own models (used for prefix routing). */
	modelPrefixes: string[];
	/** A character whose presence in a model name means this provider (OpenRouter's "/", Ollama's ":"). */
	modelMarker?: string;
	/** The Auto-Router's default model per category at this provider. */
	routerModels: Record<Category, string>;
	/** Request field for the output-token cap: newer OpenAI models reject `max_tokens`. */
	maxTokensField?: 'max_tokens' | 'max_completion_tokens';
	/** Headers sent with every request, besides `Authorization: Bearer <key>`. */
	extraHeaders?: Record<string, string>;
	/** Further headers that carry the API key itself (some endpoints read the key from their own header). */
	keyHeaders?: string[];
	/** Optional credential fields sent as headers. */
	headerFields?: HeaderField[];
	/** The provider's id in the price table (@pydantic/genai-prices); none: prices only from the credential. */
	priceTable?: string;
	/** A prefix the provider's model list puts before model names that the price table does not use (Gemini's "models/"). */
	listedModelPrefix?: string;
	docsUrl: string;
}

export const PROVIDERS: readonly ProviderInfo[] = [
	{
		id: 'openai',
		name: 'OpenAI',
		credentialType: 'byokOpenAiApi',
		priceTable: 'openai',
		defaultBaseUrl: 'https://api.openai.com/v1',
		apiKeyRequired: true,
		defaultModel: 'gpt-4.1-mini',
		modelPrefixes: ['gpt', 'o1', 'o3', 'o4', 'chatgpt'],
		maxTokensField: 'max_completion_tokens',
		docsUrl: 'https://platform.openai.com/docs/api-reference/chat',
		routerModels: { fast: 'gpt-4.1-nano', balanced: 'gpt-4.1-mini', reasoning: 'o4-mini', long_context: 'gpt-4.1', vision: 'gpt-4.1-mini', code: 'gpt-4.1' },
	},
	{
		id: 'anthropic',
		name: 'Anthropic',
		credentialType: 'byokAnthropicApi',
		priceTable: 'anthropic',
		defaultBaseUrl: 'https://api.anthropic.com/v1',
		apiKeyRequired: true,
		defaultModel: 'claude-haiku-4-5',
		modelPrefixes: ['claude'],
		// Its /models endpoint reads the key from x-api-key and wants a version header.
		extraHeaders: { 'anthropic-version': '2023-06-01' },
		keyHeaders: ['x-api-key'],
		docsUrl: 'https://docs.anthropic.com/en/api/openai-sdk',
		routerModels: { fast: 'claude-haiku-4-5', balanced: 'claude-sonnet-4-5', reasoning: 'claude-opus-4-1', long_context: 'claude-sonnet-4-5', vision: 'claude-sonnet-4-5', code: 'claude-sonnet-4-5' },
	},
	{
		id: 'gemini',
		name: 'Google Gemini',
		credentialType: 'byokGeminiApi',
		priceTable: 'google',
		listedModelPrefix: 'models/',
		defaultBaseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai',
		apiKeyRequired: true,
		defaultModel: 'gemini-2.5-flash',
		modelPrefixes: ['gemini', 'models/gemini', 'gemma'],
		docsUrl: 'https://ai.google.dev/gemini-api/docs/openai',
		routerModels: { fast: 'gemini-2.5-flash-lite', balanced: 'gemini-2.5-flash', reasoning: 'gemini-2.5-pro', long_context: 'gemini-2.5-flash', vision: 'gemini-2.5-flash', code: 'gemini-2.5-pro' },
	},
	{
		id: 'groq',
		name: 'Groq',
		credentialType: 'byokGroqApi',
		priceTable: 'groq',
		defaultBaseUrl: 'https://api.groq.com/openai/v1',
		apiKeyRequired: true,
		defaultModel: 'llama-3.3-70b-versatile',
		modelPrefixes: [],
		docsUrl: 'https://console.groq.com/docs/openai',
		routerModels: { fast: 'llama-3.1-8b-instant', balanced: 'llama-3.3-70b-versatile', reasoning: 'openai/gpt-oss-120b', long_context: 'moonshotai/kimi-k2-instruct-0905', vision: 'meta-llama/llama-4-scout-17b-16e-instruct', code: 'qwen/qwen3-32b' },
	},
	{
		id: 'openrouter',
		name: 'OpenRouter',
		credentialType: 'byokOpenRouterApi',
		priceTable: 'openrouter',
		defaultBaseUrl: 'https://openrouter.ai/api/v1',
		apiKeyRequired: true,
		defaultModel: 'openai/gpt-oss-20b',
		modelPrefixes: [],
		headerFields: [
			{
				name: 'siteUrl',
				displayName: 'Site URL',
				header: 'HTTP-Referer',
				placeholder: 'https://example.com',
				description: 'Optional. Sent as HTTP-Referer so OpenRouter can attribute usage to your site.',
			},
			{
				name: 'appName',
				displayName: 'App Name',
				header: 'X-Title',
				description: 'Optional. Sent as X-Title, the app name shown in OpenRouter rankings.',
			},
		],
		docsUrl: 'https://openrouter.ai/docs/api-reference/overview',
		routerModels: { fast: 'openai/gpt-oss-20b', balanced: 'qwen/qwen3-30b-a3b-instruct', reasoning: 'deepseek/deepseek-r1-distill-llama-70b', long_context: 'google/gemini-2.5-flash', vision: 'qwen/qwen3-vl-235b-a22b-instruct', code: 'qwen/qwen3-coder-30b' },
		modelMarker: '/',
	},
	{
		id: 'ollama',
		name: 'Ollama',
		credentialType: 'byokOllamaApi',
		defaultBaseUrl: 'http://localhost:11434/v1',
		apiKeyRequired: false,
		defaultModel: 'llama3.2',
		modelPrefixes: [],
		docsUrl: 'https://github.com/ollama/ollama/blob/main/docs/openai.md',
		routerModels: { fast: 'llama3.2', balanced: 'qwen3:8b', reasoning: 'deepseek-r1:8b', long_context: 'qwen3:8b', vision: 'llama3.2-vision', code: 'qwen2.5-coder:7b' },
		modelMarker: ':',
	},
	{
		id: 'ollamaCloud',
		name: 'Ollama Cloud',
		credentialType: 'byokOllamaCloudApi',
		defaultBaseUrl: 'https://ollama.com/v1',
		apiKeyRequired: true,
		defaultModel: 'gpt-oss:120b',
		modelPrefixes: [],
		docsUrl: 'https://docs.ollama.com/cloud',
		routerModels: { fast: 'gpt-oss:20b', balanced: 'gpt-oss:120b', reasoning: 'deepseek-v3.1:671b', long_context: 'qwen3-coder:480b', vision: 'qwen3-vl:235b', code: 'qwen3-coder:480b' },
	},
	{
		id: 'deepseek',
		name: 'DeepSeek',
		credentialType: 'byokDeepSeekApi',
		priceTable: 'deepseek',
		defaultBaseUrl: 'https://api.deepseek.com/v1',
		apiKeyRequired: true,
		defaultModel: 'deepseek-chat',
		modelPrefixes: ['deepseek'],
		docsUrl: 'https://api-docs.deepseek.com',
		routerModels: { fast: 'deepseek-chat', balanced: 'deepseek-chat', reasoning: 'deepseek-reasoner', long_context: 'deepseek-chat', vision: 'deepseek-chat', code: 'deepseek-chat' },
	},
	{
		id: 'mistral',
		name: 'Mistral',
		credentialType: 'byokMistralApi',
		priceTable: 'mistral',
		defaultBaseUrl: 'https://api.mistral.ai/v1',
		apiKeyRequired: true,
		defaultModel: 'mistral-small-latest',
		modelPrefixes: ['mistral', 'magistral', 'codestral', 'pixtral', 'ministral', 'devstral'],
		docsUrl: 'https://docs.mistral.ai/api',
		routerModels: { fast: 'mistral-small-latest', balanced: 'mistral-medium-latest', reasoning: 'magistral-medium-latest', long_context: 'mistral-medium-latest', vision: 'pixtral-large-latest', code: 'codestral-latest' },
	},
	{
		id: 'xai',
		name: 'xAI',
		credentialType: 'byokXAiApi',
		priceTable: 'x-ai',
		defaultBaseUrl: 'https://api.x.ai/v1',
		apiKeyRequired: true,
		defaultModel: 'grok-3-mini',
		modelPrefixes: ['grok'],
		docsUrl: 'https://docs.x.ai/docs/api-reference',
		routerModels: { fast: 'grok-3-mini', balanced: 'grok-4-fast-non-reasoning', reasoning: 'grok-4', long_context: 'grok-4-fast-non-reasoning', vision: 'grok-4', code: 'grok-code-fast-1' },
	},
	{
		id: 'moonshot',
		name: 'Moonshot',
		credentialType: 'byokMoonshotApi',
		priceTable: 'moonshotai',
		defaultBaseUrl: 'https://api.moonshot.ai/v1',
		apiKeyRequired: true,
		defaultModel: 'kimi-k2-turbo-preview',
		modelPrefixes: ['kimi', 'moonshot'],
		docsUrl: 'https://platform.moonshot.ai/docs',
		routerModels: { fast: 'kimi-k2-turbo-preview', balanced: 'kimi-k2-0905-preview', reasoning: 'kimi-k2-thinking', long_context: 'kimi-k2-0905-preview', vision: 'moonshot-v1-8k-vision-preview', code: 'kimi-k2-0905-preview' },
	},
	{
		id: 'together',
		name: 'Together AI',
		credentialType: 'byokTogetherApi',
		priceTable: 'together',
		defaultBaseUrl: 'https://api.together.xyz/v1',
		apiKeyRequired: true,
		defaultModel: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
		modelPrefixes: [],
		docsUrl: 'https://docs.together.ai/docs/openai-api-compatibility',
		routerModels: { fast: 'meta-llama/Llama-3.2-3B-Instruct-Turbo', balanced: 'meta-llama/Llama-3.3-70B-Instruct-Turbo', reasoning: 'deepseek-ai/DeepSeek-R1', long_context: 'meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8', vision: 'meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8', code: 'Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8' },
	},
	{
		id: 'custom',
		name: 'Custom (OpenAI-compatible)',
		credentialType: 'byokCustomApi',
		defaultBaseUrl: '',
		apiKeyRequired: false,
		defaultModel: '',
		modelPrefixes: [],
		// This package's README (package.json "homepage"): any OpenAI-compatible server, set up there.
		docsUrl: 'https://github.com/n8n-nodes-byok/n8n-nodes-byok#readme',
		routerModels: { fast: '', balanced: '', reasoning: '', long_context: '', vision: '', code: '' },
	},
];

export function getProvider(id: string): ProviderInfo {
	const provider = PROVIDERS.find((p) => p.id === id);
	if (!provider) {
		throw new Error(`Unknown provider "${id}". Known providers: ${PROVIDERS.map((p) => p.id).join(', ')}`);
	}
	return provider;
}

/**
 * The provider a bare model name belongs to: a marker (`/` OpenRouter, `:` Ollama) first, since
 * it says more than a family name ("gpt-oss:20b" is an Ollama tag, "openai/gpt-4o" an OpenRouter
 * slug); then a prefix (`claude*` Anthropic, `gpt*`/`o3*` OpenAI, `gemini*` Gemini ...); else the
 * default provider. A prefix that itself holds the marker ("models/gemini") still wins.
 */
export function providerForModel(model: string, defaultProviderId: string): string {
	const name = model.trim().toLowerCase();
	const prefixOf = (p: ProviderInfo) => p.modelPrefixes.find((prefix) => name.startsWith(prefix));
	const byPrefix = PROVIDERS.find(prefixOf);
	const byMarker = PROVIDERS.find((p) => p.modelMarker && name.includes(p.modelMarker));
	if (byMarker && !(byPrefix && prefixOf(byPrefix)!.includes(byMarker.modelMarker!))) return byMarker.id;
	return byPrefix?.id ?? defaultProviderId;
}
