// SNMP bench (needs root, keepalived, snmpd, snmp, tcpdump). Build first, then:
//   npm run bench:snmp   [-- --instances 250 --walks 3 --jitter-seconds 10]
// One namespace with Debian's snmpd as AgentX master. keepalived 2.2.7 and tskeepalived run in turn
// (-x -P) on the same config of N VRRPv2 instances; for each: the time of a full snmpbulkwalk and
// snmpwalk of KEEPALIVED-MIB (median of --walks), then the advertisement interval jitter of the
// instances (|interval - advert_int|, tcpdump kernel timestamps) with no SNMP traffic and while a
// client walks the whole tree in a loop.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { KEEPALIVED_MIB, SnmpLab, haveSnmpTools } from '../test/snmp-lab.js';
import { waitUntil } from '../test/daemon-netns.js';
import { Lan, sleep, type Node } from '../test/vrrp-helpers.js';
import { dumpTime, pct } from './watch.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const N = arg('instances', 250);
const WALKS = arg('walks', 3);
const JITTER_S = arg('jitter-seconds', 10);

function conf(lan: Lan): string {
  const parts = ['global_defs {\n  router_id snmpbench\n  enable_snmp_vrrp\n  enable_snmp_rfcv2\n  enable_snmp_rfcv3\n}\n'];
  for (let i = 1; i <= N; i++) {
    parts.push(
      `vrrp_instance VI_${i} {\n  state BACKUP\n  interface eth0\n  virtual_router_id ${i}\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    10.81.${1 + (i >> 8)}.${i & 255}/32\n  }\n}\n`,
    );
  }
  return lan.writeText('bench.conf', parts.join(''));
}

async function timeWalk(lab: SnmpLab, bulk: boolean): Promise<{ ms: number; objects: number }> {
  await lab.walk('.1.3.6.1.2.1.1.1', bulk); // warm up the client
  const t0 = process.hrtime.bigint();
  const lines = await lab.walk(KEEPALIVED_MIB, bulk, 10);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, objects: lines.length };
}

/**
 * |interval - 1000 ms| between consecutive adverts of each instance over `seconds`, from a pcap
 * (tcpdump -w, read back afterwards: no line parsing while capturing); an interval over 1.5 s is a
 * gap (a lost capture or a missed advert), counted apart.
 */
