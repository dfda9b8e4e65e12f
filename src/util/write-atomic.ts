// A whole-file write a reader never sees half done.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** Write under a temporary name, then rename: a reader sees the old file or the whole new one. */
export function writeAtomic(path: string, text: string, mode = 0o644): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

/** writeAtomic unless the file already holds exactly `text`; true when it wrote. */
export function writeAtomicIfChanged(path: string, text: string, mode = 0o644): boolean {
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) return false;
  writeAtomic(path, text, mode);
  return true;
}
