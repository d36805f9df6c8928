'use strict';
/**
 * Lets a plain Node process require the engine's TypeScript sources (nodes/llm/*.ts) without a
 * build: each file is transpiled on load (no type check; jest and tsc do that). Used by the child
 * processes of test/cluster.test.ts, so `npm test` works on a fresh clone before `npm run build`.
 */
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = function compileTypeScript(module, filename) {
	const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
		fileName: filename,
		compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, resolveJsonModule: true, sourceMap: false },
	});
	module._compile(outputText, filename);
};
