// VRRP transport against a real keepalived 2.2.7 in network namespaces.
import assert from 'node:assert/strict';
import { parseIPv6 } from '../src/util/inet.js';
import { after, before, describe, it } from 'node:test';
import {
  createLab,
  destroyLab,
  hasCommand,
  isRoot,
  jsonLines,
  modUrl,
  nodeInNs,
  nsHasAddress,
  startKeepalived,
  startTcpdump,
  stopProcess,
  waitFor,
  type Lab,
} from './net-lab.js';

const skip = !isRoot ? 'needs root (network namespaces)' : !hasCommand('keepalived') || !hasCommand('tcpdump') ? 'needs keepalived and tcpdump' : false;

interface Rx {
  rx: true;
  src: string;
  dst: string;
  ttl: number;
  ifindex: number;
  hex: string;
  /** now - the kernel's receive time (SO_TIMESTAMPNS) when handled; null when not given */
  ageMs?: number | null;
}

/** Child program: open a VRRP socket, print every packet, send `packets` for sendMs, exit after totalMs. */
function senderReceiver(o: {
  ifname: string;
  family: 4 | 6;
  packetsHex: string[];
  hopLimit?: number;
  sendMs: number;
  totalMs: number;
  intervalMs: number;
}): string {
  return `
    const { openVrrpSocket } = await import(${JSON.stringify(modUrl('src/net/vrrp-socket.js'))});
    const s = openVrrpSocket({ ifname: ${JSON.stringify(o.ifname)}, family: ${o.family} });
    s.onPacket((p) => console.log(JSON.stringify({ rx: true, src: p.src, dst: p.dst, ttl: p.ttl, ifindex: p.ifindex, hex: p.payload.toString('hex'), ageMs: p.receivedAt === undefined ? null : performance.timeOrigin + performance.now() - p.receivedAt })));
    console.log(JSON.stringify({ ready: true, ifindex: s.ifindex, source: s.sourceAddress() }));
    const pkts = ${JSON.stringify(o.packetsHex)}.map((h) => Buffer.from(h, 'hex'));
    const sendAll = () => { for (const p of pkts) s.send(p, undefined, ${o.hopLimit === undefined ? '{}' : `{ hopLimit: ${o.hopLimit} }`}); console.log(JSON.stringify({ sent: Date.now() })); };
    if (pkts.length) {
      sendAll();
      const iv = setInterval(sendAll, ${o.intervalMs});
      setTimeout(() => { clearInterval(iv); console.log(JSON.stringify({ stopped: Date.now() })); }, ${o.sendMs});
    }
    setTimeout(() => { s.close(); process.exit(0); }, ${o.totalMs});
  `;
}

/** Hand-built VRRPv2 advert (RFC 3768), checksum over the VRRP message. */
function vrrpV2(vrid: number, prio: number, vip: string): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x21;
  b[1] = vrid;
  b[2] = prio;
  b[3] = 1; // one address
  b[4] = 0; // no auth
  b[5] = 1; // advert interval 1 s
  Buffer.from(vip.split('.').map(Number)).copy(b, 8);
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += b.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, 6);
  return b;
}

