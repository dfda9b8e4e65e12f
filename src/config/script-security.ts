// keepalived's check of a configured script (check_script_secure in its lib/notify.c), the one rule
// for `-t` and the running daemon. A command names a script when it resolves (a bare name by a PATH
// search, then realpath) to a file: "scripts are being executed", a SECURITY VIOLATION (-t exit 6)
// without enable_script_security. A script root executes is insecure when an element of its path is
// owned by non-root, or (a file, or a directory without the sticky bit) writable by a non-root group
// or by all; the elements are '/', each directory, the name as configured and the file a final link
// leads to.
import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ScriptSpec } from './model.js';

export interface ScriptCheck {
  /** the command names a file: keepalived would execute it */
  isScript: boolean;
  /** an element of its path is owned or writable by non-root */
  insecure: boolean;
  /** why enable_script_security does not run it as root (not found, not executable, unsafe); undefined when it may run */
  problem?: string;
}

const ANY_EXEC = 0o111;
const STICKY = 0o1000;
const GROUP_WRITE = 0o020;
const WORLD_WRITE = 0o002;

function findInPath(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(':')) {
    const p = dir ? join(dir, name) : name;
    try {
      const st = statSync(p);
      if (st.isFile() && st.mode & ANY_EXEC) return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Each element of an absolute path from '/': the first one root must not trust, as a ScriptCheck. */
function checkElements(path: string): ScriptCheck {
  const parts = path.split('/');
  let prefix = '';
  for (let i = 0; i < parts.length; i++) {
    if (i > 0 && parts[i] === '') continue;
    prefix = i === 0 ? '/' : prefix === '/' ? `/${parts[i]}` : `${prefix}/${parts[i]}`;
    const last = i === parts.length - 1;
    let st: Stats;
    try {
      st = lstatSync(prefix);
    } catch {
      return { isScript: true, insecure: false, problem: `cannot access '${prefix}'` };
    }
    if (last ? !st.isFile() && !st.isSymbolicLink() : !st.isDirectory())
      return { isScript: true, insecure: false, problem: `'${prefix}' is not ${last ? 'a file' : 'a directory'}` };
    if (st.uid !== 0) return { isScript: true, insecure: true, problem: `'${prefix}' is owned by non-root user (uid ${st.uid})` };
    const checked = (st.isDirectory() && !(st.mode & STICKY)) || st.isFile();
    if (checked && ((st.gid !== 0 && st.mode & GROUP_WRITE) || st.mode & WORLD_WRITE))
      return { isScript: true, insecure: true, problem: `'${prefix}' is group or world writable` };
  }
  return { isScript: true, insecure: false };
}

type Resolved = { problem: string; isScript: boolean } | { real: string; st: Stats; named: string };

/** argv[0] as keepalived resolves it: PATH search, realpath; `named` keeps a final link's name when it leads to the same file. */
function resolveScript(command: string, searchPath: string): Resolved {
  let file: string | undefined = command;
  if (!command.includes('/')) file = findInPath(command, searchPath);
  if (!file) return { isScript: false, problem: `cannot find script '${command}' in PATH` };
  let real: string;
  let st: Stats;
  try {
    real = realpathSync.native(file);
    st = statSync(real);
  } catch {
    return { isScript: false, problem: `cannot access '${file}'` };
  }
  // a final link of another name keeps its name when that name leads to the same file; both are checked
  let named = real;
  if (basename(real) !== basename(file)) {
    const kept = join(dirname(real), basename(file));
    try {
      const k = statSync(kept);
      if (k.dev === st.dev && k.ino === st.ino) named = kept;
    } catch {
      /* the resolved name stands */
    }
  }
  return { real, st, named };
}

/**
 * A command line as keepalived shows it in its dumps (cmd_str): each argument in single quotes,
 * the file resolved as keepalived resolves it (as written when it cannot be found).
 */
export function keepalivedCommandText(s: ScriptSpec, searchPath = process.env.PATH ?? '/bin:/usr/bin'): string {
  if (s.argv.length === 0) return s.command;
  const r = resolveScript(s.argv[0]!, searchPath);
  return ['named' in r ? r.named : s.argv[0]!, ...s.argv.slice(1)].map((a) => `'${a}'`).join(' ');
}

/** What keepalived makes of a command's file (argv[0]) that root would execute. */
export function checkScriptFile(command: string, searchPath = process.env.PATH ?? '/bin:/usr/bin'): ScriptCheck {
  // "</file" tests that a file can be opened: nothing is executed
  if (/^<[ \t]*\//.test(command)) return { isScript: false, insecure: false };
  const r = resolveScript(command, searchPath);
  if ('problem' in r) return { isScript: r.isScript, insecure: false, problem: r.problem };
  const { real, st, named } = r;
  if (!(st.mode & ANY_EXEC)) return { isScript: true, insecure: false, problem: `'${real}' is not executable` };
  const c = checkElements(named);
  return c.problem || named === real ? c : checkElements(real);
}

/** A configured script's check; undefined or empty: no script. */
export function checkScript(s: ScriptSpec | undefined): ScriptCheck {
  if (!s || s.argv.length === 0) return { isScript: false, insecure: false };
  return checkScriptFile(s.argv[0]!);
}

/** Why enable_script_security refuses to run the command's file as root; undefined when it may run. */
export function scriptSecurityProblem(command: string): string | undefined {
  return checkScriptFile(command).problem;
}
