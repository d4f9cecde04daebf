// Runs before `npm run cluster`: builds dist/ (npm run build) when it is missing or older than
// any source file, so a fresh clone needs only `npm install` then `npm run cluster`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const BUILT = path.join(ROOT, 'dist/workflow-bundle.js');

function newestMtimeMs(entry: string): number {
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...fs.readdirSync(entry).map((name) => newestMtimeMs(path.join(entry, name))));
}

const sources = ['src', 'scripts', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'].map((p) => path.join(ROOT, p));
const builtAt = fs.existsSync(BUILT) ? fs.statSync(BUILT).mtimeMs : 0;
const stale = sources.some((p) => fs.existsSync(p) && newestMtimeMs(p) > builtAt);
if (stale) {
  console.error(builtAt ? 'dist/ is older than the sources: npm run build' : 'no dist/ yet: npm run build');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const run = spawnSync(npm, ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
