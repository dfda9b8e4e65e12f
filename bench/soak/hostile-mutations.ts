// Hostile VRRP datagrams for the hostile-packets soak: deterministic (seeded) mutations of adverts
// captured from a running MASTER, each with what should become of it at the MASTER and at the
// BACKUP: dropped and counted by the daemon ('drop'), dropped by the kernel before any socket
// ('kernel': IPv4 martian source, IPv6 VRRP checksum, IP length beyond the frame), accepted as a
// harmless valid advert ('accept': a replay of the master's own advert), or not addressed to it
// ('none': unicast to the other node). Pure functions over Buffers.
import { pseudoHeader } from '../../src/vrrp/checksum.js';
import { internetChecksum } from '../../src/util/internet-checksum.js';
import { parseIP as ipToBytes, formatIP as bytesToIp, parseMac } from '../../src/util/inet.js';
import { prng } from '../../test/prng.js';

export type AdvertKind = 'v2pass' | 'v3v4' | 'v3v6' | 'ah';
export const ADVERT_KINDS: AdvertKind[] = ['v2pass', 'v3v4', 'v3v6', 'ah'];
export type Role = 'master' | 'backup';
export type Outcome = 'drop' | 'kernel' | 'accept' | 'none';

export interface Endpoint {
  mac: string;
  v4: string;
  /** IPv6 link-local (the source of VRRPv3 IPv6 adverts) */
  ll6: string;
}

export interface LabAddresses {
  master: Endpoint;
  backup: Endpoint;
  injector: Endpoint;
  /** IPv4 addresses the master holds besides its own (VIPs): a source among them is a martian there */
  masterVips4: string[];
  /** VRIDs configured per advert kind */
  vrids: Record<AdvertKind, number>;
}

/** An advert as captured (IP packet, no Ethernet header), with what it is. */
export interface CapturedAdvert {
  kind: AdvertKind;
  ip: Buffer;
}

export interface Mutant {
  cls: MutationClass;
  kind: AdvertKind;
  frame: Buffer;
  expect: Record<Role, Outcome>;
}

export const MUTATION_CLASSES = [
  'truncated',
  'bad-checksum',
  'ttl',
  'wrong-vrid',
  'bad-version',
  'bad-type',
  'address-count',
  'address-flood',
  'auth',
  'ah-garbage',
  'ah-replay',
  'wrong-socket',
  'ip-length',
  'padded',
  'interval',
  'own-address',
  'wrong-destination',
  'fuzz',
] as const;
export type MutationClass = (typeof MUTATION_CLASSES)[number];

const MCAST4 = '224.0.0.18';
const MCAST6 = 'ff02::12';
const MCAST4_MAC = '01:00:5e:00:00:12';
const MCAST6_MAC = '33:33:00:00:00:12';
const PROTO_VRRP = 112;
const PROTO_AH = 51;
const AH_LEN = 24;

/** The parts of a captured advert a mutation works on. */
interface Parts {
  family: 4 | 6;
  /** VRRP payload (copy) */
  vrrp: Buffer;
  /** AH header (copy), AH kind only */
  ah?: Buffer;
  ipId: number;
}

function split(c: CapturedAdvert): Parts {
  if (c.ip[0] >> 4 === 6) return { family: 6, vrrp: Buffer.from(c.ip.subarray(40, 40 + c.ip.readUInt16BE(4))), ipId: 0 };
  const ihl = (c.ip[0] & 0x0f) * 4;
  const end = c.ip.readUInt16BE(2);
  if (c.ip[9] === PROTO_AH)
    return { family: 4, ah: Buffer.from(c.ip.subarray(ihl, ihl + AH_LEN)), vrrp: Buffer.from(c.ip.subarray(ihl + AH_LEN, end)), ipId: c.ip.readUInt16BE(4) };
  return { family: 4, vrrp: Buffer.from(c.ip.subarray(ihl, end)), ipId: c.ip.readUInt16BE(4) };
}

