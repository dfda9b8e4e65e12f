// The nftables backend with real traffic: client ns -> LB ns (nft DNAT) -> three real-server ns.
//   client  10.61.1.2-9/24 (gw 10.61.1.1)
//   lb      10.61.1.1/24, 10.61.2.1/24 on a bridge, VIP 10.61.9.1/32 on lo, ip_forward=1
//   s1..s3  10.61.2.11-13/24 (gw 10.61.2.1), each answering its name on TCP/UDP port 8080
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { Destination, LbState, Service } from '../src/lb/backend.js';
import { NftablesBackend } from '../src/lb/nftables.js';
import { buildNftRuleset, NftUnsupportedError } from '../src/lb/nft-ruleset.js';
import { buildLbLab, clientRequests, deleteNamespaces, holdConnection, isRoot, nsExec, sh, tally } from './lb-netns-util.js';

const P = `tkl-${process.pid}-`;
const C = `${P}c`;
const L = `${P}lb`;
const S = [1, 2, 3].map((i) => `${P}s${i}`);
const VIP = '10.61.9.1';
const VIP6 = 'fd61:9::1';
const SOURCES = [2, 3, 4, 5, 6, 7, 8, 9].map((i) => `10.61.1.${i}`);
const servers: ChildProcess[] = [];
let backend: NftablesBackend | undefined;
const root = isRoot();

function rs(i: number, weight = 1): Destination {
  return { address: `10.61.2.1${i}`, family: 4, port: 8080, weight, lbKind: 'NAT' };
}
function svc(scheduler: string, destinations: Destination[], extra: Partial<Service> = {}): Service {
  return { key: { kind: 'addr', family: 4, protocol: 'TCP', address: VIP, port: 80 }, scheduler, ops: false, destinations, ...extra };
}
function state(...services: Service[]): LbState {
  return { services };
}

before(async () => {
  if (!root) return;
  servers.push(...(await buildLbLab(P, { net: '10.61', net6: 'fd61', sources: SOURCES, sources6: ['fd61:1::2'], port: 8080 })).children);
  backend = new NftablesBackend({ command: ['ip', 'netns', 'exec', L, 'nft'], seed: 0x5eed });
  await backend.open();
});

after(async () => {
  if (!root) return;
  for (const s of servers) s.kill();
  await backend?.close({ release: true }).catch(() => {});
  await deleteNamespaces(P);
});

test('rr spreads connections evenly over three real servers', { skip: !root && 'needs root' }, async () => {
  await backend!.apply(state(svc('rr', [rs(1), rs(2), rs(3, 5)])));
  const replies = await clientRequests(C, { host: VIP, port: 80, count: 30, sources: SOURCES });
  assert.deepEqual(tally(replies), { s1: 10, s2: 10, s3: 10 });
});

test('wrr spreads in proportion to weights 3:2:1', { skip: !root && 'needs root' }, async () => {
  await backend!.apply(state(svc('wrr', [rs(1, 3), rs(2, 2), rs(3, 1)])));
  const replies = await clientRequests(C, { host: VIP, port: 80, count: 60, sources: SOURCES });
  assert.deepEqual(tally(replies), { s1: 30, s2: 20, s3: 10 });
});

test('sh sends each client to the same server, and uses several servers', { skip: !root && 'needs root' }, async () => {
  await backend!.apply(state(svc('sh', [rs(1), rs(2), rs(3)])));
  const replies = await clientRequests(C, { host: VIP, port: 80, count: 40, sources: SOURCES });
  const bySource = new Map<string, Set<string>>();
  for (const r of replies) {
    assert.match(r.reply, /^s[123]$/);
    if (!bySource.has(r.src)) bySource.set(r.src, new Set());
    bySource.get(r.src)!.add(r.reply);
  }
  assert.equal(bySource.size, 8);
  for (const [src, set] of bySource) assert.equal(set.size, 1, `${src} reached ${[...set].join(',')}`);
  const used = new Set(replies.map((r) => r.reply));
  assert.ok(used.size >= 2, `only ${[...used].join(',')} used`);
});

