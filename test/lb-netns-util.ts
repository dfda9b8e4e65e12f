// Helpers for the LB traffic tests: network namespaces, tiny name-reply servers and a client
// running inside a namespace. No side effects at import time.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';

const execFileP = promisify(execFile);

/** Each command is bounded: 20 s, or TSK_SH_TIMEOUT_MS (the IPVS VM under TCG sets 120 s: there a
 * namespace created while the previous test's are torn down can take longer than 20 s). */
const SH_TIMEOUT_MS = Number(process.env.TSK_SH_TIMEOUT_MS) || 20_000;

export async function sh(...argv: string[]): Promise<string> {
  const { stdout } = await execFileP(argv[0]!, argv.slice(1), { timeout: SH_TIMEOUT_MS });
  return stdout;
}

export async function nsExec(ns: string, ...argv: string[]): Promise<string> {
  return sh('ip', 'netns', 'exec', ns, ...argv);
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Delete every namespace whose name starts with prefix (best effort). */
export async function deleteNamespaces(prefix: string): Promise<void> {
  const list = await sh('ip', 'netns', 'list').catch(() => '');
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0];
    if (name?.startsWith(prefix)) await sh('ip', 'netns', 'del', name).catch(() => {});
  }
}

// A TCP and UDP server replying its name. TCP: writes "NAME\n" on connect (with showAddresses
// "NAME LOCAL REMOTE\n": the addresses it sees); answers "ping" with "pong NAME\n". Several in one
// process when argv[1] is a JSON list of {name, port} (TCP only; cheaper to start under TCG).
const SERVER_JS = `
const net = require('net'), dgram = require('dgram');
const [name, port, lifeMs, show] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3] || 120000), process.argv[4] === '1'];
const specs = name.startsWith('[') ? JSON.parse(name) : [{ name, port }];
const plain = (a) => String(a).replace(/^::ffff:/, '');
let listening = 0;
for (const sp of specs) {
  const srv = net.createServer((s) => {
    s.on('error', () => {});
    s.write(sp.name + (show ? ' ' + plain(s.localAddress) + ' ' + plain(s.remoteAddress) : '') + '\\n');
    s.on('data', (d) => { if (String(d).includes('ping')) s.write('pong ' + sp.name + '\\n'); });
  });
  srv.listen(sp.port, '::', () => { if (++listening === specs.length && specs.length > 1) process.stdout.write('ready\\n'); });
}
if (specs.length === 1) {
  const u = dgram.createSocket('udp4');
  u.on('message', (m, r) => u.send(name, r.port, r.address));
  u.bind(port, '0.0.0.0', () => process.stdout.write('ready\\n'));
}
setTimeout(() => process.exit(0), lifeMs).unref();
`;

/** Start a name server in a namespace (it exits by itself after lifeMs); resolves once it listens. */
export async function startNameServer(
  ns: string,
  name: string,
  port: number,
  lifeMs = 120_000,
  showAddresses = false,
  startMs = 10_000,
): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER_JS, name, String(port), String(lifeMs), showAddresses ? '1' : '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server ${name} did not start within ${startMs} ms`));
    }, startMs);
    child.stdout!.on('data', (d: Buffer) => {
      if (String(d).includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (c) => reject(new Error(`server ${name} exited ${c}`)));
  });
  return child;
}

/** Several TCP name servers (name, port) in one process in a namespace; resolves once all listen (within startMs). */
export function startNameServers(ns: string, specs: { name: string; port: number }[], lifeMs = 120_000, startMs = 60_000): Promise<ChildProcess> {
  return startNameServer(ns, JSON.stringify(specs), 0, lifeMs, false, startMs);
}