async function jitter(lan: Lan, seconds: number, walking: SnmpLab | undefined, tag: string): Promise<{ dev: number[]; gaps: number }> {
  const file = join(lan.dir, `${tag}.pcap`);
  const cap = spawn('ip', ['netns', 'exec', lan.namespaces[0], 'tcpdump', '-i', 'eth0', '-B', '8192', '-U', '-w', file, 'ip proto 112'], { stdio: 'ignore' });
  await sleep(500);
  let stop = false;
  const loop = walking
    ? (async () => {
        while (!stop) {
          await new Promise<void>((resolve) => {
            const p = spawn('ip', ['netns', 'exec', walking.ns, 'snmpbulkwalk', '-On', '-v2c', '-c', 'public', `127.0.0.1:${walking.port}`, '.1.3'], {
              stdio: 'ignore',
              env: { ...process.env, MIBS: '', MIBDIRS: '/nonexistent' },
            });
            p.on('exit', () => resolve());
          });
        }
      })()
    : Promise.resolve();
  await sleep(seconds * 1000);
  stop = true;
  cap.kill('SIGINT');
  await new Promise((r) => cap.on('exit', r));
  await loop;
  const text = spawnSync('tcpdump', ['-r', file, '-n', '-tt'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).stdout;
  const last = new Map<string, number>();
  const dev: number[] = [];
  let gaps = 0;
  for (const l of text.split('\n')) {
    const t = dumpTime(l);
    const m = /vrid (\d+)/.exec(l);
    if (t === undefined || !m) continue;
    const prev = last.get(m[1]);
    if (prev !== undefined) {
      if (t - prev > 1500) gaps++;
      else dev.push(Math.abs(t - prev - 1000));
    }
    last.set(m[1], t);
  }
  return { dev, gaps };
}

const fmt = (j: { dev: number[]; gaps: number }) =>
  `p50 ${pct(j.dev, 50).toFixed(2)} ms, p99 ${pct(j.dev, 99).toFixed(2)} ms, max ${Math.max(...j.dev).toFixed(2)} ms (${j.dev.length} intervals, ${j.gaps} gaps > 1.5 s)`;

async function run(lan: Lan, lab: SnmpLab, kind: 'keepalived' | 'tskeepalived', file: string) {
  const d: Node = lab.startDaemon(kind, file, kind);
  try {
    const last = `${KEEPALIVED_MIB}.2.3.1.4.${N}`;
    await waitUntil(`${kind}: instance ${N} MASTER over SNMP`, async () => (await lab.get([last]))[0]?.value === '2', 60_000, 500);
    await sleep(2000);
    const bulk: { ms: number; objects: number }[] = [];
    const next: { ms: number; objects: number }[] = [];
    for (let i = 0; i < WALKS; i++) bulk.push(await timeWalk(lab, true));
    for (let i = 0; i < WALKS; i++) next.push(await timeWalk(lab, false));
    const quiet = await jitter(lan, JITTER_S, undefined, `${kind}-quiet`);
    const busy = await jitter(lan, JITTER_S, lab, `${kind}-busy`);
    return {
      bulkMs: pct(
        bulk.map((w) => w.ms),
        50,
      ),
      nextMs: pct(
        next.map((w) => w.ms),
        50,
      ),
      objects: bulk[0].objects,
      nextObjects: next[0].objects,
      lastOid: (await lab.walk(KEEPALIVED_MIB, true, 10)).at(-1)?.oid,
      quiet,
      busy,
    };
  } finally {
    d.proc.kill('SIGTERM');
    await Promise.race([d.exited, sleep(15_000)]);
    d.proc.kill('SIGKILL');
  }
}

async function main() {
  if (process.getuid?.() !== 0 || !haveSnmpTools()) {
    console.log('bench:snmp needs root, keepalived, snmpd, snmptrapd and snmp (npm run setup)');
    process.exit(1);
  }
  const lan = new Lan(`sb${process.pid % 100000}`, 1, '10.81.0', 'fd81');
  try {
    const lab = new SnmpLab(lan, 0, 30000 + (process.pid % 10000) * 2);
    lab.startSnmpd();
    await waitUntil('snmpd', async () => (await lab.get(['.1.3.6.1.2.1.1.1.0'])).length === 1, 10_000, 100);
    const file = conf(lan);
    const ka = await run(lan, lab, 'keepalived', file);
    await sleep(2000);
    const ts = await run(lan, lab, 'tskeepalived', file);
    console.log(`SNMP bench, ${N} VRRPv2 instances, KEEPALIVED-MIB walk (median of ${WALKS})`);
    for (const [name, r] of [
      ['keepalived 2.2.7', ka],
      ['tskeepalived', ts],
    ] as const) {
      console.log(
        `  ${name}: snmpbulkwalk ${r.bulkMs.toFixed(0)} ms (${r.objects} objects), snmpwalk ${r.nextMs.toFixed(0)} ms (${r.nextObjects} objects, ${(r.nextMs / Math.max(1, r.nextObjects)).toFixed(2)} ms/object), last OID ${r.lastOid}`,
      );
      console.log(`    advert jitter, no walks:     ${fmt(r.quiet)}`);
      console.log(`    advert jitter, walking loop: ${fmt(r.busy)}`);
    }
    console.log(
      `  ratio tskeepalived/keepalived: snmpbulkwalk ${(ts.bulkMs / ka.bulkMs).toFixed(2)}, snmpwalk ${(ts.nextMs / ka.nextMs).toFixed(2)}, per object (snmpwalk) ${(ts.nextMs / ts.nextObjects / (ka.nextMs / Math.max(1, ka.nextObjects))).toFixed(2)}`,
    );
  } finally {
    lan.cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
