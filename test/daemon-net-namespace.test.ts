// net_namespace (and -s) as keepalived 2.2.7 does it: the daemon, started from the initial
// namespace, enters the namespace itself (setns of its main thread) after reading the config.
// Real processes in real namespaces: VRRP adverts seen by a keepalived 2.2.7 peer in the other
// namespace, the VIP inside NAME only, notify and MISC_CHECK scripts inside NAME, pid files
// where keepalived puts them (also checked against keepalived itself), a reload that changes the
// namespace refused, a missing namespace reported with file:line, -t checking interfaces inside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, BIN, hasAddress, ip, isRoot, makePair, type Proc, scratch, waitUntil } from './daemon-netns.js';

const PREFIX = `tkns-${process.pid}`;
const { work, procs, labs } = scratch('netns');
const KEEPALIVED = '/usr/sbin/keepalived';

const skip = !isRoot() ? 'needs root (network namespaces)' : false;
const kaSkip = skip || (!existsSync(KEEPALIVED) ? 'keepalived 2.2.7 is not installed (the oracle)' : false);

/** Run a command from the test's (initial) namespace; output collected; killed after the file. */
function start(cmd: string, args: string[]): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const p: Proc = { child, output: () => out, exited: () => done };
  procs.push(p);
  return p;
}

/** The kernel's name of a named namespace: `net:[inode of /run/netns/NAME]`. */
const nsId = (name: string) => `net:[${statSync(`/run/netns/${name}`).ino}]`;

