// The real daemon process (./bin/tskeepalived) in network namespaces: pid files, signals,
// dumps, reload policy, status endpoint, daemonisation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, BIN, scratch, hasAddress, httpGetIn, isRoot, makePair, runIn, startIn, waitUntil } from './daemon-netns.js';

const PREFIX = `tkd-${process.pid}`;
const { work, procs, labs } = scratch('proc');

const engineSkip = !isRoot() ? 'needs root (network namespaces)' : false;

test('a pid file held by a live process: refuse to start, exit 1, clear message (with and without -n)', async () => {
  const pid = join(work, 'held.pid');
  writeFileSync(pid, `${process.pid}\n`); // this test process is alive
  const conf = join(work, 'any.conf');
  writeFileSync(conf, 'global_defs {\n  router_id x\n}\n');
  for (const fork of [false, true]) {
    const args = [...(fork ? [] : ['-n']), '-G', '-f', conf, '-p', pid];
    let code = 0;
    let stderr = '';
    try {
      execFileSync(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 });
    } catch (e) {
      const err = e as { status: number; stderr: Buffer };
      code = err.status;
      stderr = err.stderr.toString();
    }
    assert.equal(code, 1, `fork=${fork}: ${stderr}`);
    assert.match(stderr, new RegExp(`another instance is already running \\(pid ${process.pid} holds ${pid.replace(/[.]/g, '\\.')}\\)`));
  }
  assert.equal(readFileSync(pid, 'utf8'), `${process.pid}\n`, "the other instance's pid file is untouched");
});

test('an unreadable configuration is fatal: exit 4 with the reason', () => {
  let code = 0;
  let stderr = '';
  try {
    execFileSync(BIN, ['-n', '-G', '-f', join(work, 'missing.conf'), '-p', join(work, 'missing.pid')], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 });
  } catch (e) {
    const err = e as { status: number; stderr: Buffer };
    code = err.status;
    stderr = err.stderr.toString();
  }
  assert.equal(code, 4);
  assert.match(stderr, /missing\.conf/);
  assert.equal(existsSync(join(work, 'missing.pid')), false);
});

function vrrpConf(opts: {
  routerId: string;
  priority: number;
  vip: string;
  extra?: string;
  fifoOut?: string;
  instances?: string;
  smtpServer?: string;
}): string {
  const fifo = opts.fifoOut ? `    notify_fifo ${opts.fifoOut}.fifo\n    notify_fifo_script "/bin/sh -c 'exec cat \\"$1\\" >> ${opts.fifoOut}' reader"\n` : '';
  const smtp = opts.smtpServer
    ? `    notification_email {\n        ops@example.test\n    }\n    smtp_server ${opts.smtpServer} 25\n    smtp_connect_timeout 30\n    smtp_alert true\n`
    : '';
  return `global_defs {
    router_id ${opts.routerId}
${fifo}${smtp}}

vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority ${opts.priority}
    advert_int 1
    virtual_ipaddress {
        ${opts.vip}/24 dev eth0
    }
}
${opts.instances ?? ''}`;
}

