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
