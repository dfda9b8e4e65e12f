// keepalived's enable_script_security rule: a script (and every directory above it) run as root
// must not be writable by a non-root user; otherwise keepalived refuses to run it.
import { statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

/** Returns a reason when the path is unsafe to execute as root, undefined when it is safe. */
export function scriptSecurityProblem(path: string, searchPath = process.env.PATH ?? '/usr/bin:/bin'): string | undefined {
  let file = path;
  if (!file.includes('/')) {
    const found = searchPath
      .split(':')
      .map((d) => resolve(d || '.', file))
      .find((p) => {
        try {
          return statSync(p).isFile();
        } catch {
          return false;
        }
      });
    if (!found) return `cannot find script '${path}' in PATH`;
    file = found;
  }
  if (!isAbsolute(file)) file = resolve(file);
  let p = file;
  for (;;) {
    let st;
    try {
      st = statSync(p);
    } catch {
      return `cannot access '${p}'`;
    }
    if (st.uid !== 0 && (st.mode & 0o200) !== 0) return `'${p}' is writable by non-root user (uid ${st.uid})`;
    if ((st.mode & 0o022) !== 0 && !(st.isDirectory() && (st.mode & 0o1000) !== 0))
      return `'${p}' is group or world writable`;
    const parent = dirname(p);
    if (parent === p) return undefined;
    p = parent;
  }
}
