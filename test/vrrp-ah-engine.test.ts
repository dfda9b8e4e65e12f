// auth_type AH in the engine over an in-process host: what the instance hands to its socket, and
// the AH sequence number kept across a reload that restarts the instance (as keepalived).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { VrrpEngine } from '../src/vrrp/engine.js';
import type { VrrpSocketHandle } from '../src/vrrp/io.js';
import { openAhDatagram } from '../src/vrrp/ah.js';
import { decodeAdvert } from '../src/vrrp/packet.js';
import { MemLan, MemHost } from './vrrp-memnet.js';
import { config, instance, vip, waitFor } from './vrrp-helpers.js';

const log = pino({ level: 'silent' });

class RecordingHost extends MemHost {
  datagrams: Buffer[] = [];
  opened: { ah?: boolean }[] = [];
  override openVrrpSocket(opts?: { ah?: boolean }): VrrpSocketHandle {
    this.opened.push({ ah: opts?.ah });
    const h = super.openVrrpSocket();
    return {
      ...h,
      send: (payload, dst) => {
        this.datagrams.push(Buffer.from(payload));
        return h.send(payload, dst);
      },
    };
  }
}

test('engine with auth_type AH: an AH socket, AH datagrams with seq/IP id 1, 2, ...; a restarting reload keeps the sequence going', {
  timeout: 15_000,
}, async () => {
  const lan = new MemLan();
  const h = new RecordingHost(lan, '10.0.0.1');
  lan.hosts.push(h);
  const e = new VrrpEngine({ io: h, logger: log });
  const inst = (addr: string, garpMasterRepeat = 5) =>
    instance('VI_1', { virtualRouterId: 9, priority: 255, auth: { type: 'AH', pass: 'k3y' }, virtualIpaddress: [vip(addr)], garpMasterRepeat });
  await e.start(config({ instances: [inst('10.0.0.100')] }));
  await waitFor('two adverts', () => h.datagrams.length >= 2, 3000);
  assert.deepEqual(h.opened, [{ ah: true }]);
  // more than the addresses changes, so the reload restarts the instance (addresses alone are updated in place)
  await e.reload(config({ instances: [inst('10.0.0.101', 2)] }));
  await waitFor('the restarted instance advertises', () => h.datagrams.length >= 4, 3000);
  await e.stop({ release: true });
  const opened = h.datagrams.map((d) => {
    const r = openAhDatagram(d, 'k3y', false);
    assert.ok(r.ok, JSON.stringify(r));
    const a = decodeAdvert(r.vrrp, 4);
    assert.ok(a.ok);
    return { seq: r.seq, id: d.readUInt16BE(4), prio: a.advert.priority, vip: a.advert.addresses[0], dst: r.dst, src: r.src };
  });
  assert.deepEqual(
    opened.map((o) => o.seq),
    opened.map((_, i) => i + 1),
    `one sequence across the reload: ${JSON.stringify(opened)}`,
  );
  const restart = opened.findIndex((o) => o.vip === '10.0.0.101');
  assert.ok(restart >= 3);
  assert.equal(opened[restart - 1].prio, 0, 'the old instance stopped with priority 0');
  assert.equal(opened[restart].id, 1, 'the IP id starts again (keepalived keeps only the sequence number)');
  assert.ok(opened.every((o) => o.dst === '224.0.0.18' && o.src === '10.0.0.1'));
});
