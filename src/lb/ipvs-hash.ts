// IPVS's hashing schedulers as Linux lays them out (net/netfilter/ipvs/ip_vs_sh.c, ip_vs_dh.c, ip_vs_mh.c,
// Debian 12's 6.1 kernel: CONFIG_IP_VS_SH_TAB_BITS=8, CONFIG_IP_VS_MH_TAB_INDEX=12). Pure functions over a
// destination list in the kernel's order: IPVS puts each destination it adds at the *head* of the service's
// list (list_add_rcu), so the list is newest first; a weight change keeps the position.
//
//   sh  256 buckets filled in list order, `weight` consecutive buckets per destination (at least one, so a
//       weight-0 destination keeps one bucket per cycle), cycling until 256; bucket of a client =
//       hash_32(port + addr, 8) (the top 8 bits of (port + addr) * 0x61C88647), port = 0 unless sh-port
//   dh  256 buckets, one per destination in list order, cycling (weights are ignored); bucket = hash_32(daddr, 8)
//   mh  Maglev over 4093 entries: each destination with last_weight > 0 gets offset = h1 % 4093 and
//       skip = h2 % 4092 + 1 from SipHash-1-3 (the kernel's hsiphash on 64-bit) of (port + addr) under two
//       fixed keys; turns = (last_weight / gcd) >> rshift (at least 1); destinations take turns slots in list
//       order until the table is full. last_weight is the latest non-zero weight, so a destination set to
//       weight 0 keeps its entries. Client entry = hsiphash1(port + addr) % 4093.
// The keys are constants in the kernel (no per-boot randomness), so every choice is predictable.
// Addresses: IPv4 as the host-order u32; IPv6 folded by XOR of the four 32-bit words (as the kernel).
// A destination is unavailable with weight <= 0 or the overload flag: without the fallback flag such a
// client gets no destination; with sh-fallback / mh-fallback the kernel walks offsets 0..size-1 from the
// client's entry (see shPick / mhPick). dh has no fallback.
import { parseIP } from '../util/inet.js';

export const SH_TAB_BITS = 8;
export const SH_TAB_SIZE = 1 << SH_TAB_BITS;
export const DH_TAB_SIZE = 256;
/** primes[CONFIG_IP_VS_MH_TAB_INDEX - 8] with the default index 12 (Debian's config) */
export const MH_TAB_SIZE = 4093;
/** IP_VS_MH_TAB_BITS = CONFIG_IP_VS_MH_TAB_INDEX / 2 */
const MH_TAB_BITS = 6;
const GOLDEN_RATIO_32 = 0x61c88647;
/** ip_vs_mh.c generate_hash_secret(): both words of each key */
export const MH_KEY1 = 2654435761n;
export const MH_KEY2 = 2654446892n;

export interface HashDest {
  weight: number;
  overloaded?: boolean;
}

export interface MhDest extends HashDest {
  address: string;
  port: number;
  /** the latest non-zero weight (IPVS last_weight; 0 only if it never had one) */
  lastWeight: number;
}

/** The kernel's address fold: IPv4 in host order; IPv6 the XOR of its four 32-bit words. */
export function addrFold(address: string): number {
  const b = parseIP(address);
  if (b.length === 4) return b.readUInt32BE(0);
  return (b.readUInt32BE(0) ^ b.readUInt32BE(4) ^ b.readUInt32BE(8) ^ b.readUInt32BE(12)) >>> 0;
}

/** linux/hash.h hash_32(): the top `bits` bits of val * GOLDEN_RATIO_32 (mod 2^32). */
export function hash32(val: number, bits: number): number {
  return Math.imul(val >>> 0, GOLDEN_RATIO_32) >>> (32 - bits);
}

/** ip_vs_sh_hashkey(): (offset + hash_32(port + addr, 8)) & 255. */
export function shBucket(address: string, port: number, offset = 0): number {
  return (offset + hash32((port + addrFold(address)) >>> 0, SH_TAB_BITS)) & (SH_TAB_SIZE - 1);
}

/** ip_vs_dh_hashkey(): hash_32(addr, 8). */
export function dhBucket(address: string): number {
  return hash32(addrFold(address), 8);
}

/** ip_vs_sh_reassign(): per bucket the index of its destination in `dests` (kernel list order), -1 if none. */
export function shTable(dests: readonly { weight: number }[]): Int16Array {
  const t = new Int16Array(SH_TAB_SIZE).fill(-1);
  if (!dests.length) return t;
  let p = 0;
  let count = 0;
  for (let i = 0; i < SH_TAB_SIZE; i++) {
    t[i] = p;
    if (++count >= dests[p]!.weight) {
      p = (p + 1) % dests.length;
      count = 0;
    }
  }
  return t;
}

/** ip_vs_dh_reassign(): bucket i -> destination i mod n. */
export function dhTable(n: number): Int16Array {
  const t = new Int16Array(DH_TAB_SIZE).fill(-1);
  if (n > 0) for (let i = 0; i < DH_TAB_SIZE; i++) t[i] = i % n;
  return t;
}

const unavailable = (d: HashDest) => d.weight <= 0 || !!d.overloaded;

