// use_vmac: tskeepalived builds keepalived's macvlan VMAC (virtual MAC 00:00:5e:00:01|02:VRID, private
// mode), puts the VIP on it and announces it from it; an observer's neighbour table keeps the same MAC
// across a failover to a real keepalived 2.2.7 peer also using use_vmac; the VMAC goes at SIGTERM.
// Namespaces: a = tskeepalived, b = keepalived, c = observer, on one bridge.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  config,
  instance,
  vip,
  keepalivedConf,
  Lan,
  startTsNode,
  startKeepalived,
  waitFor,
  sleep,
  isRoot,
  sh,
  tcpdumpText,
  type Node,
} from './vrrp-helpers.js';

const canRun = isRoot() && existsSync('/usr/sbin/keepalived');
const skip = canRun ? false : 'needs root and keepalived';
let lan: Lan;

before(() => {
  if (!canRun) return;
  lan = new Lan(`tkvm-${process.pid}`, 3, '10.63.0', 'fd63');
  const sysctl = (i: number, setting: string) => sh('ip', ['netns', 'exec', lan.namespaces[i], 'sysctl', '-qw', setting]);
  // the observer learns neighbours from gratuitous ARP / unsolicited NA too (RFC 9131 behaviour,
  // which this kernel applies to untracked NAs on a forwarding interface)
  sysctl(2, 'net.ipv4.conf.eth0.arp_accept=1');
  sysctl(2, 'net.ipv6.conf.eth0.accept_untracked_na=1');
  sysctl(2, 'net.ipv6.conf.eth0.forwarding=1');
  // The VIP's /24 also routes via eth0, so replies to the observer leave by eth0; with the default
  // arp_announce 0 the ARP request for the observer would carry the VIP with eth0's MAC and overwrite
  // the observer's entry. A VMAC deployment sets arp_announce 2 (keepalived does not set it either).
  for (const i of [0, 1]) sysctl(i, 'net.ipv4.conf.eth0.arp_announce=2');
});
after(() => lan?.cleanup());

const ns = (i: number) => lan.namespaces[i];

/** `ip -d link show NAME` in namespace i: '' when the interface does not exist. */
function linkDetails(i: number, name: string): string {
  const r = sh('ip', ['-n', ns(i), '-d', 'link', 'show', name]);
  return r.code === 0 ? r.out : '';
}

function addressesOn(i: number, dev: string): string {
  return sh('ip', ['-n', ns(i), '-o', 'addr', 'show', 'dev', dev]).out;
}

/** The observer's neighbour entry for address: its lladdr, undefined when none (or FAILED/INCOMPLETE). */
function observedMac(address: string): string | undefined {
  const r = sh('ip', ['-n', ns(2), 'neigh', 'show', address]);
  return /lladdr ([0-9a-f:]{17})/.exec(r.out)?.[1];
}

function ping(address: string): boolean {
  return sh('ip', ['netns', 'exec', ns(2), 'ping', '-c', '1', '-W', '1', address]).code === 0;
}

/** tcpdump -e on the observer: link-layer headers of VRRP, ARP and ICMPv6 frames. */
function capture(): { lines: () => string[]; stop: () => Promise<void> } {
  const cap = tcpdumpText(lan, 2, ['-e'], 'ip proto 112 or ip6 proto 112 or arp or icmp6');
  return { lines: () => cap.text().split('\n'), stop: cap.stop };
}

function baseMac(i: number): string {
  return /link\/ether ([0-9a-f:]{17})/.exec(linkDetails(i, 'eth0'))![1];
}

