// Real servers with switchable faults, for the checker soaks (run inside the lab's namespace, one
// process, so their sockets never count in a daemon's fds). One listener per port on 127.0.0.1;
// each port has a mode:
//   ok         HTTP/1.1 200, body "ok\n" (a TCP_CHECK only sees the accepted connection)
//   refuse     the listener is closed: connections are refused (RST)
//   blackhole  SYNs to the port are dropped by an nftables set (connect never completes; the
//              connections already open still close normally)
//   hang       the connection is accepted, the request read, nothing ever answered
//   slow       the full 200 answer, after slowMs
//   status     HTTP/1.1 500
//   digest     HTTP/1.1 200 with another body ("bad\n": another MD5)
//   reset      the status line and part of the body, then a TCP reset mid-response
// Control: JSON lines on stdin, one JSON answer line on stdout per command (same `id`):
//   {id, op:'listen', ports:[...]}     {id, op:'mode', ports:[...], mode}   -> {id, at}
//   {id, op:'flap', ports:[...], faults:[...], periodMs}  (faults[i] for ports[i]; periodMs 0 stops)
//   {id, op:'get', url}  -> {id, status, body}   (an HTTP GET from inside the namespace)
//   {id, op:'stats'}     -> {id, held, requests, connections, flips}
// nftables: the set `inet <table> blackhole` must exist (the lab creates it).
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

export type Mode = 'ok' | 'refuse' | 'blackhole' | 'hang' | 'slow' | 'status' | 'digest' | 'reset';
export const MODES: readonly Mode[] = ['ok', 'refuse', 'blackhole', 'hang', 'slow', 'status', 'digest', 'reset'];

export const OK_BODY = 'ok\n';
const HOST = '127.0.0.1';
const HOLD_CAP_MS = 30_000;

const table = process.env.TKS_NFT_TABLE ?? 'tksckf';
const slowMs = Number(process.env.TKS_SLOW_MS ?? 2500);

const OK_ANSWER = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\n${OK_BODY}`;
const ANSWERS: Partial<Record<Mode, string>> = {
  ok: OK_ANSWER,
  status: 'HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\nerr\n',
  digest: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbad\n',
};

interface Port {
  port: number;
  mode: Mode;
  server?: Server;
}

const ports = new Map<number, Port>();
const held = new Set<Socket>();
let requests = 0;
let connections = 0;
let flips = 0;

function onConnection(p: Port, sock: Socket): void {
  connections++;
  held.add(sock);
  const cap = setTimeout(() => sock.destroy(), HOLD_CAP_MS);
  sock.on('close', () => {
    clearTimeout(cap);
    held.delete(sock);
  });
  sock.on('error', () => undefined);
  let head = '';
  const onData = (d: Buffer) => {
    head += d.toString('latin1');
    if (!head.includes('\r\n\r\n')) {
      if (head.length > 65536) sock.destroy();
      return;
    }
    sock.off('data', onData);
    sock.resume();
    requests++;
    answer(p.mode, sock);
  };
  sock.on('data', onData);
}

function answer(mode: Mode, sock: Socket): void {
  switch (mode) {
    case 'hang':
    case 'blackhole': // an already established connection of a blackholed port: no answer either
      return;
    case 'slow':
      setTimeout(() => {
        if (!sock.destroyed) sock.end(OK_ANSWER);
      }, slowMs);
      return;
    case 'reset':
      sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\npart', () => sock.resetAndDestroy());
      return;
    default:
      sock.end(ANSWERS[mode] ?? OK_ANSWER);
  }
}

function listen(p: Port): Promise<void> {
  const server = createServer({ noDelay: true }, (s) => onConnection(p, s));
  p.server = server;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: p.port, host: HOST, backlog: 1024 }, () => {
      server.off('error', reject);
      server.on('error', () => undefined);
      resolve();
    });
  });
}

function unlisten(p: Port): void {
  // the listening socket closes now; accepted connections live on (close()'s callback waits for them)
  p.server?.close();
  p.server = undefined;
}

function nft(verb: 'add' | 'delete', list: number[]): Promise<void> {
  if (list.length === 0) return Promise.resolve();
  return new Promise((resolve) =>
    execFile('nft', [verb, 'element', 'inet', table, 'blackhole', `{ ${list.join(', ')} }`], { timeout: 10_000 }, (err, _o, stderr) => {
      if (err) process.stderr.write(`fault-servers: nft ${verb} failed: ${stderr || err.message}\n`);
      resolve();
    }),
  );
}

/** Switch ports to modes (pairs); listeners and the blackhole set follow. */
async function setModes(pairs: [Port, Mode][]): Promise<void> {
  const bhAdd: number[] = [];
  const bhDel: number[] = [];
  const relisten: Promise<void>[] = [];
  for (const [p, mode] of pairs) {
    const old = p.mode;
    if (old === mode) continue;
    p.mode = mode;
    if (old === 'blackhole') bhDel.push(p.port);
    if (mode === 'blackhole') bhAdd.push(p.port);
    if (mode === 'refuse') unlisten(p);
    else if (old === 'refuse') relisten.push(listen(p).catch((e) => void process.stderr.write(`fault-servers: listen ${p.port}: ${(e as Error).message}\n`)));
  }
  await Promise.all([...relisten, nft('add', bhAdd), nft('delete', bhDel)]);
}

let flapTimer: NodeJS.Timeout | undefined;

function flap(list: number[], faults: Mode[], periodMs: number): void {
  if (flapTimer) clearInterval(flapTimer);
  flapTimer = undefined;
  if (periodMs <= 0) return;
  let faulty = false;
  let busy = false;
  flapTimer = setInterval(() => {
    if (busy) return; // a slow nft run: skip a beat rather than pile up
    busy = true;
    faulty = !faulty;
    flips++;
    void setModes(list.map((port, i) => [ports.get(port)!, faulty ? faults[i] : 'ok'])).finally(() => (busy = false));
  }, periodMs);
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
    req.end();
  });
}

interface Command {
  id: number;
  op: 'listen' | 'mode' | 'flap' | 'get' | 'stats';
  ports?: number[];
  mode?: Mode;
  faults?: Mode[];
  periodMs?: number;
  url?: string;
}

async function handle(c: Command): Promise<Record<string, unknown>> {
  switch (c.op) {
    case 'listen':
      for (const port of c.ports ?? []) {
        const p: Port = { port, mode: 'ok' };
        ports.set(port, p);
        await listen(p);
      }
      return { listening: ports.size };
    case 'mode': {
      const mode = c.mode!;
      if (!MODES.includes(mode)) throw new Error(`unknown mode ${mode}`);
      await setModes((c.ports ?? []).map((port) => [ports.get(port)!, mode]));
      return { at: Date.now() };
    }
    case 'flap':
      flap(c.ports ?? [], c.faults ?? [], c.periodMs ?? 0);
      return { at: Date.now() };
    case 'get':
      return get(c.url!) as unknown as Promise<Record<string, unknown>>;
    case 'stats':
      return { held: held.size, requests, connections, flips };
  }
}

function main(): void {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let c: Command;
    try {
      c = JSON.parse(line) as Command;
    } catch {
      return;
    }
    handle(c).then(
      (r) => process.stdout.write(JSON.stringify({ id: c.id, ...r }) + '\n'),
      (e) => process.stdout.write(JSON.stringify({ id: c.id, error: (e as Error).message }) + '\n'),
    );
  });
  rl.on('close', () => process.exit(0));
  process.stdout.write(JSON.stringify({ id: 0, ready: true }) + '\n');
}

if (process.argv[1]?.endsWith('fault-servers.js')) main();
