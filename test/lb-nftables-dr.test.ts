// lb_kind DR through the nftables backend with real traffic: the LB forwards client packets unchanged
// (destination still the VIP) to the chosen real server's MAC address from a netdev ingress hook; the
// real servers hold the VIP on lo (arp_ignore/arp_announce) and see the client's own address.
//   client  10.63.1.2-9/24 (gw 10.63.1.1)
//   lb      10.63.1.1/24 (lc), 10.63.2.1/24 on br0, VIP 10.63.9.1/32 on lo, ip_forward=1
//   s1..s3  10.63.2.11-13/24 (gw 10.63.2.1), VIP on lo, answering "NAME LOCAL REMOTE" on TCP port 80
// The LB is also the real servers' router here, so their replies (source: the VIP) arrive on br0 with
// a source address local to the LB: accept_local=1 lets it route them (a production DR setup returns
// through its own router).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { Destination, LbState, Service } from '../src/lb/backend.js';
import { NftablesBackend } from '../src/lb/nftables.js';
import { NftUnsupportedError } from '../src/lb/nft-ruleset.js';
import type { LbLogger } from '../src/lb/logger.js';
import { silentLogger } from '../src/lb/logger.js';
import { buildLbLab, clientRequests, deleteNamespaces, holdConnection, isRoot, nsExec } from './lb-netns-util.js';

const P = `tkd-${process.pid}-`;
const C = `${P}c`;
const L = `${P}lb`;
const VIP = '10.63.9.1';
const SOURCES = [2, 3, 4, 5, 6, 7, 8, 9].map((i) => `10.63.1.${i}`);
const VIP6 = 'fd63:9::1';
const SOURCES6 = [2, 3, 4, 5].map((i) => `fd63:1::${i}`);
const servers: ChildProcess[] = [];
const warnings: string[] = [];
let backend: NftablesBackend | undefined;
const root = isRoot();
const skip = !root && 'needs root (network namespaces, nftables)';

const rs = (i: number, weight = 1): Destination => ({ address: `10.63.2.1${i}`, family: 4, port: 80, weight, lbKind: 'DR' });
const svc = (scheduler: string, destinations: Destination[], extra: Partial<Service> = {}): Service => ({
  key: { kind: 'addr', family: 4, protocol: 'TCP', address: VIP, port: 80 },
  scheduler,
  ops: false,
  destinations,
  ...extra,
});
const state = (...services: Service[]): LbState => ({ services });

before(async () => {
  if (!root) return;
  servers.push(...(await buildLbLab(P, { net: '10.63', net6: 'fd63', sources: SOURCES, sources6: SOURCES6, port: 80, dr: true })).children);
  const logger: LbLogger = { ...silentLogger, warn: (_o, m) => warnings.push(String(m)) };
  backend = new NftablesBackend({ command: ['ip', 'netns', 'exec', L, 'nft'], seed: 0xd1, logger });
  await backend.open();
});

after(async () => {
  if (!root) return;
  for (const s of servers) s.kill();
  await backend?.close({ release: true }).catch(() => {});
  await deleteNamespaces(P);
});

/** Replies "sN LOCAL REMOTE" parsed; asserts every connection reached a real server at the VIP from the client's own address. */
async function dr(count: number, sources = SOURCES, vip = VIP): Promise<{ src: string; server: string }[]> {
  const replies = await clientRequests(C, { host: vip, port: 80, count, sources });
  return replies.map((r) => {
    const [server, local, remote] = r.reply.split(' ');
    assert.match(server!, /^s[123]$/, `reply ${r.reply}`);
    assert.equal(local, vip, 'the real server answered on the VIP (packet not rewritten)');
    assert.equal(remote, r.src, 'the real server saw the client address (no NAT)');
    return { src: r.src, server: server! };
  });
}

const count = (rs: { server: string }[]) => {
  const t: Record<string, number> = {};
  for (const r of rs) t[r.server] = (t[r.server] ?? 0) + 1;
  return t;
};

