'use strict';
/**
 * One n8n process for the usage store tests and bench/spend.js: a separate OS process running
 * the engine against the fake provider. It finds its usage store the way the package does in
 * n8n, from its environment (BYOK_USAGE_FILE, or BYOK_REDIS_URL + BYOK_REDIS_PREFIX).
 *
 *   node usage-child.js '<job JSON>'   prints one JSON line: {results: {<credential id>: {ok, kinds}}}
 *
 * job: {baseUrl, concurrency, model?, prompt?, maxTokens?, delayStartUntil?, keys: [{id, data, count}]}
 * (`data` is the credential's data without the API key; `delayStartUntil` is a wall-clock ms at
 * which all processes start sending, so they overlap.)
 */
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
require('./ts-require.js');
const { connectionFromCredential } = require(path.join(ROOT, 'nodes/llm/client'));
const { usageWritten } = require(path.join(ROOT, 'nodes/llm/budgets'));
const { complete } = require(path.join(ROOT, 'nodes/llm/dispatch'));
const { mapOrdered } = require(path.join(ROOT, 'nodes/llm/concurrency'));
const { sharedRedis } = require(path.join(ROOT, 'nodes/llm/redis'));
const { usageStore } = require(path.join(ROOT, 'nodes/llm/usage-store'));

async function main() {
	// The engine's waits (AbortSignal.timeout) do not keep a process alive; in n8n the server does.
	const keepAlive = setInterval(() => undefined, 1000);
	const job = JSON.parse(process.argv[2]);
	const request = { messages: [{ role: 'user', content: job.prompt ?? 'hi' }], options: job.maxTokens ? { maxTokens: job.maxTokens } : {} };
	if (job.delayStartUntil) await new Promise((resolve) => setTimeout(resolve, Math.max(0, job.delayStartUntil - Date.now())));
	const calls = job.keys.flatMap((key) => Array.from({ length: key.count }, () => key));
	const outcomes = await mapOrdered(calls.length, job.concurrency ?? 8, async (i) => {
		const key = calls[i];
		const connection = connectionFromCredential('custom', { apiKey: 'sk-usage-child', baseUrl: job.baseUrl, ...key.data }, key.id, `Key ${key.id}`);
		try {
			await complete(request, [{ connection, model: job.model ?? 'm' }], { timeoutMs: 60_000, retries: 0 });
			return { id: key.id, kind: 'ok' };
		} catch (err) {
			return { id: key.id, kind: err.kind ?? String(err) };
		}
	});
	await usageWritten(); // as BYOK nodes do at their end
	const results = {};
	for (const { id, kind } of outcomes) {
		const r = (results[id] ??= { ok: 0, kinds: {} });
		if (kind === 'ok') r.ok++;
		r.kinds[kind] = (r.kinds[kind] ?? 0) + 1;
	}
	process.stdout.write(`${JSON.stringify({ results })}\n`);
	await usageStore().close();
	await sharedRedis()?.close();
	clearInterval(keepAlive);
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
