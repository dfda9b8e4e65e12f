// Labs for the IPVS kernel tests (test/lb-ipvs-kernel.test.ts), which need a kernel with IPVS: in
// CI that is the VM of scripts/ipvs-vm.sh. The director runs in its own namespace (IPVS tables are
// per namespace); real servers are small HTTP servers in namespaces; the client sends real HTTP
// requests through the virtual service. No side effects at import time.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nsExec, sh } from './lb-netns-util.js';
import { createInterface } from 'node:readline';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..');
export const EXAMPLES = join(DIST, '..', 'examples');
export const IPVS_HARNESS = join(DIST, 'test', 'harness', 'ipvs-netlink.js');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** An example config with test-speed timers: each `delay_loop N` becomes `delay_loop 1`; `edit` may change more. */
export function exampleConfig(name: string, edit: (text: string) => string = (t) => t): string {
  return edit(readFileSync(join(EXAMPLES, name), 'utf8').replace(/delay_loop \d+/g, 'delay_loop 1'));
}

// HTTP servers answering every request with their name; stdin lines "down NAME" / "up NAME" stop
// (closing open connections) and restart one; each change is acknowledged with a line.
const SERVERS_JS = `
const http = require('http');
const specs = JSON.parse(process.argv[1]);
const live = new Map();
function up(s) {
  const socks = new Set();
  const srv = http.createServer((req, res) => { res.setHeader('Connection', 'close'); res.end(s.name); });
  srv.on('connection', (c) => { socks.add(c); c.on('close', () => socks.delete(c)); });
  live.set(s.name, { srv, socks });
  return new Promise((r) => srv.listen(s.port, s.host, r));
}
function down(name) {
  const l = live.get(name);
  if (!l) return Promise.resolve();
  live.delete(name);
  for (const c of l.socks) c.destroy();
  return new Promise((r) => l.srv.close(r));
}
Promise.all(specs.map(up)).then(() => process.stdout.write('ready\\n'));
let buf = '';
process.stdin.on('data', async (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const [cmd, name] = buf.slice(0, i).split(' ');
    buf = buf.slice(i + 1);
    const s = specs.find((x) => x.name === name);
    if (cmd === 'down') await down(name);
    else if (cmd === 'up' && s && !live.has(name)) await up(s);
    process.stdout.write(cmd + ' ' + name + '\\n');
  }
});
setTimeout(() => process.exit(0), 600000).unref();
`;

export interface ServerSpec {
  name: string;
  host: string;
  port: number;
}

export interface Servers {
  down(name: string): Promise<void>;
  up(name: string): Promise<void>;
  kill(): void;
}

/** HTTP name servers in a namespace, all in one node process (cheap under TCG); resolves once all listen. */
export async function startHttpServers(ns: string, specs: ServerSpec[]): Promise<Servers> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVERS_JS, JSON.stringify(specs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let waiter: (() => void) | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    waiter?.();
  });
  const expect = async (line: string) => {
    const deadline = Date.now() + 20_000;
    while (!lines.includes(line)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`HTTP servers in ${ns}: no "${line}"`);
      await new Promise<void>((r) => {
        waiter = r;
        setTimeout(r, 200);
      });
    }
    lines.splice(lines.indexOf(line), 1);
  };
  await expect('ready');
  return {
    down: async (name) => {
      child.stdin!.write(`down ${name}\n`);
      await expect(`down ${name}`);
    },
    up: async (name) => {
      child.stdin!.write(`up ${name}\n`);
      await expect(`up ${name}`);
    },
    kill: () => child.kill('SIGKILL'),
  };
}

// Sequential HTTP GETs, a new connection each, source addresses in turn.
const CLIENT_JS = `
const http = require('http');
const a = JSON.parse(process.argv[1]);
function once(src) {
  return new Promise((res) => {
    const req = http.get({ host: a.host, port: a.port, path: '/', localAddress: src, agent: false, timeout: 3000 }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d) => (body += d));
      r.on('end', () => res(body));
    });
    req.on('timeout', () => { req.destroy(); res('timeout'); });
    req.on('error', (e) => res('error:' + e.code));
  });
}
(async () => {
  const out = [];
  for (let i = 0; i < a.count; i++) {
    const src = a.sources[i % a.sources.length];
    out.push({ src, reply: await once(src) });
  }
  process.stdout.write(JSON.stringify(out));
})();
`;

export interface Reply {
  src: string;
  reply: string;
}

