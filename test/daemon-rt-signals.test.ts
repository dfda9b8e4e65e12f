// keepalived's real-time signals, which Node's process.on cannot take: the native layer's handler
// writes the signal number to a pipe the daemon reads. SIGRTMIN+2 writes keepalived's JSON document
// to $TMPDIR/keepalived.json, SIGRTMAX-1 the stats dump and clears the counters. The oracle is
// keepalived 2.2.7 itself: its --signum numbers, and its JSON file for the same configuration in the
// same namespace (path, mode, keys, value types and the values both can know).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from './daemon-netns.js';
import { createLab, destroyLab, hasCommand, isRoot, type Lab, nsHasAddress, type Running, sh, startInNs, stopProcess, waitFor } from './net-lab.js';

const hasKeepalived = hasCommand('keepalived');
const OCTET = 164;

test('--signum prints the numbers keepalived 2.2.7 prints, and its error for an unknown function', {
  skip: !hasKeepalived && 'keepalived not installed',
}, () => {
  const run = (cmd: string, arg: string) => {
    try {
      return { out: execFileSync(cmd, [`--signum=${arg}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }), code: 0 };
    } catch (e) {
      const err = e as { status: number; stdout: string; stderr: string };
      return { out: err.stdout + err.stderr, code: err.status };
    }
  };
  for (const f of ['STOP', 'RELOAD', 'DATA', 'STATS', 'STATS_CLEAR', 'JSON', 'TDATA', 'json', 'NOPE']) {
    assert.deepEqual(run(BIN, f), run('keepalived', f), `--signum=${f}`);
  }
  assert.equal(run(BIN, 'JSON').out, `${execFileSync('bash', ['-c', 'kill -l RTMIN+2'], { encoding: 'utf8' }).trim()}\n`);
});

const skip = !isRoot ? 'needs root (network namespaces)' : !hasKeepalived ? 'keepalived not installed' : false;
let lab: Lab;

before(() => {
  if (!skip) lab = createLab('rts', OCTET);
});
after(async () => {
  if (lab) await destroyLab(lab);
  // a lab that failed half-way (e.g. an ip command timing out under load): its namespaces by name
  else if (!skip) for (const side of ['a', 'b']) sh('ip', ['netns', 'del', `tkn-${process.pid}-rts-${side}`], { allowFail: true });
});

function config(ifname: string, work: string): string {
  return `global_defs {
    router_id rt-signals
    enable_script_security
    script_user root
}
vrrp_script chk_ok {
    script "/bin/true"
    interval 1
}
vrrp_instance VI_1 {
    state MASTER
    interface ${ifname}
    virtual_router_id 61
    priority 150
    advert_int 1
    garp_master_delay 3
    authentication {
        auth_type PASS
        auth_pass secret12
    }
    track_interface {
        ${ifname}
    }
    track_script {
        chk_ok
    }
    notify_master "/bin/touch ${work}/master"
    virtual_ipaddress {
        10.${OCTET}.0.100/24
    }
    virtual_ipaddress_excluded {
        10.${OCTET}.0.101/24
    }
}
vrrp_instance VI_2 {
    state BACKUP
    interface ${ifname}
    virtual_router_id 62
    priority 100
    version 3
    advert_int 0.5
    nopreempt
    virtual_ipaddress {
        10.${OCTET}.0.102/24
    }
}
`;
}

type Doc = { data: Record<string, unknown>; stats: Record<string, number> }[];

/** Start one implementation, wait for both VIPs, signal SIGRTMIN+2, read the file. */
async function jsonOf(
  name: string,
  cmd: string,
  args: (conf: string, dir: string) => string[],
): Promise<{ doc: Doc; mode: number; dir: string; proc: Running }> {
  const dir = join(lab.tmp, name);
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'keepalived.conf');
  writeFileSync(conf, config(lab.va, lab.tmp));
  const proc = startInNs(lab, lab.a, cmd, args(conf, dir), { TMPDIR: dir });
  const up = await waitFor(() => nsHasAddress(lab.a, `10.${OCTET}.0.100`) && nsHasAddress(lab.a, `10.${OCTET}.0.102`), 15_000);
  assert.ok(up, `${name}: the instances did not become MASTER: ${proc.stderr()}${proc.stdout()}`);
  await new Promise((r) => setTimeout(r, 1500)); // a few adverts
  const file = join(dir, 'keepalived.json');
  assert.ok(!existsSync(file), `${name}: no JSON file before the signal`);
  const pid = Number(readFileSync(join(dir, 'k.pid'), 'utf8').trim());
  execFileSync('kill', ['-s', 'RTMIN+2', String(pid)]);
  assert.ok(await waitFor(() => existsSync(file), 5000), `${name}: no ${file} after SIGRTMIN+2: ${proc.stderr()}`);
  await new Promise((r) => setTimeout(r, 200)); // keepalived writes it in place
  return { doc: JSON.parse(readFileSync(file, 'utf8')) as Doc, mode: statSync(file).mode & 0o777, dir, proc };
}

const kind = (v: unknown) => (Array.isArray(v) ? 'array' : typeof v);

test('SIGRTMIN+2 writes keepalived.json as keepalived 2.2.7 does: path, mode, keys, types, values', { skip, timeout: 120_000 }, async () => {
  const k = await jsonOf('keepalived', 'keepalived', (conf, dir) => ['-n', '-l', '-D', '-P', '-f', conf, '-p', join(dir, 'k.pid'), '-r', join(dir, 'kv.pid')]);
  await stopProcess(k.proc);
  await waitFor(() => !nsHasAddress(lab.a, `10.${OCTET}.0.100`), 5000);
  const t = await jsonOf('tskeepalived', BIN, (conf, dir) => ['-n', '-l', '-P', '-f', conf, '-p', join(dir, 'k.pid')]);
  try {
    assert.equal(t.mode, k.mode, 'file mode');
    assert.deepEqual(
      t.doc.map((i) => i.data.iname),
      k.doc.map((i) => i.data.iname),
    );
    const now = Date.now() / 1000;
    for (let i = 0; i < k.doc.length; i++) {
      const [kd, td] = [k.doc[i], t.doc[i]];
      const name = kd.data.iname;
      assert.deepEqual(Object.keys(td.data).sort(), Object.keys(kd.data).sort(), `${name}: data keys`);
      assert.deepEqual(Object.keys(td.stats).sort(), Object.keys(kd.stats).sort(), `${name}: stats keys`);
      for (const key of Object.keys(kd.data)) {
        assert.equal(kind(td.data[key]), kind(kd.data[key]), `${name}: type of data.${key}`);
        if (key === 'last_transition') {
          for (const v of [td.data[key], kd.data[key]] as number[]) assert.ok(Math.abs(now - v) < 60, `${name}: last_transition ${v}`);
        } else assert.deepEqual(td.data[key], kd.data[key], `${name}: data.${key}`);
      }
      for (const key of Object.keys(kd.stats)) {
        if (key === 'advert_sent') assert.ok(td.stats[key] > 0 && kd.stats[key] > 0, `${name}: adverts sent`);
        else assert.equal(td.stats[key], kd.stats[key], `${name}: stats.${key}`);
      }
    }
    // SIGRTMAX-1 (keepalived's STATS_CLEAR): the stats dump, then the counters from zero
    const before = t.doc[0].stats.advert_sent;
    const pid = Number(readFileSync(join(t.dir, 'k.pid'), 'utf8').trim());
    execFileSync('bash', ['-c', `kill -s RTMAX-1 ${pid}`]); // procps kill does not know RTMAX-n
    assert.ok(await waitFor(() => existsSync(join(t.dir, 'keepalived.stats')), 5000), 'stats dump after SIGRTMAX-1');
    assert.match(readFileSync(join(t.dir, 'keepalived.stats'), 'utf8'), /VRRP Instance: VI_1/);
    execFileSync('kill', ['-s', 'RTMIN+2', String(pid)]);
    await waitFor(() => (JSON.parse(readFileSync(join(t.dir, 'keepalived.json'), 'utf8')) as Doc)[0].stats.become_master === 0, 5000);
    const cleared = JSON.parse(readFileSync(join(t.dir, 'keepalived.json'), 'utf8')) as Doc;
    assert.equal(cleared[0].stats.become_master, 0, 'counters cleared');
    assert.ok(cleared[0].stats.advert_sent < before, `adverts sent ${before} -> ${cleared[0].stats.advert_sent}`);
    // and the daemon is still running: the signals did not take their default action (terminate)
    assert.equal(t.proc.proc.exitCode, null);
    assert.equal(t.proc.proc.signalCode, null);
  } finally {
    await stopProcess(t.proc);
  }
});
