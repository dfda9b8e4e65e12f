// sh / dh / mh: the userspace backend's choices against the kernel's (needs a kernel with IPVS: in CI the
// VM of scripts/ipvs-vm.sh, `npm run test:ipvs-vm`; elsewhere it skips). The ipvs backend programs the kernel
// (sh, sh-fallback, sh-port, mh, mh-fallback, mh-port on one VIP, dh on 16 VIPs; four NAT real servers with
// weights 3:2:1:1), 64 client addresses connect through each service and the real servers answer with their
// name. For every connection, a ServiceProxy (the userspace backend's per-service scheduler) given the same
// sequence of states must name the same server, or none where the kernel refused (ICMP port unreachable).
// Then the same after rs2 goes to weight 0, after it is removed and after it is added back (at the head of
// the kernel's destination list: `ipvsadm -Ln` sorts, so the list order shows only in the choices).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Destination, LbState, Service } from '../src/lb/backend.js';
import { createScheduler } from '../src/lb/schedulers.js';
import { ServiceProxy } from '../src/lb/userspace-service.js';
import { destinationId } from '../src/lb/state.js';
import { clientTargets, deleteNamespaces, nsExec, sh, startNameServers, type Target } from './lb-netns-util.js';
import { hasCommand } from './net-lab.js';
import { addNs, addVeth, ipvsHarnessSession } from './lb-ipvs-lab.js';

const P = `tks${process.pid}-`;
const servers: ChildProcess[] = [];
const closers: (() => void)[] = [];
const dir = mkdtempSync(join(tmpdir(), 'tkl-ipvss-'));

function skipReason(): string | false {
  if (!existsSync('/proc/net/ip_vs')) return 'this kernel has no IPVS (npm run test:ipvs-vm runs this test in a VM whose kernel has it)';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const c of ['ipvsadm', 'ip']) if (!hasCommand(c)) return `${c} not installed`;
  return false;
}

after(async () => {
  for (const c of closers) c();
  for (const s of servers) s.kill('SIGKILL');
  await deleteNamespaces(P);
  rmSync(dir, { recursive: true, force: true });
});

const VIP = '10.98.0.10';
const DH_VIPS = Array.from({ length: 16 }, (_, i) => `10.98.1.${i + 1}`);
const CLIENTS = Array.from({ length: 64 }, (_, i) => `10.98.0.${100 + i}`);
// real servers: TCP servers that send their name (a port each: mh hashes the address and the port)
const RS = [
  { name: 'rs1', address: '10.98.2.11', port: 8001, weight: 3 },
  { name: 'rs2', address: '10.98.2.12', port: 8002, weight: 2 },
  { name: 'rs3', address: '10.98.2.13', port: 8003, weight: 1 },
  { name: 'rs4', address: '10.98.2.14', port: 8004, weight: 1 },
];
const nameOf = new Map(RS.map((r) => [destinationId({ address: r.address, family: 4, port: r.port, weight: 0, lbKind: 'NAT' }), r.name]));

interface Hashed {
  port: number;
  scheduler: string;
  flags?: string[];
}
const HASHED: Hashed[] = [
  { port: 80, scheduler: 'sh' },
  { port: 81, scheduler: 'sh', flags: ['sh-fallback'] },
  { port: 82, scheduler: 'sh', flags: ['sh-port'] },
  { port: 83, scheduler: 'mh' },
  { port: 84, scheduler: 'mh', flags: ['mh-fallback'] },
  { port: 85, scheduler: 'mh', flags: ['mh-port'] },
];

function state(weights: (number | undefined)[]): LbState {
  const dests: Destination[] = [];
  RS.forEach((r, i) => {
    if (weights[i] !== undefined) dests.push({ address: r.address, family: 4, port: r.port, weight: weights[i]!, lbKind: 'NAT' });
  });
  const svc = (address: string, port: number, scheduler: string, flags?: string[]): Service => ({
    key: { kind: 'addr', family: 4, protocol: 'TCP', address, port },
    scheduler,
    ...(flags ? { schedFlags: flags } : {}),
    ops: false,
    destinations: dests.map((d) => ({ ...d })),
  });
  return {
    services: [...HASHED.map((h) => svc(VIP, h.port, h.scheduler, h.flags)), ...DH_VIPS.map((v) => svc(v, 80, 'dh'))],
  };
}

