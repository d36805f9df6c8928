'use strict';
/**
 * Required first by every bench that runs the engine: its usage (requests, tokens, cost) goes to
 * a scratch file, never into the usage store in the user's n8n folder.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

process.env.BYOK_USAGE_FILE ??= path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'byok-bench-usage-')), 'usage.json');