test('DR: packets reach the real servers unchanged; wlc becomes weighted flow hashing (logged)', { skip }, async (t) => {
  await backend!.apply(state(svc('wlc', [rs(1), rs(2), rs(3)])));
  const rules = await nsExec(L, 'nft', 'list', 'table', 'netdev', 'tskeepalived');
  // the up, non-enslaved devices of the LB: the client side and the bridge to the real servers
  assert.match(rules, /hook ingress devices = \{ br0, lc \}/);
  assert.match(rules, /ip daddr 10\.63\.9\.1 tcp dport 80 fwd ip to jhash ip saddr \. tcp sport mod 256 seed 0xd1 map \{ 0 : 10\.63\.2\.1[123], /);
  assert.match(rules, /\} device "br0"/);
  const got = count(await dr(48));
  t.diagnostic(`48 connections from 8 clients: ${JSON.stringify(got)}`);
  // 48 flows over three equal weights by hashing: each server is used, none takes most
  for (const s of ['s1', 's2', 's3']) assert.ok((got[s] ?? 0) >= 4 && (got[s] ?? 0) <= 32, JSON.stringify(got));
  assert.ok(
    warnings.some((w) => w.includes('scheduler wlc approximated by weighted flow hashing')),
    warnings.join('\n'),
  );
});

test('DR sh: each client sticks to one server; weight 0 and removal stop new flows, other flows keep their server', { skip }, async () => {
  await backend!.apply(state(svc('sh', [rs(1), rs(2), rs(3)])));
  const first = await dr(24);
  const by = new Map<string, Set<string>>();
  for (const r of first) by.set(r.src, (by.get(r.src) ?? new Set()).add(r.server));
  for (const [src, set] of by) assert.equal(set.size, 1, `${src} went to ${[...set]}`);
  // a held connection on some server X survives a change that removes another server
  const held = holdConnection(C, VIP, 80, SOURCES[0]!);
  const x = (await held.first).split(' ')[0]!;
  assert.match(x, /^s[123]$/);
  const y = Number(['s1', 's2', 's3'].find((s) => s !== x)!.slice(1));
  const rest = [1, 2, 3].filter((i) => i !== y);
  await backend!.apply(
    state(
      svc(
        'sh',
        rest.map((i) => rs(i)),
      ),
    ),
  );
  assert.equal(await held.ping(), `pong ${x}`);
  const after = await dr(24);
  assert.ok(
    after.every((r) => r.server !== `s${y}`),
    JSON.stringify(count(after)),
  );
  // clients that were not on the removed server keep theirs (rendezvous slots)
  for (const r of after) {
    const before = [...by.get(r.src)!][0]!;
    if (before !== `s${y}`) assert.equal(r.server, before, `${r.src} moved from ${before}`);
  }
  await backend!.apply(
    state(
      svc(
        'sh',
        rest.map((i) => rs(i, i === rest[0] ? 0 : 1)),
      ),
    ),
  );
  assert.deepEqual(count(await dr(16)), { [`s${rest[1]}`]: 16 });
  held.close();
});

test('DR over IPv6: fwd ip6 to the real servers (neighbour discovery), wrr 2:1:0 by flow hashing', { skip }, async (t) => {
  const rs6 = (i: number, weight: number): Destination => ({ address: `fd63:2::1${i}`, family: 6, port: 80, weight, lbKind: 'DR' });
  const svc6: Service = {
    key: { kind: 'addr', family: 6, protocol: 'TCP', address: VIP6, port: 80 },
    scheduler: 'wrr',
    ops: false,
    destinations: [rs6(1, 2), rs6(2, 1), rs6(3, 0)],
  };
  await backend!.apply(state(svc('rr', [rs(1)]), svc6));
  const got = count(await dr(24, SOURCES6, VIP6));
  t.diagnostic(`24 IPv6 connections, weights 2:1:0: ${JSON.stringify(got)}`);
  assert.equal(got.s3, undefined);
  assert.ok((got.s1 ?? 0) > 0 && (got.s2 ?? 0) > 0, JSON.stringify(got));
  // the IPv4 service still works beside it
  assert.deepEqual(count(await dr(4)), { s1: 4 });
});

test('DR real server not on a connected network: a clear error, the running rules stay', { skip }, async () => {
  await assert.rejects(backend!.apply(state(svc('rr', [{ ...rs(1), address: '10.99.0.5' }]))), (e: unknown) => {
    assert.ok(e instanceof NftUnsupportedError);
    assert.match(e.message, /\[10\.63\.9\.1\]:tcp:80: no direct route to the DR real servers \(DR needs them on a connected network\)/);
    return true;
  });
  assert.deepEqual(count(await dr(4)), { s1: 4 });
});

test('DR removed: the netdev table goes, the VIP is served by the LB itself again', { skip }, async () => {
  await backend!.apply(state());
  assert.doesNotMatch(await nsExec(L, 'nft', 'list', 'tables'), /netdev tskeepalived/);
  const replies = await clientRequests(C, { host: VIP, port: 80, count: 2, sources: SOURCES });
  assert.deepEqual(
    replies.map((r) => r.reply),
    ['error:ECONNREFUSED', 'error:ECONNREFUSED'],
  );
});