async function stopAll(nodes: (Node | undefined)[]): Promise<void> {
  for (const n of nodes) if (n && n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGTERM');
  await Promise.all(nodes.map((n) => n && Promise.race([n.exited, sleep(5000)])));
}

for (const family of [4, 6] as const) {
  const vrid = family === 4 ? 60 : 61;
  const addr = family === 4 ? '10.63.0.60' : 'fd63::61';
  const vmac = family === 4 ? `vrrp.${vrid}` : `vrrp.${vrid}`;
  const mac = `00:00:5e:00:0${family === 4 ? 1 : 2}:${vrid.toString(16)}`;

  test(`IPv${family} use_vmac: VMAC ${mac} with the VIP, observer keeps the MAC across failover to keepalived, removed at SIGTERM`, {
    skip,
    timeout: 60_000,
  }, async () => {
    const inst = (prio: number) =>
      instance('VI_1', {
        virtualRouterId: vrid,
        priority: prio,
        useVmac: true,
        family,
        version: family === 6 ? 3 : 2,
        virtualIpaddress: [vip(addr, family === 4 ? 24 : 64)],
      });
    let t: Node | undefined;
    let k: (Node & { vrrpPid: () => number | undefined }) | undefined;
    const cap = capture();
    try {
      await sleep(300); // tcpdump listening
      t = startTsNode(lan, 0, lan.writeJson(`vmac${family}.json`, config({ instances: [inst(150)] })));
      await waitFor('tskeepalived MASTER with the VIP on its VMAC', () => addressesOn(0, vmac).includes(` ${addr}/`), 8000);
      const details = linkDetails(0, vmac);
      assert.match(details, new RegExp(`${vmac}@eth0`), 'a macvlan on eth0');
      assert.match(details, new RegExp(`link/ether ${mac} `), 'the VRRP virtual MAC');
      assert.match(details, /macvlan mode private/, 'private mode, as keepalived');
      assert.ok(!lan.hasAddress(0, addr), 'the VIP is not on the base interface');
      if (family === 4) {
        const sysctl = (path: string) => sh('ip', ['netns', 'exec', ns(0), 'cat', `/proc/sys/net/ipv4/conf/${path}`]).out.trim();
        assert.equal(sysctl(`${vmac}/arp_ignore`), '1');
        assert.equal(sysctl(`${vmac}/accept_local`), '1');
        assert.equal(sysctl(`${vmac}/rp_filter`), '0');
        assert.equal(sysctl('eth0/arp_ignore'), '1');
        assert.equal(sysctl('eth0/arp_filter'), '1');
      } else {
        const baseLl = /inet6 (fe80::[0-9a-f:]+)\/64/.exec(addressesOn(0, 'eth0'))?.[1];
        assert.ok(baseLl, 'eth0 has a link-local address');
        const vmacAddrs = addressesOn(0, vmac);
        assert.ok(vmacAddrs.includes(`inet6 ${baseLl}/64`), `the VMAC sends from eth0's link-local ${baseLl}: ${vmacAddrs}`);
        assert.equal((vmacAddrs.match(/inet6 fe80::/g) ?? []).length, 1, 'no EUI-64 link-local from the virtual MAC (addr_gen_mode none)');
      }

      // the observer learns the VIP's MAC from the gratuitous ARP / unsolicited NA burst alone
      await waitFor('observer neighbour entry from GARP/NA', () => observedMac(addr) === mac, 8000);
      assert.ok(ping(addr), 'the VIP answers');
      assert.equal(observedMac(addr), mac, 'resolved to the virtual MAC');
      // adverts and the GARP / NA burst leave with the virtual MAC
      const advertDst = family === 4 ? '01:00:5e:00:00:12' : '33:33:00:00:00:12';
      const announce = family === 4 ? `${mac} > ff:ff:ff:ff:ff:ff, ethertype ARP` : `${mac} > 33:33:00:00:00:01`;
      await waitFor(
        `adverts and GARP / NA from ${mac} captured`,
        () => cap.lines().some((l) => l.includes(`${mac} > ${advertDst}`)) && cap.lines().some((l) => l.includes(announce)),
        3000,
      );
      assert.ok(!cap.lines().some((l) => l.includes(`${baseMac(0)} > ${advertDst}`)), 'no advert from the base MAC');

      // a keepalived peer with use_vmac accepts our adverts (its VMAC hears them in private mode)
      k = startKeepalived(lan, 1, lan.writeText(`vmac${family}.conf`, keepalivedConf(config({ instances: [inst(100)] }))), `vmac${family}`);
      await waitFor('keepalived BACKUP', () => k!.has(/Entering BACKUP STATE/), 6000);
      await waitFor('keepalived VMAC', () => linkDetails(1, vmac).includes(`link/ether ${mac}`), 3000);
      await sleep(4500);
      assert.ok(!k.has(/Entering MASTER STATE/), 'keepalived stays BACKUP while we advertise');
      assert.ok(!addressesOn(1, vmac).includes(` ${addr}/`));

      // failover: the VIP moves, its MAC does not
      t.proc.kill('SIGTERM');
      await waitFor('tskeepalived exits', () => t!.proc.exitCode !== null, 5000);
      await waitFor('keepalived takes over', () => addressesOn(1, vmac).includes(` ${addr}/`), 3000, 5);
      assert.equal(linkDetails(0, vmac), '', 'our VMAC is deleted at SIGTERM');
      if (family === 4)
        assert.equal(sh('ip', ['netns', 'exec', ns(0), 'cat', '/proc/sys/net/ipv4/conf/eth0/arp_ignore']).out.trim(), '0', 'eth0 settings restored');
      await sleep(1500);
      assert.ok(ping(addr), 'the VIP answers from keepalived');
      assert.equal(observedMac(addr), mac, 'the observer still has the same MAC');
      assert.ok(addressesOn(1, vmac).includes(` ${addr}/`), 'and it is keepalived that answers');
    } finally {
      await cap.stop();
      await stopAll([t, k]);
    }
  });
}

test('vmac_xmit_base: the VIP and its GARPs on the VMAC, adverts from the base interface; keepalived BACKUP accepts them', {
  skip,
  timeout: 40_000,
}, async () => {
  const addr = '10.63.0.63';
  const inst = (prio: number) => instance('VI_1', { virtualRouterId: 63, priority: prio, useVmac: true, vmacXmitBase: true, virtualIpaddress: [vip(addr)] });
  const cap = capture();
  let t: Node | undefined;
  let k: Node | undefined;
  try {
    await sleep(300);
    t = startTsNode(lan, 0, lan.writeJson('xb.json', config({ instances: [inst(150)] })));
    await waitFor('tskeepalived MASTER with the VIP on its VMAC', () => addressesOn(0, 'vrrp.63').includes(` ${addr}/`), 8000);
    k = startKeepalived(lan, 1, lan.writeText('xb.conf', keepalivedConf(config({ instances: [inst(100)] }))), 'xb');
    await waitFor('keepalived BACKUP', () => k!.has(/Entering BACKUP STATE/), 6000);
    await sleep(4000);
    assert.ok(!k.has(/Entering MASTER STATE/), 'keepalived accepts adverts from the base interface');
    const base = baseMac(0);
    await waitFor(
      'adverts from the base MAC, GARP from the virtual MAC',
      () =>
        cap.lines().some((l) => l.includes(`${base} > 01:00:5e:00:00:12`)) &&
        cap.lines().some((l) => l.includes('00:00:5e:00:01:3f > ff:ff:ff:ff:ff:ff, ethertype ARP')),
      3000,
    );
    assert.ok(!cap.lines().some((l) => l.includes('00:00:5e:00:01:3f > 01:00:5e:00:00:12')), 'no advert from the virtual MAC');
  } finally {
    await cap.stop();
    await stopAll([t, k]);
  }
});

test('use_vmac_addr puts the other-family eVIP on its own VMAC; use_vmac on an address line; disable_local_igmp; all removed at SIGTERM', {
  skip,
  timeout: 40_000,
}, async () => {
  const a = instance('VI_A', {
    virtualRouterId: 64,
    priority: 150,
    useVmac: true,
    useVmacAddr: true,
    virtualIpaddress: [vip('10.63.0.64')],
    virtualIpaddressExcluded: [vip('fd63::64', 64)],
  });
  const b = instance('VI_B', { virtualRouterId: 65, priority: 150, virtualIpaddress: [vip('10.63.0.65', 24, { useVmac: true }), vip('10.63.0.66')] });
  const igmpReports = () => sh('ip', ['netns', 'exec', ns(0), 'cat', '/proc/sys/net/ipv4/igmp_link_local_mcast_reports']).out.trim();
  assert.equal(igmpReports(), '1');
  const raw = [{ keyword: 'disable_local_igmp', args: [], loc: { file: 'test.conf', line: 1 } }];
  const t = startTsNode(lan, 0, lan.writeJson('addr.json', config({ global: { raw }, instances: [a, b] })));
  try {
    await waitFor('disable_local_igmp applied', () => igmpReports() === '0', 5000);
    await waitFor('both MASTER', () => addressesOn(0, 'vrrp.64').includes(' 10.63.0.64/') && addressesOn(0, 'vrrp.65').includes(' 10.63.0.65/'), 8000);
    await waitFor('the IPv6 eVIP on its VMAC', () => addressesOn(0, 'vrrp6.64').includes(' fd63::64/'), 2000);
    assert.match(linkDetails(0, 'vrrp6.64'), /link\/ether 00:00:5e:00:02:40 /, 'an IPv6 VMAC for the eVIP');
    assert.match(linkDetails(0, 'vrrp.65'), /link\/ether 00:00:5e:00:01:41 .*[\s\S]*macvlan mode private/, 'a VMAC for the use_vmac address');
    assert.ok(lan.hasAddress(0, '10.63.0.66'), 'the address without use_vmac stays on eth0');
    await waitFor(
      'observer learns the eVIP and the use_vmac address',
      () => observedMac('fd63::64') === '00:00:5e:00:02:40' && observedMac('10.63.0.65') === '00:00:5e:00:01:41',
      8000,
    );
    assert.ok(ping('fd63::64') && ping('10.63.0.65'));
  } finally {
    await stopAll([t]);
  }
  for (const name of ['vrrp.64', 'vrrp6.64', 'vrrp.65']) assert.equal(linkDetails(0, name), '', `${name} removed`);
  assert.equal(igmpReports(), '1', 'igmp_link_local_mcast_reports restored');
});

test('-V keeps the VMAC and its VIP at SIGTERM; the next start takes the VMAC over and removes it at its SIGTERM', { skip, timeout: 40_000 }, async () => {
  const conf = lan.writeJson(
    'keep.json',
    config({ instances: [instance('VI_1', { virtualRouterId: 67, priority: 150, useVmac: true, virtualIpaddress: [vip('10.63.0.67')] })] }),
  );
  const t1 = startTsNode(lan, 0, conf, ['-V']);
  try {
    await waitFor('MASTER', () => addressesOn(0, 'vrrp.67').includes(' 10.63.0.67/'), 8000);
    t1.proc.kill('SIGTERM');
    await waitFor('exit', () => t1.proc.exitCode !== null, 5000);
    assert.match(linkDetails(0, 'vrrp.67'), /00:00:5e:00:01:43/, 'VMAC kept (-V)');
    assert.ok(addressesOn(0, 'vrrp.67').includes(' 10.63.0.67/'), 'VIP kept (-V)');
  } finally {
    await stopAll([t1]);
  }
  const t2 = startTsNode(lan, 0, conf);
  try {
    await waitFor('takes the VMAC over', () => t2.has(/Using existing VMAC interface vrrp\.67/), 5000);
    await waitFor('MASTER again', () => t2.has(/Entering MASTER STATE/), 8000);
    assert.ok(addressesOn(0, 'vrrp.67').includes(' 10.63.0.67/'));
  } finally {
    await stopAll([t2]);
  }
  assert.equal(linkDetails(0, 'vrrp.67'), '', 'removed without -V');
});

test('a VMAC deleted by hand while MASTER is re-created with its VIP, and the VIP answers from it again', { skip, timeout: 30_000 }, async () => {
  const addr = '10.63.0.68';
  const t = startTsNode(
    lan,
    0,
    lan.writeJson('del.json', config({ instances: [instance('VI_1', { virtualRouterId: 68, priority: 150, useVmac: true, virtualIpaddress: [vip(addr)] })] })),
  );
  try {
    await waitFor('MASTER', () => addressesOn(0, 'vrrp.68').includes(` ${addr}/`), 8000);
    assert.equal(sh('ip', ['-n', ns(0), 'link', 'del', 'vrrp.68']).code, 0);
    await waitFor(
      're-created with the VIP',
      () => linkDetails(0, 'vrrp.68').includes('00:00:5e:00:01:44') && addressesOn(0, 'vrrp.68').includes(` ${addr}/`),
      3000,
    );
    await waitFor('re-creation logged', () => t.has(/VMAC interface vrrp\.68 was deleted, re-creating it/), 2000);
    await waitFor('the VIP answers with the virtual MAC', () => ping(addr) && observedMac(addr) === '00:00:5e:00:01:44', 5000, 100);
    // still advertising from the new interface: the socket followed it
    const cap = capture();
    try {
      await waitFor('adverts from the re-created VMAC', () => cap.lines().some((l) => l.includes('00:00:5e:00:01:44 > 01:00:5e:00:00:12')), 4000);
    } finally {
      await cap.stop();
    }
    assert.ok(!t.has(/send failed/), t.lines.join('\n'));
  } finally {
    await stopAll([t]);
  }
  assert.equal(linkDetails(0, 'vrrp.68'), '');
});

test('use_vmac NAME with a configured 5-octet MAC; tskeepalived BACKUP on its VMAC hears keepalived and takes over on its SIGTERM', {
  skip,
  timeout: 40_000,
}, async () => {
  const addr = '10.63.0.62';
  const k = startKeepalived(
    lan,
    1,
    lan.writeText(
      'vmacb.conf',
      keepalivedConf(config({ instances: [instance('VI_1', { virtualRouterId: 62, priority: 200, useVmac: 'vk62', virtualIpaddress: [vip(addr)] })] })),
    ),
    'vmacb',
  );
  let t: Node | undefined;
  try {
    await waitFor('keepalived MASTER', () => addressesOn(1, 'vk62').includes(` ${addr}/`), 8000);
    t = startTsNode(
      lan,
      0,
      lan.writeJson(
        'vmacb.json',
        config({
          instances: [instance('VI_1', { virtualRouterId: 62, priority: 100, useVmac: 'vt62', vmacMac: '02:aa:bb:cc:dd', virtualIpaddress: [vip(addr)] })],
        }),
      ),
    );
    await waitFor('tskeepalived BACKUP', () => t!.has(/Entering BACKUP STATE/), 4000);
    assert.match(linkDetails(0, 'vt62'), /link\/ether 02:aa:bb:cc:dd:3e /, 'configured MAC, VRID as the 6th octet');
    await sleep(4500);
    assert.ok(!t.has(/Entering MASTER STATE/), 'keepalived adverts arrive on our VMAC');
    k.proc.kill('SIGTERM');
    await waitFor('tskeepalived takes over', () => addressesOn(0, 'vt62').includes(` ${addr}/`), 3000, 5);
    await waitFor('observer resolves the VIP to our configured MAC', () => ping(addr) && observedMac(addr) === '02:aa:bb:cc:dd:3e', 5000, 100);
  } finally {
    await stopAll([t, k]);
  }
  assert.equal(linkDetails(0, 'vt62'), '', 'VMAC removed at SIGTERM');
});
