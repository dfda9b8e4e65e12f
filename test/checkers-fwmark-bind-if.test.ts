// Checker `fwmark` (SO_MARK) and `bind_if` (SO_BINDTODEVICE), for real: a server namespace reachable
// from the checker's namespace over two veths. The main table routes the service address over the
// first link; a second route over the other link has a worse metric, and `ip rule fwmark 7` sends
// marked traffic to a table that routes over it. The server records the source address of each
// connection or datagram: the first link's address without the options, the second link's with
// `bind_if` (the socket is bound to that device) or with `fwmark 7` (the rule's table). The checks
// run in the real daemon (-C, dry-run backend) from a keepalived.conf; `keepalived -t` parses the
// same file (its checker process cannot run without IPVS here).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from './daemon-netns.js';
import { selfSignedCert } from './checkers-fixtures.js';
import {
  createLab,
  destroyLab,
  hasCommand,
  isRoot,
  jsonLines,
  type Lab,
  modUrl,
  nodeInNs,
  type Running,
  sh,
  startInNs,
  stopProcess,
  waitFor,
} from './net-lab.js';

const skip = !isRoot
  ? 'needs root (network namespaces)'
  : !hasCommand('openssl')
    ? 'needs openssl (SSL_GET certificate)'
    : !hasCommand('nft')
      ? 'needs nft (counts the PING_CHECK echo requests)'
      : false;
const OCTET = 163;
const NET = `10.${OCTET}`;
const SERVICE = `${NET}.9.1`;
const SRC_LINK1 = `${NET}.0.1`;
const SRC_LINK2 = `${NET}.1.1`;
const MARK = 7;

let lab: Lab;
let link2: string;
let server: Running;

/** The ports of the checks, what each has and the source the server must see. */
const CHECKS: { port: number; proto: 'tcp' | 'udp'; block: string; from: string }[] = [
  { port: 8001, proto: 'tcp', block: 'TCP_CHECK {\n connect_timeout 2\n retry 0\n bind_if LINK2\n }', from: SRC_LINK2 },
  { port: 8002, proto: 'tcp', block: `TCP_CHECK {\n connect_timeout 2\n retry 0\n fwmark ${MARK}\n }`, from: SRC_LINK2 },
  { port: 8003, proto: 'tcp', block: 'TCP_CHECK {\n connect_timeout 2\n retry 0\n }', from: SRC_LINK1 },
  { port: 8004, proto: 'tcp', block: 'HTTP_GET {\n url {\n path /\n status_code 200\n }\n connect_timeout 2\n retry 0\n bind_if LINK2\n }', from: SRC_LINK2 },
  { port: 8005, proto: 'tcp', block: `HTTP_GET {\n url {\n path /\n status_code 200\n }\n connect_timeout 2\n retry 0\n fwmark ${MARK}\n }`, from: SRC_LINK2 },
  { port: 8006, proto: 'tcp', block: `SSL_GET {\n url {\n path /\n status_code 200\n }\n connect_timeout 2\n retry 0\n fwmark ${MARK}\n }`, from: SRC_LINK2 },
  { port: 8007, proto: 'tcp', block: `SMTP_CHECK {\n connect_timeout 2\n retry 0\n fwmark ${MARK}\n }`, from: SRC_LINK2 },
  {
    port: 9001,
    proto: 'udp',
    block: 'UDP_CHECK {\n connect_timeout 2\n retry 0\n require_reply\n payload 70696e67\n bind_if LINK2\n }',
    from: SRC_LINK2,
  },
  {
    port: 9002,
    proto: 'udp',
    block: `UDP_CHECK {\n connect_timeout 2\n retry 0\n require_reply\n payload 70696e67\n fwmark ${MARK}\n }`,
    from: SRC_LINK2,
  },
  { port: 9003, proto: 'udp', block: 'UDP_CHECK {\n connect_timeout 2\n retry 0\n require_reply\n payload 70696e67\n }', from: SRC_LINK1 },
  // PING_CHECK: counted by an nftables rule in the server's namespace (the echo requests from link 2)
  { port: 8008, proto: 'tcp', block: `PING_CHECK {\n connect_timeout 2\n retry 0\n fwmark ${MARK}\n }`, from: SRC_LINK2 },
  { port: 9004, proto: 'udp', block: `DNS_CHECK {\n connect_timeout 2\n retry 0\n type A\n name example.test\n fwmark ${MARK}\n }`, from: SRC_LINK2 },
];