test('signals against the real process: USR1/USR2 dumps, JSON dump, HUP with a broken file, metrics, TERM', { skip: engineSkip }, async (t) => {
  const lab = makePair(`${PREFIX}-s`, 211);
  labs.push(lab.destroy);
  const dumpDir = mkdtempSync(join(work, 'dumps-'));
  const conf = join(work, 'sig.conf');
  // smtp_server is an address nobody answers on the lab link (ARP fails, connect hangs): the
  // mails for INIT->BACKUP->MASTER must not delay VRRP nor the stop
  const good = vrrpConf({ routerId: 'sig-node', priority: 200, vip: '10.211.0.100', smtpServer: '10.211.0.99' });
  writeFileSync(conf, good);
  const pid = join(work, 'sig.pid');
  const p = startIn(lab.a, BIN, ['-n', '-l', '-G', '-D', '-f', conf, '-p', pid, '--json-dump', '--status-listen=127.0.0.1:19180'], { TMPDIR: dumpDir });
  procs.push(p);
  await waitUntil('the pid file', () => existsSync(pid), 10000);
  assert.equal(readFileSync(pid, 'utf8').trim(), String(p.child.pid));
  const t0 = Date.now();
  await waitUntil('VIP on the only node', () => hasAddress(lab.a, '10.211.0.100'), 10000);
  const toMaster = Date.now() - t0;
  t.diagnostic(`MASTER with the VIP ${toMaster} ms after the pid file, SMTP server blackholed`);
  assert.ok(toMaster < 6000, `took ${toMaster} ms to become MASTER`);

  p.child.kill('SIGUSR1');
  p.child.kill('SIGUSR2');
  await waitUntil('dump files', () => existsSync(join(dumpDir, 'keepalived.data')) && existsSync(join(dumpDir, 'keepalived.stats')), 5000);
  const data = readFileSync(join(dumpDir, 'keepalived.data'), 'utf8');
  assert.match(data, /Router ID = sig-node/);
  assert.match(data, /VI_1/);
  assert.match(readFileSync(join(dumpDir, 'keepalived.stats'), 'utf8'), /VI_1/);
  await waitUntil('JSON dump', () => existsSync(join(dumpDir, 'keepalived.json')), 5000);
  const json = JSON.parse(readFileSync(join(dumpDir, 'keepalived.json'), 'utf8'));
  assert.equal(json.daemon.routerId, 'sig-node');
  assert.match(JSON.stringify(json.vrrp), /MASTER/);

  // HUP with a broken file: logged, old config kept, still MASTER with the VIP
  writeFileSync(conf, 'vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority {\n');
  p.child.kill('SIGHUP');
  await waitUntil('the refused reload in the log', () => /reload refused/.test(p.output()), 5000);
  assert.ok(alive(p));
  assert.ok(hasAddress(lab.a, '10.211.0.100'));
  const status = JSON.parse((await httpGetIn(lab.a, 'http://127.0.0.1:19180/status')).text);
  assert.equal(status.daemon.reloadFailures, 1);
  assert.match(JSON.stringify(status.vrrp), /MASTER/);
  const metrics = (await httpGetIn(lab.a, 'http://127.0.0.1:19180/metrics')).text;
  assert.match(metrics, /^tskeepalived_reload_failures_total 1$/m);
  assert.match(metrics, /^tskeepalived_engine_up\{engine="vrrp"\} 1$/m);
  assert.match(metrics, /^tskeepalived_vrrp_state\{instance="VI_1"[^}]*\} 2$/m, 'VI_1 is MASTER (2) in the metrics');
  assert.match(metrics, /^tskeepalived_vrrp_adverts_sent_total\{instance="VI_1"[^}]*\} [1-9]\d*$/m);
  assert.equal((await httpGetIn(lab.a, 'http://127.0.0.1:19180/healthz')).status, 200);

  writeFileSync(conf, good);
  const tStop = Date.now();
  p.child.kill('SIGTERM');
  const { code } = await p.exited();
  const stopMs = Date.now() - tStop;
  t.diagnostic(`stopped in ${stopMs} ms with SMTP alerts still pending`);
  assert.equal(code, 0, p.output().slice(-2000));
  assert.ok(stopMs < 5000, `stop took ${stopMs} ms`);
  assert.equal(existsSync(pid), false, 'pid file removed on exit');
  assert.equal(hasAddress(lab.a, '10.211.0.100'), false, 'VIP released on SIGTERM');
});

