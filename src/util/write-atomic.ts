// A whole-file write a reader never sees half done.
import { renameSync, writeFileSync } from 'node:fs';

/** Write under a temporary name, then rename: a reader sees the old file or the whole new one. */
export function writeAtomic(path: string, text: string, mode = 0o644): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}