// Sequential requests: one connection (or datagram socket) per request, source address round-robin; or
// TCP connections to a list of targets (host, port, source address, optional source port), `parallel` at a time.
const CLIENT_JS = `
const net = require('net'), dgram = require('dgram');
const a = JSON.parse(process.argv[1]);
function tcpOnce(src, tg) {
  return new Promise((res) => {
    const o = tg ? { host: tg.host, port: tg.port, localAddress: tg.src } : { host: a.host, port: a.port, localAddress: src };
    if (tg && tg.sport) o.localPort = tg.sport;
    const s = net.connect(o);
    let buf = '';
    const t = setTimeout(() => { s.destroy(); res('timeout'); }, a.timeoutMs || 3000);
    s.on('data', (d) => { buf += d; if (buf.includes('\\n')) { clearTimeout(t); s.end(); res(buf.split('\\n')[0]); } });
    s.on('error', (e) => { clearTimeout(t); res('error:' + e.code); });
  });
}
function udpOnce(src) {
  return new Promise((res) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => { s.close(); res('timeout'); }, 3000);
    s.on('message', (m) => { clearTimeout(t); s.close(); res(String(m)); });
    s.bind(0, src, () => s.send('hi', a.port, a.host));
  });
}
(async () => {
  const out = [];
  if (a.targets) {
    let next = 0;
    const worker = async () => {
      while (next < a.targets.length) {
        const i = next++;
        out[i] = { src: a.targets[i].src, reply: await tcpOnce(undefined, a.targets[i]) };
      }
    };
    await Promise.all(Array.from({ length: a.parallel || 1 }, worker));
  } else
    for (let i = 0; i < a.count; i++) {
      const src = a.sources[i % a.sources.length];
      out.push({ src, reply: await (a.udp ? udpOnce(src) : tcpOnce(src)) });
    }
  process.stdout.write(JSON.stringify(out));
})();
`;

export interface Reply {
  src: string;
  reply: string;
}

export async function clientRequests(ns: string, args: { host: string; port: number; count: number; sources: string[]; udp?: boolean }): Promise<Reply[]> {
  const out = await nsExec(ns, process.execPath, '-e', CLIENT_JS, JSON.stringify(args));
  return JSON.parse(out) as Reply[];
}

export interface Target {
  host: string;
  port: number;
  src: string;
  /** source port (default: any) */
  sport?: number;
}

/** One TCP connection per target, `parallel` at a time; replies in target order (the server's name, 'timeout' or 'error:CODE'). */
export async function clientTargets(ns: string, targets: Target[], parallel = 8, timeoutMs = 3000): Promise<Reply[]> {
  const out = await nsExec(ns, process.execPath, '-e', CLIENT_JS, JSON.stringify({ targets, parallel, timeoutMs }));
  return JSON.parse(out) as Reply[];
}

// One long-lived connection: prints the server's name, then on a stdin line sends "ping" and prints the answer.
const HOLD_JS = `
const net = require('net');
const [host, port, src] = [process.argv[1], Number(process.argv[2]), process.argv[3]];
const s = net.connect({ host, port, localAddress: src });
s.setEncoding('utf8');
s.on('data', (d) => process.stdout.write(d));
s.on('error', (e) => { process.stdout.write('error:' + e.code + '\\n'); process.exit(0); });
process.stdin.on('data', () => s.write('ping'));
setTimeout(() => process.exit(0), 60000).unref();
`;

export interface HeldConnection {
  first: Promise<string>;
  ping(): Promise<string>;
  close(): void;
}

export function holdConnection(ns: string, host: string, port: number, src: string): HeldConnection {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', HOLD_JS, host, String(port), src], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const w = waiters.shift();
    if (w) w(line);
    else lines.push(line);
  });
  const next = () =>
    new Promise<string>((resolve) => {
      const l = lines.shift();
      if (l !== undefined) return resolve(l);
      const t = setTimeout(() => resolve('timeout'), 5000);
      waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  return {
    first: next(),
    ping: () => {
      child.stdin!.write('go\n');
      return next();
    },
    close: () => {
      child.kill();
    },
  };
}

export function tally(replies: Reply[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const r of replies) t[r.reply] = (t[r.reply] ?? 0) + 1;
  return t;
}

/** bin/tskeepalived of this checkout */
export const TSKEEPALIVED_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'tskeepalived');

/** Own pid files, so concurrent daemons (and a real keepalived) do not collide on /run/keepalived.pid. */
export const pidFiles = (d: string): string[] => ['-p', join(d, 'k.pid'), '-c', join(d, 'c.pid'), '-r', join(d, 'v.pid')];

/** The three-server LB lab of the nftables traffic tests (see buildLbLab). */
export interface LbLab {
  client: string;
  lb: string;
  servers: string[];
  /** the name servers (killed by the caller's after hook) */
  children: ChildProcess[];
}