interface Datagram {
  family: 4 | 6;
  proto: number;
  src: string;
  dst: string;
  ttl: number;
  /** everything after the IP header */
  body: Buffer;
  /** override of the IP length field (v4 total length, v6 payload length) */
  lengthField?: number;
  ipId?: number;
}

function ipv4(d: Datagram): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h[1] = 0xc0;
  h.writeUInt16BE(d.lengthField ?? 20 + d.body.length, 2);
  h.writeUInt16BE((d.ipId ?? 1) & 0xffff, 4);
  h[8] = d.ttl;
  h[9] = d.proto;
  ipToBytes(d.src).copy(h, 12);
  ipToBytes(d.dst).copy(h, 16);
  h.writeUInt16BE(internetChecksum(h), 10);
  return Buffer.concat([h, d.body]);
}

function ipv6(d: Datagram): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x6e000000, 0); // version 6, traffic class 0xe0 (network control)
  h.writeUInt16BE(d.lengthField ?? d.body.length, 4);
  h[6] = d.proto;
  h[7] = d.ttl;
  ipToBytes(d.src).copy(h, 8);
  ipToBytes(d.dst).copy(h, 24);
  return Buffer.concat([h, d.body]);
}

function ethernet(dstMac: string, srcMac: string, family: 4 | 6, ip: Buffer): Buffer {
  const e = Buffer.alloc(14);
  parseMac(dstMac).copy(e, 0);
  parseMac(srcMac).copy(e, 6);
  e.writeUInt16BE(family === 4 ? 0x0800 : 0x86dd, 12);
  return Buffer.concat([e, ip]);
}

/** Set the VRRP checksum of a payload as a sender would (v2: the message; v3: with the pseudo-header). */
export function fixVrrpChecksum(vrrp: Buffer, src: string, dst: string): void {
  if (vrrp.length < 8) return;
  vrrp.writeUInt16BE(0, 6);
  const v3 = vrrp[0] >> 4 === 3 || src.includes(':');
  vrrp.writeUInt16BE(v3 ? internetChecksum(pseudoHeader(src, dst, vrrp.length), vrrp) : internetChecksum(vrrp), 6);
}

/** What the IPv6 stack of a raw socket with IPV6_CHECKSUM verifies: the sum over pseudo-header + payload. */
function v6ChecksumOk(vrrp: Buffer, src: string, dst: string): boolean {
  return internetChecksum(pseudoHeader(src, dst, vrrp.length), vrrp) === 0;
}

export class MutantFactory {
  private readonly rnd: () => number;
  private readonly parts: Map<AdvertKind, Parts>;
  /** the first AH advert captured: replayed later, its sequence number is old by then */
  private readonly oldAh: Buffer | undefined;

