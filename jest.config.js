/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: 'node',
	testMatch: ['<rootDir>/test/**/*.test.ts'],
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
	globalSetup: '<rootDir>/test/helpers/global-setup.js',
	globalTeardown: '<rootDir>/test/helpers/global-teardown.js',
	setupFiles: ['<rootDir>/test/helpers/env.js'],
	testTimeout: 30000,
};
