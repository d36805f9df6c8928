// n8n's community-node lint rules in their self-hosted form. Relaxed, each for one reason
// (also listed in the README):
// - package.json: runtime dependencies (openai, zod, ioredis, @pydantic/genai-prices) are deliberate: this is a
//   self-hosted package, not an n8n Cloud one.
// - nodes/llm/: the engine knows nothing of n8n (it is tested and benchmarked alone); its errors
//   become NodeApiError/NodeOperationError at the node boundary (nodes/shared/n8n.ts toNodeError).
// - BYOK Chat Model is a model for agents and chains, not a tool; the usableAsTool rule knows such
//   sub-nodes only when they have no inputs, and this one has its Fallback Model input.
import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

export default [
	{ ignores: ['test/**', 'bench/**', 'scripts/**', 'examples/**', 'docs/**', '*.js', '*.mjs'] },
	...configWithoutCloudSupport,
	{ files: ['package.json'], rules: { '@n8n/community-nodes/no-runtime-dependencies': 'off' } },
	{ files: ['nodes/llm/**/*.ts'], rules: { '@n8n/community-nodes/require-node-api-error': 'off' } },
	{ files: ['nodes/ByokChatModel/*.ts'], rules: { '@n8n/community-nodes/node-usable-as-tool': 'off' } },
];