test('without -n: the command returns 0 once the detached daemon runs; SIGTERM stops it', { skip: engineSkip }, async () => {
  const lab = makePair(`${PREFIX}-d`, 212);
  labs.push(lab.destroy);
  const conf = join(work, 'fork.conf');
  writeFileSync(conf, vrrpConf({ routerId: 'fork-node', priority: 100, vip: '10.212.0.100' }));
  const pid = join(work, 'fork.pid');
  const t0 = Date.now();
  const r = await runIn(lab.a, BIN, ['-G', '-f', conf, '-p', pid]);
  assert.equal(r.code, 0, r.out);
  assert.ok(existsSync(pid), 'pid file written before the parent exits');
  const daemonPid = Number(readFileSync(pid, 'utf8'));
  assert.ok(daemonPid > 0);
  // the detached daemon outlives a failed assertion: make sure it is killed by pid in any case
  labs.push(() => {
    try {
      process.kill(daemonPid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  });
  process.kill(daemonPid, 0);
  await waitUntil('VIP', () => hasAddress(lab.a, '10.212.0.100'), 10000);
  process.kill(daemonPid, 'SIGTERM');
  await waitUntil(
    'daemon exit',
    () => {
      try {
        process.kill(daemonPid, 0);
        return false;
      } catch {
        return true;
      }
    },
    10000,
  );
  assert.equal(existsSync(pid), false);
  assert.ok(Date.now() - t0 < 30000);
});

test('both engines in one process: VRRP and checkers share the daemon, the notify fifo gets both kinds of lines', { skip: engineSkip }, async () => {
  const lab = makePair(`${PREFIX}-both`, 214);
  labs.push(lab.destroy);
  const fifoOut = join(work, 'both.fifo.out');
  const conf = join(work, 'both.conf');
  writeFileSync(
    conf,
    vrrpConf({ routerId: 'both-node', priority: 200, vip: '10.214.0.100', fifoOut }) +
      `
virtual_server 10.214.0.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.214.0.2 1 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`,
  );
  const pid = join(work, 'both.pid');
  const p = startIn(lab.a, BIN, ['-n', '-l', '-G', '-f', conf, '-p', pid, '--lb-backend=dry-run', '--status-listen=19181']);
  procs.push(p);
  const lines = () => (existsSync(fifoOut) ? readFileSync(fifoOut, 'utf8').split('\n').filter(Boolean) : []);
  await waitUntil(
    'INSTANCE and RS lines on the notify fifo',
    () => lines().some((l) => l.startsWith('INSTANCE "VI_1" MASTER')) && lines().includes('RS [10.214.0.2]:tcp:1 [10.214.0.100]:tcp:80 DOWN'),
    15000,
  );
  const metrics = (await httpGetIn(lab.a, 'http://127.0.0.1:19181/metrics')).text;
  assert.match(metrics, /^tskeepalived_engine_up\{engine="vrrp"\} 1$/m);
  assert.match(metrics, /^tskeepalived_engine_up\{engine="checkers"\} 1$/m);
  assert.match(metrics, /^tskeepalived_real_server_up\{virtual_server="\[10\.214\.0\.100\]:tcp:80",real_server="\[10\.214\.0\.2\]:tcp:1"\} 0$/m);
  assert.match(metrics, /^tskeepalived_vrrp_state\{instance="VI_1"[^}]*\} 2$/m);
  // the pid files of both subsystems hold the one process
  assert.equal(readFileSync(pid, 'utf8').trim(), String(p.child.pid));
  assert.equal(readFileSync(join(work, 'both_vrrp.pid'), 'utf8').trim(), String(p.child.pid));
  assert.equal(readFileSync(join(work, 'both_checkers.pid'), 'utf8').trim(), String(p.child.pid));
  p.child.kill('SIGTERM');
  assert.equal((await p.exited()).code, 0);
  for (const f of ['both.pid', 'both_vrrp.pid', 'both_checkers.pid']) assert.equal(existsSync(join(work, f)), false, `${f} removed`);
  // the fifo's reader (cat, another process) copies the last line after the daemon has exited
  await waitUntil('INSTANCE STOP line on the notify fifo', () => lines().some((l) => l.startsWith('INSTANCE "VI_1" STOP')), 3000);
});

test('-s NAMESPACE: the daemon enters the namespace itself (setns, no helper process); exit status returned', { skip: engineSkip }, async () => {
  const lab = makePair(`${PREFIX}-ns`, 215);
  labs.push(lab.destroy);
  const conf = join(work, 'ns.conf');
  writeFileSync(conf, vrrpConf({ routerId: 'ns-node', priority: 200, vip: '10.215.0.100' }));
  const pid = join(work, 'ns.pid');
  // started from the test's own namespace, with -s
  const child = spawn(BIN, ['-n', '-l', '-G', '-s', lab.a, '-f', conf, '-p', pid], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  procs.push({ child, output: () => out, exited: async () => ({ code: await exited, signal: null }) });
  await waitUntil('VIP inside the namespace', () => hasAddress(lab.a, '10.215.0.100'), 10000);
  const daemonPid = Number(readFileSync(pid, 'utf8'));
  assert.equal(daemonPid, child.pid, 'the process started is the daemon, inside the namespace');
  assert.equal(readlinkSync(`/proc/${daemonPid}/task/${daemonPid}/ns/net`), `net:[${statSync(`/run/netns/${lab.a}`).ino}]`);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, out.slice(-2000));
  assert.equal(hasAddress(lab.a, '10.215.0.100'), false);
  assert.equal(existsSync(pid), false);
});