export async function httpRequests(ns: string, args: { host: string; port: number; count: number; sources: string[] }): Promise<Reply[]> {
  return JSON.parse(await nsExec(ns, process.execPath, '-e', CLIENT_JS, JSON.stringify(args))) as Reply[];
}

/** `ipvsadm ARGS` in a namespace, lines. */
export async function ipvsadm(ns: string, ...args: string[]): Promise<string[]> {
  return (await nsExec(ns, 'ipvsadm', ...args)).split('\n').filter((l) => l !== '');
}

/** `ipvsadm -Ln --sort` with the connection counters (which depend on traffic) replaced by "N". */
export async function ipvsadmListMasked(ns: string): Promise<string> {
  return (await ipvsadm(ns, '-Ln', '--sort')).map((l) => l.replace(/^(\s+-> \S+\s+\S+\s+\d+)\s+\d+\s+\d+\s*$/, '$1 N N')).join('\n');
}

/** Per destination "ADDR:PORT" -> connections the kernel counted (`ipvsadm -Ln --stats`, Conns column). */
export async function ipvsConnStats(ns: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const l of await ipvsadm(ns, '-Ln', '--stats')) {
    const m = /^\s+-> (\S+)\s+(\d+)/.exec(l);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Polls `probe` until `pred` holds (every 250 ms, at most timeoutMs); fails with what and the last value. */
export async function until<T>(probe: () => Promise<T>, pred: (v: T) => boolean, what: string, timeoutMs = 30_000, context = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (let i = 0; i < 10_000; i++) {
    last = await probe();
    if (pred(last)) return last;
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  throw new Error(`timed out (${timeoutMs} ms) waiting for ${what}; last: ${JSON.stringify(last)}\n${context()}`);
}

export interface Daemon {
  child: ChildProcess;
  log(): string;
  stop(): Promise<number | null>;
}

/** A daemon (tskeepalived or keepalived) in a namespace, output collected; stop() sends SIGTERM and waits (10 s, then SIGKILL). */
export function startInNs(ns: string, argv: string[]): Daemon {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  return {
    child,
    log: () => `${log}\n[${argv[0] === process.execPath ? 'tskeepalived' : argv[0]} pid ${child.pid}, exit code ${child.exitCode}, signal ${child.signalCode}]`,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Runs the IPVS backend harness in a namespace (read / apply / release). */
export async function ipvsHarness(
  ns: string,
  cmd: 'read' | 'apply' | 'release',
  state?: unknown,
): Promise<{ save: string[]; batches: number; requests: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, IPVS_HARNESS, cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(t);
      if (code !== 0) return reject(new Error(`ipvs harness ${cmd} exited ${code}: ${err}`));
      resolve(JSON.parse(out));
    });
    child.stdin!.end(state === undefined ? '' : JSON.stringify(state));
  });
}

export interface IpvsSession {
  /** apply a state (in order); resolves with what the kernel then has */
  apply(state: unknown): Promise<{ save: string[]; batches: number; requests: number }>;
  close(): void;
}

/** The IPVS backend harness as one process in a namespace applying a sequence of states (`serve`). */
export function ipvsHarnessSession(ns: string): IpvsSession {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, IPVS_HARNESS, 'serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => waiting.shift()?.(line));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return {
    apply: (state) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`ipvs harness session: no answer in 60 s: ${err}`)), 60_000);
        const onExit = (code: number | null) => reject(new Error(`ipvs harness session exited ${code}: ${err}`));
        child.once('exit', onExit);
        waiting.push((line) => {
          clearTimeout(t);
          child.off('exit', onExit);
          resolve(JSON.parse(line));
        });
        child.stdin!.write(`${JSON.stringify(state)}\n`);
      }),
    close: () => {
      child.stdin!.end();
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    },
  };
}

/** A namespace with lo up and forwarding as asked. */
export async function addNs(name: string, forward = false): Promise<void> {
  await sh('ip', 'netns', 'add', name);
  await sh('ip', '-n', name, 'link', 'set', 'lo', 'up');
  if (forward) await nsExec(name, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
}

/** A veth from namespace a (name va) to namespace b (name vb), both up. */
export async function addVeth(a: string, va: string, b: string, vb: string): Promise<void> {
  await sh('ip', 'link', 'add', va, 'netns', a, 'type', 'veth', 'peer', 'name', vb, 'netns', b);
  await sh('ip', '-n', a, 'link', 'set', va, 'up');
  await sh('ip', '-n', b, 'link', 'set', vb, 'up');
}
