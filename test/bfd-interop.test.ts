// BFD on the wire against keepalived 2.2.7's own BFD process, in network namespaces: sessions come
// Up both ways (both active, keepalived passive, tskeepalived passive; IPv4 and IPv6), a stalled
// peer (SIGSTOP) is detected within multiplier x interval (+-1 interval) by either side, the
// tracking VRRP instance goes FAULT, the weighted one drops its priority, the BFD_CHECK real server
// goes down; SIGCONT brings everything back.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lan, type Node, isRoot, startInNamespace, waitFor, sleep } from './vrrp-helpers.js';

const canRun = isRoot() && existsSync('/usr/sbin/keepalived');
const skip = canRun ? false : 'needs root and keepalived 2.2.7 (/usr/sbin/keepalived)';
const INTERVAL = 100; // ms, min_rx = min_tx on both sides
const MULT = 3;
const DETECT = INTERVAL * MULT;

let lan: Lan;
before(() => {
  if (!canRun) return;
  lan = new Lan(`bf${process.pid}`, 2, '10.83.0', 'fd83');
  // a second address pair for the session where tskeepalived is the passive side
  spawnSyncIp(lan.namespaces[0], ['addr', 'add', '10.83.0.11/24', 'dev', 'eth0']);
  spawnSyncIp(lan.namespaces[1], ['addr', 'add', '10.83.0.12/24', 'dev', 'eth0']);
});
after(() => lan?.cleanup());

