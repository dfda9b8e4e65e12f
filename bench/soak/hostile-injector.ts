// The injector of the hostile-packets soak, run inside the lab's injector namespace:
//   node dist/bench/soak/hostile-injector.js PLAN.json
// 1. captures real adverts of the MASTER on eth0 (AF_PACKET), one of each kind (VRRPv2 PASS,
//    VRRPv3 IPv4, VRRPv3 IPv6, VRRPv2 inside AH);
// 2. sends `packets` mutated datagrams built from them (MutantFactory, seeded) as Ethernet frames
//    on eth0 at `rate` per second, bounded by `maxSeconds`;
// 3. prints one JSON line: what was sent per class and what each node should have dropped.
// It only ever sends on the lab's eth0, to the VRRP group or to the lab nodes' own addresses.
import { readFileSync } from 'node:fs';
import { AF_PACKET, ETH_P_ALL, SOCK_RAW } from '../../src/native/constants.js';
import { RawSocket } from '../../src/native/raw-socket.js';
import { sockaddrLl } from '../../src/native/sockaddr.js';
import { getLink } from '../../src/net/rtnl-link.js';
import { formatIP as bytesToIp } from '../../src/util/inet.js';
import { MutantFactory, MUTATION_CLASSES, type AdvertKind, type CapturedAdvert, type LabAddresses, type Outcome, type Role } from './hostile-mutations.js';

export interface InjectorPlan {
  seed: number;
  packets: number;
  rate: number;
  maxSeconds: number;
  captureSeconds: number;
  lab: LabAddresses;
}

export interface InjectorReport {
  seed: number;
  sent: number;
  sendErrors: number;
  seconds: number;
  captured: Record<AdvertKind, number>;
  byClass: Record<string, number>;
  /** per role: how many datagrams should end as each outcome */
  expect: Record<Role, Record<Outcome, number>>;
  /** per role and class: datagrams the daemon should drop and count */
  expectDropByClass: Record<Role, Record<string, number>>;
}

const ETH_HEADER = 14;
const htons = (v: number) => ((v & 0xff) << 8) | (v >> 8);

function classify(frame: Buffer, lab: LabAddresses): CapturedAdvert | undefined {
  const type = frame.readUInt16BE(12);
  const ip = frame.subarray(ETH_HEADER);
  const kindOf = (vrid: number): AdvertKind | undefined => (Object.entries(lab.vrids) as [AdvertKind, number][]).find(([, v]) => v === vrid)?.[0];
  if (type === 0x0800 && ip.length >= 28) {
    const ihl = (ip[0] & 0x0f) * 4;
    if (bytesToIp(ip.subarray(12, 16)) !== lab.master.v4) return undefined;
    const proto = ip[9];
    const vrrpAt = proto === 51 ? ihl + 24 : ihl;
    if ((proto !== 112 && proto !== 51) || ip.length < vrrpAt + 8) return undefined;
    const kind = kindOf(ip[vrrpAt + 1]);
    if (!kind || (kind === 'ah') !== (proto === 51) || kind === 'v3v6') return undefined;
    return { kind, ip: Buffer.from(ip.subarray(0, ip.readUInt16BE(2))) };
  }
  if (type === 0x86dd && ip.length >= 48 && ip[6] === 112 && bytesToIp(ip.subarray(8, 24)) === lab.master.ll6) {
    return kindOf(ip[41]) === 'v3v6' ? { kind: 'v3v6', ip: Buffer.from(ip.subarray(0, 40 + ip.readUInt16BE(4))) } : undefined;
  }
  return undefined;
}

/** Adverts of the master, at least one of each kind (two AH ones: the first is replayed later). */
async function capture(ifindex: number, lab: LabAddresses, seconds: number): Promise<CapturedAdvert[]> {
  const sock = RawSocket.open(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL), 'capture', { data: 2048, control: 0 });
  sock.bind(sockaddrLl({ ifindex, protocol: ETH_P_ALL }));
  const got: CapturedAdvert[] = [];
  const complete = () =>
    (['v2pass', 'v3v4', 'v3v6'] as AdvertKind[]).every((k) => got.some((c) => c.kind === k)) && got.filter((c) => c.kind === 'ah').length >= 2;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`captured only ${got.map((c) => c.kind).join(', ') || 'nothing'} in ${seconds} s`)), seconds * 1000);
      sock.onMessage((m) => {
        const c = classify(m.data, lab);
        if (c) got.push(c);
        if (complete()) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    sock.close();
  }
  return got;
}

async function main(): Promise<void> {
  const plan = JSON.parse(readFileSync(process.argv[2], 'utf8')) as InjectorPlan;
  const link = getLink('eth0');
  if (!link) throw new Error('no eth0 in this namespace');
  const captured = await capture(link.index, plan.lab, plan.captureSeconds);
  const factory = new MutantFactory(plan.seed, plan.lab, captured);
  const out = RawSocket.open(AF_PACKET, SOCK_RAW, 0, 'inject', { data: 64, control: 0 });
  const dest = sockaddrLl({ ifindex: link.index });
  const roles: Role[] = ['master', 'backup'];
  const report: InjectorReport = {
    seed: plan.seed,
    sent: 0,
    sendErrors: 0,
    seconds: 0,
    captured: { v2pass: 0, v3v4: 0, v3v6: 0, ah: 0 },
    byClass: Object.fromEntries(MUTATION_CLASSES.map((c) => [c, 0])),
    expect: { master: { drop: 0, kernel: 0, accept: 0, none: 0 }, backup: { drop: 0, kernel: 0, accept: 0, none: 0 } },
    expectDropByClass: { master: {}, backup: {} },
  };
  for (const c of captured) report.captured[c.kind]++;
  const start = performance.now();
  const deadline = start + plan.maxSeconds * 1000;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(plan.packets, Math.floor(((now - start) / 1000) * plan.rate) + 1);
      while (report.sent < due) {
        const m = factory.next();
        if (out.trySend(m.frame, dest) < 0) {
          // ENOBUFS and the like: counted, not retried (the datagram's fate is then 'never sent')
          report.sendErrors++;
          report.sent++;
          continue;
        }
        report.sent++;
        report.byClass[m.cls]++;
        for (const r of roles) {
          report.expect[r][m.expect[r]]++;
          if (m.expect[r] === 'drop') report.expectDropByClass[r][m.cls] = (report.expectDropByClass[r][m.cls] ?? 0) + 1;
        }
      }
      if (report.sent >= plan.packets || now > deadline) return resolve();
      setTimeout(tick, 2);
    };
    tick();
  });
  out.close();
  report.seconds = (performance.now() - start) / 1000;
  process.stdout.write(JSON.stringify(report) + '\n');
}

main().catch((e) => {
  process.stderr.write(`injector: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
