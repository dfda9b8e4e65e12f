// sh / dh / mh: the userspace backend's choices against the kernel's (needs a kernel with IPVS: in CI the
// VM of scripts/ipvs-vm.sh, `npm run test:ipvs-vm`; elsewhere it skips). The ipvs backend programs the kernel
// (sh, sh-fallback, sh-port, mh, mh-fallback, mh-port on one VIP, dh on 16 VIPs; four NAT real servers with
// weights 3:2:1:1), 64 client addresses connect through each service and the real servers answer with their
// name. For every connection, a ServiceProxy (the userspace backend's per-service scheduler) given the same
// sequence of states must name the same server, or none where the kernel refused (ICMP port unreachable).
// Then the same after rs2 goes to weight 0, after it is removed and after it is added back (at the head of
// the kernel's destination list, as `ipvsadm -Ln` shows).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Destination, LbState, Service } from '../src/lb/backend.js';
import { ServiceProxy } from '../src/lb/userspace-service.js';
import { destinationId } from '../src/lb/state.js';
import { deleteNamespaces, nsExec, sh } from './lb-netns-util.js';
import { hasCommand } from './net-lab.js';
import { addNs, addVeth, type HttpTarget, httpTargets, ipvsadm, ipvsHarness, type Servers, startHttpServers } from './lb-ipvs-lab.js';

const P = `tks${process.pid}-`;
const servers: Servers[] = [];

function skipReason(): string | false {
  if (!existsSync('/proc/net/ip_vs')) return 'this kernel has no IPVS (npm run test:ipvs-vm runs this test in a VM whose kernel has it)';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const c of ['ipvsadm', 'ip']) if (!hasCommand(c)) return `${c} not installed`;
  return false;
}

after(async () => {
  for (const s of servers) s.kill();
  await deleteNamespaces(P);
});

const VIP = '10.98.0.10';
const DH_VIPS = Array.from({ length: 16 }, (_, i) => `10.98.1.${i + 1}`);
const CLIENTS = Array.from({ length: 64 }, (_, i) => `10.98.0.${100 + i}`);
const RS = [
  { name: 'rs1', address: '10.98.2.11', weight: 3 },
  { name: 'rs2', address: '10.98.2.12', weight: 2 },
  { name: 'rs3', address: '10.98.2.13', weight: 1 },
  { name: 'rs4', address: '10.98.2.14', weight: 1 },
];
const nameOf = new Map(RS.map((r) => [destinationId({ address: r.address, family: 4, port: 80, weight: 0, lbKind: 'NAT' }), r.name]));

