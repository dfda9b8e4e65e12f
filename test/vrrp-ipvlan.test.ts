// use_ipvlan: the rtnetlink messages and the config line without a network; on this kernel (no
// ipvlan) the instance goes FAULT as keepalived 2.2.7 does; on a kernel with ipvlan (the IPVS VM,
// `npm run test:ipvs-vm`) keepalived 2.2.7 and tskeepalived run the same keepalived.conf in turn: the
// same l2 ipvlan (`ip -d -j link show`), its address and the VIP on it, reachable, removed at stop.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { decodeMessages, encodeMessage } from '../src/net/netlink-codec.js';
import { encodeNewIpvlan } from '../src/net/rtnl-ipvlan.js';
import { decodeLink } from '../src/net/rtnl-link.js';
import { planVmacs } from '../src/vrrp/vmac.js';
import { spawnSync } from 'node:child_process';
import { Lan, startKeepalived, startTsDaemon, waitFor, sleep, isRoot, sh, type Node } from './vrrp-helpers.js';
import { ifinfomsg, skipBE, tlv, u16, u32 } from './rtnl-fixtures.js';

describe('rtnetlink ipvlan messages', { skip: skipBE }, () => {
  it('RTM_NEWLINK creating an l2 ipvlan: ifinfomsg, IFLA_LINK, IFLA_IFNAME, IFLA_LINKINFO{kind "ipvlan", data{IFLA_IPVLAN_MODE u16, IFLA_IPVLAN_FLAGS u16}}', () => {
    const got = encodeNewIpvlan({ name: 'vrrp.51', linkIndex: 3, flags: 1 });
    const linkinfo = tlv(18, Buffer.concat([tlv(1, Buffer.from('ipvlan')), tlv(2, Buffer.concat([tlv(1, u16(0)), tlv(2, u16(1))]))]));
    assert.equal(got.toString('hex'), Buffer.concat([ifinfomsg(0), tlv(5, u32(3)), tlv(3, Buffer.from('vrrp.51\0')), linkinfo]).toString('hex'));
    // spelled out once: "ipvlan" padded to 12 bytes, each u16 attribute 8 (6 + 2 padding)
    assert.equal(
      linkinfo.toString('hex'),
      '24001200' + '0a000100' + Buffer.from('ipvlan').toString('hex') + '0000' + '14000200' + '060001000000' + '0000' + '060002000100' + '0000',
    );
    // bridge (flags 0) and vepa (2)
    assert.match(encodeNewIpvlan({ name: 'i', linkIndex: 3 }).toString('hex'), /060002000000/);
    assert.match(encodeNewIpvlan({ name: 'i', linkIndex: 3, flags: 2 }).toString('hex'), /060002000200/);
  });

  it('link decoding reports an ipvlan: kind, mode, flags and the lower device', () => {
    const linkinfo = tlv(18, Buffer.concat([tlv(1, Buffer.from('ipvlan')), tlv(2, Buffer.concat([tlv(1, u16(0)), tlv(2, u16(2))]))]));
    const payload = Buffer.concat([ifinfomsg(14), tlv(3, Buffer.from('vrrp.51\0')), tlv(5, u32(3)), linkinfo]);
    const [m] = decodeMessages(encodeMessage({ type: 16, flags: 0, payload }));
    const l = decodeLink(m!);
    assert.deepEqual([l.name, l.kind, l.ipvlanMode, l.ipvlanFlags, l.linkIndex], ['vrrp.51', 'ipvlan', 0, 2, 3]);
  });
});

