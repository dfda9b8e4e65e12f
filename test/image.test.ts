// The container image (examples/Dockerfile) run with podman: two containers in two network
// namespaces of a bridge lab, each with the example's capabilities, its config mounted read-only and
// a read-only root with a tmpfs /run (the documented way). Checks MASTER + VIP, `podman stop`
// (SIGTERM to Node as PID 1) and `podman kill` (SIGKILL) handovers, HEALTHCHECK transitions, JSON logs,
// the image's size, that it carries no compiler and that `tskeepalived -v` runs in it.
// Run by scripts/image-test.sh (npm run test:image), which builds the image and sets TSK_IMAGE;
// in npm test it skips.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lan, isRoot, sh, waitFor } from './vrrp-helpers.js';

const IMAGE = process.env.TSK_IMAGE;
const skip = !IMAGE ? 'run by npm run test:image (scripts/image-test.sh builds the image and sets TSK_IMAGE)' : !isRoot() ? 'needs root' : false;

// the same runtime and ulimits scripts/image-test.sh uses (crun refuses this kernel's hybrid cgroups)
const PODMAN = ['--runtime', '/usr/sbin/runc'];
const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1000:1000'];
const ADVERT_S = 1;
const PRIO_A = 150;
const PRIO_B = 100;
// RFC 5798 / keepalived: the backup's skew time and Master_Down_Interval, for priority 100, advert 1 s
const SKEW_MS = Math.floor(((256 - PRIO_B) * ADVERT_S * 1000) / 256);
const MASTER_DOWN_MS = 3 * ADVERT_S * 1000 + SKEW_MS;
const VRID = 71;

const tag = `tki-${process.pid % 100000}`;
const names = { a: `${tag}-a`, b: `${tag}-b` };
const figures: Record<string, string> = {};
let lan: Lan;
let vip: string;

function podman(args: string[], timeoutMs = 30_000): { code: number; out: string; err: string } {
  const r = spawnSync('podman', [...PODMAN, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, out: r.stdout ?? '', err: r.stderr ?? '' };
}

function podmanOk(args: string[], timeoutMs = 30_000): string {
  const r = podman(args, timeoutMs);
  assert.equal(r.code, 0, `podman ${args.join(' ')}: exit ${r.code}\n${r.err}${r.out}`);
  return r.out;
}

/** podman stop / kill, asynchronously, so that the VIP can be watched while it runs. */
function podmanAsync(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const p = spawn('podman', [...PODMAN, ...args], { stdio: 'ignore' });
    const timer = setTimeout(() => p.kill('SIGKILL'), 40_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });
}

function conf(prio: number): string {
  return [
    'global_defs {',
    `    router_id image-${prio}`,
    '}',
    'vrrp_instance VI_IMAGE {',
    '    state BACKUP',
    '    interface eth0',
    `    virtual_router_id ${VRID}`,
    `    priority ${prio}`,
    `    advert_int ${ADVERT_S}`,
    '    authentication {',
    '        auth_type PASS',
    '        auth_pass img00001',
    '    }',
    '    virtual_ipaddress {',
    `        ${vip}/24 dev eth0`,
    '    }',
    '}',
    '',
  ].join('\n');
}

/** The README's run line: host network (here the lab namespace), NET_ADMIN + NET_RAW, config read-only, read-only root + tmpfs /run. */
function runArgs(name: string, nsIndex: number, confDir: string): string[] {
  return [
    'run',
    '-d',
    '--name',
    name,
    ...ULIMITS,
    '--network',
    `ns:/run/netns/${lan.namespaces[nsIndex]}`,
    '--cap-add',
    'NET_ADMIN',
    '--cap-add',
    'NET_RAW',
    // as docker does it: only what --tmpfs names is writable (podman would add /tmp and /var/tmp itself)
    '--read-only',
    '--read-only-tmpfs=false',
    '--tmpfs',
    '/run',
    '--tmpfs',
    '/tmp',
    '-v',
    `${confDir}:/etc/keepalived:ro`,
    IMAGE!,
  ];
}

function confDir(name: string, prio: number): string {
  const d = join(lan.dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'keepalived.conf'), conf(prio));
  return d;
}