const HASHED: { port: number; scheduler: string; flags?: string[] }[] = [
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
    if (weights[i] !== undefined) dests.push({ address: r.address, family: 4, port: 80, weight: weights[i]!, lbKind: 'NAT' });
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
  await addNs(D, true);
  await addNs(C);
  await addNs(R);
  await addVeth(D, 'eth0', C, 'c0');
  await addVeth(D, 'eth1', R, 'r0');
  await sh('ip', '-n', D, 'addr', 'add', '10.98.0.1/24', 'dev', 'eth0');
  for (const v of [VIP, ...DH_VIPS]) await sh('ip', '-n', D, 'addr', 'add', `${v}/32`, 'dev', 'eth0');
  await sh('ip', '-n', D, 'addr', 'add', '10.98.2.1/24', 'dev', 'eth1');
  // refusals are ICMP port unreachable from the director: not rate limited here (one per refused client)
  await nsExec(D, 'sysctl', '-qw', 'net.ipv4.icmp_ratelimit=0');
  for (const a of CLIENTS) await sh('ip', '-n', C, 'addr', 'add', `${a}/24`, 'dev', 'c0');
  await sh('ip', '-n', C, 'route', 'add', '10.98.1.0/24', 'via', '10.98.0.1');
  for (const r of RS) await sh('ip', '-n', R, 'addr', 'add', `${r.address}/24`, 'dev', 'r0');
  await sh('ip', '-n', R, 'route', 'add', 'default', 'via', '10.98.2.1');
  servers.push(
    await startHttpServers(
      R,
      RS.map((r) => ({ name: r.name, host: r.address, port: 80 })),
    ),
  );

  const proxies = new Map<string, ServiceProxy>();
  const phases: { label: string; weights: (number | undefined)[] }[] = [
    { label: 'weights 3:2:1:1', weights: [3, 2, 1, 1] },
    { label: 'rs2 weight 0', weights: [3, 0, 1, 1] },
    { label: 'rs2 removed', weights: [3, undefined, 1, 1] },
    { label: 'rs2 back (weight 2)', weights: [3, 2, 1, 1] },
  ];
  for (const [phase, { label, weights }] of phases.entries()) {
    const st = state(weights);
    // the kernel: through the ipvs backend; ours: the userspace per-service schedulers with the same states
    await ipvsHarness(D, 'apply', st);
    for (const s of st.services) {
      const p = proxies.get(svcKey(s));
      if (p) p.update(s);
      else proxies.set(svcKey(s), new ServiceProxy(s, { udpIdleMs: 300_000 }));
    }
    // the kernel's destination list order (ipvsadm -Ln, unsorted) is the order the userspace tables use
    const listed = (await ipvsadm(D, '-Ln', '-t', `${VIP}:80`)).flatMap((l) => /^\s+-> (\S+):80\s/.exec(l)?.[1] ?? []);
    assert.deepEqual(
      listed,
      proxies
        .get(`${VIP}:80`)!
        .kernelOrder()
        .map((id) => id.split('/')[1]),
      `${label}: kernel list order`,
    );

    const targets: (HttpTarget & { svc: string })[] = [];
    for (const h of HASHED)
      for (const [i, src] of CLIENTS.entries()) {
        // sh-port / mh-port: a known source port per client, new in each phase (no reuse of IPVS connection entries)
        const sport = h.flags?.some((f) => f.endsWith('-port')) ? 30000 + phase * 200 + i : undefined;
        targets.push({ host: VIP, port: h.port, src, ...(sport ? { sport } : {}), svc: `${VIP}:${h.port}` });
      }
    for (const [i, v] of DH_VIPS.entries()) for (const src of CLIENTS.slice(i * 4, i * 4 + 4)) targets.push({ host: v, port: 80, src, svc: `${v}:80` });
    const t0 = Date.now();
    const replies = await httpTargets(
      C,
      targets.map(({ svc: _svc, ...x }) => x),
      8,
    );
    const took = Date.now() - t0;
    const kernel: Record<string, string> = {};
    const ours: Record<string, string> = {};
    const perServer: Record<string, Record<string, number>> = {};
    replies.forEach((r, i) => {
      const tg = targets[i]!;
      const key = `${tg.svc} <- ${tg.src}${tg.sport ? `:${tg.sport}` : ''}`;
      kernel[key] = r.reply === 'error:ECONNREFUSED' ? 'none' : r.reply;
      const id = proxies.get(tg.svc)!.preview(tg.src, tg.sport ?? 0);
      ours[key] = id === undefined ? 'none' : (nameOf.get(id) ?? id);
      const sched = HASHED.find((h) => `${VIP}:${h.port}` === tg.svc);
      const col = sched ? `${sched.scheduler}${sched.flags ? `(${sched.flags.join(',')})` : ''}` : 'dh';
      perServer[col] ??= {};
      perServer[col][kernel[key]!] = (perServer[col][kernel[key]!] ?? 0) + 1;
    });
    t.diagnostic(`${label}: ${replies.length} connections in ${took} ms; kernel per server: ${JSON.stringify(perServer)}`);
    const differ = Object.keys(kernel).filter((k) => kernel[k] !== ours[k]);
    assert.deepEqual(
      differ.map((k) => `${k}: kernel ${kernel[k]}, userspace ${ours[k]}`),
      [],
      `${label}: ${differ.length} of ${replies.length} choices differ`,
    );
    assert.ok(!Object.values(kernel).some((v) => v === 'timeout' || v.startsWith('error:')), `${label}: every connection answered or refused`);
    if (weights[1] === 0) assert.ok(Object.values(kernel).includes('none'), `${label}: sh/mh without fallback refuse rs2's clients`);
  }
  await ipvsHarness(D, 'release', state([3, 2, 1, 1]));
});
