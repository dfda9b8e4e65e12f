// Test lab for network tests: namespaces joined by a veth, child processes inside them, tcpdump.
// Everything is named tkn-<pid>-... and torn down by name and by pid.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Absolute file URL of a compiled project module, e.g. modUrl('src/net/vrrp-socket.js'). */
export function modUrl(rel: string): string {
  const distRoot = fileURLToPath(new URL('..', import.meta.url)); // dist/
  return pathToFileURL(join(distRoot, rel)).href;
}

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (e) {
    if (opts.allowFail) return '';
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr ?? err.message}`);
  }
}

export interface Lab {
  prefix: string;
  a: string; // namespace names
  b: string;
  va: string; // veth ends
  vb: string;
  net4: string; // e.g. 10.123.0 (A = .1, B = .2)
  net6: string; // e.g. fd7b:: (A = ::1, B = ::2)
  ipA: string;
  ipB: string;
  ip6A: string;
  ip6B: string;
  tmp: string;
  children: ChildProcess[];
}

/** Two namespaces joined by a veth, with IPv4/IPv6 addresses; DAD off so IPv6 is usable at once. */
export function createLab(tag: string, octet: number): Lab {
  const prefix = `tkn-${process.pid}-${tag}`;
  const short = `tk${process.pid % 100000}${tag.slice(0, 3)}`;
  const lab: Lab = {
    prefix,
    a: `${prefix}-a`,
    b: `${prefix}-b`,
    va: `${short}a`,
    vb: `${short}b`,
    net4: `10.${octet}.0`,
    net6: `fd${octet.toString(16).padStart(2, '0')}::`,
    ipA: `10.${octet}.0.1`,
    ipB: `10.${octet}.0.2`,
    ip6A: `fd${octet.toString(16).padStart(2, '0')}::1`,
    ip6B: `fd${octet.toString(16).padStart(2, '0')}::2`,
    tmp: mkdtempSync(join(tmpdir(), `${prefix}-`)),
    children: [],
  };
  destroyLabNow(lab);
  sh('ip', ['netns', 'add', lab.a]);
  sh('ip', ['netns', 'add', lab.b]);
  for (const ns of [lab.a, lab.b]) {
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  sh('ip', ['link', 'add', lab.va, 'netns', lab.a, 'type', 'veth', 'peer', 'name', lab.vb, 'netns', lab.b]);
  sh('ip', ['-n', lab.a, 'addr', 'add', `${lab.ipA}/24`, 'dev', lab.va]);
  sh('ip', ['-n', lab.b, 'addr', 'add', `${lab.ipB}/24`, 'dev', lab.vb]);
  sh('ip', ['-n', lab.a, 'addr', 'add', `${lab.ip6A}/64`, 'dev', lab.va, 'nodad']); // no DAD wait: the first ping must not take 1 s
  sh('ip', ['-n', lab.b, 'addr', 'add', `${lab.ip6B}/64`, 'dev', lab.vb, 'nodad']);
  sh('ip', ['-n', lab.a, 'link', 'set', lab.va, 'up']);
  sh('ip', ['-n', lab.b, 'link', 'set', lab.vb, 'up']);
  return lab;
}

function alive(c: ChildProcess): boolean {
  return c.exitCode === null && c.signalCode === null && c.pid !== undefined;
}

function signalChildren(lab: Lab, sig: NodeJS.Signals): void {
  for (const c of lab.children) {
    if (!alive(c)) continue;
    try {
      process.kill(c.pid!, sig);
    } catch {
      // already gone
    }
  }
}

/** Kill what is still running in the lab's namespaces (our children and their descendants, by pid). */
function killNamespacePids(lab: Lab): void {
  for (const ns of [lab.a, lab.b]) {
    for (const pid of sh('ip', ['netns', 'pids', ns], { allowFail: true })
      .split('\n')
      .filter((l) => /^\d+$/.test(l))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

/** Synchronous teardown (used before creating a lab): kill by pid, delete the namespaces. */
export function destroyLabNow(lab: Lab, keepTmp = true): void {
  signalChildren(lab, 'SIGKILL');
  killNamespacePids(lab);
  sh('ip', ['netns', 'del', lab.a], { allowFail: true });
  sh('ip', ['netns', 'del', lab.b], { allowFail: true });
  if (!keepTmp) rmSync(lab.tmp, { recursive: true, force: true });
}

/** Teardown for after(): SIGTERM our children (keepalived cleans up its VRRP child), then force. */
export async function destroyLab(lab: Lab): Promise<void> {
  signalChildren(lab, 'SIGTERM');
  await waitFor(() => !lab.children.some(alive), 2000);
  destroyLabNow(lab, false);
}

export interface Running {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Start a command inside a namespace; output is collected; killed by destroyLab at the latest. */
export function startInNs(lab: Lab, ns: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const proc = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  lab.children.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

/** Run an ESM snippet with node inside a namespace (imports via modUrl). */
export function nodeInNs(lab: Lab, ns: string, code: string, env: NodeJS.ProcessEnv = {}): Running {
  return startInNs(lab, ns, process.execPath, ['--input-type=module', '-e', code], env);
}

/** JSON lines a child printed. */
export function jsonLines<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as T);
}

/** Resolves when pred(output) holds or after timeoutMs (then resolves false). */
export async function waitFor(pred: () => boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return pred();
}

/** tcpdump in a namespace: resolves once it is listening. */
export async function startTcpdump(lab: Lab, ns: string, ifname: string, filter: string, count: number, timeoutS: number): Promise<Running> {
  const r = startInNs(lab, ns, 'timeout', [String(timeoutS), 'tcpdump', '-l', '-n', '-v', '-e', '-i', ifname, '-c', String(count), filter]);
  await waitFor(() => r.stderr().includes('listening on'), 5000);
  return r;
}

export function stopProcess(r: Running, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (r.proc.exitCode === null && r.proc.signalCode === null && r.proc.pid) {
    try {
      process.kill(r.proc.pid, signal);
    } catch {
      // gone
    }
  }
  return r.exited;
}

/** keepalived 2.2.7 in a namespace with its own pid files; output (-l -D) collected. */
export function startKeepalived(lab: Lab, ns: string, name: string, conf: string): Running {
  const dir = join(lab.tmp, name);
  execFileSync('mkdir', ['-p', dir]);
  execFileSync('sh', ['-c', `cat > ${dir}/keepalived.conf`], { input: conf });
  return startInNs(lab, ns, 'keepalived', ['-n', '-l', '-D', '-P', '-f', `${dir}/keepalived.conf`, '-p', `${dir}/keepalived.pid`, '-r', `${dir}/vrrp.pid`]);
}

/** Whether `ip -n ns addr` lists the address (e.g. a VIP keepalived added as MASTER). */
export function nsHasAddress(ns: string, address: string): boolean {
  const out = sh('ip', ['-n', ns, '-o', 'addr', 'show'], { allowFail: true });
  return out.split('\n').some((l) => l.includes(` ${address}/`));
}
