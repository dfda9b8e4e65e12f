// TCP_CHECK, SMTP_CHECK, DNS_CHECK, UDP_CHECK, MISC_CHECK, FILE_CHECK and PING_CHECK against real
// servers, scripts and files.
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkDns, encodeQuery, responseProblem } from '../src/checkers/dns.js';
import { checkFile, fileCheckMeaning } from '../src/checkers/file.js';
import { checkMisc, miscExitMeaning } from '../src/checkers/misc.js';
import { checkPing, loadPing } from '../src/checkers/ping.js';
import { checkSmtp, takeReplies } from '../src/checkers/smtp.js';
import { checkTcp } from '../src/checkers/tcp.js';
import type { CheckContext } from '../src/checkers/types.js';
import { checkUdp } from '../src/checkers/udp.js';
import type { DnsCheck, MiscCheck, SmtpCheck, UdpCheck } from '../src/config/model.js';
import { closedPort, holdingServer, loc, shScript } from './checkers-fixtures.js';

const common = { connectTimeout: 300, retry: 0, delayBeforeRetry: 100, loc };
const listen = (s: Server, address: string) => new Promise<number>((r) => s.listen(0, address, () => r((s.address() as { port: number }).port)));
const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

describe('TCP_CHECK', () => {
  it('passes on a listening port, fails on a closed one and on a timeout', async () => {
    const s = createServer((c) => c.destroy());
    const port = await listen(s, '127.0.0.31');
    assert.equal((await checkTcp({ address: '127.0.0.31', port, family: 4 }, { type: 'TCP_CHECK', ...common })).ok, true);
    await close(s);
    const r = await checkTcp({ address: '127.0.0.31', port, family: 4 }, { type: 'TCP_CHECK', ...common });
    assert.equal(r.ok, false);
    assert.match(r.reason, /ECONNREFUSED/);
  });
});

/** A tiny SMTP server: banner code, HELO answer and QUIT answer are configurable. */
function smtpServer(codes: { banner: string; helo: string; quit: string }) {
  const seen: string[] = [];
  const server = createServer((sock) => {
    sock.on('error', () => undefined);
    sock.write(codes.banner);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      let nl;
      while ((nl = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        seen.push(line);
        if (/^HELO /i.test(line)) sock.write(codes.helo);
        else if (/^QUIT/i.test(line)) sock.end(codes.quit);
      }
    });
  });
  return { server, seen };
}

describe('SMTP_CHECK', () => {
  const cfg: SmtpCheck = { type: 'SMTP_CHECK', heloName: 'checker.example.test', ...common };
  it('parses multi-line replies', () => {
    assert.deepEqual(takeReplies('220-hello\r\n220-more\r\n220 done\r\n250 ok\r\npartial'), { codes: [220, 250], rest: 'partial' });
  });
  it('passes a banner 220 / HELO 250 / QUIT 221 dialogue with helo_name', async () => {
    const { server, seen } = smtpServer({ banner: '220-mx.test ESMTP\r\n220 ready\r\n', helo: '250 hello\r\n', quit: '221 bye\r\n' });
    const port = await listen(server, '127.0.0.32');
    const r = await checkSmtp({ address: '127.0.0.32', port, family: 4 }, cfg);
    await close(server);
    assert.equal(r.ok, true, r.reason);
    assert.deepEqual(seen, ['HELO checker.example.test', 'QUIT']);
  });
  it('fails on a 554 banner and on a refused HELO', async () => {
    const a = smtpServer({ banner: '554 no service\r\n', helo: '250 ok\r\n', quit: '221 bye\r\n' });
    const pa = await listen(a.server, '127.0.0.32');
    const ra = await checkSmtp({ address: '127.0.0.32', port: pa, family: 4 }, cfg);
    await close(a.server);
    assert.equal(ra.ok, false);
    assert.match(ra.reason, /554/);
    const b = smtpServer({ banner: '220 ready\r\n', helo: '501 bad\r\n', quit: '221 bye\r\n' });
    const pb = await listen(b.server, '127.0.0.32');
    const rb = await checkSmtp({ address: '127.0.0.32', port: pb, family: 4 }, cfg);
    await close(b.server);
    assert.equal(rb.ok, false);
    assert.match(rb.reason, /501/);
  });
  it('fails on a silent server within connect_timeout', async () => {
    const h = await holdingServer('127.0.0.32');
    const t0 = Date.now();
    const r = await checkSmtp({ address: '127.0.0.32', port: h.port, family: 4 }, cfg);
    await h.close();
    assert.equal(r.ok, false);
    assert.match(r.reason, /timeout in banner/);
    assert.ok(Date.now() - t0 < 1000);
  });
});

