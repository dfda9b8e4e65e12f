// Weight helpers shared by the schedulers: gcd reduction and the smooth weighted round-robin sequence.
import type { Destination } from './backend.js';

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Destinations that may receive new connections (weight > 0). */
export function activeDestinations(ds: readonly Destination[]): Destination[] {
  return ds.filter((d) => d.weight > 0);
}

/**
 * Weights reduced by their gcd and, when the total exceeds maxSlots, scaled down proportionally
 * (each kept >= 1). Returns integer slot counts parallel to the input.
 */
export function slotCounts(weights: readonly number[], maxSlots = 1024): number[] {
  const g = weights.reduce((acc, w) => gcd(acc, w), 0) || 1;
  let counts = weights.map((w) => w / g);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total > maxSlots) counts = counts.map((c) => Math.max(1, Math.round((c * maxSlots) / total)));
  return counts;
}

/**
 * The smooth weighted round-robin order (each step: add every weight to its current value, pick the
 * largest, subtract the total): items interleave instead of coming in blocks. Length = sum(counts).
 */
export function smoothSequence(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const current = counts.map(() => 0);
  const seq: number[] = [];
  for (let n = 0; n < total; n++) {
    let best = -1;
    for (let i = 0; i < counts.length; i++) {
      if (counts[i] === 0) continue;
      current[i]! += counts[i]!;
      if (best < 0 || current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    seq.push(best);
  }
  return seq;
}

/** 32-bit FNV-1a of a string (deterministic, fast; for slot assignment, not security). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // final avalanche so that near-identical inputs spread
  return mix32(h);
}

export const HASH_SLOTS = 256;

/**
 * A hash table of `slots` entries over weighted members, by weighted rendezvous hashing: each slot
 * goes to the member with the highest weight / -ln(u(slot, member)). Each member gets a share of the
 * slots proportional to its weight, and removing a member (or setting its weight to 0) only moves the
 * slots it had: clients hashed to the other members keep their member.
 * Returns, per slot, the index of the member in the input list.
 */
export function rendezvousSlots(members: readonly { id: string; weight: number }[], slots = HASH_SLOTS): number[] {
  const key = `${slots}|${members.map((m) => `${m.id}=${m.weight}`).join(',')}`;
  const cached = slotCache.get(key);
  if (cached) return cached.slice();
  const out = computeRendezvous(members, slots);
  if (slotCache.size >= SLOT_CACHE_MAX) slotCache.clear();
  slotCache.set(key, out.slice());
  return out;
}

/** Tables already computed (applies usually change one service; the others hit the cache). */
const slotCache = new Map<string, number[]>();
const SLOT_CACHE_MAX = 4096;

function computeRendezvous(members: readonly { id: string; weight: number }[], slots: number): number[] {
  const idHash = members.map((m) => fnv1a(m.id));
  const out: number[] = [];
  for (let s = 0; s < slots; s++) {
    let best = -1;
    let bestScore = -Infinity;
    const salt = Math.imul(s + 1, 0x9e3779b1);
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      if (m.weight <= 0) continue;
      const u = (mix32((idHash[i]! ^ salt) >>> 0) + 0.5) / 4294967296;
      const score = m.weight / -Math.log(u);
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    out.push(best);
  }
  return out;
}

/** murmur3's 32-bit finaliser: a good avalanche for the (member, slot) combination. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
