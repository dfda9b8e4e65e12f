// mulberry32: a small, fast, seeded PRNG, so that a workload or a mutation run is the same on every
// run with the same seed. The one copy for tests and benches (test/lb-sched-workload.ts,
// bench/soak/hostile-mutations.ts).
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
