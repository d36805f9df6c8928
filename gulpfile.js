const { src, dest } = require('gulp');

// tsc compiles the TypeScript; icons (and codex files) are copied beside the compiled nodes and credentials.
function buildIcons() {
	return src(['nodes/**/*.{png,svg}', 'nodes/**/*.node.json', 'credentials/**/*.{png,svg}'], { base: '.', encoding: false }).pipe(dest('dist'));
}

exports['build:icons'] = buildIcons;
