// One instance's VIPs, routes, rules and no-accept filter through an in-memory edge (no root):
// what install/remove/replace ask of the edge. (On the wire: vrrp-features, vrrp-accept.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { GlobalDefs, VirtualAddress, VirtualRoute, VrrpInstance } from '../src/config/model.js';
import type { FilterTable, VipFilterEntry } from '../src/net/vip-filter.js';
import { VipInstall } from '../src/vrrp/vip-install.js';
import { MemLan, MemHost } from './vrrp-memnet.js';
import { config, instance, vip } from './vrrp-helpers.js';

const log = pino({ level: 'silent' });

class RecordingHost extends MemHost {
  routes: string[] = [];
  filter: { table: string; owner: string; entries: VipFilterEntry[] }[] = [];
  failAdd = new Set<string>();
  override async addAddress(ifname: string, a: VirtualAddress) {
    if (this.failAdd.has(a.prefix.address)) throw new Error('EADDRNOTAVAIL');
    await super.addAddress(ifname, a);
  }
  override async addRoute(r: VirtualRoute, dev: string) {
    this.routes.push(`${r.dst.address}/${r.dst.prefixLen} dev ${dev}`);
  }
  override async delRoute(r: VirtualRoute) {
    this.routes = this.routes.filter((x) => !x.startsWith(`${r.dst.address}/`));
  }
  async setVipFilter(table: FilterTable, owner: string, entries: VipFilterEntry[]) {
    this.filter.push({ table: `${table.name} ${table.priority}${table.counters ? ' counters' : ''}`, owner, entries });
  }
}

function setup(over: Partial<VrrpInstance>, global: Partial<GlobalDefs> = {}) {
  const host = new RecordingHost(new MemLan(), '10.0.0.1');
  const cfg = { current: instance('VI_1', over) };
  const conf = config({ instances: [cfg.current], global });
  const vips = new VipInstall(host, log, { cfg: () => cfg.current, global: () => conf.global, ifname: () => 'eth0', devFor: (v) => v.dev ?? 'eth0' });
  return { host, cfg, vips };
}

const route: VirtualRoute = { dst: { address: '192.168.50.0', prefixLen: 24, family: 4 }, noTrack: false, options: {}, loc: vip('1.1.1.1').loc };

test('install puts every address (excluded ones too) and the routes in place; remove takes them away', async () => {
  const { host, vips } = setup({ virtualIpaddress: [vip('10.0.0.100')], virtualIpaddressExcluded: [vip('10.0.0.200')], virtualRoutes: [route] });
  await vips.install();
  assert.equal(vips.installed, true);
  assert.deepEqual([...host.addresses].sort(), ['10.0.0.100', '10.0.0.200']);
  assert.deepEqual(host.routes, ['192.168.50.0/24 dev eth0']);
  assert.equal(host.filter.length, 0, 'accept (the default): no filter');
  await vips.remove(false);
  assert.equal(vips.installed, false);
  assert.deepEqual([...host.addresses], []);
  assert.deepEqual(host.routes, []);
  assert.deepEqual(host.filter.at(-1)?.entries, [], 'the (empty) filter is withdrawn');
});

test('no accept: the filter lists the VIPs while MASTER, except for the address owner (priority 255)', async () => {
  const a = setup({ accept: false, priority: 100, virtualIpaddress: [vip('10.0.0.100', 24, { dev: 'eth1' })] });
  await a.vips.install();
  assert.deepEqual(a.host.filter, [{ table: 'keepalived -1', owner: 'VI_1', entries: [{ address: '10.0.0.100', family: 4, dev: 'eth1' }] }]);
  const b = setup({ accept: false, priority: 255, virtualIpaddress: [vip('10.0.0.100')] });
  await b.vips.install();
  assert.equal(b.host.filter.length, 0);
});

test('an address the edge refuses is logged; the others are installed', async () => {
  const { host, vips } = setup({ virtualIpaddress: [vip('10.0.0.100'), vip('10.0.0.101')] });
  host.failAdd.add('10.0.0.100');
  await vips.install();
  assert.deepEqual([...host.addresses], ['10.0.0.101']);
});

test('reload in place: the addresses that went are removed, those kept are not touched, the new ones are returned to add', async () => {
  const { host, cfg, vips } = setup({ accept: false, virtualIpaddress: [vip('10.0.0.100'), vip('10.0.0.101')] });
  await vips.install();
  host.addresses.add('10.0.0.250'); // not ours: never touched
  const before = vips.all();
  cfg.current = instance('VI_1', { accept: false, virtualIpaddress: [vip('10.0.0.101'), vip('10.0.0.102')] });
  const added = await vips.replace(before);
  assert.deepEqual(
    added.map((v) => v.prefix.address),
    ['10.0.0.102'],
  );
  assert.deepEqual([...host.addresses].sort(), ['10.0.0.101', '10.0.0.250']);
  assert.deepEqual(
    host.filter.at(-1)?.entries.map((e) => e.address),
    ['10.0.0.101', '10.0.0.102'],
    'the filter follows the new list',
  );
  await vips.add(added);
  assert.deepEqual([...host.addresses].sort(), ['10.0.0.101', '10.0.0.102', '10.0.0.250']);
  assert.equal(vips.find('10.0.0.102', 'eth0')?.prefix.address, '10.0.0.102');
  assert.equal(vips.find('10.0.0.102', 'eth1'), undefined, 'on another interface it is not ours');
});

test("no accept, IPv6 link-local VIPs: by interface name under dont_track_primary on the instance's interface or no_track, else by index; always by index with nftables_ifindex", async () => {
  const vips6 = [vip('fe80::1', 64), vip('fe80::2', 64, { dev: 'eth1' }), vip('fe80::3', 64, { dev: 'eth1', noTrack: true }), vip('fd00::1', 64)];
  const byName = async (over: Partial<VrrpInstance>, global: Partial<GlobalDefs> = {}) => {
    const a = setup({ accept: false, priority: 100, family: 6, virtualIpaddress: vips6, ...over }, global);
    await a.vips.install();
    return a.host.filter
      .at(-1)
      ?.entries.filter((e) => e.byName)
      .map((e) => e.address);
  };
  assert.deepEqual(await byName({ dontTrackPrimary: true }), ['fe80::1', 'fe80::3']);
  assert.deepEqual(await byName({ dontTrackPrimary: false }), []);
  assert.deepEqual(await byName({ dontTrackPrimary: true }, { nftablesIfindex: true }), []);
});