describe('VRRP transport (IPv4) vs keepalived', { skip }, () => {
  let lab: Lab;
  before(() => {
    lab = createLab('v4', 171);
  });
  after(() => (lab ? destroyLab(lab) : undefined));

  it('our adverts keep keepalived BACKUP (TTL 255, proto 112, 224.0.0.18); after we stop it goes MASTER and we receive its adverts', async () => {
    const vip = `${lab.net4}.100`;
    const dump = await startTcpdump(lab, lab.b, lab.vb, `ip proto 112 and src ${lab.ipA}`, 2, 9);
    const ka = startKeepalived(
      lab,
      lab.b,
      'ka4',
      `vrrp_instance T4 {\n  state BACKUP\n  interface ${lab.vb}\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    ${vip}/24\n  }\n}\n`,
    );
    const child = nodeInNs(
      lab,
      lab.a,
      senderReceiver({ ifname: lab.va, family: 4, packetsHex: [vrrpV2(51, 200, vip).toString('hex')], sendMs: 3200, totalMs: 8500, intervalMs: 1000 }),
    );
    // keepalived as MASTER adds the VIP: it must not appear while we send
    let masterWhileSending = false;
    const stopped = await waitFor(
      () => {
        masterWhileSending ||= nsHasAddress(lab.b, vip);
        return child.stdout().includes('"stopped"');
      },
      8000,
      100,
    );
    assert.ok(stopped, `sender did not run: ${child.stderr()}`);
    assert.ok(!masterWhileSending && !nsHasAddress(lab.b, vip), `keepalived became MASTER while we sent:\n${ka.stdout()}${ka.stderr()}`);
    const stopAt = Date.now();
    const master = await waitFor(() => nsHasAddress(lab.b, vip), 6000, 100);
    assert.ok(master, `keepalived did not take over after we stopped:\n${ka.stdout()}${ka.stderr()}`);
    const takeoverMs = Date.now() - stopAt;
    await child.exited;
    await stopProcess(ka);
    await dump.exited;

    const seen = dump.stdout();
    assert.match(seen, /ttl 255/, seen);
    assert.match(seen, /proto VRRP \(112\)/, seen);
    assert.match(seen, new RegExp(`${lab.ipA.replace(/\./g, '\\.')} > 224\\.0\\.0\\.18: VRRPv2, Advertisement, vrid 51, prio 200`), seen);

    const rx = jsonLines<Rx>(child.stdout()).filter((l) => l.rx);
    assert.ok(rx.length >= 1, `no advert from keepalived received:\n${child.stdout()}\n${child.stderr()}`);
    for (const p of rx) {
      assert.ok(typeof p.ageMs === 'number' && p.ageMs >= 0 && p.ageMs < 1000, `kernel receive time: age ${p.ageMs}`);
      assert.equal(p.src, lab.ipB);
      assert.equal(p.dst, '224.0.0.18');
      assert.equal(p.ttl, 255);
      const pkt = Buffer.from(p.hex, 'hex');
      assert.equal(pkt[0], 0x21, 'VRRPv2 advertisement');
      assert.equal(pkt[1], 51);
      assert.equal(pkt[2], 100);
    }
    const ready = jsonLines<{ ready?: boolean; ifindex: number; source: string }>(child.stdout()).find((l) => l.ready)!;
    assert.equal(ready.source, lab.ipA);
    assert.equal(rx[0].ifindex, ready.ifindex);
    assert.ok(takeoverMs < 6000, `takeover after ${takeoverMs} ms`);
  });
});

describe('VRRP transport (IPv6) vs keepalived', { skip }, () => {
  let lab: Lab;
  before(() => {
    lab = createLab('v6', 172);
  });
  after(() => (lab ? destroyLab(lab) : undefined));

  it('our VRRPv3 adverts keep keepalived BACKUP; then we receive its adverts with hop limit 255, and see 254 on a packet sent with 254', async () => {
    const vip = `${lab.net6}100`;
    // VRRPv3 advert (RFC 5798): vrid 52, prio 250, one address, max advert 50 cs; the kernel fills the checksum
    const ours = Buffer.concat([Buffer.from('3134fa0100320000', 'hex'), parseIPv6(vip)]);
    const child = nodeInNs(
      lab,
      lab.a,
      senderReceiver({ ifname: lab.va, family: 6, packetsHex: [ours.toString('hex')], sendMs: 2500, totalMs: 7000, intervalMs: 500 }),
    );
    assert.ok(await waitFor(() => child.stdout().includes('"ready"'), 4000), child.stderr());
    const ka = startKeepalived(
      lab,
      lab.b,
      'ka6',
      `vrrp_instance T6 {\n  state BACKUP\n  version 3\n  interface ${lab.vb}\n  virtual_router_id 52\n  priority 200\n  advert_int 0.5\n  virtual_ipaddress {\n    ${vip}/64\n  }\n}\n`,
    );
    let masterWhileSending = false;
    assert.ok(
      await waitFor(
        () => {
          masterWhileSending ||= nsHasAddress(lab.b, vip);
          return child.stdout().includes('"stopped"');
        },
        5000,
        100,
      ),
      child.stderr(),
    );
    assert.ok(!masterWhileSending, `keepalived became MASTER while we sent:\n${ka.stdout()}${ka.stderr()}`);
    assert.ok(await waitFor(() => nsHasAddress(lab.b, vip), 4000, 100), `keepalived did not take over:\n${ka.stdout()}${ka.stderr()}`);
    // a VRRPv3 advert (vrid 99) sent from B with hop limit 254: a receiver must be able to reject it
    const low = Buffer.concat([Buffer.from('3163c80100320000', 'hex'), parseIPv6(`${lab.net6}99`)]);
    const lowHops = nodeInNs(
      lab,
      lab.b,
      senderReceiver({ ifname: lab.vb, family: 6, packetsHex: [low.toString('hex')], hopLimit: 254, sendMs: 900, totalMs: 1000, intervalMs: 300 }),
    );
    await lowHops.exited;
    assert.ok(
      await waitFor(() => jsonLines<Rx>(child.stdout()).some((l) => l.rx && l.hex.startsWith('3134')), 3000),
      `no keepalived advert:\n${ka.stdout()}\n${child.stdout()}\n${child.stderr()}`,
    );
    await stopProcess(ka);
    await stopProcess(child);
    const rx = jsonLines<Rx>(child.stdout()).filter((l) => l.rx);
    const fromKa = rx.filter((l) => l.hex.startsWith('3134'));
    const lowRx = rx.filter((l) => l.hex.startsWith('3163'));
    assert.ok(fromKa.length >= 1);
    for (const p of fromKa) {
      assert.equal(p.ttl, 255);
      assert.equal(p.dst, 'ff02::12');
      assert.match(p.src, /^fe80::/);
    }
    // priority 200 while MASTER (a priority-0 advert may follow when it shuts down)
    assert.equal(Buffer.from(fromKa[0].hex, 'hex')[2], 200);
    assert.ok(lowRx.length >= 1, `hop-limit-254 packets not received: ${JSON.stringify(rx)}`);
    for (const p of lowRx) assert.equal(p.ttl, 254);
  });
});