  constructor(
    readonly seed: number,
    private readonly lab: LabAddresses,
    captured: CapturedAdvert[],
  ) {
    this.rnd = prng(seed);
    this.parts = new Map();
    for (const c of captured) if (!this.parts.has(c.kind)) this.parts.set(c.kind, split(c));
    for (const k of ADVERT_KINDS) if (!this.parts.has(k)) throw new Error(`no captured ${k} advert`);
    this.oldAh = captured.find((c) => c.kind === 'ah')?.ip;
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }
  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.rnd() * list.length)];
  }
  private bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }

  private base(kind: AdvertKind): Parts {
    const p = this.parts.get(kind)!;
    return { family: p.family, vrrp: Buffer.from(p.vrrp), ah: p.ah ? Buffer.from(p.ah) : undefined, ipId: p.ipId };
  }

  private localTo(role: Role): Set<string> {
    return role === 'master' ? new Set([this.lab.master.v4, ...this.lab.masterVips4]) : new Set([this.lab.backup.v4]);
  }

  /**
   * Build the frame and the outcome per role from the kernel's rules; `accept` lists the roles for
   * which the datagram is a valid advert (only the replay of the master's own one).
   */
  private finish(cls: MutationClass, kind: AdvertKind, d: Datagram, accept: Role[] = []): Mutant {
    const ip = d.family === 4 ? ipv4(d) : ipv6(d);
    const multicast = d.dst === MCAST4 || d.dst === MCAST6;
    const unicastTo: Role | undefined = multicast ? undefined : [this.lab.master.v4, this.lab.master.ll6].includes(d.dst) ? 'master' : 'backup';
    const dstMac = multicast ? (d.family === 4 ? MCAST4_MAC : MCAST6_MAC) : this.lab[unicastTo!].mac;
    const expect = {} as Record<Role, Outcome>;
    for (const role of ['master', 'backup'] as Role[]) {
      let o: Outcome;
      if (unicastTo !== undefined && unicastTo !== role) o = 'none';
      else if (d.family === 4) {
        const tot = d.lengthField ?? 20 + d.body.length;
        // ip_rcv drops a total length beyond the data or below the header; fib_validate_source a local source
        o = tot > 20 + d.body.length || tot < 20 || this.localTo(role).has(d.src) ? 'kernel' : 'drop';
      } else {
        const plen = d.lengthField ?? d.body.length;
        const delivered = d.body.subarray(0, Math.min(plen, d.body.length));
        o = plen > d.body.length || (d.proto === PROTO_VRRP && !v6ChecksumOk(delivered, d.src, d.dst)) ? 'kernel' : 'drop';
      }
      if (o === 'drop' && accept.includes(role)) o = 'accept';
      expect[role] = o;
    }
    return { cls, kind, frame: ethernet(dstMac, this.lab.injector.mac, d.family, ip), expect };
  }

  /** A datagram from the injector to the group carrying `vrrp` (and the AH header for the AH kind). */
  private datagram(kind: AdvertKind, p: Parts, over: Partial<Datagram> = {}): Datagram {
    const family = p.family;
    const src = over.src ?? (family === 4 ? this.lab.injector.v4 : this.lab.injector.ll6);
    const dst = over.dst ?? (family === 4 ? MCAST4 : MCAST6);
    const body = kind === 'ah' && p.ah ? Buffer.concat([p.ah, p.vrrp]) : p.vrrp;
    return { family, proto: kind === 'ah' ? PROTO_AH : PROTO_VRRP, src, dst, ttl: 255, body, ipId: p.ipId, ...over };
  }

  /** The datagram as a sender would send it: the VRRP checksum valid for its source and destination. */
  private valid(kind: AdvertKind, p: Parts, over: Partial<Datagram> = {}): Datagram {
    const d = this.datagram(kind, p, over);
    fixVrrpChecksum(p.vrrp, d.src, d.dst);
    return this.datagram(kind, p, over);
  }

  next(): Mutant {
    const cls = this.pick(MUTATION_CLASSES);
    return this.build(cls);
  }

  build(cls: MutationClass): Mutant {
    const anyKind = (): AdvertKind => this.pick(ADVERT_KINDS);
    switch (cls) {
      case 'truncated': {
        const kind = anyKind();
        const p = this.base(kind);
        p.vrrp = p.vrrp.subarray(0, this.int(0, p.vrrp.length - 1));
        // IPv6: a checksum valid for what is left, so that the packet reaches the socket
        if (p.family === 6 && p.vrrp.length >= 8) return this.finish(cls, kind, this.valid(kind, p));
        if (kind === 'ah' && this.rnd() < 0.5) {
          const d = this.datagram(kind, p);
          return this.finish(cls, kind, { ...d, body: d.body.subarray(0, this.int(0, AH_LEN - 1)) });
        }
        return this.finish(cls, kind, this.datagram(kind, p));
      }
      case 'bad-checksum': {
        const kind = anyKind();
        const p = this.base(kind);
        const d = this.valid(kind, p);
        p.vrrp.writeUInt16BE(p.vrrp.readUInt16BE(6) ^ this.int(1, 0xffff), 6);
        return this.finish(cls, kind, this.datagram(kind, p, { src: d.src }));
      }
      case 'ttl': {
        const kind = anyKind();
        const p = this.base(kind);
        return this.finish(cls, kind, this.valid(kind, p, { ttl: this.int(1, 254) }));
      }
      case 'wrong-vrid': {
        const kind = anyKind();
        const p = this.base(kind);
        const used = new Set(Object.values(this.lab.vrids));
        let vrid: number;
        do vrid = this.int(0, 255);
        while (used.has(vrid));
        p.vrrp[1] = vrid;
        return this.finish(cls, kind, this.valid(kind, p));
      }
      case 'bad-version': {
        const kind = anyKind();
        const p = this.base(kind);
        const was = p.vrrp[0] >> 4;
        let v: number;
        do v = this.int(0, 15);
        while (v === was);
        p.vrrp[0] = (v << 4) | (p.vrrp[0] & 0x0f);
        return this.finish(cls, kind, this.valid(kind, p));
      }
      case 'bad-type': {
        const kind = anyKind();
        const p = this.base(kind);
        p.vrrp[0] = (p.vrrp[0] & 0xf0) | this.pick([0, ...Array.from({ length: 14 }, (_, i) => i + 2)]);
        return this.finish(cls, kind, this.valid(kind, p));
      }
      case 'address-count': {
        // the count says more addresses than the packet carries (up to 255)
        const kind = anyKind();
        const p = this.base(kind);
        p.vrrp[3] = this.int(p.vrrp[3] + 1, 255);
        return this.finish(cls, kind, this.valid(kind, p));
      }
      case 'address-flood': {
        // a well-formed advert with many addresses (255 IPv4; IPv6 as many as fit a 1500-byte MTU)
        const kind = anyKind();
        const p = this.base(kind);
        const alen = p.family === 4 ? 4 : 16;
        const n = p.family === 4 ? this.int(2, 255) : this.int(2, 85);
        const auth = p.vrrp[0] >> 4 === 2 ? p.vrrp.subarray(8 + p.vrrp[3] * alen) : Buffer.alloc(0);
        const addrs = this.bytes(n * alen);
        p.vrrp = Buffer.concat([p.vrrp.subarray(0, 8), addrs, auth]);
        p.vrrp[3] = n;
        return this.finish(cls, kind, this.valid(kind, p));
      }
      case 'auth': {
        const kind = this.pick(['v2pass', 'ah'] as const);
        const p = this.base(kind);
        const alen = 8 + p.vrrp[3] * 4;
        if (kind === 'v2pass') {
          if (this.rnd() < 0.5)
            this.bytes(8).copy(p.vrrp, alen); // wrong password
          else p.vrrp[4] = this.pick([0, 2, 3, 7, 255]); // wrong auth type
          return this.finish(cls, kind, this.valid(kind, p));
        }
        // AH: a bad ICV byte, or a VRRP auth type other than AH
        if (this.rnd() < 0.5) p.ah![12 + this.int(0, 11)] ^= this.int(1, 255);
        else p.vrrp[4] = this.pick([0, 1, 3, 255]);
        return this.finish(cls, kind, this.valid(kind, p));
      }
      case 'ah-garbage': {
        const p = this.base('ah');
        // random bytes over a random part of the AH header: next header, length, SPI, sequence, ICV
        const from = this.int(0, AH_LEN - 1);
        this.bytes(this.int(1, AH_LEN - from)).copy(p.ah!, from);
        return this.finish(cls, 'ah', this.valid('ah', p));
      }
      case 'ah-replay': {
        // the first AH advert captured, as it was: its sequence number is behind the receivers' by now
        const ip = Buffer.from(this.oldAh!);
        const ihl = (ip[0] & 0x0f) * 4;
        const p = split({ kind: 'ah', ip });
        return this.finish(cls, 'ah', {
          family: 4,
          proto: PROTO_AH,
          src: bytesToIp(ip.subarray(12, 16)),
          dst: bytesToIp(ip.subarray(16, 20)),
          ttl: ip[8],
          body: ip.subarray(ihl, ip.readUInt16BE(2)),
          ipId: p.ipId,
        });
      }
      case 'wrong-socket': {
        // an AH instance's VRRP as plain protocol 112, or a plain advert inside AH
        if (this.rnd() < 0.5) {
          const p = this.base('ah');
          return this.finish(cls, 'ah', { ...this.valid('ah', p), proto: PROTO_VRRP, body: p.vrrp });
        }
        const p = this.base('v2pass');
        const ah = Buffer.from(this.parts.get('ah')!.ah!);
        return this.finish(cls, 'v2pass', { ...this.valid('v2pass', p), proto: PROTO_AH, body: Buffer.concat([ah, p.vrrp]) });
      }
      case 'ip-length': {
        const kind = anyKind();
        const p = this.base(kind);
        const d = this.valid(kind, p);
        const len = d.family === 4 ? 20 + d.body.length : d.body.length;
        // shorter: the kernel trims the datagram; longer: the kernel drops it
        const lengthField = this.rnd() < 0.7 ? this.int(d.family === 4 ? 20 : 0, len - 1) : this.int(len + 1, len + 200);
        return this.finish(cls, kind, { ...d, lengthField });
      }
      case 'padded': {
        const kind = anyKind();
        const p = this.base(kind);
        p.vrrp = Buffer.concat([p.vrrp, this.bytes(this.int(1, 64))]);
        return this.finish(cls, kind, this.valid(kind, p));
      }
      case 'interval': {
        const kind = 'v2pass';
        const p = this.base(kind);
        p.vrrp[5] = this.pick([0, 2, 3, 10, 255]);
        return this.finish(cls, kind, this.valid(kind, p));
      }
      case 'own-address': {
        // sent to the group with a node's own address as source: at the master, the master's own
        // advert (the backup takes it as the valid advert it is); at the backup, the master's advert
        // with the backup's address and priority 1 (a valid lower-priority advert for the master)
        const kind = anyKind();
        const p = this.base(kind);
        const target: Role = this.rnd() < 0.5 ? 'master' : 'backup';
        const ep = this.lab[target];
        const src = p.family === 4 ? ep.v4 : ep.ll6;
        if (target === 'backup') p.vrrp[2] = 1;
        const other: Role = target === 'master' ? 'backup' : 'master';
        // AH: the ICV is not recomputed (it covers the source): the other node drops it
        return this.finish(cls, kind, this.valid(kind, p, { src }), kind === 'ah' ? [] : [other]);
      }
      case 'wrong-destination': {
        // a valid-looking advert with priority 254 sent unicast to a multicast instance
        const kind = this.pick(['v2pass', 'v3v4', 'v3v6'] as const);
        const p = this.base(kind);
        p.vrrp[2] = 254;
        const target: Role = this.rnd() < 0.5 ? 'master' : 'backup';
        const ep = this.lab[target];
        return this.finish(cls, kind, this.valid(kind, p, { dst: p.family === 4 ? ep.v4 : ep.ll6 }));
      }
      case 'fuzz': {
        const kind = anyKind();
        for (;;) {
          const p = this.base(kind);
          const d = this.valid(kind, p);
          const alen = p.family === 4 ? 4 : 16;
          // IPv6: only bytes whose change makes the advert invalid (version/type, VRID, count, addresses),
          // the checksum made valid again so that the kernel delivers it; IPv4/AH: any byte, checksum kept
          const offsets = p.family === 6 ? [0, 1, 3, ...Array.from({ length: p.vrrp[3] * alen }, (_, i) => 8 + i)] : undefined;
          const n = this.int(1, 4);
          for (let i = 0; i < n; i++) {
            if (kind === 'ah' && this.rnd() < 0.5) p.ah![this.int(0, AH_LEN - 1)] ^= this.int(1, 255);
            else p.vrrp[offsets ? this.pick(offsets) : this.int(0, p.vrrp.length - 1)] ^= this.int(1, 255);
          }
          if (p.family === 6) return this.finish(cls, kind, this.valid(kind, p));
          // a flip that left a valid checksum could leave a valid advert: draw again
          const sum = p.vrrp[0] >> 4 === 3 ? internetChecksum(pseudoHeader(d.src, d.dst, p.vrrp.length), p.vrrp) : internetChecksum(p.vrrp);
          if (sum !== 0 || kind === 'ah') return this.finish(cls, kind, this.datagram(kind, p, { src: d.src }));
        }
      }
    }
  }
}