const svcKey = (s: Service) => `${s.key.address}:${s.key.port}`;

test('sh, dh, mh (with -fallback / -port): the userspace scheduler picks the kernel IPVS server for every client, before and after a weight 0, a removal, a re-add', {
  skip: skipReason(),
  timeout: 300_000,
}, async (t) => {
  const [D, C, R] = [`${P}d`, `${P}c`, `${P}r`];
  const t0 = Date.now();
  await addNs(D, true);
  await addNs(C);
  await addNs(R);
  await addVeth(D, 'eth0', C, 'c0');
  await addVeth(D, 'eth1', R, 'r0');
  // many addresses: one `ip -batch` per namespace (each process start costs about a second under TCG)
  const batch = async (ns: string, lines: string[]) => {
    const f = join(dir, `${ns}.ip`);
    writeFileSync(f, `${lines.join('\n')}\n`);
    await sh('ip', '-n', ns, '-batch', f);
  };
  await batch(D, ['addr add 10.98.0.1/24 dev eth0', ...[VIP, ...DH_VIPS].map((v) => `addr add ${v}/32 dev eth0`), 'addr add 10.98.2.1/24 dev eth1']);
  // a refusal is an ICMP port unreachable from the director: not rate limited here (one per refused client)
  await nsExec(D, 'sysctl', '-qw', 'net.ipv4.icmp_ratelimit=0');
  await batch(C, [...CLIENTS.map((a) => `addr add ${a}/24 dev c0`), 'route add 10.98.1.0/24 via 10.98.0.1']);
  await batch(R, [...RS.map((r) => `addr add ${r.address}/24 dev r0`), 'route add default via 10.98.2.1']);
  servers.push(
    await startNameServers(
      R,
      RS.map((r) => ({ name: r.name, port: r.port })),
      280_000,
    ),
  );
  t.diagnostic(`lab ready in ${Date.now() - t0} ms`);

  const kernelSide = ipvsHarnessSession(D);
  closers.push(() => kernelSide.close());
  const proxies = new Map<string, ServiceProxy>();
  const firstOrder = new Map<number, string[]>();
  const [SH, SH_FB, SH_PORT, MH, MH_FB, MH_PORT] = HASHED as [Hashed, Hashed, Hashed, Hashed, Hashed, Hashed];
  // clients per service: 64 for the first look at each table, 32 after (the VM is slow: about 10 connections/s)
  const phases: { label: string; weights: (number | undefined)[]; services: [Hashed, number][] }[] = [
    {
      label: 'weights 3:2:1:1',
      weights: [3, 2, 1, 1],
      services: [
        [SH, 64],
        [MH, 64],
        [SH_PORT, 32],
        [MH_PORT, 32],
      ],
    },
    {
      label: 'rs2 weight 0',
      weights: [3, 0, 1, 1],
      services: [
        [SH, 32],
        [SH_FB, 32],
        [MH, 32],
        [MH_FB, 32],
      ],
    },
    {
      label: 'rs2 removed',
      weights: [3, undefined, 1, 1],
      services: [
        [SH, 32],
        [MH, 32],
      ],
    },
    {
      label: 'rs2 back (weight 2)',
      weights: [3, 2, 1, 1],
      services: [
        [SH, 32],
        [MH, 32],
      ],
    },
  ];
  for (const [phase, { label, weights, services }] of phases.entries()) {
    const st = state(weights);
    // the kernel: through the ipvs backend; ours: the userspace per-service schedulers given the same states
    const applied = await kernelSide.apply(st);
    assert.equal(applied.save.filter((l) => l.startsWith('-A')).length, st.services.length, `${label}: services in IPVS`);
    for (const s of st.services) {
      const p = proxies.get(svcKey(s));
      if (p) p.update(s);
      else proxies.set(svcKey(s), new ServiceProxy(s, { udpIdleMs: 300_000 }));
    }
    const targets: (Target & { svc: string; col: string })[] = [];
    for (const [h, count] of services)
      for (const [i, src] of CLIENTS.slice(0, count).entries()) {
        // sh-port / mh-port: a known source port per client, new in each phase and service: a 4-tuple used twice
        // would meet the first connection's TIME_WAIT on a real server picked by both services
        const sport = h.flags?.some((f) => f.endsWith('-port')) ? 30000 + phase * 400 + (h.port % 2) * 200 + i : undefined;
        const col = `${h.scheduler}${h.flags ? `(${h.flags.join(',')})` : ''}`;
        targets.push({ host: VIP, port: h.port, src, ...(sport ? { sport } : {}), svc: `${VIP}:${h.port}`, col });
      }
    for (const [i, v] of DH_VIPS.entries()) targets.push({ host: v, port: 80, src: CLIENTS[i]!, svc: `${v}:80`, col: 'dh' });
    if (phase === 0) await clientTargets(C, targets.slice(0, 8), 8, 20_000); // warm-up (ARP, first connections under TCG)
    const t1 = Date.now();
    const replies = await clientTargets(
      C,
      targets.map(({ svc: _s, col: _c, ...x }) => x),
      12,
      15_000,
    );
    const took = Date.now() - t1;
    const kernel: Record<string, string> = {};
    const ours: Record<string, string> = {};
    const perServer: Record<string, Record<string, number>> = {};
    replies.forEach((r, i) => {
      const tg = targets[i]!;
      const key = `${tg.svc} <- ${tg.src}${tg.sport ? `:${tg.sport}` : ''}`;
      kernel[key] = r.reply === 'error:ECONNREFUSED' ? 'none' : r.reply;
      const id = proxies.get(tg.svc)!.preview(tg.src, tg.sport ?? 0);
      ours[key] = id === undefined ? 'none' : (nameOf.get(id) ?? id);
      perServer[tg.col] ??= {};
      perServer[tg.col]![kernel[key]!] = (perServer[tg.col]![kernel[key]!] ?? 0) + 1;
    });
    t.diagnostic(`${label}: ${replies.length} connections in ${took} ms; kernel per server: ${JSON.stringify(perServer)}`);
    const differ = Object.keys(kernel).filter((k) => kernel[k] !== ours[k]);
    if (phase === 0) for (const h of [SH, MH]) firstOrder.set(h.port, proxies.get(`${VIP}:${h.port}`)!.kernelOrder());
    if (phase === 3) {
      // the order matters: rs2 at its old place (not at the head) would send some of these clients elsewhere
      let moved = 0;
      for (const [i, tg] of targets.entries()) {
        const h = tg.svc === `${VIP}:${SH.port}` ? SH : tg.svc === `${VIP}:${MH.port}` ? MH : undefined;
        if (!h) continue;
        const p = proxies.get(tg.svc)!;
        const old = firstOrder.get(h.port)!.map((id) => p.dests.get(id)!);
        const alt = createScheduler(h.scheduler).pick(old, { address: tg.src, port: 0, serviceAddress: VIP });
        if (nameOf.get(alt!.id) !== replies[i]!.reply) moved++;
      }
      t.diagnostic(`${label}: with rs2 back at its old place in the list instead of the head, ${moved} of 64 sh/mh choices would differ`);
      assert.ok(moved > 0, 'the list order is visible in the choices');
    }
    assert.deepEqual(
      differ.map((k) => `${k}: kernel ${kernel[k]}, userspace ${ours[k]}`),
      [],
      `${label}: ${differ.length} of ${replies.length} choices differ`,
    );
    assert.ok(!Object.values(kernel).some((v) => v === 'timeout' || v.startsWith('error:')), `${label}: every connection answered or refused`);
    if (weights[1] === 0) assert.ok(Object.values(kernel).includes('none'), `${label}: sh/mh without fallback refuse rs2's clients`);
  }
  // no release: deleting the director's namespace (after) removes its IPVS services
});
