// The cluster runs `node dist/…` as production does: build first when any source is newer
// than the build (or there is none), so the suite never tests stale JavaScript.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

function newestMtimeMs(dir: string, skip = new Set<string>()): number {
  if (!fs.existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(full, skip) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

export default async function clusterGlobalSetup() {
  const sources = Math.max(newestMtimeMs(path.join(ROOT, 'src')), fs.statSync(path.join(ROOT, 'tsconfig.json')).mtimeMs);
  const built = newestMtimeMs(path.join(ROOT, 'dist'));
  if (built >= sources) return;
  process.stderr.write(`\n[cluster suite] ${built ? 'sources changed since the last build' : 'no build yet'}: npm run build\n`);
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
}
