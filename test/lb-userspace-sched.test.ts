// The userspace proxy's IPVS scheduling with real TCP connections on loopback: connections held open for
// different durations steer lc/wlc (closed connections linger as inactive entries as in IPVS's
// TIME_WAIT), and persistence templates keep a client on its server, then expire.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Destination, LbState, Service } from '../src/lb/backend.js';
import { UserspaceBackend } from '../src/lb/userspace.js';

const VIP = '127.0.3.10';
const LINGER_MS = 600;
const servers: net.Server[] = [];
const ports: number[] = [];
let vport = 0;
let backend: UserspaceBackend;

before(async () => {
  for (let i = 1; i <= 3; i++) {
    const srv = net.createServer((c) => {
      c.on('error', () => {});
      c.write(`s${i}\n`);
    });
    await new Promise<void>((r) => srv.listen(0, `127.0.3.${i}`, () => r()));
    servers.push(srv);
    ports.push((srv.address() as net.AddressInfo).port);
  }
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, VIP, () => r()));
  vport = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  backend = new UserspaceBackend({ retryMs: 100, tcpTimeWaitMs: LINGER_MS, tcpCloseMs: LINGER_MS });
  await backend.open();
});

after(async () => {
  await backend.close({ release: true });
  for (const s of servers) s.close();
});

const rs = (i: number, weight = 1): Destination => ({ address: `127.0.3.${i}`, family: 4, port: ports[i - 1]!, weight, lbKind: 'NAT' });
const svc = (scheduler: string, destinations: Destination[], extra: Partial<Service> = {}): Service => ({
  key: { kind: 'addr', family: 4, protocol: 'TCP', address: VIP, port: vport },
  scheduler,
  ops: false,
  destinations,
  ...extra,
});
const state = (...services: Service[]): LbState => ({ services });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A connection held open: resolves with the server's name once it greeted (or "timeout"/"error:..."). */
function open(localAddress?: string): Promise<{ server: string; sock: net.Socket }> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: VIP, port: vport, localAddress });
    let buf = '';
    const t = setTimeout(() => resolve({ server: 'timeout', sock }), 3000);
    sock.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) {
        clearTimeout(t);
        resolve({ server: buf.split('\n')[0]!, sock });
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve({ server: `error:${e.code}`, sock });
    });
  });
}

const counters = () => Object.fromEntries(backend.stats()[0]!.destinations.map((d) => [`s${d.id.split('/')[1]!.split('.').at(-1)}`, [d.active, d.inactive]]));