test('approximated schedulers: lc -> wrr by weight, fo -> highest weight, dh -> one server', { skip: !root && 'needs root' }, async () => {
  await backend!.apply(state(svc('lc', [rs(1, 2), rs(2, 1)])));
  assert.deepEqual(tally(await clientRequests(C, { host: VIP, port: 80, count: 30, sources: SOURCES })), { s1: 20, s2: 10 });
  await backend!.apply(state(svc('fo', [rs(1, 2), rs(2, 9), rs(3, 4)])));
  assert.deepEqual(tally(await clientRequests(C, { host: VIP, port: 80, count: 6, sources: SOURCES })), { s2: 6 });
  await backend!.apply(state(svc('dh', [rs(1), rs(2), rs(3)])));
  const t = tally(await clientRequests(C, { host: VIP, port: 80, count: 16, sources: SOURCES }));
  assert.equal(Object.keys(t).length, 1, JSON.stringify(t));
  assert.match(Object.keys(t)[0]!, /^s[123]$/);
});

test('sh: removing a server only moves the clients it had', { skip: !root && 'needs root' }, async () => {
  const many = Array.from({ length: 24 }, (_, i) => `10.61.1.${20 + i}`);
  for (const a of many) await sh('ip', '-n', C, 'addr', 'add', `${a}/24`, 'dev', 'eth0');
  await backend!.apply(state(svc('sh', [rs(1), rs(2), rs(3)])));
  const before = new Map((await clientRequests(C, { host: VIP, port: 80, count: many.length, sources: many })).map((r) => [r.src, r.reply]));
  await backend!.apply(state(svc('sh', [rs(1), rs(2, 0), rs(3)])));
  const after = new Map((await clientRequests(C, { host: VIP, port: 80, count: many.length, sources: many })).map((r) => [r.src, r.reply]));
  let moved = 0;
  for (const [src, server] of before) {
    if (server === 's2') {
      moved++;
      assert.notEqual(after.get(src), 's2');
    } else assert.equal(after.get(src), server, `${src} moved from ${server}`);
  }
  assert.ok(moved > 0 && moved < many.length, `moved ${moved}`);
});

test('weight 0 and removal stop new traffic; an established connection survives', { skip: !root && 'needs root' }, async () => {
  await backend!.apply(state(svc('rr', [rs(1), rs(2), rs(3)])));
  // find a held connection that landed on s3
  let held = holdConnection(C, VIP, 80, SOURCES[0]!);
  for (let i = 0; i < 3 && (await held.first) !== 's3'; i++) {
    held.close();
    held = holdConnection(C, VIP, 80, SOURCES[0]!);
  }
  assert.equal(await held.first, 's3');
  try {
    await backend!.apply(state(svc('rr', [rs(1), rs(2), rs(3, 0)])));
    let t = tally(await clientRequests(C, { host: VIP, port: 80, count: 20, sources: SOURCES }));
    assert.deepEqual(t, { s1: 10, s2: 10 });
    await backend!.apply(state(svc('rr', [rs(1), rs(3, 0)])));
    t = tally(await clientRequests(C, { host: VIP, port: 80, count: 10, sources: SOURCES }));
    assert.deepEqual(t, { s1: 10 });
    assert.equal(await held.ping(), 'pong s3');
  } finally {
    held.close();
  }
});

test('UDP service and a service without destinations (connections refused)', { skip: !root && 'needs root' }, async () => {
  const udp: Service = { ...svc('rr', [rs(1), rs(2)]), key: { kind: 'addr', family: 4, protocol: 'UDP', address: VIP, port: 53 } };
  const empty: Service = { ...svc('rr', []), key: { kind: 'addr', family: 4, protocol: 'TCP', address: VIP, port: 81 } };
  await backend!.apply(state(udp, empty));
  const u = tally(await clientRequests(C, { host: VIP, port: 53, count: 10, sources: SOURCES, udp: true }));
  assert.deepEqual(u, { s1: 5, s2: 5 });
  const e = tally(await clientRequests(C, { host: VIP, port: 81, count: 2, sources: SOURCES }));
  assert.deepEqual(e, { 'error:ECONNREFUSED': 2 });
});