/** A DNS server answering with a chosen rcode, id shift (wrong id) or silence. */
async function dnsServer(address: string, behaviour: { rcode?: number; wrongId?: boolean; silent?: boolean }) {
  const sock = createSocket('udp4');
  const queries: Buffer[] = [];
  sock.on('message', (msg, rinfo) => {
    queries.push(msg);
    if (behaviour.silent) return;
    const reply = Buffer.from(msg);
    if (behaviour.wrongId) reply.writeUInt16BE((msg.readUInt16BE(0) + 1) & 0xffff, 0);
    reply.writeUInt16BE(0x8180 | (behaviour.rcode ?? 0), 2); // QR RD RA + rcode
    sock.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, address, () => r()));
  return { sock, port: sock.address().port, queries, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

describe('DNS_CHECK', () => {
  const cfg: DnsCheck = { type: 'DNS_CHECK', queryType: 'SOA', name: '.', ...common };
  it('encodes the query and validates responses', () => {
    const q = encodeQuery(0x1234, 'www.example.test', 'A');
    assert.equal(q.readUInt16BE(0), 0x1234);
    assert.equal(q.readUInt16BE(4), 1);
    assert.equal(q.subarray(12, 16).toString('latin1'), '\x03www');
    const ok = Buffer.from(q);
    ok.writeUInt16BE(0x8180, 2);
    assert.equal(responseProblem(0x1234, ok), undefined);
    assert.match(responseProblem(0x1235, ok) ?? '', /id/);
    ok.writeUInt16BE(0x8183, 2);
    assert.match(responseProblem(0x1234, ok) ?? '', /rcode = 3/);
    assert.throws(() => encodeQuery(1, '.', 'BOGUS'), /unknown DNS type/);
  });
  it('passes on NOERROR, fails on NXDOMAIN, a wrong id, silence and a closed port', async () => {
    const good = await dnsServer('127.0.0.33', {});
    const r1 = await checkDns({ address: '127.0.0.33', port: good.port, family: 4 }, cfg);
    assert.equal(r1.ok, true, r1.reason);
    // the query asks for SOA of the root
    assert.equal(good.queries[0].readUInt16BE(good.queries[0].length - 4), 6);
    await good.close();
    const nx = await dnsServer('127.0.0.33', { rcode: 3 });
    const r2 = await checkDns({ address: '127.0.0.33', port: nx.port, family: 4 }, cfg);
    await nx.close();
    assert.equal(r2.ok, false);
    assert.match(r2.reason, /rcode = 3/);
    const wrong = await dnsServer('127.0.0.33', { wrongId: true });
    const r3 = await checkDns({ address: '127.0.0.33', port: wrong.port, family: 4 }, cfg);
    await wrong.close();
    assert.equal(r3.ok, false);
    assert.match(r3.reason, /no response/);
    const silent = await dnsServer('127.0.0.33', { silent: true });
    const r4 = await checkDns({ address: '127.0.0.33', port: silent.port, family: 4 }, cfg);
    await silent.close();
    assert.equal(r4.ok, false);
    const r5 = await checkDns({ address: '127.0.0.33', port: silent.port, family: 4 }, cfg);
    assert.equal(r5.ok, false);
    assert.match(r5.reason, /ECONNREFUSED/);
  });
});

describe('UDP_CHECK', () => {
  let echo: UdpSocket;
  let echoPort: number;
  let silent: UdpSocket;
  let silentPort: number;
  before(async () => {
    echo = createSocket('udp4');
    echo.on('message', (m, r) => echo.send(Buffer.concat([Buffer.from('PONG'), m]), r.port, r.address));
    await new Promise<void>((r) => echo.bind(0, '127.0.0.34', () => r()));
    echoPort = echo.address().port;
    silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.34', () => r()));
    silentPort = silent.address().port;
  });
  after(() => {
    echo.close();
    silent.close();
  });
  const base = (over: Partial<UdpCheck> = {}): UdpCheck => ({ type: 'UDP_CHECK', requireReply: false, payload: Buffer.from('PING'), ...common, ...over });
  const t = (port: number) => ({ address: '127.0.0.34', port, family: 4 as const });

  it('require_reply with a reply prefix and length bounds', async () => {
    assert.equal((await checkUdp(t(echoPort), base({ requireReply: true, reply: Buffer.from('PONG') }))).ok, true);
    const mismatch = await checkUdp(t(echoPort), base({ requireReply: true, reply: Buffer.from('PANG') }));
    assert.equal(mismatch.ok, false);
    assert.match(mismatch.reason, /mismatch/);
    const tooLong = await checkUdp(t(echoPort), base({ requireReply: true, maxReplyLength: 4 }));
    assert.equal(tooLong.ok, false);
    assert.match(tooLong.reason, /length 8/);
    const tooShort = await checkUdp(t(echoPort), base({ requireReply: true, minReplyLength: 9 }));
    assert.equal(tooShort.ok, false);
  });
  it('without require_reply, silence passes and ICMP port unreachable fails', async () => {
    assert.equal((await checkUdp(t(silentPort), base())).ok, true);
    assert.equal((await checkUdp(t(silentPort), base({ requireReply: true }))).ok, false);
    const port = await closedPort('127.0.0.34');
    const r = await checkUdp(t(port), base());
    assert.equal(r.ok, false);
    assert.match(r.reason, /ECONNREFUSED/);
  });
});

describe('MISC_CHECK', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tkk-misc-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const ctx: CheckContext = { enableScriptSecurity: false, configuredWeight: 1, trackFiles: new Map() };
  const misc = (cmd: string, over: Partial<MiscCheck> = {}): MiscCheck => ({
    type: 'MISC_CHECK',
    miscPath: shScript(cmd),
    miscDynamic: false,
    ...common,
    ...over,
  });

  it('maps exit codes as keepalived', () => {
    assert.deepEqual(miscExitMeaning(0, false), { ok: true });
    assert.deepEqual(miscExitMeaning(1, true), { ok: false });
    assert.deepEqual(miscExitMeaning(2, false), { ok: false });
    assert.deepEqual(miscExitMeaning(2, true), { ok: true, weight: 0 });
    assert.deepEqual(miscExitMeaning(255, true), { ok: true, weight: 253 });
  });
  it('runs the script: 0 passes, 1 fails, a timeout fails and kills the script', async () => {
    assert.equal((await checkMisc(misc('exit 0'), ctx, 1000)).ok, true);
    const r1 = await checkMisc(misc('exit 1'), ctx, 1000);
    assert.equal(r1.ok, false);
    assert.match(r1.reason, /status 1/);
    const t0 = Date.now();
    const slow = await checkMisc(misc('sleep 5'), ctx, 200);
    assert.equal(slow.ok, false);
    assert.match(slow.reason, /timed out/);
    assert.ok(Date.now() - t0 < 1500);
    const dyn = await checkMisc(misc('exit 12', { miscDynamic: true }), ctx, 1000);
    assert.deepEqual([dyn.ok, dyn.weight], [true, 10]);
    const missing = await checkMisc({ ...misc('x'), miscPath: { command: '/nonexistent/tkk', argv: ['/nonexistent/tkk'], loc } }, ctx, 1000);
    assert.equal(missing.ok, false);
  });
  it('enable_script_security refuses a world-writable script when running as root', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root');
    const script = join(dir, 'unsafe.sh');
    writeFileSync(script, '#!/bin/sh\nexit 0\n');
    chmodSync(script, 0o777);
    const spec = { command: script, argv: [script], loc };
    const r = await checkMisc({ ...misc('x'), miscPath: spec }, { ...ctx, enableScriptSecurity: true }, 1000);
    assert.equal(r.ok, false);
    assert.match(r.reason, /script security/);
    chmodSync(script, 0o700);
    assert.equal((await checkMisc({ ...misc('x'), miscPath: spec }, ctx, 1000)).ok, true);
  });
});