/** Wait (bounded) until cond holds. */
async function until(what: string, cond: () => boolean, ms = 3000): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms (${JSON.stringify(counters())})`);
    await sleep(10);
  }
  return Date.now() - t0;
}

async function closeAndSettle(socks: net.Socket[]): Promise<void> {
  for (const s of socks) s.destroy();
  await until('every entry gone', () => backend.stats()[0]!.destinations.every((d) => d.active === 0 && d.inactive === 0), LINGER_MS + 3000);
}

test('lc: a short connection leaves a lingering inactive entry that still ranks below an active one', async () => {
  await backend.apply(state(svc('lc', [rs(1), rs(2), rs(3)])));
  const a = await open(); // held long
  const b = await open(); // held 200 ms
  const c = await open(); // held long
  assert.deepEqual([a.server, b.server, c.server], ['s1', 's2', 's3']);
  assert.deepEqual(counters(), { s1: [1, 0], s2: [1, 0], s3: [1, 0] });
  await sleep(200);
  const closedAt = Date.now();
  b.sock.end();
  await until('b counted inactive', () => counters().s2![0] === 0 && counters().s2![1] === 1);
  // overheads 256 / 1 / 256: the next connection goes to s2 (rr would have chosen s1)
  const d = await open();
  assert.equal(d.server, 's2');
  // 256 / 257 / 256: the first least loaded, s1
  const e = await open();
  assert.equal(e.server, 's1');
  // the closed connection stops counting after the TIME_WAIT linger
  await until('linger over', () => counters().s2![1] === 0, LINGER_MS + 2000);
  const lingered = Date.now() - closedAt;
  assert.ok(lingered >= LINGER_MS - 5, `inactive entry dropped ${lingered} ms after the close`);
  await closeAndSettle([a.sock, c.sock, d.sock, e.sock]);
});

test('wlc 3:1 with connections of different durations: IPVS order, freed capacity is refilled', async () => {
  await backend.apply(state(svc('wlc', [rs(1, 3), rs(2, 1)])));
  const held: { server: string; sock: net.Socket }[] = [];
  for (let i = 0; i < 8; i++) held.push(await open());
  // overhead/weight, ties to the first: s1 s2 s1 s1 s1 s2 s1 s1 (6:2 for 3:1)
  assert.deepEqual(
    held.map((h) => h.server),
    ['s1', 's2', 's1', 's1', 's1', 's2', 's1', 's1'],
  );
  // three of s1's end early (different durations): s1 now has 3 active + 3 inactive, s2 2 active
  const s1 = held.filter((h) => h.server === 's1');
  for (const h of s1.slice(0, 3)) h.sock.end();
  await until('three closed', () => counters().s1![0] === 3 && counters().s1![1] === 3);
  // (3*256+3)/3 = 257 < 512: s1 refills, until it passes s2's load
  const next: string[] = [];
  for (let i = 0; i < 4; i++) {
    const o = await open();
    held.push(o);
    next.push(o.server);
  }
  assert.deepEqual(next, ['s1', 's1', 's1', 's2']);
  await closeAndSettle(held.map((h) => h.sock));
});

test('persistence: a client keeps its server while the template lives, then the template expires', async () => {
  await backend.apply(state(svc('rr', [rs(1), rs(2), rs(3)], { persistenceTimeout: 1 })));
  const client = '127.0.3.100';
  const first = await open(client);
  assert.match(first.server, /^s[123]$/);
  first.sock.end();
  await sleep(100);
  // other clients move the rr position on; this client stays
  for (const other of ['127.0.3.101', '127.0.3.102']) (await open(other)).sock.end();
  const reopened = Date.now(); // the template's timer restarts when this connection is accepted, not before
  const again = await open(client);
  assert.equal(again.server, first.server);
  again.sock.end();
  assert.equal(backend.stats()[0]!.templates, 3);
  // the template outlives the connection's linger, and goes at the first timer firing after it
  await until('connection entries gone', () => backend.stats()[0]!.destinations.every((d) => d.active === 0 && d.inactive === 0), LINGER_MS + 2000);
  const entriesGone = Date.now();
  await until('templates expired', () => backend.stats()[0]!.templates === 0, 3000);
  const expired = Date.now();
  assert.ok(expired - reopened >= 1000 - 5, `template expired ${expired - reopened} ms after the last connection opened`);
  // at most one timer period after the last entry went (plus polling slack on a busy machine)
  assert.ok(expired - entriesGone <= 1000 + 500, `template expired ${expired - entriesGone} ms after the last entry went`);
  // a fresh decision now: rr continues where it was (s1 s2 s3 used by the three clients): back to the start
  const fresh = await open(client);
  assert.match(fresh.server, /^s[123]$/);
  fresh.sock.end();
  await until('fresh template', () => backend.stats()[0]!.templates === 1);
  await closeAndSettle([fresh.sock]);
});

test('persistence with a quiesced server: the template still applies (IPVS default), new clients avoid it', async () => {
  await backend.apply(state(svc('rr', [rs(1), rs(2)], { persistenceTimeout: 30 })));
  const a = await open('127.0.3.110');
  const x = Number(a.server.slice(1));
  const y = x === 1 ? 2 : 1;
  await backend.apply(state(svc('rr', [rs(x, 0), rs(y)], { persistenceTimeout: 30 })));
  const again = await open('127.0.3.110');
  assert.equal(again.server, a.server);
  const other = await open('127.0.3.111');
  assert.equal(other.server, `s${y}`);
  await closeAndSettle([a.sock, again.sock, other.sock].concat());
  // a removed server ends its templates: the client is scheduled again
  await backend.apply(state(svc('rr', [rs(y)], { persistenceTimeout: 30 })));
  const moved = await open('127.0.3.110');
  assert.equal(moved.server, `s${y}`);
  await closeAndSettle([moved.sock]);
});

test('uthreshold: a server with active + inactive entries at its threshold gets nothing until they drop below 3/4', async () => {
  await backend.apply(state(svc('rr', [{ ...rs(1), uthreshold: 2 }, rs(2)])));
  const held: { server: string; sock: net.Socket }[] = [];
  for (let i = 0; i < 5; i++) held.push(await open());
  // s1 s2 s1 (s1 reaches 2 entries: overloaded) s2 s2
  assert.deepEqual(
    held.map((h) => h.server),
    ['s1', 's2', 's1', 's2', 's2'],
  );
  assert.equal(backend.stats()[0]!.destinations[0]!.overloaded, true);
  // closing s1's connections leaves lingering inactive entries: still 2, still overloaded
  for (const h of held.filter((x) => x.server === 's1')) h.sock.end();
  await until('s1 inactive', () => counters().s1![0] === 0 && counters().s1![1] === 2);
  const during = await open();
  assert.equal(during.server, 's2');
  held.push(during);
  // once the entries are gone (total 0 < 1.5) the flag clears and s1 is used again
  await until('s1 entries gone', () => counters().s1![1] === 0, LINGER_MS + 2000);
  assert.equal(backend.stats()[0]!.destinations[0]!.overloaded, false);
  const afterwards = [await open(), await open()];
  assert.ok(
    afterwards.some((a) => a.server === 's1'),
    afterwards.map((a) => a.server).join(),
  );
  await closeAndSettle([...held, ...afterwards].map((h) => h.sock));
});
