// Heap probe of the hostile-packets soak: is RSS growth under a flood retained memory or V8 sizing
// its heap to the allocation rate? Feeds hostile IPv4 adverts (the soak's mutations of adverts
// encoded by the product) to an in-process VRRP engine (test/vrrp-memnet.ts) and prints the heap
// used after a full GC, and the RSS, every `step` datagrams; and how long one batch of 64 datagrams
// (what the socket layer reads per readiness event, MAX_DRAIN) holds the event loop. The heap is tuned as the VRRP-only
// daemon tunes it (tuneHeapForVrrp) unless --untuned.
//   node --expose-gc dist/bench/soak/hostile-heap-probe.js [--packets 500000] [--seed N] [--untuned]
import pino from 'pino';
import { VrrpEngine } from '../../src/vrrp/engine.js';
import { encodeAdvert } from '../../src/vrrp/packet.js';
import { MemLan } from '../../test/vrrp-memnet.js';
import { config, instance, vip } from '../../test/vrrp-helpers.js';
import { MutantFactory, type CapturedAdvert, type LabAddresses } from './hostile-mutations.js';
import { buildAhDatagram } from '../../src/vrrp/ah.js';
import { tuneHeapForVrrp } from '../../src/checkers/heap-tuning.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

function ipv4(src: string, dst: string, proto: number, body: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + body.length, 2);
  h[8] = 255;
  h[9] = proto;
  Buffer.from(src.split('.').map(Number)).copy(h, 12);
  Buffer.from(dst.split('.').map(Number)).copy(h, 16);
  return Buffer.concat([h, body]);
}

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  if (!process.argv.includes('--untuned')) tuneHeapForVrrp();
  const packets = arg('packets', 500_000);
  // a multiple of the batch: the full GCs of the samples fall between batches
  const step = Math.max(64, Math.floor(packets / 5 / 64) * 64);
  const lab: LabAddresses = {
    master: { mac: '02:00:00:00:00:01', v4: '10.0.0.1', ll6: 'fe80::1' },
    backup: { mac: '02:00:00:00:00:02', v4: '10.0.0.2', ll6: 'fe80::2' },
    injector: { mac: '02:00:00:00:00:03', v4: '10.0.0.3', ll6: 'fe80::3' },
    masterVips4: [],
    vrids: { v2pass: 10, v3v4: 11, v3v6: 12, ah: 13 },
  };
  const g = '224.0.0.18';
  const v6 = encodeAdvert({ version: 3, vrid: 12, priority: 200, family: 6, addresses: ['fd00::100'], advertIntMs: 1000 }, 'fe80::1', 'ff02::12');
  const h6 = Buffer.alloc(40);
  h6[0] = 0x60;
  h6.writeUInt16BE(v6.length, 4);
  h6[6] = 112;
  h6[7] = 255;
  const captured: CapturedAdvert[] = [
    {
      kind: 'v2pass',
      ip: ipv4(
        '10.0.0.1',
        g,
        112,
        encodeAdvert({ version: 2, vrid: 10, priority: 200, family: 4, addresses: ['10.0.0.100'], advertIntMs: 1000, authPass: 'hostile1' }, '10.0.0.1', g),
      ),
    },
    {
      kind: 'v3v4',
      ip: ipv4(
        '10.0.0.1',
        g,
        112,
        encodeAdvert({ version: 3, vrid: 11, priority: 200, family: 4, addresses: ['10.0.0.101'], advertIntMs: 1000 }, '10.0.0.1', g),
      ),
    },
    { kind: 'v3v6', ip: Buffer.concat([h6, v6]) },
    {
      kind: 'ah',
      ip: buildAhDatagram({
        src: '10.0.0.1',
        dst: g,
        ipId: 1,
        seq: 5,
        vrrp: encodeAdvert({ version: 2, vrid: 13, priority: 200, family: 4, addresses: ['10.0.0.103'], advertIntMs: 1000, ah: true }, '10.0.0.1', g),
        pass: 'hostile2',
        unicast: false,
      }),
    },
  ];
  // the IPv4 protocol-112 mutations (the in-process LAN has one socket per host)
  const factory = new MutantFactory(arg('seed', 1), lab, captured);
  const frames: Buffer[] = [];
  while (frames.length < 4096) {
    const m = factory.next();
    const ip = m.frame.subarray(14);
    if (ip[0] >> 4 === 4 && ip[9] === 112) frames.push(Buffer.from(ip));
  }
  const lan = new MemLan();
  const host = lan.host('10.0.0.1');
  const engine = new VrrpEngine({ io: host, logger: pino({ level: 'info' }, { write: () => undefined }) });
  const inst = (name: string, vrid: number, over: object, addr: string) =>
    instance(name, { virtualRouterId: vrid, priority: 200, advertInt: 1000, virtualIpaddress: [vip(addr)], ...over });
  await engine.start(
    config({ instances: [inst('V2PASS', 10, { auth: { type: 'PASS', pass: 'hostile1' } }, '10.0.0.100'), inst('V3V4', 11, { version: 3 }, '10.0.0.101')] }),
  );
  const mb = (n: number) => (n / 1048576).toFixed(2);
  const sample = (n: number) => {
    // the in-process LAN keeps what the host sent (the master answers lower-priority adverts): not the engine's
    host.sent.length = 0;
    host.garps.length = 0;
    gc();
    const m = process.memoryUsage();
    process.stdout.write(
      `after ${String(n).padStart(7)} datagrams: heap used after GC ${mb(m.heapUsed)} MB, heap total ${mb(m.heapTotal)} MB, RSS ${mb(m.rss)} MB\n`,
    );
  };
  // preallocated, so that the probe's own bookkeeping does not show as heap growth
  const batchMs = new Float64Array(Math.floor(packets / 64));
  const batchCpuMs = new Float64Array(batchMs.length);
  let batches = 0;
  sample(0);
  let batchStart = performance.now();
  let cpuStart = process.cpuUsage();
  for (let n = 1; n <= packets; n++) {
    const ip = frames[n & 4095];
    const ihl = (ip[0] & 0x0f) * 4;
    const payload = Buffer.from(ip.subarray(ihl, Math.min(ip.length, ip.readUInt16BE(2))));
    const src = `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
    const dst = `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`;
    for (const s of host.sockets) s({ payload, src, dst, ttl: ip[8] });
    if ((n & 63) === 0) {
      batchMs[batches] = performance.now() - batchStart;
      const cpu = process.cpuUsage(cpuStart);
      batchCpuMs[batches++] = (cpu.user + cpu.system) / 1000;
      if ((n & 1023) === 0) await new Promise((r) => setImmediate(r));
      if (n % step === 0) sample(n);
      batchStart = performance.now();
      cpuStart = process.cpuUsage();
    }
  }
  const q = (xs: Float64Array, p: number) => xs.slice(0, batches).sort()[Math.min(batches - 1, Math.ceil(p * batches) - 1)].toFixed(3);
  const line = (what: string, xs: Float64Array) => `${what}: p50 ${q(xs, 0.5)} ms, p99 ${q(xs, 0.99)} ms, max ${q(xs, 1)} ms`;
  process.stdout.write(
    `per batch of 64 datagrams (${batches} batches), ${line('CPU time of the process, GC and compiler threads included', batchCpuMs)}; ${line('wall time (incl. preemption)', batchMs)}\n`,
  );
  await engine.stop({ release: true });
}

main().catch((e) => {
  process.stderr.write(`heap probe: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