let lastHealthcheck = '';
/** `podman healthcheck run`: 0 healthy, 1 unhealthy, 125 podman's own error (lastHealthcheck says which). */
function healthcheck(name: string): number {
  let r = podman(['healthcheck', 'run', name], 20_000);
  // podman's own error (125), seen once right after a `podman kill` of the other container: once more
  if (r.code === 125) r = podman(['healthcheck', 'run', name], 20_000);
  lastHealthcheck = `podman healthcheck run ${name}: exit ${r.code} ${r.out}${r.err}`;
  return r.code;
}

function healthStatus(name: string): string {
  const out = podmanOk(['inspect', name]);
  const state = (JSON.parse(out) as { State: { Health?: { Status: string }; Healthcheck?: { Status: string } } }[])[0].State;
  return (state.Health ?? state.Healthcheck)?.Status ?? '';
}

function logsOf(name: string): { out: string[]; err: string } {
  const r = podman(['logs', name]);
  return { out: r.out.split('\n').filter((l) => l !== ''), err: r.err };
}

function exitCodeOf(name: string): number {
  return Number(podmanOk(['inspect', '--format', '{{.State.ExitCode}}', name]).trim());
}

function removeContainers(): void {
  for (const n of Object.values(names)) podman(['rm', '-f', '-t', '0', n], 30_000);
}

before(() => {
  if (skip) return;
  removeContainers();
  lan = new Lan(tag, 2, '10.71.0', 'fd71');
  vip = '10.71.0.100';
});

after(() => {
  if (skip) return;
  removeContainers();
  lan?.cleanup();
  const lines = Object.entries(figures).map(([k, v]) => `  ${k.padEnd(44)} ${v}`);
  process.stdout.write(`image figures (${IMAGE}):\n${lines.join('\n')}\n`);
});

test('the image: tskeepalived -v, no compiler, npm or dev dependency, size', { skip, timeout: 120_000 }, () => {
  const v = podmanOk(['run', '--rm', ...ULIMITS, '--network', 'none', '--entrypoint', 'tskeepalived', IMAGE!, '-v']);
  assert.match(v, /Keepalived|tskeepalived/i, v);
  figures['tskeepalived -v'] = v.split('\n')[0];
  // the entrypoint with -v added (CMD) prints the version too
  const v2 = podmanOk(['run', '--rm', ...ULIMITS, '--network', 'none', IMAGE!, '-v']);
  assert.equal(v2.split('\n')[0], v.split('\n')[0]);

  const probe = podmanOk([
    'run',
    '--rm',
    ...ULIMITS,
    '--network',
    'none',
    '--entrypoint',
    'sh',
    IMAGE!,
    '-c',
    'for c in gcc g++ cc c++ clang make python3 as ld; do command -v $c; done; ls /usr/bin | grep -E "^(gcc|g\\+\\+|cc1|clang)" ; ' +
      // npm prune may leave an empty scope directory (@biomejs): only a non-empty one counts
      'for m in typescript esbuild @biomejs @types fast-check smtp-server node-gyp; do [ -n "$(ls -A /app/node_modules/$m 2>/dev/null)" ] && echo dev:$m; done; ' +
      'for f in npm npx; do command -v $f; done; [ -d /usr/local/include/node ] && echo headers; ' +
      'ls /app/build/Release/*.node; id -u; true',
  ]);
  const lines = probe.split('\n').filter(Boolean);
  const addon = lines.filter((l) => l.endsWith('.node'));
  const other = lines.filter((l) => !l.endsWith('.node') && !/^\d+$/.test(l));
  assert.deepEqual(other, [], `compiler, npm, Node headers or a dev dependency in the runtime image:\n${other.join('\n')}`);
  assert.equal(addon.length, 1, `the native addon in the image: ${probe}`);

  const size = Number(podmanOk(['image', 'inspect', '--format', '{{.Size}}', IMAGE!]).trim());
  const baseName = process.env.TSK_IMAGE_BASE ?? 'docker.io/library/debian:bookworm-slim';
  const base = Number(podman(['image', 'inspect', '--format', '{{.Size}}', baseName]).out.trim()) || 0;
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  figures['image size'] = `${mb(size)} (goal < 250 MB; base ${baseName}: ${mb(base)}, tskeepalived's layers: ${mb(size - base)})`;
  if (process.env.TSK_IMAGE_BUILD_SECONDS) figures['build time (podman build)'] = `${process.env.TSK_IMAGE_BUILD_SECONDS} s`;
  assert.ok(size < 250e6, `image is ${mb(size)}, the goal is under 250 MB`);
});

