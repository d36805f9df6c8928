// n8n-core writes $N8N_USER_FOLDER/.n8n/config when it loads: keep that out of the home folder.
const path = require('node:path');
const { scratchDir } = require('./tmp-root');
if (!process.env.N8N_USER_FOLDER) {
	process.env.N8N_USER_FOLDER = scratchDir('n8n-');
}
process.env.N8N_LOG_LEVEL = process.env.N8N_LOG_LEVEL || 'silent';
// In-process tests use per-process limits unless a test plugs in a Redis store itself
// (test/cluster.test.ts), even in a shell that has n8n's queue-mode variables set.
process.env.BYOK_REDIS = process.env.BYOK_REDIS || 'off';
// Each test file starts with an empty usage store (usage, budgets, Requests per Day), as a fresh n8n would.
process.env.BYOK_USAGE_FILE = path.join(scratchDir('usage-'), 'usage.json');