function config(): string {
  const vs = (proto: 'tcp' | 'udp', port: number) =>
    `virtual_server ${SERVICE} ${port} {\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol ${proto.toUpperCase()}\n` +
    CHECKS.filter((c) => c.proto === proto)
      .map((c) => ` real_server ${SERVICE} ${c.port} {\n weight 1\n ${c.block.replace('LINK2', link2)}\n }\n`)
      .join('') +
    '}\n';
  return `global_defs {\n router_id fwmark-test\n}\n${vs('tcp', 80)}${vs('udp', 53)}`;
}

// the server: every TCP port answers HTTP (TCP_CHECK only connects) except 8006 (TLS) and 8007
// (SMTP); UDP ports answer each datagram (a DNS answer with the query's id on 9004); one JSON line
// per connection or datagram with its source address
const SERVER = `
import net from 'node:net'; import tls from 'node:tls'; import dgram from 'node:dgram'; import fs from 'node:fs';
const seen = (proto, port, src) => process.stdout.write(JSON.stringify({ proto, port, src }) + '\\n');
const http = (s) => { s.on('error', () => {}); s.once('data', () => s.end('HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok')); };
for (const port of [8001, 8002, 8003, 8004, 8005]) net.createServer((s) => { seen('tcp', port, s.remoteAddress); http(s); }).listen(port, '${SERVICE}');
tls.createServer({ key: fs.readFileSync(process.env.KEY), cert: fs.readFileSync(process.env.CERT) }, (s) => http(s))
  .on('connection', (s) => seen('tcp', 8006, s.remoteAddress)).listen(8006, '${SERVICE}');
net.createServer((s) => {
  seen('tcp', 8007, s.remoteAddress); s.on('error', () => {}); s.write('220 test ESMTP\\r\\n');
  s.on('data', (d) => { const t = d.toString(); if (t.startsWith('HELO')) s.write('250 hi\\r\\n'); else if (t.startsWith('QUIT')) s.end('221 bye\\r\\n'); });
}).listen(8007, '${SERVICE}');
for (const port of [9001, 9002, 9003, 9004]) {
  const u = dgram.createSocket('udp4');
  u.on('message', (m, r) => {
    seen('udp', port, r.address);
    const reply = port === 9004 ? Buffer.concat([m.subarray(0, 2), Buffer.from([0x81, 0x80]), m.subarray(4)]) : Buffer.from('pong');
    u.send(reply, r.port, r.address);
  });
  u.bind(port, '${SERVICE}');
}
process.stdout.write('ready\\n');
setTimeout(() => process.exit(0), 120000);
`;

const NFT = `table ip tkfwm {
  chain in {
    type filter hook input priority 0;
    ip saddr ${SRC_LINK2} icmp type echo-request counter
  }
}
`;