test('IPv6 service (ip6 table): wrr 2:1 over two servers', { skip: !root && 'needs root' }, async () => {
  const v6: Service = {
    key: { kind: 'addr', family: 6, protocol: 'TCP', address: VIP6, port: 80 },
    scheduler: 'wrr',
    ops: false,
    destinations: [
      { address: 'fd61:2::11', family: 6, port: 8080, weight: 2, lbKind: 'NAT' },
      { address: 'fd61:2::12', family: 6, port: 8080, weight: 1, lbKind: 'NAT' },
    ],
  };
  await backend!.apply(state(svc('rr', [rs(3)]), v6));
  assert.match(await nsExec(L, 'nft', 'list', 'tables'), /table ip6 tskeepalived/);
  const t = tally(await clientRequests(C, { host: VIP6, port: 80, count: 30, sources: ['fd61:1::2'] }));
  assert.deepEqual(t, { s1: 20, s2: 10 });
  await backend!.apply(state(svc('rr', [rs(3)])));
  assert.doesNotMatch(await nsExec(L, 'nft', 'list', 'tables'), /table ip6 tskeepalived/);
});

test('masquerade: a real server without a route back still answers', { skip: !root && 'needs root' }, async () => {
  await sh('ip', '-n', S[0]!, 'route', 'del', 'default');
  const masq = new NftablesBackend({ command: ['ip', 'netns', 'exec', L, 'nft'], seed: 1, masquerade: true });
  try {
    await backend!.apply(state(svc('rr', [rs(1)])));
    assert.deepEqual(tally(await clientRequests(C, { host: VIP, port: 80, count: 1, sources: SOURCES })), { timeout: 1 });
    await masq.open();
    await masq.apply(state(svc('rr', [rs(1)])));
    assert.deepEqual(tally(await clientRequests(C, { host: VIP, port: 80, count: 3, sources: SOURCES })), { s1: 3 });
  } finally {
    await sh('ip', '-n', S[0]!, 'route', 'add', 'default', 'via', '10.61.2.1');
    await backend!.apply(state(svc('rr', [rs(1)])));
  }
});

test('re-applying the same state runs no transaction; close removes our tables', { skip: !root && 'needs root' }, async () => {
  const st = state(svc('wrr', [rs(1, 2), rs(2, 1)]));
  await backend!.apply(st);
  const n = backend!.transactions;
  await backend!.apply(JSON.parse(JSON.stringify(st)));
  assert.equal(backend!.transactions, n);
  assert.match(await nsExec(L, 'nft', 'list', 'tables'), /table ip tskeepalived/);
  await backend!.close({ release: true });
  assert.doesNotMatch(await nsExec(L, 'nft', 'list', 'tables'), /tskeepalived/);
  const t = tally(await clientRequests(C, { host: VIP, port: 80, count: 2, sources: SOURCES }));
  assert.deepEqual(t, { 'error:ECONNREFUSED': 2 });
});

test('TUN real servers, DR port changes and unknown schedulers are clear errors', () => {
  const st = state(
    svc('rr', [
      { ...rs(1), lbKind: 'DR' },
      { ...rs(2), lbKind: 'TUN' },
    ]),
    {
      ...svc('xyz', [rs(2)]),
      key: { kind: 'addr', family: 4, protocol: 'TCP', address: VIP, port: 81 },
    },
  );
  assert.throws(
    () => buildNftRuleset(st, { seed: 1 }),
    (e: unknown) => {
      assert.ok(e instanceof NftUnsupportedError);
      assert.deepEqual(e.problems, [
        '[10.61.9.1]:tcp:80: real server 10.61.2.12:8080 uses lb_kind TUN; nftables cannot encapsulate (use --lb-backend=ipvs for TUN)',
        '[10.61.9.1]:tcp:80: nftables cannot mix lb_kind DR and NAT real servers in one service',
        '[10.61.9.1]:tcp:80: DR real server 10.61.2.11:8080 must use the virtual port 80 (DR cannot change ports)',
        '[10.61.9.1]:tcp:80: DR real server 10.61.2.12:8080 must use the virtual port 80 (DR cannot change ports)',
        '[10.61.9.1]:tcp:81: unknown scheduler "xyz"',
      ]);
      return true;
    },
  );
});
