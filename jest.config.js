/** Jest runs the whole suite against real PostgreSQL and a real Temporal dev server
 * (started once in test/global-setup.ts unless DATABASE_URL / TEMPORAL_ADDRESS name them). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The fault suite on the production topology runs on its own: npm run test:cluster.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cluster/'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
  // The Temporal SDK's native runtime keeps threads alive after the last worker stops.
  forceExit: true,
  // A fresh worker process per test file: a Temporal client call still retrying when its
  // file's app stopped must not fire into the next file's tests.
  workerIdleMemoryLimit: '1MB',
  // npm run coverage. Workflow code runs bundled inside Temporal's sandbox, where Jest cannot
  // see it: test/workflows instruments the bundle (@temporalio/nyc-test-coverage) and adds
  // what the sandbox ran to the figure, so Jest must not instrument those files itself (two
  // instrumentations of one file do not add up). The shared types are loaded in process.
  // Migrations run in the global setup, where Jest does not instrument them: left out.
  collectCoverageFrom: ['src/**/*.ts', '!src/workflows/!(types).ts', '!src/db/migrations/**'],
  // The sandbox's counts come in through the coverage global, which only Babel's provider reads.
  coverageProvider: 'babel',
  coverageReporters: ['text-summary', 'lcov'],
};
