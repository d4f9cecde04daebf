// The second half of `npm run build`, run compiled from dist/scripts/: bundles the compiled
// workflows once (the worker loads dist/workflow-bundle.js instead of bundling at every start)
// and copies the dashboard's static files beside the compiled API.
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { BUILT_WORKFLOW_BUNDLE } from '../src/worker/worker';

const DIST = path.resolve(__dirname, '..');
const ROOT = path.resolve(DIST, '..');

async function main() {
  if (path.basename(DIST) !== 'dist') throw new Error('run build-assets compiled, from dist/scripts (npm run build)');
  const started = Date.now();
  const quiet = { trace() {}, debug() {}, info() {}, log() {}, warn: console.warn, error: console.error };
  const { code } = await bundleWorkflowCode({ workflowsPath: path.join(DIST, 'src/workflows'), logger: quiet as never });
  fs.writeFileSync(path.join(DIST, BUILT_WORKFLOW_BUNDLE), code);
  console.log(`workflow bundle: dist/${BUILT_WORKFLOW_BUNDLE} (${Math.round(code.length / 1024)} KiB, ${Date.now() - started} ms)`);
  fs.cpSync(path.join(ROOT, 'src/api/dashboard'), path.join(DIST, 'src/api/dashboard'), { recursive: true });
}

main().catch((err) => {
  console.error(`build: ${err?.message ?? err}`);
  process.exit(1);
});
