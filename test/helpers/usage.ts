/** A fresh, empty usage store for the engine (usage, budgets, Requests per Day without Redis), as a new n8n would have. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileUsageStore, useUsageStore } from '../../nodes/llm/usage-store';

/** A new folder inside the test run's scratch folder (test/helpers/tmp-root.js), which jest removes at the end. */
export const scratchDir = (prefix: string) => mkdtempSync(join(process.env.BYOK_TEST_TMP ?? tmpdir(), prefix));

export function useScratchUsageStore(): FileUsageStore {
	const store = new FileUsageStore(join(scratchDir('usage-'), 'usage.json'));
	useUsageStore(store);
	return store;
}
