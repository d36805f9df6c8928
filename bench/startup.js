'use strict';
/**
 * How much this package adds to n8n's startup: time from `n8n start` to GET /healthz/readiness = 200
 * (n8n answers 200 only once nodes are loaded and the server is fully up), with and without the
 * package in .n8n/nodes. Uses the same pinned n8n and helpers as the e2e test (test/e2e/run.js).
 *
 *   npm run build && node bench/startup.js [runs]      (default 3 runs per variant)
 *
 * Each variant gets its own user folder and one untimed warm-up start first, so the timed starts
 * are restarts of an existing instance and do not include the first start's database migrations.
 * Timed starts alternate between the variants so drift on the machine hits both equally.
 */
const fs = require('node:fs');
const path = require('node:path');
const { provisionN8n, makeScratch, packPackage, installPackage, startN8n, seconds } = require('../test/e2e/run.js');

const RUNS = Number(process.argv[2] ?? 3);

const median = (values) => {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** One start to readiness and a clean stop; returns milliseconds to ready. */
async function timeStart(n8n, userFolder, logFile) {
	const server = await startN8n(n8n, userFolder, { logFile });
	await server.stop();
	return { ms: server.readyMs, command: server.command };
}

async function main() {
	const scratch = makeScratch('byok-bench-startup-');
	try {
		const n8n = await provisionN8n();
		const tarball = await packPackage(scratch.dir);
		const variants = [
			{ name: 'without package', userFolder: path.join(scratch.dir, 'without'), times: [] },
			{ name: 'with package', userFolder: path.join(scratch.dir, 'with'), times: [] },
		];
		for (const v of variants) fs.mkdirSync(v.userFolder);
		await installPackage(variants[1].userFolder, tarball);

		let command;
		for (const v of variants) {
			const warm = await timeStart(n8n, v.userFolder, path.join(scratch.dir, `${v.name.replace(/ /g, '-')}.log`));
			console.log(`# warm-up (first start, database migrations) ${v.name}: ${seconds(warm.ms)}`);
		}
		for (let run = 1; run <= RUNS; run++) {
			for (const v of variants) {
				const { ms, command: cmd } = await timeStart(n8n, v.userFolder, path.join(scratch.dir, `${v.name.replace(/ /g, '-')}.log`));
				v.times.push(ms);
				command = cmd;
				console.log(`# run ${run} ${v.name}: ${seconds(ms)}`);
			}
		}

		const [without, withPkg] = variants.map((v) => median(v.times));
		console.log('');
		console.log(`n8n startup to readiness, median of ${RUNS} restarts (n8n 2.41.1, Node 24, SQLite):`);
		console.log(`  without package: ${seconds(without)}   [${variants[0].times.map(seconds).join(', ')}]`);
		console.log(`  with package:    ${seconds(withPkg)}   [${variants[1].times.map(seconds).join(', ')}]`);
		console.log(`  ratio with/without: ${(withPkg / without).toFixed(2)}x (${withPkg - without >= 0 ? '+' : ''}${seconds(withPkg - without)})`);
		console.log(`command (per start, user folder varies): ${command}`);
		fs.rmSync(scratch.dir, { recursive: true, force: true });
	} catch (err) {
		console.error(`startup benchmark failed: ${err.stack ?? err}\n(kept ${scratch.dir})`);
		process.exitCode = 1;
	}
}

main();
