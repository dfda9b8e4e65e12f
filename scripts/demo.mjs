#!/usr/bin/env node
// `npm run demo` (as root): a two-node VRRP failover in a lab of network namespaces.
//   tkdemo-<pid>-lan  bridge br0 joining the three others
//   tkdemo-<pid>-a    node A, 10.213.0.1, priority 150 (starts as master)
//   tkdemo-<pid>-b    node B, 10.213.0.2, priority 100
//   tkdemo-<pid>-mail SMTP sink, 10.213.0.25:25
// Starts both tskeepalived nodes (real processes: ./bin/tskeepalived -n -l -G -f ...), shows which
// node holds the VIP 10.213.0.100, stops the master with SIGTERM, shows the VIP move and the
// emails the sink received, then cleans everything up (also on Ctrl-C or failure). < 60 s.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'tskeepalived');
const TAG = `tkdemo-${process.pid}`;
const NS = { lan: `${TAG}-lan`, a: `${TAG}-a`, b: `${TAG}-b`, mail: `${TAG}-mail` };
const VIP = '10.213.0.100';
const DEADLINE_MS = 55000;
const started = Date.now();
const children = [];
const workDir = mkdtempSync(join(tmpdir(), 'tkdemo-'));
let cleaned = false;

const say = (msg) => process.stdout.write(`\x1b[1m[demo ${((Date.now() - started) / 1000).toFixed(1)}s]\x1b[0m ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  for (const ns of Object.values(NS)) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* not there */
    }
  }
  rmSync(workDir, { recursive: true, force: true });
}

function fail(msg) {
  say(`\x1b[31mFAILED: ${msg}\x1b[0m`);
  cleanup();
  process.exit(1);
}

process.on('SIGINT', () => fail('interrupted'));
process.on('SIGTERM', () => fail('terminated'));
process.on('exit', cleanup);
const watchdog = setTimeout(() => fail(`did not finish within ${DEADLINE_MS / 1000} s`), DEADLINE_MS);
watchdog.unref();

function buildLab() {
  for (const ns of Object.values(NS)) ip('netns', 'add', ns);
  ip('-n', NS.lan, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', NS.lan, 'link', 'set', 'br0', 'up');
  const hosts = [
    [NS.a, '10.213.0.1/24'],
    [NS.b, '10.213.0.2/24'],
    [NS.mail, '10.213.0.25/24'],
  ];
  hosts.forEach(([ns, addr], i) => {
    const port = `p${i}`;
    ip('-n', NS.lan, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('-n', NS.lan, 'link', 'set', port, 'master', 'br0', 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'addr', 'add', addr, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
  });
}

function nodeConfig(name, priority) {
  return `global_defs {
    router_id ${name}
    notification_email {
        ops@demo.test
    }
    notification_email_from ${name}@demo.test
    smtp_server 10.213.0.25 25
    smtp_connect_timeout 5
    smtp_alert true
}

vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority ${priority}
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass demo1234
    }
    virtual_ipaddress {
        ${VIP}/24 dev eth0
    }
}
`;
}

function startIn(ns, label, cmd, args, onLine) {
  const c = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  let buf = '';
  const feed = (chunk) => {
    buf += chunk.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (onLine) onLine(line);
      else process.stdout.write(`  ${label} | ${line}\n`);
    }
  };
  c.stdout.on('data', feed);
  c.stderr.on('data', feed);
  return c;
}

function holdsVip(ns) {
  return ip('-n', ns, '-4', 'addr', 'show', 'dev', 'eth0').includes(` ${VIP}/`);
}

function vipOwner() {
  return [holdsVip(NS.a) && 'node-a', holdsVip(NS.b) && 'node-b'].filter(Boolean);
}

const nodes = {};

async function waitFor(what, cond, timeoutMs, allowExit = []) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (cond()) return true;
    for (const [name, c] of Object.entries(nodes)) {
      if (!allowExit.includes(name) && (c.exitCode !== null || c.signalCode !== null))
        fail(`${name} exited (${c.signalCode ?? `code ${c.exitCode}`}) while waiting for ${what}`);
    }
    await sleep(100);
  }
  fail(`timed out waiting for ${what}`);
}

async function main() {
  if (process.getuid && process.getuid() !== 0) {
    process.stderr.write('npm run demo needs root (it creates network namespaces)\n');
    process.exit(2);
  }
  say(`building the lab: namespaces ${Object.values(NS).join(', ')}`);
  buildLab();

  const mails = [];
  startIn(NS.mail, 'smtp', process.execPath, [join(ROOT, 'scripts', 'demo-smtp-sink.mjs'), '10.213.0.25', '25'], (line) => {
    try {
      const m = JSON.parse(line);
      if (m.subject) {
        mails.push(m);
        say(`\x1b[36mmail received\x1b[0m to ${m.to.join(', ')}: "${m.subject}" / ${m.body}`);
      }
    } catch {
      process.stdout.write(`  smtp | ${line}\n`);
    }
  });

  const confA = join(workDir, 'node-a.conf');
  const confB = join(workDir, 'node-b.conf');
  writeFileSync(confA, nodeConfig('node-a', 150));
  writeFileSync(confB, nodeConfig('node-b', 100));
  say('starting node-a (priority 150) and node-b (priority 100)');
  const nodeA = startIn(NS.a, 'node-a', BIN, ['-n', '-l', '-G', '-f', confA, '-p', join(workDir, 'a.pid')]);
  nodes['node-a'] = nodeA;
  nodes['node-b'] = startIn(NS.b, 'node-b', BIN, ['-n', '-l', '-G', '-f', confB, '-p', join(workDir, 'b.pid')]);

  await waitFor('node-a to become master and own the VIP', () => holdsVip(NS.a) && !holdsVip(NS.b), 15000);
  say(`\x1b[32mVIP ${VIP} is held by: ${vipOwner().join(', ')}\x1b[0m`);

  say('failing the master: SIGTERM to node-a');
  const t0 = Date.now();
  nodeA.kill('SIGTERM');
  await waitFor('node-b to take over the VIP', () => holdsVip(NS.b) && !holdsVip(NS.a), 10000, ['node-a']);
  say(`\x1b[32mVIP ${VIP} moved to: ${vipOwner().join(', ')} (${Date.now() - t0} ms after SIGTERM)\x1b[0m`);
  await waitFor('node-a to exit', () => nodeA.exitCode !== null || nodeA.signalCode !== null, 10000, ['node-a']);
  say(`node-a exited with code ${nodeA.exitCode}`);

  await waitFor('the takeover email from node-b', () => mails.some((m) => m.subject.includes('[node-b] VRRP Instance VI_1 - Entering MASTER state')), 10000, [
    'node-a',
  ]);
  say(`emails received by the sink: ${mails.length}`);
  for (const m of mails) say(`  - ${m.subject}`);
  say('\x1b[32mDEMO OK\x1b[0m: failover in the lab worked; cleaning up');
  cleanup();
  process.exit(0);
}

main().catch((e) => fail(e?.message ? e.message : String(e)));
