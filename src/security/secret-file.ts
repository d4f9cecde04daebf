import fs from 'node:fs';
import path from 'node:path';

/**
 * A secret made once, at first start, and kept in the data folder in a file only this user can
 * read (mode 0600, tightened again if someone loosened it). Created with O_EXCL, so two processes
 * starting at once agree on one value.
 */
export function secretFile(file: string, make: () => string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    fs.writeFileSync(file, make(), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  fs.chmodSync(file, 0o600);
  return fs.readFileSync(file, 'utf8');
}