test('a read-only root without a writable /run: a clear error, no stack trace', { skip, timeout: 60_000 }, () => {
  const dir = confDir('rofail', PRIO_B);
  // in a lab namespace: the config names eth0, which is checked before the pid files are written
  const r = podman(
    [
      'run',
      '--rm',
      ...ULIMITS,
      '--network',
      `ns:/run/netns/${lan.namespaces[0]}`,
      '--cap-add',
      'NET_ADMIN',
      '--cap-add',
      'NET_RAW',
      '--read-only',
      '--read-only-tmpfs=false',
      '-v',
      `${dir}:/etc/keepalived:ro`,
      IMAGE!,
    ],
    40_000,
  );
  assert.equal(r.code, 1, `exit ${r.code}\n${r.out}${r.err}`);
  const all = r.out + r.err;
  assert.match(all, /cannot write pid file \/run\/keepalived\.pid/, all);
  assert.ok(!lan.hasAddress(0, vip), 'nothing was started');
  assert.doesNotMatch(all, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace');
});

test('two containers: MASTER + VIP, health, JSON logs; podman stop hands over in the skew time; podman kill within Master_Down_Interval', {
  skip,
  timeout: 300_000,
}, async () => {
  const dirA = confDir('a', PRIO_A);
  const dirB = confDir('b', PRIO_B);
  podmanOk(runArgs(names.a, 0, dirA));
  const tStart = Date.now(); // container a runs
  podmanOk(runArgs(names.b, 1, dirB));

  // HEALTHCHECK: healthy once the status endpoint answers (before the VRRP state settles)
  await waitFor('container a healthy', () => healthcheck(names.a) === 0, 20_000, 100);
  figures['podman run -> first healthy probe'] = `${Date.now() - tStart} ms (each probe starts a node: ~0.5-1 s here)`;

  // MASTER + VIP on the higher priority, BACKUP on the other
  await waitFor('VIP on container a', () => lan.hasAddress(0, vip), 20_000, 50);
  const masterLine = logsOf(names.a).out.find((l) => /Entering MASTER STATE/.test(l));
  assert.ok(masterLine, 'container a logs MASTER');
  const masterDown150 = 3 * ADVERT_S * 1000 + Math.floor(((256 - PRIO_A) * ADVERT_S * 1000) / 256);
  figures['podman run -> MASTER (its log time)'] =
    `${(JSON.parse(masterLine) as { time: number }).time - tStart} ms (${masterDown150} ms of it: Master_Down_Interval as BACKUP first)`;
  await waitFor('container b logs BACKUP', () => logsOf(names.b).out.some((l) => /Entering BACKUP STATE/.test(l)), 10_000, 200);
  assert.ok(!lan.hasAddress(1, vip), 'the backup does not hold the VIP');

  // Node is PID 1 in the container
  const cmdline = podmanOk(['exec', names.a, 'cat', '/proc/1/cmdline']).split('\0').join(' ');
  assert.match(cmdline, /^node .*tskeepalived -n -G -f \/etc\/keepalived\/keepalived\.conf/, cmdline);

  assert.equal(healthStatus(names.a), 'healthy');
  assert.equal(healthcheck(names.b), 0, lastHealthcheck);

  // logs: JSON lines on stdout (pino), nothing on stderr
  const la = logsOf(names.a);
  assert.ok(la.out.length > 3, la.out.join('\n'));
  for (const l of la.out) {
    const j = JSON.parse(l) as { level?: unknown; time?: unknown; msg?: unknown };
    assert.ok(j.level !== undefined && j.time !== undefined && typeof j.msg === 'string', l);
  }
  assert.equal(la.err.trim(), '', `stderr: ${la.err}`);
  assert.ok(la.out.some((l) => /Entering MASTER STATE/.test(l)));
  figures.logs = `${la.out.length} JSON lines on stdout, none on stderr`;

  // SIGUSR1 on a read-only root: the data dump goes to the tmpfs /tmp
  podmanOk(['kill', '-s', 'USR1', names.a]);
  await waitFor('the SIGUSR1 data dump', () => podman(['exec', names.a, 'grep', '-q', 'VI_IMAGE', '/tmp/keepalived.data']).code === 0, 10_000, 200);

  // status endpoint down (a TCP reset on its port inside the container's namespace) -> unhealthy
  const ns0 = lan.namespaces[0];
  const nft = (script: string) => assert.equal(sh('ip', ['netns', 'exec', ns0, 'nft', script]).code, 0);
  nft(
    'add table inet tkimage; add chain inet tkimage in { type filter hook input priority 0; }; add rule inet tkimage in tcp dport 9180 reject with tcp reset',
  );
  let failed = 0;
  const probeFails = () => {
    if (healthcheck(names.a) === 1) failed++;
    return healthStatus(names.a) === 'unhealthy';
  };
  await waitFor('container a unhealthy', probeFails, 30_000, 100);
  figures['status port down -> unhealthy'] = `after ${failed} failed probes (retries=3; probes in the 10 s start period do not count; ~30 s at interval=10s)`;
  assert.ok(failed >= 3, `unhealthy after ${failed} failed probes`);
  nft('delete table inet tkimage');
  assert.equal(healthcheck(names.a), 0, lastHealthcheck);
  assert.equal(healthStatus(names.a), 'healthy');
  figures['status port back -> healthy'] = 'at the next probe';

  // podman stop (SIGTERM to PID 1): the master sends priority 0 and releases the VIP; the backup takes over in its skew time
  const t0 = Date.now();
  const stopped = podmanAsync(['stop', '-t', '20', names.a]);
  await waitFor('VIP on container b after podman stop', () => lan.hasAddress(1, vip), 10_000, 5);
  const stopTakeover = Date.now() - t0;
  assert.equal(await stopped, 0);
  const stopTook = Date.now() - t0;
  assert.equal(exitCodeOf(names.a), 0, 'exit 0 from the SIGTERM handler, not 137 from a SIGKILL after the timeout');
  assert.ok(!lan.hasAddress(0, vip), 'the stopped container left no VIP behind');
  // PID 1 handled SIGTERM: its log line carries the time it got the signal (same clock as ours)
  const termLine = logsOf(names.a).out.find((l) => /received SIGTERM/.test(l));
  assert.ok(termLine, 'PID 1 logged the SIGTERM it handled');
  const sigAt = (JSON.parse(termLine) as { time: number }).time;
  const fromSignal = t0 + stopTakeover - sigAt;
  figures['podman stop -> VIP on the backup'] = `${stopTakeover} ms (podman stop returned after ${stopTook} ms, exit 0)`;
  figures['SIGTERM in PID 1 -> VIP on the backup'] = `${fromSignal} ms (skew time ${SKEW_MS} ms; podman's own delay ${sigAt - t0} ms)`;
  assert.ok(fromSignal < SKEW_MS + 700, `takeover ${fromSignal} ms after the daemon got SIGTERM`);
  assert.ok(stopTakeover < MASTER_DOWN_MS, `takeover after podman stop took ${stopTakeover} ms: not the priority 0 advert`);

  // the master comes back and preempts (a fresh tmpfs /run: no stale pid file)
  podmanOk(['start', names.a]);
  const tBack = Date.now();
  await waitFor('container a preempts', () => lan.hasAddress(0, vip) && !lan.hasAddress(1, vip), 20_000, 20);
  figures['podman start -> preempts back'] = `${Date.now() - tBack} ms`;
  await waitFor('container a healthy again', () => healthcheck(names.a) === 0, 20_000, 250);

  // podman kill (SIGKILL): nothing is sent; the backup takes over after Master_Down_Interval
  const t1 = Date.now();
  assert.equal(await podmanAsync(['kill', names.a]), 0);
  const killed = Date.now(); // podman kill returns once runc delivered the signal
  await waitFor('VIP on container b after podman kill', () => lan.hasAddress(1, vip), 15_000, 5);
  const killTakeover = Date.now() - t1;
  const fromKilled = Date.now() - killed;
  figures['podman kill -> VIP on the backup'] =
    `${killTakeover} ms from the command, ${fromKilled} ms from its return (Master_Down_Interval ${MASTER_DOWN_MS} ms, from the last advert)`;
  assert.ok(fromKilled < MASTER_DOWN_MS + 1000, `takeover ${fromKilled} ms after podman kill returned`);
  assert.ok(killTakeover > MASTER_DOWN_MS - ADVERT_S * 1000, `takeover after ${killTakeover} ms: too early for a master that sent nothing`);
  assert.equal(healthcheck(names.b), 0, lastHealthcheck);

  // the backup, stopped in turn, releases the VIP it took
  assert.equal(await podmanAsync(['stop', '-t', '20', names.b]), 0);
  assert.equal(exitCodeOf(names.b), 0);
  assert.ok(!lan.hasAddress(1, vip), 'container b left no VIP behind');
});