describe('VRRP transport: unicast peers, source address, shared sockets', { skip }, () => {
  let lab: Lab;
  before(() => {
    lab = createLab('uc', 175);
  });
  after(() => (lab ? destroyLab(lab) : undefined));

  it('exchanges unicast adverts with keepalived (unicast_peer), sends from a chosen source, shares one socket per interface', async () => {
    const extra = `${lab.net4}.5`;
    const dump = await startTcpdump(lab, lab.b, lab.vb, `ip proto 112 and src ${extra}`, 1, 8);
    const ka = startKeepalived(
      lab,
      lab.b,
      'kauc',
      `vrrp_instance U4 {\n  state MASTER\n  version 3\n  interface ${lab.vb}\n  virtual_router_id 61\n  priority 200\n  advert_int 0.5\n  unicast_src_ip ${lab.ipB}\n  unicast_peer {\n    ${lab.ipA}\n  }\n  virtual_ipaddress {\n    ${lab.net4}.200/24\n  }\n}\n`,
    );
    const child = nodeInNs(
      lab,
      lab.a,
      `
      const { execFileSync } = await import('node:child_process');
      execFileSync('ip', ['addr', 'add', '${extra}/24', 'dev', ${JSON.stringify(lab.va)}]);
      const v = await import(${JSON.stringify(modUrl('src/net/vrrp-socket.js'))});
      const uc = v.openVrrpSocket({ ifname: ${JSON.stringify(lab.va)}, family: 4, unicast: true, srcAddress: '${extra}' });
      const m1 = v.openVrrpSocket({ ifname: ${JSON.stringify(lab.va)}, family: 4 });
      const m2 = v.openVrrpSocket({ ifname: ${JSON.stringify(lab.va)}, family: 4 });
      const m6 = v.openVrrpSocket({ ifname: ${JSON.stringify(lab.va)}, family: 6 });
      const out = (o) => console.log(JSON.stringify(o));
      out({ count: v.openVrrpSocketCount(), source: uc.sourceAddress() });
      m2.close();
      out({ countAfterClose: v.openVrrpSocketCount() });
      let got = 0;
      uc.onPacket((p) => { got++; out({ rx: true, src: p.src, dst: p.dst, ttl: p.ttl, ifindex: p.ifindex, hex: p.payload.toString('hex'), ageMs: p.receivedAt === undefined ? null : performance.timeOrigin + performance.now() - p.receivedAt }); });
      const advert = Buffer.from('3141640100320000' + '${Buffer.from(`${lab.net4}.201`.split('.').map(Number)).toString('hex')}', 'hex');
      uc.send(advert, '${lab.ipB}');
      try { uc.send(advert, 'fd00::1'); } catch (e) { out({ wrongFamily: e.message }); }
      for (let i = 0; i < 80 && got < 2; i++) await new Promise((r) => setTimeout(r, 50));
      uc.close(); m1.close(); m6.close();
      out({ countEnd: v.openVrrpSocketCount() });
      process.exit(0);
    `,
    );
    await child.exited;
    await stopProcess(ka);
    await dump.exited;
    const lines = jsonLines<Record<string, any>>(child.stdout());
    const first = lines.find((l) => 'count' in l);
    assert.ok(first, child.stderr());
    assert.equal(first.count, 3, 'IPv4 multicast (shared by 2), IPv4 unicast, IPv6 multicast');
    assert.equal(first.source, extra);
    assert.equal(lines.find((l) => 'countAfterClose' in l)?.countAfterClose, 3);
    assert.equal(lines.find((l) => 'countEnd' in l)?.countEnd, 0);
    assert.match(lines.find((l) => 'wrongFamily' in l)?.wrongFamily, /destination "fd00::1" is not an IPv4 address/);
    const rx = lines.filter((l) => l.rx);
    assert.ok(rx.length >= 1, `no unicast advert from keepalived: ${child.stdout()} ${ka.stdout()}`);
    for (const p of rx) {
      assert.ok(typeof p.ageMs === 'number' && p.ageMs >= 0 && p.ageMs < 1000, `kernel receive time: age ${p.ageMs}`);
      assert.equal(p.src, lab.ipB);
      assert.equal(p.dst, lab.ipA);
      assert.equal(p.ttl, 255);
      assert.equal(p.hex.slice(0, 4), '313d'); // VRRPv3 advert, vrid 61
    }
    const seen = dump.stdout();
    assert.match(
      seen,
      new RegExp(
        `ttl 255.*proto VRRP \\(112\\).*\\n.*${extra.replace(/\./g, '\\.')} > ${lab.ipB.replace(/\./g, '\\.')}: VRRPv3, Advertisement, vrid 65, prio 100`,
      ),
      seen,
    );
  });

  it('keeps receiving after the interface is deleted and re-created under the same name', async () => {
    const child = nodeInNs(
      lab,
      lab.a,
      `
      const { execFileSync } = await import('node:child_process');
      const v = await import(${JSON.stringify(modUrl('src/net/vrrp-socket.js'))});
      const out = (o) => console.log(JSON.stringify(o));
      const s = v.openVrrpSocket({ ifname: ${JSON.stringify(lab.va)}, family: 4 });
      let got = 0;
      s.onPacket((p) => { got++; });
      const before = s.ifindex;
      const ip = (...a) => execFileSync('ip', a);
      ip('link', 'del', ${JSON.stringify(lab.va)});
      ip('link', 'add', ${JSON.stringify(lab.va)}, 'type', 'veth', 'peer', 'name', ${JSON.stringify(lab.vb)}, 'netns', ${JSON.stringify(lab.b)});
      ip('addr', 'add', '${lab.ipA}/24', 'dev', ${JSON.stringify(lab.va)});
      ip('link', 'set', ${JSON.stringify(lab.va)}, 'up');
      ip('-n', ${JSON.stringify(lab.b)}, 'addr', 'add', '${lab.ipB}/24', 'dev', ${JSON.stringify(lab.vb)});
      ip('-n', ${JSON.stringify(lab.b)}, 'link', 'set', ${JSON.stringify(lab.vb)}, 'up');
      for (let i = 0; i < 40 && s.ifindex === before; i++) await new Promise((r) => setTimeout(r, 25));
      out({ recreated: true, before, after: s.ifindex });
      for (let i = 0; i < 60 && got < 3; i++) await new Promise((r) => setTimeout(r, 50));
      out({ got });
      s.close();
      process.exit(0);
    `,
    );
    assert.ok(await waitFor(() => child.stdout().includes('"recreated"'), 5000), child.stderr());
    const sender = nodeInNs(
      lab,
      lab.b,
      senderReceiver({
        ifname: lab.vb,
        family: 4,
        packetsHex: [vrrpV2(70, 100, `${lab.net4}.70`).toString('hex')],
        sendMs: 2000,
        totalMs: 2100,
        intervalMs: 100,
      }),
    );
    await child.exited;
    await sender.exited;
    const lines = jsonLines<Record<string, number>>(child.stdout());
    const re = lines.find((l) => 'recreated' in l)!;
    assert.notEqual(re.after, re.before, 'the socket follows the new ifindex');
    assert.ok((lines.find((l) => 'got' in l)?.got ?? 0) >= 3, child.stdout() + sender.stderr());
  });
});
