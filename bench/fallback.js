'use strict';
/**
 * How long a request waits before a healthy fallback answers when the primary keeps answering
 * 503, with the node's default settings (real backoff: 1 s doubling, +-25% jitter), and how long
 * the first streamed token takes through the engine vs the provider's own stream.
 *
 *   npm run build && node bench/fallback.js [runs] [--before <another build's dist folder>]
 *
 * `--before` runs the same scenario on an older build (e.g. a worktree of an earlier commit,
 * built with `npx tsc`), side by side in this run.
 */
require('./scratch-usage.js');
const path = require('node:path');
const OpenAI = require('openai').default;
const { startFakeProvider } = require('../test/fake-provider.js');

const args = process.argv.slice(2);
const beforeAt = args.indexOf('--before');
const before = beforeAt >= 0 ? path.resolve(args.splice(beforeAt, 2)[1]) : undefined;
const RUNS = Number(args[0] ?? 5);

function engine(dist) {
	const load = (name) => require(path.join(dist, 'nodes', 'llm', name));
	return { ...load('client.js'), ...load('dispatch.js'), ...load('request.js'), ...load('breaker.js'), ...load('limiter.js') };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function fallbackMs(e, fake) {
	const samples = [];
	for (let run = 0; run < RUNS; run++) {
		e.breakers.clear();
		const candidate = (p, id) => ({ connection: e.connectionFromCredential('custom', { apiKey: 'sk-bench', baseUrl: `${fake.url}${p}` }, id), model: 'm' });
		const started = performance.now();
		const result = await e.complete({ messages: e.simpleMessages('', 'hello', []), options: {} }, [candidate('/v1', 'primary'), candidate('/fb/v1', 'fallback')], { timeoutMs: 60_000 });
		if (result.attempts.at(-1).outcome !== 'ok' || !result.attempts.at(-1).provider) throw new Error('the fallback did not answer');
		samples.push(performance.now() - started);
	}
	return median(samples);
}

async function main() {
	const fake = await startFakeProvider();
	fake.setHandler((r) => (r.path.startsWith('/v1/') ? { status: 503, body: { error: { message: 'overloaded' } } } : undefined));
	const rows = [['this build', path.resolve(__dirname, '..', 'dist')]];
	if (before) rows.unshift(['--before build', before]);
	console.log(`503 primary, healthy fallback, default settings: ms until the fallback answers (median of ${RUNS})`);
	for (const [label, dist] of rows) console.log(`  ${label.padEnd(16)} ${Math.round(await fallbackMs(engine(dist), fake))} ms`);

	// Time to first token: the engine's stream vs the SDK's own, same server, chunks 20 ms apart.
	fake.setHandler(() => ({ streamDelayMs: 20 }));
	const e = engine(rows.at(-1)[1]);
	const direct = new OpenAI({ baseURL: fake.baseUrl, apiKey: 'sk-bench', maxRetries: 0 });
	const viaSdk = [];
	const viaEngine = [];
	for (let run = 0; run < 20; run++) {
		let t = performance.now();
		const stream = await direct.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'one two three four' }], stream: true });
		for await (const chunk of stream) {
			if (chunk.choices[0]?.delta?.content) {
				viaSdk.push(performance.now() - t);
				break;
			}
		}
		t = performance.now();
		let first;
		await e.complete({ messages: e.simpleMessages('', 'one two three four', []), options: {} }, [{ connection: e.connectionFromCredential('custom', { apiKey: 'sk-bench', baseUrl: fake.baseUrl }, 'ttft'), model: 'm' }], {
			timeoutMs: 60_000,
			onDelta: () => (first ??= performance.now() - t),
		});
		viaEngine.push(first);
	}
	console.log('Time to first streamed token (median of 20, ms):');
	console.log(`  openai SDK directly  ${median(viaSdk).toFixed(2)}`);
	console.log(`  through the engine   ${median(viaEngine).toFixed(2)}   ratio ${(median(viaEngine) / median(viaSdk)).toFixed(2)}`);
	await fake.close();
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