/**
 * client ns -- veth -- LB ns -- bridge br0 -- three real-server ns (NET = '10.61', NET6 = 'fd61'):
 *   client  NET.1.x/24 for each of `sources` (gw NET.1.1), NET6:1::x/64 for each of `sources6`
 *   lb      NET.1.1/24 on lc, NET.2.1/24 on br0, VIP NET.9.1/32 and NET6:9::1/128 on lo, forwarding on
 *   sN      NET.2.1N/24 (gw NET.2.1), NET6:2::1N/64, a name server on `port`
 * `dr`: the real servers hold the VIPs on lo (arp_ignore=1, arp_announce=2) and reply with the
 * addresses they see; the LB (their router too) accepts replies from its own VIP (accept_local).
 */
export async function buildLbLab(
  prefix: string,
  opts: { net: string; net6: string; sources: string[]; sources6: string[]; port: number; dr?: boolean },
): Promise<LbLab> {
  const { net, net6, dr = false } = opts;
  const lab: LbLab = { client: `${prefix}c`, lb: `${prefix}lb`, servers: [1, 2, 3].map((i) => `${prefix}s${i}`), children: [] };
  const { client: C, lb: L, servers: S } = lab;
  const vip = `${net}.9.1`;
  const vip6 = `${net6}:9::1`;
  await deleteNamespaces(prefix);
  for (const ns of [C, L, ...S]) {
    await sh('ip', 'netns', 'add', ns);
    await sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  }
  await sh('ip', '-n', L, 'link', 'add', 'lc', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', C);
  await sh('ip', '-n', L, 'addr', 'add', `${net}.1.1/24`, 'dev', 'lc');
  await sh('ip', '-n', L, 'link', 'set', 'lc', 'up');
  for (const a of opts.sources) await sh('ip', '-n', C, 'addr', 'add', `${a}/24`, 'dev', 'eth0');
  await sh('ip', '-n', C, 'link', 'set', 'eth0', 'up');
  await sh('ip', '-n', C, 'route', 'add', 'default', 'via', `${net}.1.1`);
  await sh('ip', '-n', L, 'link', 'add', 'br0', 'type', 'bridge');
  await sh('ip', '-n', L, 'addr', 'add', `${net}.2.1/24`, 'dev', 'br0');
  await sh('ip', '-n', L, 'link', 'set', 'br0', 'up');
  await sh('ip', '-n', L, 'addr', 'add', `${vip}/32`, 'dev', 'lo');
  await nsExec(L, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', ...(dr ? ['net.ipv4.conf.all.accept_local=1', 'net.ipv4.conf.br0.accept_local=1'] : []));
  await nsExec(L, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1');
  await sh('ip', '-n', L, '-6', 'addr', 'add', `${net6}:1::1/64`, 'dev', 'lc', 'nodad');
  for (const a of opts.sources6) await sh('ip', '-n', C, '-6', 'addr', 'add', `${a}/64`, 'dev', 'eth0', 'nodad');
  await sh('ip', '-n', C, '-6', 'route', 'add', 'default', 'via', `${net6}:1::1`);
  await sh('ip', '-n', L, '-6', 'addr', 'add', `${net6}:2::1/64`, 'dev', 'br0', 'nodad');
  await sh('ip', '-n', L, '-6', 'addr', 'add', `${vip6}/128`, 'dev', 'lo', 'nodad');
  for (let i = 0; i < 3; i++) {
    const ns = S[i]!;
    await sh('ip', '-n', L, 'link', 'add', `ls${i + 1}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    await sh('ip', '-n', L, 'link', 'set', `ls${i + 1}`, 'master', 'br0');
    await sh('ip', '-n', L, 'link', 'set', `ls${i + 1}`, 'up');
    if (dr) await nsExec(ns, 'sysctl', '-q', '-w', 'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2');
    await sh('ip', '-n', ns, 'addr', 'add', `${net}.2.1${i + 1}/24`, 'dev', 'eth0');
    if (dr) await sh('ip', '-n', ns, 'addr', 'add', `${vip}/32`, 'dev', 'lo');
    await sh('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
    await sh('ip', '-n', ns, 'route', 'add', 'default', 'via', `${net}.2.1`);
    await sh('ip', '-n', ns, '-6', 'addr', 'add', `${net6}:2::1${i + 1}/64`, 'dev', 'eth0', 'nodad');
    if (dr) await sh('ip', '-n', ns, '-6', 'addr', 'add', `${vip6}/128`, 'dev', 'lo', 'nodad');
    await sh('ip', '-n', ns, '-6', 'route', 'add', 'default', 'via', `${net6}:2::1`);
    lab.children.push(await startNameServer(ns, `s${i + 1}`, opts.port, 120_000, dr));
  }
  return lab;
}
