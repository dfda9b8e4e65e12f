// use_vmac without a network: the rtnetlink macvlan messages byte by byte, link decoding of a macvlan,
// VMAC names / MACs / link-local addresses, and the use_vmac config line.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { encodeMessage, decodeMessages } from '../src/net/netlink-codec.js';
import { decodeLink } from '../src/net/rtnl-link.js';
import { encodeAddrGenModeNone, encodeDelLink, encodeNewMacvlan, encodeSetLinkUp, encodeUpdateMacvlan } from '../src/net/rtnl-macvlan.js';
import { assignVmacNames, eui64LinkLocal, planVmacs, virtualMac, vmacAddress } from '../src/vrrp/vmac.js';
import { instance, vip } from './vrrp-helpers.js';
import { ifinfomsg, skipBE, tlv, u32 } from './rtnl-fixtures.js';

describe('rtnetlink macvlan messages', { skip: skipBE }, () => {
  it('RTM_NEWLINK creating a private-mode macvlan: ifinfomsg, IFLA_LINKINFO{kind, data{mode}}, IFLA_LINK, IFLA_IFNAME, IFLA_ADDRESS', () => {
    const got = encodeNewMacvlan({ name: 'vrrp.1', linkIndex: 2, mac: '00:00:5e:00:01:01' });
    const linkinfo = tlv(18, Buffer.concat([tlv(1, Buffer.from('macvlan')), tlv(2, tlv(1, u32(1)))]));
    const expected = Buffer.concat([ifinfomsg(0), linkinfo, tlv(5, u32(2)), tlv(3, Buffer.from('vrrp.1\0')), tlv(1, Buffer.from([0, 0, 0x5e, 0, 1, 1]))]);
    assert.equal(got.toString('hex'), expected.toString('hex'));
    // exact layout, spelled out once: the linkinfo nest is 28 bytes, "macvlan" is padded to 12
    assert.equal(linkinfo.toString('hex'), '1c001200' + '0b000100' + Buffer.from('macvlan').toString('hex') + '00' + '0c000200' + '08000100' + '01000000');
    assert.equal(got.length, 16 + 28 + 8 + 12 + 12);
  });

  it('mode and MAC update of an existing macvlan addresses it by index and names no lower device', () => {
    const got = encodeUpdateMacvlan(7, '00:00:5e:00:02:0a');
    const linkinfo = tlv(18, Buffer.concat([tlv(1, Buffer.from('macvlan')), tlv(2, tlv(1, u32(1)))]));
    assert.equal(got.toString('hex'), Buffer.concat([ifinfomsg(7), linkinfo, tlv(1, Buffer.from([0, 0, 0x5e, 0, 2, 10]))]).toString('hex'));
  });

  it('link up / down set IFF_UP under an IFF_UP change mask; delete is a bare ifinfomsg', () => {
    assert.equal(encodeSetLinkUp(9, true).toString('hex'), ifinfomsg(9, 1, 1).toString('hex'));
    assert.equal(encodeSetLinkUp(9, false).toString('hex'), ifinfomsg(9, 0, 1).toString('hex'));
    assert.equal(encodeDelLink(9).toString('hex'), ifinfomsg(9).toString('hex'));
  });

  it('addr_gen_mode none is IFLA_AF_SPEC{AF_INET6{IFLA_INET6_ADDR_GEN_MODE u8 1}}', () => {
    const expected = Buffer.concat([ifinfomsg(4), tlv(26, tlv(10, tlv(8, Buffer.from([1]))))]);
    assert.equal(encodeAddrGenModeNone(4).toString('hex'), expected.toString('hex'));
  });

  it('decodes a macvlan link: kind, mode, lower device, MAC', () => {
    const payload = Buffer.concat([
      ifinfomsg(12, 0x1043, 0),
      tlv(3, Buffer.from('vrrp.60\0')),
      tlv(1, Buffer.from([0, 0, 0x5e, 0, 1, 0x3c])),
      tlv(5, u32(2)),
      tlv(18, Buffer.concat([tlv(1, Buffer.from('macvlan\0')), tlv(2 | 0x8000, Buffer.concat([tlv(1, u32(1)), tlv(2, Buffer.alloc(2))]))])),
    ]);
    const [m] = decodeMessages(encodeMessage({ type: 16, flags: 0, payload }));
    const l = decodeLink(m);
    assert.equal(l.name, 'vrrp.60');
    assert.equal(l.index, 12);
    assert.equal(l.mac, '00:00:5e:00:01:3c');
    assert.equal(l.kind, 'macvlan');
    assert.equal(l.macvlanMode, 1);
    assert.equal(l.linkIndex, 2);
    assert.ok(l.up);
  });

  it('a plain device has no kind, mode or lower device', () => {
    const [m] = decodeMessages(encodeMessage({ type: 16, flags: 0, payload: Buffer.concat([ifinfomsg(1), tlv(3, Buffer.from('lo\0'))]) }));
    const l = decodeLink(m);
    assert.equal('kind' in l || 'macvlanMode' in l || 'linkIndex' in l, false);
  });
});

