/** A fresh, empty usage store for the engine (usage, budgets, Requests per Day without Redis), as a new n8n would have. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileUsageStore, useUsageStore } from '../../nodes/llm/usage-store';

export function useScratchUsageStore(): FileUsageStore {
	const store = new FileUsageStore(join(mkdtempSync(join(tmpdir(), 'byok-usage-')), 'usage.json'));
	useUsageStore(store);
	return store;
}
