// Gratuitous ARP, unsolicited neighbour advertisements, ICMP echo, and the missing-addon error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadAddon, NativeUnavailableError } from '../src/native/addon.js';
import { buildGratuitousArp } from '../src/net/arp.js';
import { buildEcho, classifyIcmp } from '../src/net/icmp.js';
import { internetChecksum } from '../src/util/internet-checksum.js';
import { buildUnsolicitedNa, icmpv6Checksum } from '../src/net/ndisc.js';
import { createLab, destroyLab, hasCommand, isRoot, jsonLines, modUrl, nodeInNs, startTcpdump, type Lab } from './net-lab.js';

const skip = !isRoot ? 'needs root (network namespaces)' : !hasCommand('tcpdump') ? 'needs tcpdump' : false;

describe('frame builders', () => {
  it('builds a 60-byte gratuitous ARP request announcing the address', () => {
    const f = buildGratuitousArp({ mac: '02:00:00:77:00:01', ip: '10.77.0.100' });
    assert.equal(
      f.toString('hex'),
      'ffffffffffff' +
        '020000770001' +
        '0806' +
        '0001' +
        '0800' +
        '06' +
        '04' +
        '0001' +
        '020000770001' +
        '0a4d0064' +
        '000000000000' +
        '0a4d0064' +
        '00'.repeat(18),
    );
    assert.equal(buildGratuitousArp({ mac: '02:00:00:77:00:01', ip: '10.77.0.100', reply: true }).readUInt16BE(20), 2);
    assert.throws(() => buildGratuitousArp({ mac: '02:00', ip: '10.0.0.1' }), /not a MAC address/);
  });
  it('builds an unsolicited NA with override flag and target link-layer option; checksum verifies', () => {
    const na = buildUnsolicitedNa({ target: 'fd77::100', mac: '02:00:00:77:00:01' }, { src: 'fd77::100', dst: 'ff02::1' });
    assert.equal(na.length, 32);
    assert.equal(na[0], 136);
    assert.equal(na.readUInt32BE(4), 0x20000000);
    assert.equal(na.subarray(24).toString('hex'), '0201020000770001');
    assert.equal(icmpv6Checksum('fd77::100', 'ff02::1', na), 0);
    assert.equal(buildUnsolicitedNa({ target: 'fd77::100', mac: '02:00:00:77:00:01', router: true }).readUInt32BE(4), 0xa0000000);
  });
  it('builds echo requests and matches replies and errors to them', () => {
    const req = buildEcho(4, 0x1234, 7, 16);
    assert.equal(internetChecksum(req), 0);
    const reply = Buffer.from(req);
    reply[0] = 0;
    assert.deepEqual(classifyIcmp(4, reply, 0x1234, 7), { kind: 'reply' });
    assert.deepEqual(classifyIcmp(4, reply, 0x1234, 8), { kind: 'other' });
    const ipHdr = Buffer.from('450000240000400040010000' + '0a000001' + '0a000063', 'hex');
    const unreach = Buffer.concat([Buffer.from([3, 1, 0, 0, 0, 0, 0, 0]), ipHdr, req.subarray(0, 8)]);
    assert.deepEqual(classifyIcmp(4, unreach, 0x1234, 7), { kind: 'error', text: 'destination unreachable (ICMP type 3 code 1)' });
  });
});

