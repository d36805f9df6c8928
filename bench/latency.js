'use strict';
/**
 * Added latency of BYOK Chat's call path versus a direct openai SDK call, both against the same
 * local fake provider, interleaved in one run so machine noise hits both alike.
 *
 *   npm run build && node bench/latency.js [calls]
 */
require('./scratch-usage.js');
const OpenAI = require('openai').default;
const { startFakeProvider } = require('../test/fake-provider.js');
const { connectionFromCredential } = require('../dist/nodes/llm/client.js');
const { complete } = require('../dist/nodes/llm/dispatch.js');
const { simpleMessages } = require('../dist/nodes/llm/request.js');

const CALLS = Number(process.argv[2] ?? 2000);
const WARMUP = 200;

function stats(samples) {
	const s = [...samples].sort((a, b) => a - b);
	const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
	return { median: at(0.5), p90: at(0.9), p99: at(0.99) };
}

async function main() {
	const fake = await startFakeProvider();
	const key = 'sk-bench-0000000000';
	const direct = new OpenAI({ baseURL: fake.baseUrl, apiKey: key, maxRetries: 0 });
	const credential = { apiKey: key, baseUrl: fake.baseUrl };

	const viaSdk = () => direct.chat.completions.create({ model: 'fake-small', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello' }] });
	// What the node does per item: credential -> connection, prompt -> request, engine call, result mapping.
	const viaNode = () =>
		complete({ messages: simpleMessages('Be brief.', 'hello', []), options: {} }, [{ connection: connectionFromCredential('custom', credential, 'bench'), model: 'fake-small' }], { timeoutMs: 600_000 });

	const time = async (fn) => {
		const t = process.hrtime.bigint();
		await fn();
		return Number(process.hrtime.bigint() - t) / 1e6;
	};
	for (let i = 0; i < WARMUP; i++) {
		await viaSdk();
		await viaNode();
	}
	const sdk = [];
	const node = [];
	for (let i = 0; i < CALLS; i++) {
		// Alternate which goes first so neither always gets the warmer connection.
		if (i % 2) {
			sdk.push(await time(viaSdk));
			node.push(await time(viaNode));
		} else {
			node.push(await time(viaNode));
			sdk.push(await time(viaSdk));
		}
	}
	await fake.close();
	const a = stats(sdk);
	const b = stats(node);
	const f = (x) => x.toFixed(3).padStart(8);
	console.log(`command: node bench/latency.js ${CALLS}   (Node ${process.version}, ${CALLS} calls each, interleaved, local fake provider)`);
	console.log('                         median      p90      p99   (ms per call)');
	console.log(`direct openai SDK     ${f(a.median)} ${f(a.p90)} ${f(a.p99)}`);
	console.log(`BYOK Chat call path   ${f(b.median)} ${f(b.p90)} ${f(b.p99)}`);
	console.log(`added (median)        ${f(b.median - a.median)} ms   ratio ${(b.median / a.median).toFixed(3)}x   (goal: at most 1 ms added)`);
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
