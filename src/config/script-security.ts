// keepalived's check of configured scripts: a script whose file exists makes "scripts are being
// executed"; without enable_script_security that is a SECURITY VIOLATION (-t exit 6).
import { accessSync, constants, lstatSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { ScriptSpec } from './model.js';

export interface ScriptCheck {
  /** the file exists: keepalived would execute it */
  isScript: boolean;
  /** a path component is writable by non-root */
  insecure: boolean;
}

function findInPath(name: string): string | undefined {
  const path = process.env.PATH || '/bin:/usr/bin';
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

function unsafe(path: string): boolean {
  let acc = '';
  for (const part of path.split('/')) {
    acc = acc === '/' ? `/${part}` : acc ? `${acc}/${part}` : part === '' ? '/' : part;
    if (acc === '') continue;
    let st;
    try {
      st = lstatSync(acc);
    } catch {
      return false;
    }
    const sticky = (st.mode & 0o1000) !== 0;
    if (st.uid !== 0) return true;
    if ((st.isDirectory() && !sticky) || st.isFile()) {
      if ((st.gid !== 0 && st.mode & 0o020) || st.mode & 0o002) return true;
    }
  }
  return false;
}

export function checkScript(s: ScriptSpec | undefined): ScriptCheck {
  const none = { isScript: false, insecure: false };
  if (!s || s.argv.length === 0) return none;
  const cmd = s.argv[0];
  if (/^<[ \t]*\//.test(cmd)) return none;
  let file: string | undefined = cmd;
  if (!cmd.includes('/')) file = findInPath(cmd);
  if (!file) return none;
  try {
    if (!statSync(file).isFile()) return none;
  } catch {
    return none;
  }
  return { isScript: true, insecure: unsafe(file) };
}