describe('use_ipvlan in keepalived.conf (keepalived 2.2.7: [NAME] [ADDRESS[/LEN]] [bridge|private|vepa], always l2)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tkipv-conf-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let k = 0;
  const load = (line: string) => {
    const f = join(dir, `v${k++}.conf`);
    writeFileSync(f, `vrrp_instance V {\n interface eth0\n virtual_router_id 51\n ${line}\n virtual_ipaddress {\n  10.0.0.1/24\n }\n}\n`);
    return loadConfig(f, { interfaces: ['lo', 'eth0'], configId: 'test' });
  };

  it('words in any order; the address is the adverts source unless one was configured; the name defaults as a VMAC', () => {
    const a = load('use_ipvlan private 10.0.0.50/24 ipv0').config.vrrpInstances[0]!;
    assert.deepEqual(a.useIpvlan, { flags: 'private', address: { address: '10.0.0.50', prefixLen: 24, family: 4 }, name: 'ipv0' });
    assert.equal(a.mcastSrcIp, '10.0.0.50');
    const b = load('use_ipvlan').config.vrrpInstances[0]!;
    assert.deepEqual(b.useIpvlan, { flags: 'bridge' });
    assert.equal(planVmacs([b], {}).get('V')?.main, 'vrrp.51');
    assert.equal(load('use_ipvlan 10.0.0.50').config.vrrpInstances[0]!.useIpvlan?.address?.prefixLen, 32);
    assert.equal(load('unicast_src_ip 10.0.0.9\n use_ipvlan 10.0.0.50').config.vrrpInstances[0]!.unicastSrcIp, '10.0.0.9');
  });

  it("keepalived's complaints", () => {
    const msg = (line: string) =>
      load(line)
        .diagnostics.map((d) => d.message)
        .join('\n');
    assert.match(msg('use_ipvlan private vepa'), /\(V\) ipvlan type already specified - ignoring 'vepa'/);
    assert.match(msg('use_ipvlan 10.0.0.5 10.0.0.6'), /\(V\) ipvlan address already specified - ignoring '10.0.0.6'/);
    assert.match(msg('use_ipvlan a b'), /\(V\) IPVLAN interface already specified - ignoring 'b'/);
    assert.match(msg('use_ipvlan averyveryverylongname'), /\(V\) IPVLAN interface name 'averyveryverylongname' too long - ignoring/);
    assert.match(msg('use_ipvlan\n use_ipvlan'), /\(V\) use_ipvlan already specified/);
  });
});

// ---- live: a kernel with ipvlan (the VM) or without (here) ----

const canRun = isRoot() && existsSync('/usr/sbin/keepalived');
let lan: Lan | undefined;
after(() => lan?.cleanup());

/** Whether this kernel can make an ipvlan (a probe on a veth in a namespace of its own). */
function kernelHasIpvlan(): boolean {
  const ns = `tkipvp-${process.pid}`;
  sh('ip', ['netns', 'add', ns]);
  try {
    sh('ip', ['-n', ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1']);
    return sh('ip', ['-n', ns, 'link', 'add', 'link', 'p0', 'name', 'probe', 'type', 'ipvlan', 'mode', 'l2']).code === 0;
  } finally {
    sh('ip', ['netns', 'del', ns]);
  }
}
const hasIpvlan = canRun && kernelHasIpvlan();
const liveLan = () => (lan ??= new Lan(`tkipv-${process.pid}`, 2, '10.67.0', 'fd67'));

// state MASTER: no master-down wait (the VM's emulated CPU is slow enough)
const CONF = `vrrp_instance IPV {
  state MASTER
  interface eth0
  use_ipvlan 10.67.0.50/24 private
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.67.0.101/24
  }
}
`;

const entered = (n: Node, state: string) =>
  n.lines.some((l) => l.includes(`(IPV)`) || l.includes('"instance":"IPV"')) && n.has(new RegExp(`Entering ${state} STATE`));

async function stop(n: Node): Promise<void> {
  if (n.proc.exitCode !== null || n.proc.signalCode !== null) return;
  n.proc.kill('SIGTERM');
  await Promise.race([n.exited, sleep(6000)]);
  n.proc.kill('SIGKILL');
}

interface Observed {
  link: Record<string, unknown>;
  /** "DEV ADDRESS/LEN" of every IPv4 address in namespace a while MASTER */
  addresses: string[];
  /** the source address of the adverts b receives */
  advert: string;
  vipReachable: boolean;
  gone: boolean;
}

function ipv4Addresses(ns: string): string[] {
  return sh('ip', ['-n', ns, '-o', '-4', 'addr', 'show'])
    .out.split('\n')
    .map((x) => /^\d+:\s+(\S+)\s+inet (\S+)/.exec(x))
    .filter((m): m is RegExpExecArray => !!m && m[1] !== 'lo')
    .map((m) => `${m[1]} ${m[2]}`)
    .sort();
}

/** The ipvlan as `ip -d -j link show` says, without what differs between two creations (index, statistics, timers). */
function ipvlanLink(ns: string): Record<string, unknown> | undefined {
  const r = sh('ip', ['-n', ns, '-d', '-j', 'link', 'show', 'vrrp.51']);
  if (r.code !== 0) return undefined;
  const l = (JSON.parse(r.out) as Record<string, unknown>[])[0]!;
  for (const k of [
    'ifindex',
    'link_index',
    'stats',
    'stats64',
    'num_tx_queues',
    'num_rx_queues',
    'gso_max_size',
    'gso_max_segs',
    'tso_max_size',
    'tso_max_segs',
    'gro_max_size',
    'gso_ipv4_max_size',
    'gro_ipv4_max_size',
  ])
    delete l[k];
  return l;
}

/** The source address of the next VRRP advert namespace ns receives on eth0 (our own socket layer; the VM has no tcpdump). */
function advertSource(ns: string): string {
  const mod = new URL('../src/net/vrrp-socket.js', import.meta.url).href;
  const code = `const { openVrrpSocket } = await import(${JSON.stringify(mod)}); const s = openVrrpSocket({ ifname: 'eth0', family: 4 }); s.onPacket((p) => { console.log('SRC ' + p.src); process.exit(0); });`;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 15_000 });
  return /SRC (\S+)/.exec(r.stdout ?? '')?.[1] ?? `none: ${r.stderr}`;
}