before(async () => {
  if (skip) return;
  lab = createLab('fwm', OCTET);
  const short = lab.va.slice(0, -1);
  link2 = `${short}c`;
  const peer2 = `${short}d`;
  sh('ip', ['link', 'add', link2, 'netns', lab.a, 'type', 'veth', 'peer', 'name', peer2, 'netns', lab.b]);
  sh('ip', ['-n', lab.a, 'addr', 'add', `${SRC_LINK2}/24`, 'dev', link2]);
  sh('ip', ['-n', lab.b, 'addr', 'add', `${NET}.1.2/24`, 'dev', peer2]);
  sh('ip', ['-n', lab.a, 'link', 'set', link2, 'up']);
  sh('ip', ['-n', lab.b, 'link', 'set', peer2, 'up']);
  sh('ip', ['-n', lab.b, 'addr', 'add', `${SERVICE}/32`, 'dev', 'lo']);
  sh('ip', ['netns', 'exec', lab.b, 'sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
  // the checker's side: link 1 by default, link 2 with a worse metric (bind_if), and for mark 7
  sh('ip', ['-n', lab.a, 'route', 'add', `${SERVICE}/32`, 'via', `${NET}.0.2`, 'dev', lab.va]);
  sh('ip', ['-n', lab.a, 'route', 'add', `${SERVICE}/32`, 'via', `${NET}.1.2`, 'dev', link2, 'metric', '100']);
  sh('ip', ['-n', lab.a, 'route', 'add', `${SERVICE}/32`, 'via', `${NET}.1.2`, 'dev', link2, 'table', '100']);
  sh('ip', ['-n', lab.a, 'rule', 'add', 'fwmark', String(MARK), 'lookup', '100']);
  selfSignedCert(join(lab.tmp, 'k.pem'), join(lab.tmp, 'c.pem'), 'fwmark.test', { days: 2 });
  execFileSync('ip', ['netns', 'exec', lab.b, 'nft', '-f', '-'], { input: NFT });
  server = nodeInNs(lab, lab.b, SERVER, { KEY: join(lab.tmp, 'k.pem'), CERT: join(lab.tmp, 'c.pem') });
  assert.ok(await waitFor(() => server.stdout().includes('ready'), 10_000), `server did not start: ${server.stderr()}`);
});

after(async () => {
  if (lab) await destroyLab(lab);
  // a lab that failed half-way (e.g. an ip command timing out under load): its namespaces by name
  else if (!skip) for (const side of ['a', 'b']) sh('ip', ['netns', 'del', `tkn-${process.pid}-fwm-${side}`], { allowFail: true });
});

test('every checker that opens a socket takes fwmark and bind_if: the server sees the second link as the source', { skip, timeout: 90_000 }, async () => {
  const conf = join(lab.tmp, 'keepalived.conf');
  writeFileSync(conf, config());
  // keepalived 2.2.7 parses the same file without a word (its checker process needs IPVS to run)
  const k = startInNs(lab, lab.a, 'keepalived', ['-t', '-f', conf]);
  assert.equal(await k.exited, 0, `keepalived -t: ${k.stderr()}${k.stdout()}`);
  const t = startInNs(lab, lab.a, BIN, ['-t', '-f', conf]);
  assert.equal(await t.exited, 0, `tskeepalived -t: ${t.stderr()}${t.stdout()}`);

  const started = Date.now();
  const d = startInNs(lab, lab.a, BIN, [
    '-n',
    '-l',
    '-C',
    '--lb-backend=dry-run',
    '-f',
    conf,
    '-p',
    join(lab.tmp, 'ka.pid'),
    '--status-listen=127.0.0.1:18163',
  ]);
  try {
    const sources = () => {
      const m = new Map<string, Set<string>>();
      for (const l of jsonLines<{ proto: string; port: number; src: string }>(server.stdout())) {
        const k2 = `${l.proto}/${l.port}`;
        if (!m.has(k2)) m.set(k2, new Set());
        m.get(k2)!.add(l.src.replace(/^::ffff:/, ''));
      }
      return m;
    };
    // two checks of each (delay_loop 1): each is seen, from its expected source only
    const pings = () => {
      const m = /packets (\d+)/.exec(sh('ip', ['netns', 'exec', lab.b, 'nft', 'list', 'chain', 'ip', 'tkfwm', 'in'], { allowFail: true }));
      return m ? Number(m[1]) : 0;
    };
    const allSeen = () =>
      pings() >= 2 && CHECKS.every((c) => c.port === 8008 || jsonLines<{ port: number }>(server.stdout()).filter((l) => l.port === c.port).length >= 2);
    assert.ok(
      await waitFor(allSeen, 20_000),
      `not every check reached the server: ${JSON.stringify([...sources()].map(([k2, v]) => [k2, [...v]]))}\n${d.stderr()}`,
    );
    const got = sources();
    for (const c of CHECKS) {
      if (c.port === 8008) continue; // the nftables counter above
      assert.deepEqual([...(got.get(`${c.proto}/${c.port}`) ?? [])], [c.from], `${c.proto}/${c.port} (${c.block.split(' ')[0]}) came from the wrong link`);
    }
    // and every check passed: the status endpoint shows each real server alive with no failure
    const st = startInNs(lab, lab.a, process.execPath, [
      '-e',
      'fetch("http://127.0.0.1:18163/status").then(r=>r.text()).then(t=>process.stdout.write(t),e=>process.stdout.write(String(e)))',
    ]);
    await st.exited;
    const status = JSON.parse(st.stdout()) as {
      checkers: { virtualServers: { realServers: { realServer: string; alive: boolean; checkers: { up: boolean; lastReason: string }[] }[] }[] };
    };
    const reals = status.checkers.virtualServers.flatMap((v) => v.realServers);
    assert.equal(reals.length, CHECKS.length);
    for (const r of reals) assert.ok(r.alive && r.checkers.every((c) => c.up), `${r.realServer} is not up: ${JSON.stringify(r.checkers)}`);
    // no warning that the options are ignored any more
    assert.doesNotMatch(d.stderr() + d.stdout(), /fwmark \/ bind_if are not supported/);
  } finally {
    await stopProcess(d);
  }
  assert.ok(Date.now() - started < 60_000);
});

test('a bind_if naming no interface fails the check with the reason (no crash)', { skip, timeout: 30_000 }, async () => {
  const code = `
    const { runCheck } = await import(${JSON.stringify(modUrl('src/checkers/run-check.js'))});
    const rs = { address: '${SERVICE}', port: 8003, weight: 1 };
    const base = { connectTimeout: 1000, retry: 0, delayBeforeRetry: 1000, loc: 0 };
    const env = { enableScriptSecurity: false, trackFiles: new Map() };
    const out = [];
    for (const c of [
      { ...base, type: 'TCP_CHECK', bindIf: 'nosuchif0' },
      { ...base, type: 'UDP_CHECK', bindIf: 'nosuchif0', connectPort: 9003, requireReply: true, payload: Buffer.from('ping') },
      { ...base, type: 'HTTP_GET', bindIf: 'nosuchif0', urls: [{ path: '/', statusCodes: [], loc: 0 }] },
      { ...base, type: 'TCP_CHECK', fwmark: ${MARK}, bindto: '${SRC_LINK2}', bindPort: 41234 },
      // IPv6 through the native path: bound to the first link, nothing listens: the peer's RST
      { ...base, type: 'TCP_CHECK', bindIf: '${lab.va}', fwmark: ${MARK}, connectIp: '${lab.ip6B}', connectPort: 8999 },
      { ...base, type: 'UDP_CHECK', bindIf: '${lab.va}', connectIp: '${lab.ip6B}', connectPort: 8999, requireReply: true, payload: Buffer.from('x') },
    ]) out.push(await runCheck(rs, c, env, undefined, 1000));
    process.stdout.write(JSON.stringify(out));
  `;
  const r = nodeInNs(lab, lab.a, code);
  await r.exited;
  const out = JSON.parse(r.stdout()) as { ok: boolean; reason: string }[];
  for (const o of out.slice(0, 3)) {
    assert.equal(o.ok, false);
    assert.match(o.reason, /bind_if nosuchif0.*no such device/, o.reason);
  }
  assert.equal(out[3].ok, true, out[3].reason);
  for (const o of out.slice(4)) {
    assert.equal(o.ok, false);
    assert.match(o.reason, /ECONNREFUSED/, o.reason);
  }
  const last = jsonLines<{ port: number; src: string }>(server.stdout()).filter((l) => l.port === 8003 && l.src.endsWith(SRC_LINK2));
  assert.ok(last.length >= 1, 'bindto + bind_port + fwmark: the server saw the bound address');
});

test('sockets made for fwmark / bind_if are closed after each check (100 rounds of TCP, HTTP, SSL, UDP)', { skip, timeout: 60_000 }, async () => {
  const code = `
    const { runCheck } = await import(${JSON.stringify(modUrl('src/checkers/run-check.js'))});
    const { readdirSync } = await import('node:fs');
    const fds = () => readdirSync('/proc/self/fd').length;
    const base = { connectTimeout: 2000, retry: 0, delayBeforeRetry: 1000, loc: 0, fwmark: ${MARK} };
    const url = { path: '/', statusCodes: [], loc: 0 };
    const env = { enableScriptSecurity: false, trackFiles: new Map() };
    const checks = [
      [8002, { ...base, type: 'TCP_CHECK' }],
      [8005, { ...base, type: 'HTTP_GET', urls: [url] }],
      [8006, { ...base, type: 'SSL_GET', urls: [url] }],
      [9002, { ...base, type: 'UDP_CHECK', requireReply: true, payload: Buffer.from('ping') }],
      [8999, { ...base, type: 'TCP_CHECK' }],
    ];
    const run = () => Promise.all(checks.map(([port, c]) => runCheck({ address: '${SERVICE}', port, weight: 1 }, c, env, undefined, 1000)));
    await run();
    const before = fds();
    const results = [];
    for (let i = 0; i < 100; i++) results.push(...(await run()));
    await new Promise((r) => setTimeout(r, 200));
    process.stdout.write(JSON.stringify({ before, after: fds(), ok: results.filter((r) => r.ok).length, reasons: [...new Set(results.filter((r) => !r.ok).map((r) => r.reason))] }));
  `;
  const r = nodeInNs(lab, lab.a, code);
  await r.exited;
  const out = JSON.parse(r.stdout() || '{}') as { before: number; after: number; ok: number; reasons: string[] };
  assert.equal(out.ok, 400, `${r.stderr()} ${JSON.stringify(out)}`);
  assert.equal(out.reasons.length, 1);
  assert.match(out.reasons[0], /ECONNREFUSED/);
  assert.ok(out.after <= out.before, `fds ${out.before} -> ${out.after}`);
});
