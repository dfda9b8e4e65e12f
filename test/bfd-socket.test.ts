// The BFD edge (src/net/bfd-socket.ts) on loopback: the TTL / hop limit a sender sets is the one the
// listener reports (what the GTSM check reads), the source port is in 49152..65535, the
// destination is reported. Unprivileged (high ports on 127.0.0.1 / ::1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { type BfdDatagram, openBfdListener, openBfdSender } from '../src/net/bfd-socket.js';
import { waitFor } from './vrrp-helpers.js';

const native = existsSync('build/Release/tskeepalived_native.node');
const skip = native ? false : 'the native addon is not built (npm ci with python3, make, g++)';
const has6 = existsSync('/proc/net/if_inet6');

/** A listener on a free high port of the loopback (other processes share it: a few tries). */
function listenSomewhere(family: 4 | 6, address: string, onPacket: (p: BfdDatagram) => void, onError: (e: Error) => void) {
  for (let i = 0; ; i++) {
    const port = 30000 + ((process.pid * 7 + i * 131) % 20000);
    try {
      return { port, l: openBfdListener(family, onPacket, onError, { port, address }) };
    } catch (e) {
      if ((e as { code?: string }).code !== 'EADDRINUSE' || i >= 20) throw e;
    }
  }
}

for (const family of [4, 6] as const) {
  const addr = family === 4 ? '127.0.0.1' : '::1';
  test(`IPv${family}: received TTL / hop limit, source port range, destination`, {
    skip: skip || (family === 6 && !has6 ? 'no IPv6' : false),
    timeout: 10_000,
  }, async () => {
    const got: BfdDatagram[] = [];
    const errors: Error[] = [];
    const { port, l } = listenSomewhere(
      family,
      addr,
      (p) => got.push(p),
      (e) => errors.push(e),
    );
    const senders = [255, 254, 64].map((ttl) => openBfdSender({ family, neighbor: addr, ttl, port }));
    try {
      for (const s of senders) s.send(Buffer.from([0x20, 0x40, 3, 24, ...new Array(20).fill(0)]));
      await waitFor('three datagrams', () => got.length >= 3, 5000, 10);
      assert.deepEqual(
        got.map((g) => g.ttl),
        [255, 254, 64],
      );
      for (const [i, g] of got.entries()) {
        assert.equal(g.srcPort, senders[i].localPort);
        assert.ok(g.srcPort >= 49152 && g.srcPort <= 65535, `source port ${g.srcPort}`);
        assert.equal(g.src, addr);
        assert.equal(g.dst, addr);
        assert.equal(g.family, family);
        assert.equal(g.data.length, 24);
      }
      assert.deepEqual(errors, []);
    } finally {
      for (const s of senders) s.close();
      l.close();
    }
  });
}

test('a second listener on the same port fails with EADDRINUSE (a SystemError), no crash', { skip, timeout: 10_000 }, () => {
  const { port, l } = listenSomewhere(
    4,
    '127.0.0.1',
    () => {},
    () => {},
  );
  try {
    assert.throws(
      () =>
        openBfdListener(
          4,
          () => {},
          () => {},
          { port, address: '127.0.0.1' },
        ),
      (e: unknown) => (e as { code?: string; name?: string }).code === 'EADDRINUSE' && (e as Error).name === 'SystemError',
    );
  } finally {
    l.close();
  }
});
