/** npm run test:cluster: the fault suite on the production topology (Temporal's own server on
 * PostgreSQL, 2 API and 2 worker processes running the compiled build). One file at a time:
 * each file starts a whole topology, and two at once would starve a 2-core machine. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/cluster'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  globalSetup: '<rootDir>/test/support/cluster-global-setup.ts',
  maxWorkers: 1,
  testTimeout: 600000,
  // The Temporal SDK's native runtime keeps threads alive after its last connection closes.
  forceExit: true,
  // A fresh worker process per file: nothing of one file's topology outlives it.
  workerIdleMemoryLimit: '1MB',
};