describe('missing native addon', () => {
  it('throws NativeUnavailableError naming the fix and the cause', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tkn-noaddon-'));
    try {
      const missing = join(dir, 'build', 'Release', 'tskeepalived_native.node');
      assert.throws(
        () => loadAddon([missing]),
        (e: unknown) => {
          assert.ok(e instanceof NativeUnavailableError);
          assert.match(e.message, /^native socket layer not built: run npm ci with python3, make and g\+\+ available/);
          assert.ok(e.message.includes(missing));
          assert.match(e.message, /no compiled addon file found/);
          return true;
        },
      );
      const corrupt = join(dir, 'corrupt.node');
      writeFileSync(corrupt, 'not an ELF object');
      assert.throws(() => loadAddon([corrupt]), /native socket layer not built: .*cause: .*(invalid ELF header|file too short)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('a process whose addon cannot be found gets the error from the first socket call, not a crash', () => {
    const code = `
      const { openVrrpSocket } = await import(${JSON.stringify(modUrl('src/net/vrrp-socket.js'))});
      try { openVrrpSocket({ ifname: 'lo', family: 4 }); console.log('opened?'); }
      catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
      env: { ...process.env, TSKEEPALIVED_NATIVE_PATH: '/nonexistent/tskeepalived_native.node' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    const [res] = jsonLines<{ name: string; message: string }>(r.stdout);
    assert.ok(res, r.stdout + r.stderr);
    assert.equal(res.name, 'NativeUnavailableError');
    assert.match(res.message, /run npm ci with python3, make and g\+\+ available .*\/nonexistent\/tskeepalived_native\.node/);
  });
});

describe('GARP, NA and ping in namespaces', { skip }, () => {
  let lab: Lab;
  before(() => {
    lab = createLab('l2', 174);
  });
  after(() => (lab ? destroyLab(lab) : undefined));

  it('a gratuitous ARP and an unsolicited NA from A are seen in B', async () => {
    const dump = await startTcpdump(lab, lab.b, lab.vb, 'arp or (icmp6 and ip6[40] == 136)', 2, 8);
    const child = nodeInNs(
      lab,
      lab.a,
      `
      const { GarpSender } = await import(${JSON.stringify(modUrl('src/net/arp.js'))});
      const { NaSender } = await import(${JSON.stringify(modUrl('src/net/ndisc.js'))});
      const { getLink } = await import(${JSON.stringify(modUrl('src/net/rtnl-link.js'))});
      const { addAddress } = await import(${JSON.stringify(modUrl('src/net/rtnl-addr.js'))});
      const link = getLink(${JSON.stringify(lab.va)});
      addAddress({ address: '${lab.net6}100', prefixLen: 64, ifindex: link.index, noDad: true });
      const g = new GarpSender();
      g.send(${JSON.stringify(lab.va)}, '${lab.net4}.100');
      g.close();
      const n = new NaSender(${JSON.stringify(lab.va)});
      n.send('${lab.net6}100');
      n.close();
      console.log(JSON.stringify({ mac: link.mac }));
    `,
    );
    await child.exited;
    const [{ mac }] = jsonLines<{ mac: string }>(child.stdout());
    assert.ok(mac, child.stderr());
    await dump.exited;
    const seen = dump.stdout();
    assert.match(
      seen,
      new RegExp(`${mac} > ff:ff:ff:ff:ff:ff, ethertype ARP \\(0x0806\\), length 60: .*Request who-has ${lab.net4}\\.100 tell ${lab.net4}\\.100`),
      seen,
    );
    assert.match(
      seen,
      new RegExp(
        `${mac} > 33:33:00:00:00:01, ethertype IPv6.*hlim 255.*${lab.net6}100 > ff02::1: \\[icmp6 sum ok\\] ICMP6, neighbor advertisement, length 32, tgt is ${lab.net6}100`,
        's',
      ),
      seen,
    );
    assert.match(seen, /Flags \[override\]/);
    assert.match(seen, new RegExp(`destination link-address option \\(2\\), length 8 \\(1\\): ${mac}`), seen);
  });

  it('pings a peer over IPv4 and IPv6 (also link-local via ifname), and reports timeouts and unreachable networks', async () => {
    const child = nodeInNs(
      lab,
      lab.a,
      `
      const { ping } = await import(${JSON.stringify(modUrl('src/net/icmp.js'))});
      const { listAddresses } = await import(${JSON.stringify(modUrl('src/net/rtnl-addr.js'))});
      const out = (k, v) => console.log(JSON.stringify({ k, v }));
      out('v4', await ping('${lab.ipB}', { timeoutMs: 2000 }));
      out('v4src', await ping('${lab.ipB}', { timeoutMs: 2000, ifname: ${JSON.stringify(lab.va)}, srcAddress: '${lab.ipA}' }));
      // warm-up: the first IPv6 packet waits for neighbour discovery, which may retransmit after 1 s
      // while the fresh veth joins its multicast groups; the rtt asserted below is the echo's own
      await ping('${lab.ip6B}', { timeoutMs: 3000 });
      out('v6', await ping('${lab.ip6B}', { timeoutMs: 2000 }));
      out('silent', await ping('${lab.net4}.99', { timeoutMs: 400 }));
      out('noroute', await ping('10.250.0.1', { timeoutMs: 400 }));
      out('bad', await ping('not-an-ip', { timeoutMs: 400 }));
      const both = await Promise.all([ping('${lab.ipB}', { timeoutMs: 2000 }), ping('${lab.ipB}', { timeoutMs: 2000 }), ping('${lab.ip6B}', { timeoutMs: 2000 })]);
      out('parallel', both);
    `,
    );
    // the link-local of B, pinged with the interface as scope
    await child.exited;
    const res = Object.fromEntries(jsonLines<{ k: string; v: any }>(child.stdout()).map((l) => [l.k, l.v]));
    assert.ok(res.v4, child.stderr());
    for (const k of ['v4', 'v4src', 'v6']) {
      assert.equal(res[k].ok, true, `${k}: ${JSON.stringify(res[k])}`);
      assert.ok(res[k].rttMs > 0 && res[k].rttMs < 1000, `${k} rtt ${res[k].rttMs}`);
    }
    assert.equal(res.silent.ok, false);
    assert.match(res.silent.error, /no reply within 400 ms|destination unreachable/);
    assert.equal(res.noroute.ok, false);
    assert.match(res.noroute.error, /ENETUNREACH/);
    assert.deepEqual(res.bad, { ok: false, rttMs: 0, error: '"not-an-ip" is not an IP address' });
    assert.deepEqual(
      res.parallel.map((r: { ok: boolean }) => r.ok),
      [true, true, true],
    );

    const ll = nodeInNs(
      lab,
      lab.a,
      `
      const { ping } = await import(${JSON.stringify(modUrl('src/net/icmp.js'))});
      const { execFileSync } = await import('node:child_process');
      const addr = execFileSync('ip', ['-n', ${JSON.stringify(lab.b)}, '-6', '-o', 'addr', 'show', 'dev', ${JSON.stringify(lab.vb)}, 'scope', 'link'], { encoding: 'utf8' }).match(/inet6 (fe80::[0-9a-f:]+)/)[1];
      console.log(JSON.stringify({ addr, r: await ping(addr, { timeoutMs: 2000, ifname: ${JSON.stringify(lab.va)} }) }));
    `,
    );
    await ll.exited;
    const [llr] = jsonLines<{ addr: string; r: { ok: boolean } }>(ll.stdout());
    assert.ok(llr, ll.stderr());
    assert.equal(llr.r.ok, true, JSON.stringify(llr));
  });
});