describe('FILE_CHECK', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tkk-file-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  it('weight 0: down while the value is non-zero; weight w: moves the weight by value * w', async () => {
    assert.deepEqual(fileCheckMeaning(0, 0, false, 5), { ok: true });
    assert.deepEqual(fileCheckMeaning(3, 0, false, 5), { ok: false });
    assert.deepEqual(fileCheckMeaning(2, 3, false, 5), { ok: true, weight: 11 });
    assert.deepEqual(fileCheckMeaning(2, 3, true, 5), { ok: true, weight: 0 });
    const file = join(dir, 'track');
    const ctx: CheckContext = { enableScriptSecurity: false, configuredWeight: 5, trackFiles: new Map([['tf', { file, weight: 0, weightReverse: false }]]) };
    writeFileSync(file, '0\n');
    assert.equal((await checkFile({ type: 'FILE_CHECK', trackFile: 'tf', weightReverse: false, loc }, ctx)).ok, true);
    writeFileSync(file, '1\n');
    assert.equal((await checkFile({ type: 'FILE_CHECK', trackFile: 'tf', weightReverse: false, loc }, ctx)).ok, false);
    const w = await checkFile({ type: 'FILE_CHECK', trackFile: 'tf', weight: 2, weightReverse: false, loc }, ctx);
    assert.deepEqual([w.ok, w.weight], [true, 7]);
    const undef = await checkFile({ type: 'FILE_CHECK', trackFile: 'nope', weightReverse: false, loc }, ctx);
    assert.match(undef.reason, /not defined/);
  });
});

