// Failover benchmark (needs root, keepalived, tcpdump). Build first, then run:
//   node dist/bench/failover.js [--rounds 20] [--advert 0.5] [--instances 50] [--only failover|jitter]
// For each pair (tskeepalived/tskeepalived, keepalived/keepalived, keepalived master + tskeepalived
// backup) it freezes the master's VRRP process (SIGSTOP) N times and measures, on the backup's side,
// (VIP present [netlink monitor] - master's last advert [tcpdump]) - Master_Down_Interval.
// Then it measures the advertisement interval jitter of 50 instances on one interface.
import { config, instance, vip, keepalivedConf, Lan, startTsNode, startKeepalived, waitFor, sleep, sh, type Node } from '../test/vrrp-helpers.js';
import { addrMonitor, dumpTime, monitorTime, pct, tcpdump } from './watch.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const ROUNDS = arg('rounds', 20);
const ADVERT_S = arg('advert', 0.5);
const INSTANCES = arg('instances', 50);
const JITTER_SECONDS = arg('jitter-seconds', 10);
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

type Kind = 'ts' | 'ka';

interface PairResult {
  /** VIP present on the backup (netlink monitor) - master's last advert - MDI */
  vip: number[];
  /** backup's first advert as new master - master's last advert - MDI (both kernel timestamps from tcpdump) */
  advert: number[];
}

async function failoverPair(lan: Lan, label: string, masterKind: Kind, backupKind: Kind, vrid: number): Promise<PairResult> {
  const addr = `${lan.subnet4}.${vrid}`;
  const masterPrio = 200;
  const backupPrio = 100;
  const inst = (prio: number) =>
    instance('VI_B', { virtualRouterId: vrid, version: 3, advertInt: ADVERT_S * 1000, priority: prio, virtualIpaddress: [vip(addr)] });
  const mdi = 3 * ADVERT_S * 1000 + ((256 - backupPrio) * ADVERT_S * 1000) / 256;
  const start = (kind: Kind, ns: number, prio: number, tag: string): Node & { vrrpPid?: () => number | undefined } => {
    const c = config({ instances: [inst(prio)] });
    return kind === 'ts'
      ? startTsNode(lan, ns, lan.writeJson(`${tag}.json`, c))
      : startKeepalived(lan, ns, lan.writeText(`${tag}.conf`, keepalivedConf(c)), tag);
  };
  const master = start(masterKind, 0, masterPrio, `${label}-m`);
  await waitFor(`${label}: master holds the VIP`, () => lan.hasAddress(0, addr), 10_000);
  const backup = start(backupKind, 1, backupPrio, `${label}-b`);
  await sleep(1500);
  const results: PairResult = { vip: [], advert: [] };
  const adverts = tcpdump(lan.namespaces[1], `ip proto 112`);
  const mon = addrMonitor(lan.namespaces[1]);
  await sleep(500);
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const pid = masterKind === 'ka' ? (master as { vrrpPid: () => number | undefined }).vrrpPid() : master.pid;
      if (!pid) throw new Error('no master VRRP pid');
      // stop the master right after one of its adverts, at a random phase
      await sleep(Math.random() * ADVERT_S * 1000);
      const markA = adverts.lines.filter((l) => /VRRP/.test(l)).length;
      const markM = mon.lines.length;
      process.kill(pid, 'SIGSTOP');
      await waitFor(`${label}: backup takes over`, () => lan.hasAddress(1, addr), mdi + 3000, 2);
      await sleep(150);
      const fromMaster = ` ${lan.addr4(0)} > `;
      const fromBackup = ` ${lan.addr4(1)} > `;
      const lines = adverts.lines.slice(0).filter((l) => /VRRP/.test(l));
      const firstBackup = lines.findIndex((l, i) => i >= markA && l.includes(fromBackup));
      const last = lines
        .slice(0, firstBackup >= 0 ? firstBackup : lines.length)
        .filter((l) => l.includes(fromMaster))
        .pop();
      const vipLine = mon.lines.slice(markM).find((l) => !l.startsWith('Deleted') && l.includes(` ${addr}/`) && monitorTime(l) !== undefined);
      const t0 = last ? dumpTime(last) : undefined;
      const t1 = vipLine ? monitorTime(vipLine) : undefined;
      const t2 = firstBackup >= 0 ? dumpTime(lines[firstBackup]) : undefined;
      if (t0 !== undefined && t1 !== undefined) results.vip.push(t1 - t0 - mdi);
      if (t0 !== undefined && t2 !== undefined) results.advert.push(t2 - t0 - mdi);
      process.kill(pid, 'SIGCONT');
      await waitFor(`${label}: master back`, () => lan.hasAddress(0, addr) && !lan.hasAddress(1, addr), 10_000, 10);
      await sleep(ADVERT_S * 1000 * 2);
    }
  } finally {
    adverts.stop();
    mon.stop();
    master.proc.kill('SIGCONT');
    master.proc.kill('SIGTERM');
    backup.proc.kill('SIGTERM');
    await Promise.all([master.exited, backup.exited]);
  }
  return results;
}

