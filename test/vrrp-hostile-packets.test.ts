// Regression tests for what the hostile-packets soak (bench/soak/hostile-packets.ts) found:
// a unicast advert taken by a multicast instance, drops nobody counted (own address, unknown VRID,
// too short for a VRID, datagrams the socket could not read), and the log of a flood.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { VrrpEngine } from '../src/vrrp/engine.js';
import { checkAdvert, type ReceiveExpectations } from '../src/vrrp/receive-checks.js';
import { SocketPool } from '../src/vrrp/socket-pool.js';
import { encodeAdvert } from '../src/vrrp/packet.js';
import type { ReceivedVrrp, SocketDropReason, VrrpNetIo, VrrpSocketHandle } from '../src/vrrp/io.js';
import type { MetricSample } from '../src/engine-api/types.js';
import { MemLan } from './vrrp-memnet.js';
import { config, instance, vip, waitFor } from './vrrp-helpers.js';

const exp: ReceiveExpectations = {
  version: 3,
  vrid: 51,
  advertIntMs: 1000,
  addresses: ['10.0.0.100'],
  skipCheckAdvAddr: false,
  unicastPeers: [],
  checkUnicastSrc: false,
};

test('receive checks: a multicast instance refuses a unicast advert and a unicast instance a multicast one', () => {
  const advert = (dst: string) =>
    encodeAdvert({ version: 3, vrid: 51, priority: 254, family: 4, addresses: ['10.0.0.100'], advertIntMs: 1000 }, '10.0.0.9', dst);
  const uni = checkAdvert({ payload: advert('10.0.0.1'), src: '10.0.0.9', dst: '10.0.0.1', ttl: 255, family: 4 }, exp);
  assert.ok(!uni.ok && uni.reason === 'wrong-destination', JSON.stringify(uni));
  const multi = checkAdvert(
    { payload: advert('224.0.0.18'), src: '10.0.0.9', dst: '224.0.0.18', ttl: 255, family: 4 },
    { ...exp, unicastPeers: [{ address: '10.0.0.9' }] },
  );
  assert.ok(!multi.ok && multi.reason === 'wrong-destination', JSON.stringify(multi));
  assert.ok(checkAdvert({ payload: advert('224.0.0.18'), src: '10.0.0.9', dst: '224.0.0.18', ttl: 255, family: 4 }, exp).ok);
  const v6 = encodeAdvert({ version: 3, vrid: 51, priority: 254, family: 6, addresses: ['fd00::100'], advertIntMs: 1000 }, 'fe80::9', 'fe80::1');
  const r6 = checkAdvert({ payload: v6, src: 'fe80::9', dst: 'fe80::1', ttl: 255, family: 6 }, { ...exp, addresses: ['fd00::100'] });
  assert.ok(!r6.ok && r6.reason === 'wrong-destination');
});

const value = (ms: MetricSample[], name: string, labels: Record<string, string>) =>
  ms.filter((m) => m.name === name && Object.entries(labels).every(([k, v]) => m.labels[k] === v)).reduce((n, m) => n + m.value, 0);

test('engine: hostile adverts change no state, every drop is counted under its reason, the log stays short', async () => {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  const lan = new MemLan();
  const host = lan.host('10.0.0.1');
  const engine = new VrrpEngine({ io: host, logger: log });
  await engine.start(config({ instances: [instance('VI_1', { version: 3, advertInt: 100, priority: 200, virtualIpaddress: [vip('10.0.0.100')] })] }));
  try {
    await waitFor('MASTER', () => host.addresses.has('10.0.0.100'), 2000);
    const deliver = (p: Omit<ReceivedVrrp, 'ttl'> & { ttl?: number }) => {
      for (const s of host.sockets) s({ ttl: 255, ...p });
    };
    const higher = (src: string, dst: string) =>
      encodeAdvert({ version: 3, vrid: 51, priority: 254, family: 4, addresses: ['10.0.0.100'], advertIntMs: 100 }, src, dst);
    const logBefore = lines.length;
    const sent = 5000;
    for (let i = 0; i < sent; i++) {
      switch (i % 5) {
        case 0: // valid but unicast, from a stranger with a higher priority: keepalived refuses it
          deliver({ payload: higher('10.0.0.9', '10.0.0.1'), src: '10.0.0.9', dst: '10.0.0.1' });
          break;
        case 1: // valid, to the group, but from our own address
          deliver({ payload: higher('10.0.0.1', '224.0.0.18'), src: '10.0.0.1', dst: '224.0.0.18' });
          break;
        case 2: // a VRID nobody serves
          deliver({ payload: Buffer.from(higher('10.0.0.9', '224.0.0.18')).fill(77, 1, 2), src: '10.0.0.9', dst: '224.0.0.18' });
          break;
        case 3: // too short to carry a VRID
          deliver({ payload: Buffer.from([0x31]), src: '10.0.0.9', dst: '224.0.0.18' });
          break;
        default: // wrong hop limit
          deliver({ payload: higher('10.0.0.9', '224.0.0.18'), src: '10.0.0.9', dst: '224.0.0.18', ttl: 64 });
      }
    }
    await new Promise((r) => setTimeout(r, 250));
    const m = engine.metrics();
    assert.equal(value(m, 'tskeepalived_vrrp_state', {}), 2, 'still MASTER');
    assert.equal(value(m, 'tskeepalived_vrrp_released_master_total', {}), 0);
    const errors = (reason: string) => value(m, 'tskeepalived_vrrp_packet_errors_total', { reason });
    const socketDrops = (reason: string) => value(m, 'tskeepalived_vrrp_socket_drops_total', { reason });
    assert.equal(errors('wrong-destination'), sent / 5);
    assert.equal(errors('own-address'), sent / 5);
    assert.equal(errors('ttl'), sent / 5);
    assert.equal(socketDrops('unknown-vrid'), sent / 5);
    assert.equal(socketDrops('too-short'), sent / 5);
    const counted = value(m, 'tskeepalived_vrrp_packet_errors_total', {}) + value(m, 'tskeepalived_vrrp_socket_drops_total', {});
    assert.equal(counted, sent, 'every hostile datagram counted once');
    const dropLines = lines.slice(logBefore).filter((l) => /rejected|dropped/.test(l));
    assert.ok(dropLines.length <= 5, `one line per reason, got ${dropLines.length}`);
    assert.ok(host.addresses.has('10.0.0.100'));
  } finally {
    await engine.stop({ release: true });
  }
});

test('socket pool: datagrams the socket could not read are counted per reason and logged once a minute', async () => {
  let drop: ((reason: SocketDropReason, detail: string) => void) | undefined;
  const handle: VrrpSocketHandle = { send: () => undefined, onPacket: () => undefined, onDrop: (cb) => (drop = cb), close: () => undefined };
  const io = { openVrrpSocket: () => handle } as unknown as VrrpNetIo;
  const lines: string[] = [];
  let now = 0;
  const pool = new SocketPool(io, pino({ level: 'info' }, { write: (s: string) => void lines.push(s) }), () => now);
  await pool.acquire({ ifname: 'eth0', family: 4 }, 51, () => undefined);
  for (let i = 0; i < 1000; i++) drop!(i % 2 ? 'truncated' : 'malformed', 'test');
  now = 61_000;
  drop!('malformed', 'test');
  const counts = Object.fromEntries(pool.dropCounts().map((d) => [d.reason, d.count]));
  assert.deepEqual(counts, { truncated: 500, malformed: 501, 'too-short': 0, 'unknown-vrid': 0 });
  assert.equal(lines.length, 3, 'first of each reason, then again after a minute');
});