describe('VMAC names and addresses', () => {
  it('RFC 5798 virtual MACs', () => {
    assert.equal(virtualMac(4, 1), '00:00:5e:00:01:01');
    assert.equal(virtualMac(6, 255), '00:00:5e:00:02:ff');
    assert.equal(vmacAddress({ family: 4, virtualRouterId: 60 }), '00:00:5e:00:01:3c');
  });

  it('a configured MAC; five octets take the VRID as the sixth', () => {
    assert.equal(vmacAddress({ family: 4, virtualRouterId: 62, vmacMac: '02:aa:bb:cc:dd' }), '02:aa:bb:cc:dd:3e');
    assert.equal(vmacAddress({ family: 4, virtualRouterId: 62, vmacMac: '02:AA:bb:c:dd:' }), '02:aa:bb:0c:dd:3e');
    assert.equal(vmacAddress({ family: 6, virtualRouterId: 1, vmacMac: '02:0:0:0:0:9' }), '02:00:00:00:00:09');
  });

  it("names: configured, vrrp.VRID, vmac_prefix, then keepalived's numbered fall-backs (IPv6 tries 6 first)", () => {
    const insts = [
      instance('A', { useVmac: true, virtualRouterId: 1 }),
      instance('B', { useVmac: true, virtualRouterId: 1, family: 6 }),
      instance('C', { useVmac: true, virtualRouterId: 1 }),
      instance('D', { useVmac: 'vrrp.2', virtualRouterId: 9 }),
      instance('E', { useVmac: true, virtualRouterId: 2 }),
      instance('F', { virtualRouterId: 3 }),
    ];
    const n = assignVmacNames(insts, {});
    assert.deepEqual(Object.fromEntries(n), { D: 'vrrp.2', A: 'vrrp.1', B: 'vrrp6.1', C: 'vrrp1.1', E: 'vrrp1.2' });
    assert.equal(assignVmacNames([instance('A', { useVmac: true, virtualRouterId: 200 })], { vmacPrefix: 'averylongprefix' }).get('A'), 'averylongpr.200');
  });

  it('address VMACs: use_vmac_addr for other interfaces / the other family, use_vmac on an address line; vmac_addr_prefix', () => {
    const a = instance('A', {
      useVmac: true,
      useVmacAddr: true,
      virtualRouterId: 4,
      virtualIpaddress: [vip('10.0.0.4'), vip('10.1.0.4', 24, { dev: 'eth1' })],
      virtualIpaddressExcluded: [vip('fd00::4', 64), vip('10.2.0.4', 24, { dev: 'eth1' })],
    });
    const b = instance('B', { virtualRouterId: 5, virtualIpaddress: [vip('10.0.0.5', 24, { useVmac: true }), vip('10.0.0.6')] });
    const c = instance('C', { virtualRouterId: 6, virtualIpaddress: [vip('10.0.0.7')], virtualIpaddressExcluded: [vip('fd00::7', 64)] });
    const plans = planVmacs([a, b, c], { vmacAddrPrefix: 'vip' });
    assert.deepEqual(plans.get('A'), {
      main: 'vrrp.4',
      addressVmacs: [
        { base: 'eth1', family: 4, name: 'vip.4' },
        { base: 'eth0', family: 6, name: 'vip6.4' },
      ],
    });
    assert.deepEqual(plans.get('B'), { addressVmacs: [{ base: 'eth0', family: 4, name: 'vip.5' }] });
    assert.deepEqual(plans.get('C'), { addressVmacs: [] }, 'nothing without use_vmac');
    assert.equal(vmacAddress(a, 6), '00:00:5e:00:02:04', 'an address VMAC has the MAC of its family');
  });

  it('modified EUI-64 link-local of a MAC', () => {
    assert.equal(eui64LinkLocal('da:c7:54:04:09:8e'), 'fe80::d8c7:54ff:fe04:98e');
    assert.equal(eui64LinkLocal('00:00:5e:00:02:01'), 'fe80::200:5eff:fe00:201');
  });
});

describe('use_vmac in keepalived.conf', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tkvm-conf-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let k = 0;
  const load = (line: string) => {
    const f = join(dir, `v${k++}.conf`);
    writeFileSync(f, `vrrp_instance V {\n interface eth0\n virtual_router_id 5\n ${line}\n virtual_ipaddress {\n  10.0.0.1/24\n }\n}\n`);
    return loadConfig(f, { interfaces: ['lo', 'eth0'], configId: 'test' });
  };

  it('name and MAC in either order', () => {
    const a = load('use_vmac vm5 02:11:22:33:44').config.vrrpInstances[0];
    assert.equal(a.useVmac, 'vm5');
    assert.equal(a.vmacMac, '02:11:22:33:44');
    const b = load('use_vmac 02:11:22:33:44:55 vm5').config.vrrpInstances[0];
    assert.equal(b.useVmac, 'vm5');
    assert.equal(b.vmacMac, '02:11:22:33:44:55');
    assert.equal(load('use_vmac').config.vrrpInstances[0].useVmac, true);
  });

  it("keepalived's complaints about bad MACs and names", () => {
    const msg = (line: string) =>
      load(line)
        .diagnostics.map((d) => d.message)
        .join('\n');
    assert.match(msg('use_vmac 01:11:22:33:44:55'), /VMAC MAC address is multicast 01:11:22:33:44:55 - ignoring/);
    assert.match(msg('use_vmac 00:00:5e:00:01:05'), /VMAC MAC address not allowed to be RFC5798 address \(00:00:5e:00:01:05\) - ignoring/);
    assert.match(msg('use_vmac 02:11:22'), /VMAC invalid MAC address 02:11:22 - ignored/);
    assert.match(msg('use_vmac averyveryverylongname'), /VMAC interface name 'averyveryverylongname' too long or invalid characters - ignoring/);
    assert.match(msg('use_vmac a b'), /VMAC interface name already specified/);
  });
});
