// use_vmac in the engine, over the in-process LAN: where VIPs, GARPs and the VRRP socket go, when
// VMACs are made and removed, and the start-up warnings when a VMAC kind cannot be built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { VirtualAddress } from '../src/config/model.js';
import type { VmacInfo, VmacSpec, VrrpSocketHandle } from '../src/vrrp/io.js';
import { VrrpEngine } from '../src/vrrp/engine.js';
import { MemHost, MemLan } from './vrrp-memnet.js';
import { config, instance, vip, waitFor } from './vrrp-helpers.js';

const fast = { advertInt: 100, version: 3 as const };

function capturingLogger(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()).msg as string);
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

/** A host whose edge builds VMACs (recorded) and remembers which interface everything went to. */
class VmacHost extends MemHost {
  vmacs: VmacSpec[] = [];
  removed: string[] = [];
  placed = new Map<string, string>();
  garpDevs = new Map<string, string>();
  socketOpts: { ifname: string; srcAddress?: string }[] = [];

  async setupVmac(spec: VmacSpec): Promise<VmacInfo> {
    this.vmacs.push(spec);
    this.linkUp.set(spec.name, true);
    return { name: spec.name, index: 10 + this.vmacs.length, created: true, notices: [] };
  }
  async removeVmac(spec: VmacSpec): Promise<string[]> {
    this.removed.push(spec.name);
    return [];
  }
  override openVrrpSocket(opts?: { ifname: string; srcAddress?: string }): VrrpSocketHandle {
    if (opts) this.socketOpts.push({ ifname: opts.ifname, srcAddress: opts.srcAddress });
    return super.openVrrpSocket();
  }
  override async addAddress(ifname: string, a: VirtualAddress) {
    this.placed.set(a.prefix.address, ifname);
    await super.addAddress(ifname, a);
  }
  override sendGratuitousArp(ifname: string, address: string) {
    this.garpDevs.set(address, ifname);
    super.sendGratuitousArp(ifname, address);
  }
}

test('use_vmac: VIPs of the family, GARPs and the VRRP socket on the VMAC (source: the base address); other VIPs stay; removed at stop', async () => {
  const h = new VmacHost(new MemLan(), '10.0.0.1');
  const e = new VrrpEngine({ io: h, logger: capturingLogger().log });
  await e.start(
    config({
      instances: [
        instance('VI_1', {
          ...fast,
          virtualRouterId: 7,
          priority: 255,
          useVmac: true,
          virtualIpaddress: [vip('10.0.0.100')],
          virtualIpaddressExcluded: [vip('10.9.0.1', 24, { dev: 'eth1' }), vip('fd00::1', 64)],
        }),
      ],
    }),
  );
  try {
    await waitFor('MASTER', () => h.addresses.has('10.0.0.100') && h.garpDevs.size >= 2, 2000);
    assert.deepEqual(h.vmacs, [{ name: 'vrrp.7', base: 'eth0', mac: '00:00:5e:00:01:07', family: 4, ipv6: true, linkLocal: undefined, owner: 'VI_1' }]);
    assert.equal(h.placed.get('10.0.0.100'), 'vrrp.7');
    assert.equal(h.placed.get('10.9.0.1'), 'eth1', 'another interface: no VMAC without use_vmac_addr');
    assert.equal(h.placed.get('fd00::1'), 'eth0', 'the other family: on the base interface');
    assert.equal(h.garpDevs.get('10.0.0.100'), 'vrrp.7', 'GARP from the VMAC');
    assert.equal(h.garpDevs.get('10.9.0.1'), 'eth1');
    assert.deepEqual(h.socketOpts, [{ ifname: 'vrrp.7', srcAddress: '10.0.0.1' }]);
    const data = e.dumpData();
    assert.match(data, /\n {3}Use VMAC, i\/f name vrrp\.7, is_up = true, xmit_base = false\n {3}Interface = vrrp\.7, vmac on eth0\n/);
    assert.match(data, /\n {5}10\.0\.0\.100\/24 dev vrrp\.7\n/);
    const snap = e.snapshot() as { instances: { vmac?: unknown }[] };
    assert.deepEqual(snap.instances[0].vmac, { name: 'vrrp.7', up: true, xmitBase: false });
  } finally {
    await e.stop({ release: true });
  }
  assert.deepEqual(h.removed, ['vrrp.7']);
});

test('vmac_xmit_base keeps the socket on the base interface; -V (release false) keeps the VMAC', async () => {
  const h = new VmacHost(new MemLan(), '10.0.0.1');
  const e = new VrrpEngine({ io: h, logger: capturingLogger().log });
  await e.start(
    config({
      instances: [instance('VI_1', { ...fast, virtualRouterId: 8, priority: 255, useVmac: 'vm8', vmacXmitBase: true, virtualIpaddress: [vip('10.0.0.100')] })],
    }),
  );
  await waitFor('MASTER', () => h.addresses.has('10.0.0.100'), 2000);
  assert.equal(h.placed.get('10.0.0.100'), 'vm8');
  assert.deepEqual(h.socketOpts, [{ ifname: 'eth0', srcAddress: undefined }]);
  await e.stop({ release: false });
  assert.deepEqual(h.removed, []);
});

test('an edge that cannot build macvlans: use_vmac says so at start and the VIPs stay on the interface; use_ipvlan is warned', async () => {
  const h = new MemHost(new MemLan(), '10.0.0.1');
  const { log, lines } = capturingLogger();
  const e = new VrrpEngine({ io: h, logger: log });
  await e.start(
    config({
      instances: [
        instance('VI_1', { ...fast, virtualRouterId: 9, priority: 255, useVmac: true, virtualIpaddress: [vip('10.0.0.100')] }),
        instance('VI_2', { ...fast, virtualRouterId: 10, priority: 255, useIpvlan: { flags: 'bridge' }, virtualIpaddress: [vip('10.0.0.101')] }),
      ],
    }),
  );
  try {
    await waitFor('MASTER', () => h.addresses.has('10.0.0.100'), 2000);
    assert.ok(
      lines.some((l) => l.startsWith('use_vmac is not supported: ')),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => l.startsWith('use_ipvlan is not supported: ')),
      lines.join('\n'),
    );
  } finally {
    await e.stop({ release: true });
  }
});
