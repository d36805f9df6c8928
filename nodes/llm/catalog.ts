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
	/** Request field for the output-token cap: newer OpenAI models reject `max_tokens`. */
	maxTokensField?: 'max_tokens' | 'max_completion_tokens';
	/** Headers sent with every request, besides `Authorization: Bearer <key>`. */
	extraHeaders?: Record<string, string>;
	/** Further headers that carry the API key itself (some endpoints read the key from their own header). */
	keyHeaders?: string[];
	/** Optional credential fields sent as headers. */
	headerFields?: HeaderField[];
	docsUrl: string;
}

export const PROVIDERS: readonly ProviderInfo[] = [
	{
		id: 'openai',
		name: 'OpenAI',
		credentialType: 'byokOpenAiApi',
		defaultBaseUrl: 'https://api.openai.com/v1',
		apiKeyRequired: true,
		defaultModel: 'gpt-4.1-mini',
		modelPrefixes: ['gpt', 'o1', 'o3', 'o4', 'chatgpt'],
		maxTokensField: 'max_completion_tokens',
		docsUrl: 'https://platform.openai.com/docs/api-reference/chat',
	},
	{
		id: 'anthropic',
		name: 'Anthropic',
		credentialType: 'byokAnthropicApi',
		defaultBaseUrl: 'https://api.anthropic.com/v1',
		apiKeyRequired: true,
		defaultModel: 'claude-haiku-4-5',
		modelPrefixes: ['claude'],
		// Its /models endpoint reads the key from x-api-key and wants a version header.
		extraHeaders: { 'anthropic-version': '2023-06-01' },
		keyHeaders: ['x-api-key'],
		docsUrl: 'https://docs.anthropic.com/en/api/openai-sdk',
	},
	{
		id: 'gemini',
		name: 'Google Gemini',
		credentialType: 'byokGeminiApi',
		defaultBaseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai',
		apiKeyRequired: true,
		defaultModel: 'gemini-2.5-flash',
		modelPrefixes: ['gemini', 'models/gemini', 'gemma'],
		docsUrl: 'https://ai.google.dev/gemini-api/docs/openai',
	},
	{
		id: 'groq',
		name: 'Groq',
		credentialType: 'byokGroqApi',
		defaultBaseUrl: 'https://api.groq.com/openai/v1',
		apiKeyRequired: true,
		defaultModel: 'llama-3.3-70b-versatile',
		modelPrefixes: [],
		docsUrl: 'https://console.groq.com/docs/openai',
	},
	{
		id: 'openrouter',
		name: 'OpenRouter',
		credentialType: 'byokOpenRouterApi',
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
	},
	{
		id: 'deepseek',
		name: 'DeepSeek',
		credentialType: 'byokDeepSeekApi',
		defaultBaseUrl: 'https://api.deepseek.com/v1',
		apiKeyRequired: true,
		defaultModel: 'deepseek-chat',
		modelPrefixes: ['deepseek'],
		docsUrl: 'https://api-docs.deepseek.com',
	},
	{
		id: 'mistral',
		name: 'Mistral',
		credentialType: 'byokMistralApi',
		defaultBaseUrl: 'https://api.mistral.ai/v1',
		apiKeyRequired: true,
		defaultModel: 'mistral-small-latest',
		modelPrefixes: ['mistral', 'magistral', 'codestral', 'pixtral', 'ministral', 'devstral'],
		docsUrl: 'https://docs.mistral.ai/api',
	},
	{
		id: 'xai',
		name: 'xAI',
		credentialType: 'byokXAiApi',
		defaultBaseUrl: 'https://api.x.ai/v1',
		apiKeyRequired: true,
		defaultModel: 'grok-3-mini',
		modelPrefixes: ['grok'],
		docsUrl: 'https://docs.x.ai/docs/api-reference',
	},
	{
		id: 'moonshot',
		name: 'Moonshot',
		credentialType: 'byokMoonshotApi',
		defaultBaseUrl: 'https://api.moonshot.ai/v1',
		apiKeyRequired: true,
		defaultModel: 'kimi-k2-turbo-preview',
		modelPrefixes: ['kimi', 'moonshot'],
		docsUrl: 'https://platform.moonshot.ai/docs',
	},
	{
		id: 'together',
		name: 'Together AI',
		credentialType: 'byokTogetherApi',
		defaultBaseUrl: 'https://api.together.xyz/v1',
		apiKeyRequired: true,
		defaultModel: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
		modelPrefixes: [],
		docsUrl: 'https://docs.together.ai/docs/openai-api-compatibility',
	},
	{
		id: 'custom',
		name: 'Custom (OpenAI-compatible)',
		credentialType: 'byokCustomApi',
		defaultBaseUrl: '',
		apiKeyRequired: false,
		defaultModel: '',
		modelPrefixes: [],
		docsUrl: 'https://platform.openai.com/docs/api-reference/chat',
	},
];

export function getProvider(id: string): ProviderInfo {
	const provider = PROVIDERS.find((p) => p.id === id);
	if (!provider) {
		throw new Error(`Unknown provider "${id}". Known providers: ${PROVIDERS.map((p) => p.id).join(', ')}`);
	}
	return provider;
}