/** A lab whose namespaces are emptied (every process in them killed, by pid) and deleted after the file. */
function pair(tag: string, octet: number): ReturnType<typeof makePair> {
  const lab = makePair(`${PREFIX}-${tag}`, octet);
  labs.push(() => {
    for (const ns of [lab.a, lab.b]) {
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
      for (const p of pids.split('\n').filter((l) => /^\d+$/.test(l))) {
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    lab.destroy();
  });
  return lab;
}

/** keepalived's pid directories of our namespaces, removed by name whatever happens. */
const pidDirs: string[] = [];
labs.push(() => {
  for (const d of pidDirs) rmSync(d, { recursive: true, force: true });
});

function vrrpConf(o: { ns: string; priority: number; vip: string; notify?: string; extra?: string }): string {
  return `global_defs {
    router_id ${o.ns}
    enable_script_security
    script_user root
}
net_namespace ${o.ns}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 61
    priority ${o.priority}
    advert_int 1
${o.notify ? `    notify ${o.notify}\n` : ''}    virtual_ipaddress {
        ${o.vip}/24 dev eth0
    }
}
${o.extra ?? ''}`;
}

test('net_namespace in the config: VRRP, VIP, scripts and pid files inside NAME; a reload that changes it is refused', { skip: kaSkip }, async () => {
  const lab = pair('v', 218);
  pidDirs.push(`/run/keepalived/${lab.a}`, `/run/keepalived/${lab.b}`);
  const vip = '10.218.0.100';
  const notifyOut = join(work, 'notify.out');
  const miscOut = join(work, 'misc.out');
  const notify = join(work, 'notify.sh');
  writeFileSync(notify, `#!/bin/sh\necho "$3 $(readlink /proc/self/ns/net) $(ip netns identify $$)" >> ${notifyOut}\n`);
  const misc = join(work, 'misc.sh');
  writeFileSync(misc, `#!/bin/sh\nreadlink /proc/self/ns/net >> ${miscOut}\nexit 0\n`);
  chmodSync(notify, 0o755);
  chmodSync(misc, 0o755);
  // a virtual server with a MISC_CHECK: the checkers' child processes (dry-run LB backend)
  const vs = `virtual_server 10.218.0.200 80 {
    delay_loop 1
    lb_kind NAT
    protocol TCP
    real_server ${lab.addrB} 80 {
        MISC_CHECK {
            misc_path ${misc}
        }
    }
}
`;
  const conf = join(work, 'ours.conf');
  writeFileSync(conf, vrrpConf({ ns: lab.a, priority: 200, vip, notify, extra: vs }));
  const ours = start(BIN, ['-n', '-l', '-G', '--lb-backend=dry-run', '-f', conf]);
  await waitUntil('the VIP in the namespace', () => hasAddress(lab.a, vip), 10000);
  const pid = ours.child.pid!;

  // the process itself moved (no ip netns exec, no helper process): its main thread is in NAME
  assert.equal(readlinkSync(`/proc/${pid}/task/${pid}/ns/net`), nsId(lab.a));
  assert.notEqual(nsId(lab.a), readlinkSync('/proc/self/ns/net'));
  // the VIP is in NAME only, never in the initial namespace
  assert.ok(!ip('-o', 'addr', 'show').includes(` ${vip}/`), 'no VIP in the initial namespace');

  // pid files where keepalived 2.2.7 puts them for a namespace (seen from outside its mount namespace)
  const ourDir = `/run/keepalived/${lab.a}`;
  await waitUntil('pid files', () => existsSync(join(ourDir, 'keepalived.pid')), 3000);
  assert.deepEqual(readdirSync(ourDir).sort(), ['checkers.pid', 'keepalived.pid', 'vrrp.pid']);
  for (const f of readdirSync(ourDir)) assert.equal(Number(readFileSync(join(ourDir, f), 'utf8')), pid, f);

  // keepalived 2.2.7 as a peer, with net_namespace NAME-b in its config, started from here as well:
  // it hears our adverts across the veth (so they leave from inside NAME) and stays BACKUP
  const kaConf = join(work, 'ka.conf');
  writeFileSync(kaConf, vrrpConf({ ns: lab.b, priority: 100, vip, extra: 'instance kai\n' }));
  const ka = start(KEEPALIVED, ['-n', '-l', '-D', '-f', kaConf]);
  await waitUntil('keepalived BACKUP', () => ka.output().includes('(VI_1) Entering BACKUP STATE'), 10000);
  await new Promise((r) => setTimeout(r, 4500)); // > its Master_Down_Interval (3 x 1 s + skew)
  assert.ok(!ka.output().includes('Entering MASTER STATE'), `keepalived hears our adverts:\n${ka.output().slice(-1500)}`);
  assert.ok(hasAddress(lab.a, vip) && !hasAddress(lab.b, vip));
  assert.ok(ka.output().includes(`Changing syslog ident to Keepalived_${lab.b}_kai`));
  // keepalived's own pid files with `instance kai` (its VRRP child only: no checker config); ours below
  assert.deepEqual(readdirSync(`/run/keepalived/${lab.b}`).sort(), ['keepalived_kai.pid', 'vrrp_kai.pid']);
  ka.child.kill('SIGTERM');
  await ka.exited();

  // scripts run inside NAME: notify (BACKUP, MASTER) and the MISC_CHECK
  await waitUntil('MISC_CHECK ran', () => existsSync(miscOut), 5000);
  assert.deepEqual([...new Set(readFileSync(miscOut, 'utf8').trim().split('\n'))], [nsId(lab.a)]);
  const notified = readFileSync(notifyOut, 'utf8').trim().split('\n');
  assert.deepEqual(notified, [`BACKUP ${nsId(lab.a)} ${lab.a}`, `MASTER ${nsId(lab.a)} ${lab.a}`]);

  // keepalived 2.2.7: "Cannot change network namespace at a reload - please restart keepalived"
  writeFileSync(conf, vrrpConf({ ns: lab.b, priority: 200, vip, notify, extra: vs }));
  ours.child.kill('SIGHUP');
  await waitUntil('reload refused', () => ours.output().includes('Cannot change network namespace at a reload'), 5000);
  assert.ok(hasAddress(lab.a, vip) && alive(ours), 'the running configuration stays');
  assert.equal(readlinkSync(`/proc/${pid}/task/${pid}/ns/net`), nsId(lab.a));

  ours.child.kill('SIGTERM');
  const { code } = await ours.exited();
  assert.equal(code, 0, ours.output().slice(-2000));
  assert.ok(!hasAddress(lab.a, vip));
  await waitUntil(
    'the STOP notification',
    () =>
      readFileSync(notifyOut, 'utf8')
        .trim()
        .endsWith(`STOP ${nsId(lab.a)} ${lab.a}`),
    3000,
  );
  assert.ok(!existsSync(ourDir), 'pid files and their directory removed');
});

test('-s NAME on the command line overrides net_namespace, as keepalived; instance names the pid files', { skip }, async () => {
  const lab = pair('s', 219);
  pidDirs.push(`/run/keepalived/${lab.a}`);
  const conf = join(work, 'override.conf');
  writeFileSync(conf, vrrpConf({ ns: lab.b, priority: 200, vip: '10.219.0.100', extra: 'instance kai\n' }));
  const ours = start(BIN, ['-n', '-l', '-G', '-P', '-s', lab.a, '-f', conf]);
  await waitUntil('the VIP in the -s namespace', () => hasAddress(lab.a, '10.219.0.100'), 10000);
  assert.ok(!hasAddress(lab.b, '10.219.0.100'));
  assert.equal(readlinkSync(`/proc/${ours.child.pid}/task/${ours.child.pid}/ns/net`), nsId(lab.a));
  // as keepalived 2.2.7 (checked in the test above): keepalived_INSTANCE.pid, vrrp_INSTANCE.pid
  assert.deepEqual(readdirSync(`/run/keepalived/${lab.a}`).sort(), ['keepalived_kai.pid', 'vrrp_kai.pid']);
  assert.match(ours.output(), new RegExp(`Changing syslog ident to Keepalived_${lab.a}_kai`));
  ours.child.kill('SIGTERM');
  assert.equal((await ours.exited()).code, 0, ours.output().slice(-2000));
});

test('a namespace that does not exist: exit 4 at once with file:line (keepalived 2.2.7 logs it and exits 0)', { skip: kaSkip }, () => {
  const missing = `${PREFIX}-nope`;
  const conf = join(work, 'missing.conf');
  writeFileSync(conf, vrrpConf({ ns: missing, priority: 100, vip: '10.217.0.100' }));
  const line = vrrpConf({ ns: missing, priority: 100, vip: '' }).split('\n').indexOf(`net_namespace ${missing}`) + 1;
  for (const args of [['-n'], []]) {
    const r = spawnSync(BIN, [...args, '-G', '-f', conf], { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 4, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`${conf}:${line}: fatal: Unable to set network namespace ${missing} - exiting \\(Failed to open /run/netns/${missing}: ENOENT\\)`),
    );
  }
  const t = spawnSync(BIN, ['-t', '-f', conf], { encoding: 'utf8', timeout: 20000 });
  assert.equal(t.status, 4);
  assert.equal(t.stderr, `(Line ${line}) Unable to set network namespace ${missing} - exiting (Failed to open /run/netns/${missing}: ENOENT)\n`);
  // the oracle: the same message, no wait, but exit code 0 (a deliberate difference, as for a missing file)
  const ka = spawnSync(KEEPALIVED, ['-n', '-l', '-f', conf], { encoding: 'utf8', timeout: 20000 });
  assert.equal(ka.status, 0);
  assert.match(ka.stdout + ka.stderr, new RegExp(`Failed to open /run/netns/${missing}\\n.*Unable to set network namespace ${missing} - exiting`));
});

test('-t checks the interfaces inside the namespace, as keepalived -t (net_namespace, -s, duplicates)', { skip: kaSkip }, () => {
  const lab = pair('t', 216);
  // an interface only the namespace has, and one only the initial namespace has
  const inside = `tkt${process.pid % 100000}i`;
  ip('-n', lab.a, 'link', 'add', inside, 'type', 'veth', 'peer', 'name', `${inside}p`);
  const outside = ip('-o', 'link', 'show')
    .split('\n')
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
    .find((n) => n !== undefined && n !== 'lo');
  assert.ok(outside, 'an interface in the initial namespace');
  const confFor = (ns: string[], ifname: string) =>
    `${ns.map((n) => `net_namespace ${n}\n`).join('')}vrrp_instance VI_1 {\n    interface ${ifname}\n    virtual_router_id 9\n    priority 100\n    virtual_ipaddress {\n        10.216.0.9/24\n    }\n}\n`;
  const cases: [string, string, string[]][] = [
    ['the namespace has it', confFor([lab.a], inside), []],
    ['only the initial namespace has it', confFor([lab.a], outside!), []],
    ['no namespace: the initial one', confFor([], inside), []],
    ['-s gives the namespace', confFor([], inside), ['-s', lab.a]],
    ['-s overrides net_namespace', confFor([lab.b], inside), ['-s', lab.a]],
    ['a second net_namespace is ignored', confFor([lab.a, lab.b], inside), []],
    ['net_namespace without a name', confFor([''], inside), []],
  ];
  cases.forEach(([name, text, extra], i) => {
    const file = join(work, `t${i}.conf`);
    writeFileSync(file, text.replace('net_namespace \n', 'net_namespace\n'));
    const ka = spawnSync(KEEPALIVED, ['-t', ...extra, '-f', file], { encoding: 'utf8', timeout: 20000 });
    const ts = spawnSync(BIN, ['-t', ...extra, '-f', file], { encoding: 'utf8', timeout: 20000 });
    const detail = `${name}\n--- keepalived (rc ${ka.status}):\n${ka.stderr}--- tskeepalived (rc ${ts.status}):\n${ts.stderr}`;
    assert.equal(ts.status, ka.status, detail);
    assert.equal(ts.stderr, ka.stderr, detail);
  });
  // the test process itself never left its namespace
  assert.notEqual(readlinkSync('/proc/self/ns/net'), nsId(lab.a));
});

// track_process inside net_namespace: the daemon opens its proc connector socket before the setns, so
// the kernel's process events (served to sockets of the initial network namespace only) still drive the
// count, not a /proc read every 500 ms; keepalived 2.2.7 started the same way gets them too.
test('vrrp_track_process in net_namespace follows the kernel process events: a 200 ms process seen each time (also after a reload), a death at once', {
  skip,
  timeout: 60_000,
}, async (t) => {
  const lab = pair('p', 214);
  pidDirs.push(`/run/keepalived/${lab.a}`);
  const vip = '10.214.0.100';
  // copies of sleep with names of their own: the tracked daemon and a process that lives 200 ms
  const main = `tkpm${process.pid % 100000}`;
  const blip = `tkpb${process.pid % 100000}`;
  copyFileSync('/bin/sleep', join(work, main));
  copyFileSync('/bin/sleep', join(work, blip));
  const conf = join(work, 'track-process.conf');
  writeFileSync(
    conf,
    `net_namespace ${lab.a}
vrrp_track_process tp_main {
    process ${main}
}
vrrp_track_process tp_blip {
    process ${blip}
    weight 10
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 62
    priority 200
    advert_int 1
    track_process {
        tp_main
        tp_blip
    }
    virtual_ipaddress {
        ${vip}/24 dev eth0
    }
}
`,
  );
  const ours = start(BIN, ['-n', '-l', '-G', '-P', '-f', conf]);
  const pid = ours.child.pid!;
  const lines = (s: string) =>
    ours
      .output()
      .split('\n')
      .filter((l) => l.includes(s)).length;
  await waitUntil('tp_main DOWN at start (no such process yet)', () => lines('Track process tp_main is DOWN') === 1, 10000, 10);
  assert.equal(readlinkSync(`/proc/${pid}/task/${pid}/ns/net`), nsId(lab.a), 'the daemon runs inside NAME');
  // the mode line: events, not the /proc polling fallback (ECONNREFUSED inside a namespace without the early socket)
  await waitUntil('the events mode line', () => ours.output().includes('track_process: process events from the kernel (proc connector)'), 3000, 10);
  assert.ok(!ours.output().includes('no process events from the kernel'), ours.output().slice(-2000));
  assert.ok(!hasAddress(lab.a, vip), 'FAULT while the tracked process is missing (weight 0)');

  // the tracked process starts: the instance leaves FAULT and becomes MASTER with the VIP
  const tracked = spawn(join(work, main), ['60'], { stdio: 'ignore' });
  procs.push({ child: tracked, output: () => '', exited: () => new Promise((r) => tracked.once('exit', (code, signal) => r({ code, signal }))) });
  await waitUntil('tp_main UP', () => lines('Track process tp_main is UP') === 1, 3000, 10);
  await waitUntil('MASTER with the VIP in NAME', () => hasAddress(lab.a, vip), 10000);

  // five processes of ~200 ms, 250 ms apart: every one is seen (UP then DOWN). Reading /proc every
  // 500 ms would see each with a chance of about 2 in 5, so all five about once in 100 runs (200 ms
  // rather than less: a loaded CI machine may take a while to read the exec's /proc entry)
  const runs = 5;
  for (let i = 0; i < runs; i++) {
    const b = spawn(join(work, blip), ['0.2'], { stdio: 'ignore' });
    await new Promise((r) => b.once('exit', r));
    await new Promise((r) => setTimeout(r, 250));
  }
  await waitUntil(`${runs} x tp_blip UP and DOWN`, () => lines('Track process tp_blip is DOWN') === runs + 1, 3000, 10);
  assert.equal(lines('Track process tp_blip is UP'), runs, ours.output().slice(-3000));

  // a reload that changes both definitions: the trackers are made again and subscribe again, on the
  // same socket of the initial namespace (the daemon no longer is there to open one)
  writeFileSync(conf, readFileSync(conf, 'utf8').replace(`process ${main}\n`, `process ${main}\n    fork_delay 1\n`).replace('weight 10', 'weight 20'));
  ours.child.kill('SIGHUP');
  await waitUntil('tp_blip made again', () => lines('Track process tp_blip is DOWN') === runs + 2, 5000, 10);
  await waitUntil('tp_main made again, UP', () => lines('Track process tp_main is UP') === 2, 3000, 10);
  assert.equal(lines('track_process: process events from the kernel (proc connector)'), 2, 'subscribed again, in events mode');
  const b = spawn(join(work, blip), ['0.2'], { stdio: 'ignore' });
  await new Promise((r) => b.once('exit', r));
  await waitUntil('a 200 ms process after the reload', () => lines('Track process tp_blip is DOWN') === runs + 3, 3000, 10);
  assert.equal(lines('Track process tp_blip is UP'), runs + 1);
  assert.ok(!ours.output().includes('no process events from the kernel'), ours.output().slice(-2000));

  // the tracked process dies: tp_main DOWN and FAULT (the VIP goes) at once
  const killedAt = Date.now();
  tracked.kill('SIGKILL');
  await waitUntil('tp_main DOWN after the kill', () => lines('Track process tp_main is DOWN') === 2, 3000, 2);
  const seenMs = Date.now() - killedAt;
  await waitUntil('the VIP removed (FAULT)', () => !hasAddress(lab.a, vip), 3000, 10);
  const vipGoneMs = Date.now() - killedAt;
  t.diagnostic(`death seen in ${seenMs} ms (log line read by the test), VIP gone within ${vipGoneMs} ms (polling /proc: 186-598 ms)`);

  ours.child.kill('SIGTERM');
  assert.equal((await ours.exited()).code, 0, ours.output().slice(-2000));

  // the oracle: keepalived 2.2.7 on the same file in the other namespace also opens its proc connector
  // before it enters NAME (only one started inside a namespace, by ip netns exec, gets errno 111):
  // it subscribes, and sees the death at once
  if (!existsSync(KEEPALIVED)) return t.diagnostic('keepalived 2.2.7 is not installed: no comparison');
  pidDirs.push(`/run/keepalived/${lab.b}`);
  const kaConf = join(work, 'track-process-ka.conf');
  writeFileSync(kaConf, readFileSync(conf, 'utf8').replace(`net_namespace ${lab.a}`, `net_namespace ${lab.b}`));
  const again = spawn(join(work, main), ['60'], { stdio: 'ignore' });
  procs.push({ child: again, output: () => '', exited: () => new Promise((r) => again.once('exit', (code, signal) => r({ code, signal }))) });
  const ka = start(KEEPALIVED, ['-n', '-l', '-D', '-P', '-f', kaConf]);
  try {
    await waitUntil('keepalived subscribed', () => ka.output().includes('proc_events has confirmed it is configured'), 10000, 10);
    await waitUntil('keepalived BACKUP', () => ka.output().includes('(VI_1) Entering BACKUP STATE'), 5000, 10);
    const kaKilledAt = Date.now();
    again.kill('SIGKILL');
    await waitUntil('keepalived: quorum lost', () => ka.output().includes('Quorum lost for tracked process tp_main'), 3000, 2);
    t.diagnostic(`keepalived 2.2.7: death seen in ${Date.now() - kaKilledAt} ms`);
    assert.ok(!ka.output().includes('errno 111'), ka.output().slice(-2000));
  } finally {
    ka.child.kill('SIGTERM');
    again.kill('SIGKILL');
  }
  await ka.exited();
});
