// Running keepalived scripts (notify, vrrp_script, MISC_CHECK, notify_up/down, quorum_up/down):
// no shell (argv as keepalived splits it), optional user/group, a timeout that kills the whole
// process group, and never an exception: the result is a value.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ScriptResult {
  /** exit code, or null when killed by a signal */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** set when the script could not be started at all (ENOENT, EACCES, unknown user...) */
  error?: string;
  durationMs: number;
}

export interface RunOptions {
  /** extra arguments appended to argv (e.g. notify's TYPE NAME STATE PRIORITY) */
  args?: string[];
  timeoutMs?: number;
  /** user/group to run as; defaults to the spec's, then to the caller's */
  user?: string;
  group?: string;
  env?: NodeJS.ProcessEnv;
}

let passwdCache: Map<string, { uid: number; gid: number }> | undefined;
let groupCache: Map<string, number> | undefined;

function readDb(path: string): string[][] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/** uid/gid of a user name (or numeric id); undefined when unknown. */
export function lookupUser(name: string): { uid: number; gid: number } | undefined {
  if (/^\d+$/.test(name)) return { uid: Number(name), gid: Number(name) };
  passwdCache ??= new Map(readDb('/etc/passwd').map((f) => [f[0], { uid: Number(f[2]), gid: Number(f[3]) }]));
  return passwdCache.get(name);
}

export function lookupGroup(name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  groupCache ??= new Map(readDb('/etc/group').map((f) => [f[0], Number(f[2])]));
  return groupCache.get(name);
}

/** What runScript needs of a configured script (config's ScriptSpec has these and more). */
export interface ScriptCommand {
  /** argv split with keepalived's script quoting rules */
  argv: string[];
  user?: string;
  group?: string;
}

export function runScript(spec: ScriptCommand, opts: RunOptions = {}): Promise<ScriptResult> {
  const started = Date.now();
  const done = (r: Omit<ScriptResult, 'durationMs'>): ScriptResult => ({ ...r, durationMs: Date.now() - started });
  if (spec.argv.length === 0) return Promise.resolve(done({ code: null, signal: null, timedOut: false, error: 'empty script' }));
  const userName = opts.user ?? spec.user;
  const groupName = opts.group ?? spec.group;
  let uid: number | undefined;
  let gid: number | undefined;
  if (userName !== undefined) {
    const u = lookupUser(userName);
    if (!u) return Promise.resolve(done({ code: null, signal: null, timedOut: false, error: `unknown user '${userName}'` }));
    uid = u.uid;
    gid = u.gid;
  }
  if (groupName !== undefined) {
    gid = lookupGroup(groupName);
    if (gid === undefined) return Promise.resolve(done({ code: null, signal: null, timedOut: false, error: `unknown group '${groupName}'` }));
  }
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    let settled = false;
    const finish = (r: Omit<ScriptResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      resolve(done(r));
    };
    let child: ChildProcess;
    try {
      child = spawn(spec.argv[0], [...spec.argv.slice(1), ...(opts.args ?? [])], {
        stdio: 'ignore',
        detached: true, // own process group, so a timeout kills the script and its children
        uid,
        gid,
        env: opts.env ?? process.env,
      });
    } catch (e) {
      finish({ code: null, signal: null, timedOut: false, error: (e as Error).message });
      return;
    }
    child.on('error', (e) => finish({ code: null, signal: null, timedOut: false, error: e.message }));
    child.on('exit', (code, signal) => finish({ code, signal, timedOut }));
    if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, opts.timeoutMs);
    }
  });
}
