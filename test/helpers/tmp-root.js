// One scratch folder per `npm test` run (n8n user folders, usage stores), removed when the run ends.
// globalSetup runs before the workers start, so they inherit BYOK_TEST_TMP.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

module.exports = {
	setup() {
		process.env.BYOK_TEST_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'byok-test-'));
	},
	teardown() {
		if (process.env.BYOK_TEST_TMP) fs.rmSync(process.env.BYOK_TEST_TMP, { recursive: true, force: true });
	},
	/** A new folder inside the run's scratch folder (the system's temp folder when run outside jest's setup). */
	scratchDir(prefix) {
		return fs.mkdtempSync(path.join(process.env.BYOK_TEST_TMP || os.tmpdir(), prefix));
	},
};