async function jitter(lan: Lan, kind: Kind): Promise<{ p50: number; p99: number; max: number; samples: number }> {
  const instances = Array.from({ length: INSTANCES }, (_, i) =>
    instance(`VI_${i + 1}`, { virtualRouterId: 100 + i, priority: 255, state: 'MASTER', virtualIpaddress: [vip(`${lan.subnet4}.${100 + i}`)] }),
  );
  const c = config({ instances });
  const node =
    kind === 'ts'
      ? startTsNode(lan, 0, lan.writeJson(`jit-${kind}.json`, c))
      : startKeepalived(lan, 0, lan.writeText(`jit-${kind}.conf`, keepalivedConf(c)), `jit-${kind}`);
  try {
    await waitFor('all masters', () => lan.hasAddress(0, `${lan.subnet4}.${100 + INSTANCES - 1}`) && lan.hasAddress(0, `${lan.subnet4}.100`), 15_000);
    await sleep(1500);
    const dump = tcpdump(lan.namespaces[1], `ip proto 112 and src ${lan.addr4(0)}`);
    await sleep(JITTER_SECONDS * 1000);
    dump.stop();
    const last = new Map<number, number>();
    const dev: number[] = [];
    for (const l of dump.lines) {
      const t = dumpTime(l);
      const m = /vrid (\d+)/.exec(l);
      if (t === undefined || !m) continue;
      const v = Number(m[1]);
      const prev = last.get(v);
      if (prev !== undefined) dev.push(Math.abs(t - prev - 1000));
      last.set(v, t);
    }
    return { p50: pct(dev, 50), p99: pct(dev, 99), max: Math.max(...dev), samples: dev.length };
  } finally {
    node.proc.kill('SIGTERM');
    await node.exited;
  }
}

async function main() {
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench/failover needs root (network namespaces)\n');
    process.exit(2);
  }
  const lan = new Lan(`tkv-${process.pid}-b`, 2, '10.63.0', 'fd63');
  const cleanup = () => lan.cleanup();
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const fmt = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)} ms`;
    process.stdout.write(
      `failover: ${ROUNDS} rounds each, VRRPv3 advert_int ${ADVERT_S}s, backup priority 100 (MDI ${(3 * ADVERT_S * 1000 + (156 * ADVERT_S * 1000) / 256).toFixed(1)} ms)\n`,
    );
    process.stdout.write("  VIP present:  (VIP on the backup [ip -ts monitor] - master's last advert [tcpdump]) - Master_Down_Interval\n");
    process.stdout.write("  first advert: (backup's first advert as master - master's last advert, both tcpdump) - Master_Down_Interval\n");
    let vrid = 10;
    for (const [label, m, b] of (ONLY === 'jitter'
      ? []
      : [
          ['tskeepalived pair', 'ts', 'ts'],
          ['keepalived pair', 'ka', 'ka'],
          ['mixed (keepalived master, tskeepalived backup)', 'ka', 'ts'],
          ['mixed (tskeepalived master, keepalived backup)', 'ts', 'ka'],
        ]) as [string, Kind, Kind][]) {
      const res = await failoverPair(lan, label.replace(/\W+/g, '-'), m, b, vrid++);
      for (const [what, r] of [
        ['VIP present', res.vip],
        ['first advert', res.advert],
      ] as const)
        process.stdout.write(
          `  ${label.padEnd(48)} ${what.padEnd(13)} n=${r.length}  p50 ${fmt(pct(r, 50))}  p99 ${fmt(pct(r, 99))}  min ${fmt(Math.min(...r))}  max ${fmt(Math.max(...r))}\n`,
        );
    }
    if (ONLY !== 'failover') process.stdout.write(`advert interval jitter, ${INSTANCES} instances (advert_int 1 s) on one interface, ${JITTER_SECONDS} s:\n`);
    for (const kind of (ONLY === 'failover' ? [] : ['ts', 'ka']) as Kind[]) {
      const j = await jitter(lan, kind);
      process.stdout.write(
        `  ${(kind === 'ts' ? 'tskeepalived' : 'keepalived').padEnd(14)} samples ${j.samples}  p50 ${j.p50.toFixed(2)} ms  p99 ${j.p99.toFixed(2)} ms  max ${j.max.toFixed(2)} ms\n`,
      );
    }
  } finally {
    cleanup();
    sh('true', []);
  }
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
