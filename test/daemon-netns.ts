// Network-namespace lab helpers for the daemon's real-process tests.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'tskeepalived');

export const isRoot = (): boolean => process.getuid?.() === 0;

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Two namespaces joined by a veth pair named eth0 on both sides, addresses 10.<x>.0.1/.2. */
export function makePair(prefix: string, x: number): { a: string; b: string; addrA: string; addrB: string; destroy(): void } {
  const a = `${prefix}-a`;
  const b = `${prefix}-b`;
  const destroy = () => {
    for (const ns of [a, b]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        /* not there */
      }
    }
  };
  destroy();
  ip('netns', 'add', a);
  ip('netns', 'add', b);
  ip('-n', a, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b);
  for (const [ns, addr] of [
    [a, `10.${x}.0.1/24`],
    [b, `10.${x}.0.2/24`],
  ]) {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'addr', 'add', addr, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
  }
  return { a, b, addrA: `10.${x}.0.1`, addrB: `10.${x}.0.2`, destroy };
}

export function hasAddress(ns: string, address: string): boolean {
  try {
    return ip('-n', ns, 'addr', 'show', 'dev', 'eth0').includes(` ${address}/`);
  } catch {
    return false;
  }
}

export interface Proc {
  child: ChildProcess;
  output(): string;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start a command inside a namespace; collects stdout+stderr. */
export function startIn(ns: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return { child, output: () => out, exited: () => done };
}

/** Run a command inside a namespace to completion. */
export function runIn(ns: string, cmd: string, args: string[], timeoutMs = 20000, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  const p = startIn(ns, cmd, args, env);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  return p.exited().then(({ code }) => {
    clearTimeout(timer);
    return { code, out: p.output() };
  });
}

/** GET a URL from inside a namespace (the status endpoint listens on the namespace's loopback). */
export async function httpGetIn(ns: string, url: string): Promise<{ status: number; text: string }> {
  const r = await runIn(ns, process.execPath, [
    '-e',
    `fetch(${JSON.stringify(url)}).then(async r=>{process.stdout.write(JSON.stringify({status:r.status,text:await r.text()}))},e=>{process.stdout.write(JSON.stringify({status:0,text:String(e)}))})`,
  ]);
  return JSON.parse(r.out) as { status: number; text: string };
}

export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function alive(p: Proc): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

/**
 * A test file's scratch space: a temporary folder, and the processes and labs it starts, killed
 * (by pid) and deleted (by name) after the file, whatever its tests did.
 */
export function scratch(tag: string): { work: string; procs: Proc[]; labs: (() => void)[] } {
  const work = mkdtempSync(join(tmpdir(), `tkd-${tag}-`));
  const procs: Proc[] = [];
  const labs: (() => void)[] = [];
  after(() => {
    for (const p of procs) if (alive(p)) p.child.kill('SIGKILL');
    for (const d of labs) d();
    rmSync(work, { recursive: true, force: true });
  });
  return { work, procs, labs };
}