describe('PING_CHECK', () => {
  it('pings a loopback address; an address nobody answers fails within connect_timeout', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('raw ICMP sockets need root');
    if (!(await loadPing())) return t.skip('src/net/icmp.ts could not be loaded');
    const r = await checkPing({ address: '127.0.0.35', port: 0, family: 4 }, { type: 'PING_CHECK', ...common, connectTimeout: 1000 });
    if (/native socket layer not built/.test(r.reason)) return t.skip('native addon not built (npm install)');
    assert.equal(r.ok, true, r.reason);
    assert.match(r.reason, /echo reply/);
  });
  it('fails when no echo reply comes (an address routed nowhere, in a private namespace)', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root for a network namespace');
    if (!(await loadPing())) return t.skip('src/net/icmp.ts could not be loaded');
    // the check runs in a child inside a fresh namespace where only lo is up: a blackhole route
    // for 10.99.0.0/24 makes the echo go nowhere, so nothing leaves this machine
    const ns = `tkk-${process.pid}-ping`;
    const { execFileSync } = await import('node:child_process');
    const sh = (args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
    try {
      sh(['netns', 'add', ns]);
      sh(['-n', ns, 'link', 'set', 'lo', 'up']);
      sh(['-n', ns, 'route', 'add', 'blackhole', '10.99.0.0/24']);
      const url = new URL('../src/checkers/ping.js', import.meta.url).href;
      const script = `const { checkPing } = await import(${JSON.stringify(url)});
        const r = await checkPing({ address: '10.99.0.7', port: 0, family: 4 }, { type: 'PING_CHECK', connectTimeout: 300, retry: 0, delayBeforeRetry: 0, loc: { file: 'x', line: 1 } });
        process.stdout.write(JSON.stringify(r));`;
      const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10000 });
      const r = JSON.parse(out) as { ok: boolean; reason: string; latencyMs: number };
      assert.equal(r.ok, false);
      assert.doesNotMatch(r.reason, /native/, 'the ping itself ran');
      assert.ok(r.latencyMs < 2000, `latency ${r.latencyMs}`);
    } finally {
      try {
        sh(['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    }
  });
});