function spawnSyncIp(ns: string, args: string[]): void {
  const r = spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

const timers = `    min_rx ${INTERVAL}\n    min_tx ${INTERVAL}\n    multiplier ${MULT}\n`;

function tsConf(): string {
  return `global_defs {
  router_id ts
}
bfd_instance b1 {
    neighbor_ip 10.83.0.2
${timers}}
bfd_instance b6 {
    neighbor_ip fd83::2
${timers}}
bfd_instance b2 {
    neighbor_ip 10.83.0.12
    source_ip 10.83.0.11
    passive
${timers}}
vrrp_instance VI_F {
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.83.0.100/24
    }
    track_bfd {
        b1
    }
}
vrrp_instance VI_W {
    interface eth0
    virtual_router_id 52
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.83.0.101/24
    }
    track_bfd {
        b6 weight -20
    }
}
virtual_server 10.83.0.200 80 {
    delay_loop 5
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.83.0.2 80 {
        BFD_CHECK {
            name b2
        }
    }
}
`;
}

function kaConf(): string {
  return `bfd_instance b1 {
    neighbor_ip 10.83.0.1
${timers}}
bfd_instance b6 {
    neighbor_ip fd83::1
    passive
${timers}}
bfd_instance b2 {
    neighbor_ip 10.83.0.11
    source_ip 10.83.0.12
${timers}}
`;
}

interface Rec {
  time: number;
  msg: string;
  bfd?: string;
  silentMs?: number;
  instance?: string;
  [k: string]: unknown;
}

function records(node: Node): Rec[] {
  const out: Rec[] = [];
  for (const l of node.lines) {
    if (!l.startsWith('{')) continue;
    try {
      out.push(JSON.parse(l) as Rec);
    } catch {
      /* a partial line */
    }
  }
  return out;
}

const kaPid = (file: string): number | undefined => {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
};

test('BFD against keepalived 2.2.7: sessions Up both ways, stalls detected within multiplier x interval, track_bfd and BFD_CHECK follow', {
  skip,
  timeout: 110_000,
}, async (t) => {
  const tsPath = lan.writeText('ts.conf', tsConf());
  const kaPath = lan.writeText('ka.conf', kaConf());
  const d = lan.dir;
  const kaPids = ['-p', join(d, 'ka.pid'), '-r', join(d, 'ka-v.pid'), '-c', join(d, 'ka-c.pid'), '-b', join(d, 'ka-b.pid')];
  const ka = startInNamespace(lan, 1, ['keepalived', '-n', '-l', '-D', '-G', '-f', kaPath, ...kaPids]);
  // no -l: JSON records (with epoch-ms times) on stdout
  const tsPids = ['-p', join(d, 'ts.pid'), '-r', join(d, 'ts-v.pid'), '-c', join(d, 'ts-c.pid')];
  const ts = startInNamespace(lan, 0, [process.execPath, 'bin/tskeepalived', '-n', '-D', '-G', '--lb-backend=dry-run', '-f', tsPath, ...tsPids]);
  const dump = () => `--- tskeepalived\n${ts.lines.slice(-60).join('\n')}\n--- keepalived\n${ka.lines.slice(-40).join('\n')}`;
  const tsHas = (pred: (r: Rec) => boolean) => records(ts).some(pred);
  const expired = (name: string) => (r: Rec) => r.bfd === name && typeof r.msg === 'string' && r.msg.startsWith(`(${name}) Expired after`);
  const kaExpired = (name: string) => ka.lines.map((l) => new RegExp(`\\(${name}\\) Expired after (\\d+) ms`).exec(l)).filter((m) => m !== null);
  const NAMES = ['b1', 'b6', 'b2'];
  /** a session's state as its last transition log says, on our side and on keepalived's */
  const tsState = (n: string) =>
    records(ts)
      .filter((r) => r.bfd === n && (r.msg === `(${n}) Entering Up state` || r.msg.startsWith(`(${n}) Entering Down state`)))
      .at(-1)
      ?.msg.includes('Up')
      ? 'Up'
      : 'Down';
  const kaState = (n: string) =>
    ka.lines
      .filter((l) => l.includes(`(${n}) Entering Up state`) || l.includes(`(${n}) Entering Down state`))
      .at(-1)
      ?.includes('Up')
      ? 'Up'
      : 'Down';
  const allUp = () => NAMES.every((n) => tsState(n) === 'Up' && kaState(n) === 'Up');
  const downs = () =>
    records(ts).filter((r) => typeof r.msg === 'string' && / Entering Down state/.test(r.msg)).length +
    ka.lines.filter((l) => / Entering Down state/.test(l)).length;
  const since = (t0: number, pred: (r: Rec) => boolean) => records(ts).some((r) => r.time >= t0 && pred(r));
  const lastVif = () =>
    records(ts)
      .filter((r) => r.instance === 'VI_F' && /^Entering \w+ STATE/.test(r.msg))
      .at(-1)?.msg;
  try {
    // ---- Up both ways
    await waitFor('the three sessions Up on both sides', allUp, 20_000, 50).catch((e) => {
      throw new Error(`${e.message}\n${dump()}`);
    });
    await waitFor('VI_F MASTER once b1 is Up', () => lastVif() === 'Entering MASTER STATE', 10_000, 50);
    await waitFor(
      'VI_W gains the weight back when b6 comes Up',
      () => tsHas((r) => r.instance === 'VI_W' && r.msg === 'Changing effective priority from 80 to 100'),
      3000,
      50,
    );
    const steady = downs();
    await sleep(1500); // at the fast rate for a while: no flap
    assert.equal(downs(), steady, `no session went Down at the fast rate\n${dump()}`);
    assert.ok(allUp());

    // ---- keepalived's BFD process stalls: we detect it
    const kaBfd = kaPid(join(d, 'ka-b.pid'));
    assert.ok(kaBfd, 'keepalived wrote its BFD child pid');
    const t0 = Date.now();
    process.kill(kaBfd, 'SIGSTOP');
    try {
      await waitFor('our three sessions expire', () => NAMES.every((n) => since(t0, expired(n))), 5000, 10);
    } finally {
      await sleep(600);
      process.kill(kaBfd, 'SIGCONT');
    }
    const ours: Record<string, { afterStop: number; silent: number }> = {};
    for (const n of NAMES) {
      const r = records(ts).find((x) => x.time >= t0 && expired(n)(x))!;
      ours[n] = { afterStop: r.time - t0, silent: Number(r.silentMs) };
    }
    t.diagnostic(`tskeepalived detects the stalled keepalived: ${JSON.stringify(ours)} (detection time ${DETECT} ms, interval ${INTERVAL} ms)`);
    for (const [n, m] of Object.entries(ours)) {
      assert.ok(m.silent >= DETECT - 1 && m.silent <= DETECT + INTERVAL, `${n}: ${m.silent} ms without a packet at expiry`);
      assert.ok(m.afterStop >= DETECT - INTERVAL && m.afterStop <= DETECT + INTERVAL, `${n}: expired ${m.afterStop} ms after SIGSTOP`);
    }
    await waitFor('VI_F FAULT', () => since(t0, (r) => r.instance === 'VI_F' && r.msg === 'Entering FAULT STATE'), 3000, 10);
    await waitFor('VI_W priority 80', () => since(t0, (r) => r.instance === 'VI_W' && r.msg === 'Changing effective priority from 100 to 80'), 3000, 10);
    await waitFor('the BFD_CHECK real server down', () => since(t0, (r) => r.msg.startsWith('BFD check of [b2] RS([10.83.0.2]:tcp:80) is DOWN')), 3000, 10);

    // ---- SIGCONT: Up again, the instance leaves FAULT, the weight comes back, the real server is up
    await waitFor('the three sessions Up again', allUp, 15_000, 50).catch((e) => {
      throw new Error(`${e.message}\n${dump()}`);
    });
    await waitFor('VI_F leaves FAULT', () => lastVif() === 'Entering MASTER STATE', 10_000, 50);
    await waitFor('VI_W priority 100 again', () => since(t0, (r) => r.instance === 'VI_W' && r.msg === 'Changing effective priority from 80 to 100'), 3000, 10);
    await waitFor('the BFD_CHECK real server up again', () => since(t0, (r) => r.msg.startsWith('BFD check of [b2] RS([10.83.0.2]:tcp:80) is UP')), 3000, 10);
    await sleep(1000);

    // ---- we stall: keepalived detects it
    const kaBefore = Object.fromEntries(NAMES.map((n) => [n, kaExpired(n).length]));
    process.kill(ts.pid, 'SIGSTOP');
    try {
      await waitFor('keepalived expires the three sessions', () => NAMES.every((n) => kaExpired(n).length > kaBefore[n]), 5000, 10);
    } finally {
      process.kill(ts.pid, 'SIGCONT');
    }
    const theirs = Object.fromEntries(NAMES.map((n) => [n, Number(kaExpired(n)[kaBefore[n]]![1])]));
    t.diagnostic(`keepalived detects the stalled tskeepalived: ${JSON.stringify(theirs)} ms without a packet (detection time ${DETECT} ms)`);
    for (const [n, ms] of Object.entries(theirs)) assert.ok(ms >= DETECT - 1 && ms <= DETECT + INTERVAL, `keepalived ${n}: ${ms} ms`);
    await waitFor('the sessions Up again after our stall', allUp, 15_000, 50).catch((e) => {
      throw new Error(`${e.message}\n${dump()}`);
    });

    // ---- a reload (SIGHUP) with the same sessions keeps them Up on both sides
    await sleep(500);
    const beforeReload = downs();
    process.kill(ts.pid, 'SIGHUP');
    await waitFor('the reload done', () => tsHas((r) => r.msg === 'configuration reloaded'), 10_000, 20);
    await sleep(1000);
    assert.equal(downs(), beforeReload, `no session went Down across the reload\n${dump()}`);
    assert.ok(allUp());
  } finally {
    ts.proc.kill('SIGTERM');
    ka.proc.kill('SIGTERM');
    await Promise.race([Promise.all([ts.exited, ka.exited]), sleep(5000)]);
  }
});
