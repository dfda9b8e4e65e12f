// D-Bus bench (needs root, keepalived, dbus-daemon). Build first, then:
//   npm run bench:dbus   [-- --instances 50 --calls 2000]
// A private dbus-daemon; keepalived 2.2.7 and tskeepalived run in turn (-P) in a namespace on the
// same config of N VRRPv2 instances. For each, with our bus client (src/dbus/connection.ts) as the
// caller: the latency of Properties.GetAll on the instances' objects (round-robin, one call at a
// time: p50, p99, calls/s) and the time to introspect the whole tree (what `gdbus introspect -r`
// does: Introspect on every node). Prints ours / keepalived's.
import { BusConnection, parseBusAddress } from '../src/dbus/connection.js';
import { DbusLab, haveDbusTools, ROOT } from '../test/dbus-lab.js';
import { isRoot, Lan, type Node, sleep } from '../test/vrrp-helpers.js';
import { pct } from './watch.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const N = arg('instances', 50);
const CALLS = arg('calls', 2000);

function conf(lan: Lan): string {
  const parts = ['global_defs {\n  router_id dbusbench\n  enable_dbus\n}\n'];
  for (let i = 1; i <= N; i++)
    parts.push(
      `vrrp_instance VI_${i} {\n  state BACKUP\n  interface eth0\n  virtual_router_id ${i}\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    10.82.${1 + (i >> 8)}.${i & 255}/32\n  }\n}\n`,
    );
  return lan.writeText('bench.conf', parts.join(''));
}

const instancePath = (i: number) => `${ROOT}/Instance/eth0/${i}/IPv4`;

async function getAll(c: BusConnection, path: string): Promise<number> {
  const r = await c.call({
    destination: 'org.keepalived.Vrrp1',
    path,
    interface: 'org.freedesktop.DBus.Properties',
    member: 'GetAll',
    signature: 's',
    body: ['org.keepalived.Vrrp1.Instance'],
  });
  const props = r.body[0] as [string, { value: unknown[] }][];
  return Number(props.find(([k]) => k === 'State')?.[1].value[0]);
}

async function introspectAll(c: BusConnection, path: string): Promise<number> {
  const r = await c.call({ destination: 'org.keepalived.Vrrp1', path, interface: 'org.freedesktop.DBus.Introspectable', member: 'Introspect' });
  const children = [...String(r.body[0]).matchAll(/<node name="([^"]+)"\/>/g)].map((m) => m[1]);
  let n = 1;
  for (const ch of children) n += await introspectAll(c, `${path === '/' ? '' : path}/${ch}`);
  return n;
}

interface Result {
  p50: number;
  p99: number;
  perSecond: number;
  treeMs: number;
  nodes: number;
}

async function measure(bus: DbusLab, node: Node, kind: string): Promise<Result> {
  const c = new BusConnection({ paths: parseBusAddress(bus.address), timeoutMs: 5000 });
  try {
    const until = Date.now() + 60_000;
    for (;;) {
      if (node.proc.exitCode !== null) throw new Error(`${kind} exited:\n${node.lines.slice(-20).join('\n')}`);
      try {
        if (!c.connected) await c.open();
        const states = await Promise.all([1, N].map((i) => getAll(c, instancePath(i))));
        if (states.every((s) => s === 2)) break;
      } catch {
        /* not there yet */
      }
      if (Date.now() > until) throw new Error(`${kind}: instances not MASTER on the bus within 60 s`);
      await sleep(500);
    }
    for (let i = 0; i < 200; i++) await getAll(c, instancePath(1 + (i % N))); // warm up
    const lat: number[] = [];
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) {
      const s = process.hrtime.bigint();
      await getAll(c, instancePath(1 + (i % N)));
      lat.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    const total = Number(process.hrtime.bigint() - t0) / 1e9;
    const ti = process.hrtime.bigint();
    const nodes = await introspectAll(c, '/');
    const treeMs = Number(process.hrtime.bigint() - ti) / 1e6;
    return { p50: pct(lat, 50), p99: pct(lat, 99), perSecond: CALLS / total, treeMs, nodes };
  } finally {
    await c.close();
  }
}

async function stop(node: Node): Promise<void> {
  node.proc.kill('SIGTERM');
  await Promise.race([node.exited, sleep(15_000)]);
  if (node.proc.exitCode === null) node.proc.kill('SIGKILL');
}

async function main(): Promise<void> {
  if (!isRoot()) throw new Error('needs root (network namespaces)');
  if (!haveDbusTools()) throw new Error('needs dbus-daemon, dbus-monitor, gdbus and keepalived (npm run setup)');
  const lan = new Lan(`dbb${process.pid % 10000}`, 1, '10.82.0', 'fd82');
  try {
    const bus = new DbusLab(lan);
    await bus.startBus();
    const path = conf(lan);
    const out: Record<string, Result> = {};
    for (const kind of ['keepalived', 'tskeepalived'] as const) {
      const node = kind === 'keepalived' ? bus.startKeepalived(path, kind) : bus.startTskeepalived(path, kind);
      try {
        out[kind] = await measure(bus, node, kind);
      } finally {
        await stop(node);
      }
      const r = out[kind];
      console.log(
        `${kind.padEnd(12)} GetAll p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  ${r.perSecond.toFixed(0)} calls/s  introspect ${r.nodes} nodes ${r.treeMs.toFixed(1)} ms`,
      );
    }
    const k = out.keepalived;
    const t = out.tskeepalived;
    console.log(
      `ours / keepalived: GetAll p50 ${(t.p50 / k.p50).toFixed(2)}x, p99 ${(t.p99 / k.p99).toFixed(2)}x, calls/s ${(t.perSecond / k.perSecond).toFixed(2)}x, tree ${(t.treeMs / k.treeMs).toFixed(2)}x (${N} instances, ${CALLS} calls)`,
    );
  } finally {
    lan.cleanup();
  }
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exitCode = 1;
});