/** ip_vs_sh_get / ip_vs_sh_get_fallback: the destination index for a client, or -1. */
export function shPick(table: Int16Array, dests: readonly HashDest[], address: string, port: number, fallback: boolean): number {
  const ihash = shBucket(address, port);
  const first = table[ihash]!;
  if (first < 0) return -1;
  if (!unavailable(dests[first]!)) return first;
  if (!fallback) return -1;
  for (let offset = 0; offset < SH_TAB_SIZE; offset++) {
    const i = table[shBucket(address, port, (offset + ihash) % SH_TAB_SIZE)]!;
    if (i < 0) break;
    if (!unavailable(dests[i]!)) return i;
  }
  return -1;
}

/** ip_vs_dh_schedule: the destination index for a destination address, or -1 (unavailable: none, no fallback). */
export function dhPick(table: Int16Array, dests: readonly HashDest[], address: string): number {
  const i = table[dhBucket(address)]!;
  return i < 0 || unavailable(dests[i]!) ? -1 : i;
}

// ---- SipHash-1-3, as the kernel's hsiphash() on 64-bit: 4 input bytes, the low 32 bits of the result ----

const M64 = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & M64;

/** hsiphash(&v, 4, {key, key}) of a u32 v (little-endian bytes, as on x86-64). */
export function hsiphashU32(v: number, key: bigint): number {
  let v0 = 0x736f6d6570736575n ^ key;
  let v1 = 0x646f72616e646f6dn ^ key;
  let v2 = 0x6c7967656e657261n ^ key;
  let v3 = 0x7465646279746573n ^ key;
  const b = (4n << 56n) | BigInt(v >>> 0);
  const round = () => {
    v0 = (v0 + v1) & M64;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M64;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & M64;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & M64;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  v3 ^= b;
  round();
  v0 ^= b;
  v2 ^= 0xffn;
  round();
  round();
  round();
  return Number((v0 ^ v1 ^ v2 ^ v3) & 0xffffffffn);
}

/** ip_vs_mh_hashkey(): hsiphash of the u32 offset + port + addr. */
export function mhHash(address: string, port: number, key: bigint, offset = 0): number {
  return hsiphashU32((offset + port + addrFold(address)) >>> 0, key);
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** fls(): the 1-based index of the highest set bit (0 for 0). */
const fls = (x: number) => (x <= 0 ? 0 : 32 - Math.clz32(x));

/**
 * ip_vs_mh_permutate + ip_vs_mh_populate: per entry the index of its destination in `dests` (kernel list
 * order), -1 everywhere when no destination has a non-zero last weight.
 */
export function mhTable(dests: readonly MhDest[], size = MH_TAB_SIZE): Int16Array {
  const t = new Int16Array(size).fill(-1);
  let g = 0;
  let maxW = 0;
  for (const d of dests) {
    if (d.lastWeight > 0) g = g > 0 ? gcd(d.lastWeight, g) : d.lastWeight;
    if (d.lastWeight > maxW) maxW = d.lastWeight;
  }
  if (g < 1) return t;
  const shift = Math.max(0, fls(Math.trunc(maxW / g)) - MH_TAB_BITS);
  const setup = dests.map((d) => {
    const lw = d.lastWeight;
    return {
      offset: mhHash(d.address, d.port, MH_KEY1) % size,
      skip: (mhHash(d.address, d.port, MH_KEY2) % (size - 1)) + 1,
      turns: Math.trunc(lw / g) >> shift || (lw !== 0 ? 1 : 0),
    };
  });
  return mhPopulate(setup, size);
}

/** Maglev's population (ip_vs_mh_populate) from each destination's offset, skip and turns, in list order. */
export function mhPopulate(setup: readonly { offset: number; skip: number; turns: number }[], size: number): Int16Array {
  const t = new Int16Array(size).fill(-1);
  const perm = setup.map((d) => d.offset);
  const taken = new Uint8Array(size);
  let n = 0;
  let dtCount = 0;
  // passes over the list until every entry is taken; a destination takes `turns` entries before the next one
  for (let pass = 0; n < size && pass <= size; pass++) {
    let i = 0;
    while (i < setup.length) {
      const ds = setup[i]!;
      if (ds.turns < 1) {
        i++;
        continue;
      }
      while (taken[perm[i]!]) {
        perm[i]! += ds.skip;
        if (perm[i]! >= size) perm[i]! -= size;
      }
      taken[perm[i]!] = 1;
      t[perm[i]!] = i;
      if (++n === size) return t;
      if (++dtCount >= ds.turns) {
        dtCount = 0;
        i++;
      }
    }
  }
  return t;
}

/** ip_vs_mh_get / ip_vs_mh_get_fallback: the destination index for a client, or -1. */
export function mhPick(table: Int16Array, dests: readonly HashDest[], address: string, port: number, fallback: boolean): number {
  const size = table.length;
  const ihash = mhHash(address, port, MH_KEY1) % size;
  const first = table[ihash]!;
  if (first < 0) return -1;
  if (!unavailable(dests[first]!)) return first;
  if (!fallback) return -1;
  for (let offset = 0; offset < size; offset++) {
    const i = table[mhHash(address, port, MH_KEY1, (offset + ihash) % size) % size]!;
    if (i < 0) break;
    if (!unavailable(dests[i]!)) return i;
  }
  return -1;
}
