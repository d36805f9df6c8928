'use strict';
/**
 * How much this package adds to n8n's startup: time from `n8n start` to GET /healthz/readiness = 200
 * (n8n answers 200 only once nodes are loaded and the server is fully up), and the main process's
 * memory, with and without the package in .n8n/nodes. Uses the same pinned n8n and helpers as the e2e test (test/e2e/run.js).
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

/** Resident memory of a process, in MB (Linux /proc). */
function rssMb(pid) {
	const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
	return match ? Number(match[1]) / 1024 : NaN;
}

/** One start to readiness, n8n's main-process memory 3 s after that, and a clean stop. */
async function timeStart(n8n, userFolder, logFile) {
	const server = await startN8n(n8n, userFolder, { logFile });
	await new Promise((resolve) => setTimeout(resolve, 3000));
	const mb = rssMb(server.pid);
	await server.stop();
	return { ms: server.readyMs, mb, command: server.command };
}

async function main() {
	const scratch = makeScratch('byok-bench-startup-');
	try {
		const n8n = await provisionN8n();
		const tarball = await packPackage(scratch.dir);
		const variants = [
			{ name: 'without package', userFolder: path.join(scratch.dir, 'without'), times: [], mbs: [] },
			{ name: 'with package', userFolder: path.join(scratch.dir, 'with'), times: [], mbs: [] },
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
				const { ms, mb, command: cmd } = await timeStart(n8n, v.userFolder, path.join(scratch.dir, `${v.name.replace(/ /g, '-')}.log`));
				v.times.push(ms);
				v.mbs.push(mb);
				command = cmd;
				console.log(`# run ${run} ${v.name}: ${seconds(ms)}, ${mb.toFixed(0)} MB`);
			}
		}

		const [without, withPkg] = variants.map((v) => median(v.times));
		console.log('');
		console.log(`n8n startup to readiness, median of ${RUNS} restarts (n8n 2.41.1, Node 24, SQLite):`);
		console.log(`  without package: ${seconds(without)}   [${variants[0].times.map(seconds).join(', ')}]`);
		console.log(`  with package:    ${seconds(withPkg)}   [${variants[1].times.map(seconds).join(', ')}]`);
		console.log(`  ratio with/without: ${(withPkg / without).toFixed(2)}x (${withPkg - without >= 0 ? '+' : ''}${seconds(withPkg - without)})`);
		const [memWithout, memWith] = variants.map((v) => median(v.mbs));
		console.log(`n8n main-process memory (RSS) 3 s after readiness, median: without ${memWithout.toFixed(0)} MB, with ${memWith.toFixed(0)} MB (${memWith - memWithout >= 0 ? '+' : ''}${(memWith - memWithout).toFixed(0)} MB, ${(memWith / memWithout).toFixed(2)}x)`);
		console.log(`command (per start, user folder varies): ${command}`);
		fs.rmSync(scratch.dir, { recursive: true, force: true });
	} catch (err) {
		console.error(`startup benchmark failed: ${err.stack ?? err}\n(kept ${scratch.dir})`);
		process.exitCode = 1;
	}
}

main();