async function observe(start: () => Node): Promise<Observed> {
  const l = liveLan();
  const n = start();
  try {
    // node starts slowly under the VM's emulated CPU
    await waitFor('the ipvlan', () => ipvlanLink(l.namespaces[0]!) !== undefined, 60_000, 100);
    await waitFor('MASTER', () => entered(n, 'MASTER'), 10_000, 50);
    await waitFor('the VIP', () => ipv4Addresses(l.namespaces[0]!).some((a) => a.includes(' 10.67.0.101/24')), 3000, 50);
    await sleep(300);
    const link = ipvlanLink(l.namespaces[0]!)!;
    const addresses = ipv4Addresses(l.namespaces[0]!);
    const advert = advertSource(l.namespaces[1]!);
    const vipReachable = sh('ip', ['netns', 'exec', l.namespaces[1]!, 'ping', '-c', '1', '-W', '2', '10.67.0.101']).code === 0;
    await stop(n);
    await waitFor('the ipvlan removed', () => ipvlanLink(l.namespaces[0]!) === undefined, 5000, 50).catch(() => undefined);
    return { link, addresses, advert, vipReachable, gone: ipvlanLink(l.namespaces[0]!) === undefined };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${n.lines.slice(-30).join('\n')}`);
  } finally {
    await stop(n);
  }
}

describe('use_ipvlan on a live kernel', () => {
  it('without ipvlan in the kernel: "Unable to create ipvlan interface", FAULT, as keepalived 2.2.7', {
    skip: !canRun ? 'needs root and keepalived' : hasIpvlan ? 'this kernel has ipvlan' : false,
    timeout: 30_000,
  }, async () => {
    const l = liveLan();
    const conf = l.writeText('ipvlan.conf', CONF);
    for (const start of [() => startKeepalived(l, 0, conf, `ka-${Date.now()}`), () => startTsDaemon(l, 0, conf, `ts-${Date.now()}`)]) {
      const n = start();
      try {
        await waitFor('FAULT', () => n.has(/Unable to create ipvlan interface vrrp\.51/) && n.has(/FAULT/), 10_000, 50);
      } catch (e) {
        throw new Error(`${(e as Error).message}\n${n.lines.join('\n')}`);
      } finally {
        await stop(n);
      }
    }
  });

  it('keepalived 2.2.7 and tskeepalived make the same l2 ipvlan with its address and the VIP, and remove it at stop', {
    skip: !canRun ? 'needs root and keepalived' : !hasIpvlan ? 'this kernel has no ipvlan (npm run test:ipvs-vm runs it in a VM)' : false,
    timeout: 240_000,
  }, async (t) => {
    const l = liveLan();
    const conf = l.writeText('ipvlan.conf', CONF);
    const ka = await observe(() => startKeepalived(l, 0, conf, `ka-${Date.now()}`));
    t.diagnostic(`keepalived: ${JSON.stringify(ka)}`);
    const ts = await observe(() => startTsDaemon(l, 0, conf, `ts-${Date.now()}`));
    t.diagnostic(`tskeepalived: ${JSON.stringify(ts)}`);
    const info = ka.link.linkinfo as { info_kind: string; info_data: { mode: string; private?: boolean } };
    assert.equal(info.info_kind, 'ipvlan');
    assert.equal(info.info_data.mode, 'l2');
    assert.equal(info.info_data.private, true);
    // keepalived 2.2.7, as observed: the ipvlan has its address, the VIP stays on eth0, adverts come from the ipvlan's address
    assert.deepEqual(ka.addresses, ['eth0 10.67.0.1/24', 'eth0 10.67.0.101/24', 'vrrp.51 10.67.0.50/24']);
    assert.equal(ka.advert, '10.67.0.50');
    assert.equal(ka.vipReachable, true);
    assert.equal(ka.gone, true);
    assert.deepEqual(ts, ka);
  });
});
