// V8 heap tuning for a process that runs the health checkers. Thousands of checks a second each
// allocate a few tens of KB (sockets, undici request state) that die within milliseconds: with V8's
// defaults the young generation grows to 2 x 16 MB and the old generation to ~4x its live size
// between full collections, so the resident size ends up several times the live heap.
//
// Applied by the engine when it starts, at run time (no node command-line flags: any V8 flag on the
// command line makes node recompile its built-in modules, which slows every start, including
// --config-test). Only flags V8 reads at each collection have an effect once the heap exists:
//  - heap-growing-percent: the old generation may grow by this share of its live size before the
//    next full collection (instead of a factor up to 4);
//  - semi-space-growth-factor=1: the young generation keeps the size it has now (8 MB, after a
//    warm-up) instead of doubling up to its maximum.
// The daemon applies it before it reads the configuration (a large configuration would otherwise
// have grown the young generation to its maximum already); the engine applies it when it starts.
// TSKEEPALIVED_V8_TUNING=off in the environment leaves V8's defaults.
import v8 from 'node:v8';

export const CHECKER_V8_FLAGS: readonly string[] = ['--heap-growing-percent=25', '--semi-space-growth-factor=1'];

/** the size the checkers' young generation is given (both semi-spaces) */
const YOUNG_TARGET_BYTES = 8 * 1048576;
/** bounds of the warm-up that grows it there: chunks of 1,000 small objects */
const WARMUP_CHUNKS = 2000;

let applied = false;

function youngSize(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Apply CHECKER_V8_FLAGS once per process; false when already applied or turned off. The young
 * generation is first grown to 8 MB (a short warm-up of surviving allocations, ~20 ms) and then
 * frozen: small enough to keep the resident size down, large enough that the short-lived state of
 * a request dies young instead of costing scavenges.
 */
export function tuneHeapForCheckers(env: NodeJS.ProcessEnv = process.env): boolean {
  if (applied || env.TSKEEPALIVED_V8_TUNING === 'off') return false;
  applied = true;
  v8.setFlagsFromString(CHECKER_V8_FLAGS[0]!);
  if (youngSize() < YOUNG_TARGET_BYTES) {
    v8.setFlagsFromString('--semi-space-growth-factor=2');
    let keep: { j: number }[] = [];
    for (let i = 0; i < WARMUP_CHUNKS && youngSize() < YOUNG_TARGET_BYTES; i++) {
      for (let j = 0; j < 1000; j++) keep.push({ j });
      if (keep.length > 200_000) keep = [];
    }
  }
  v8.setFlagsFromString(CHECKER_V8_FLAGS[1]!);
  return true;
}

/**
 * The VRRP-only daemon (-P): what it allocates per received packet dies at once, so the young
 * generation is kept at its start size (1-2 MB) instead of doubling up to 16 MB under a
 * flood (the hostile-packets soak, 2,000 datagrams a second: +5..8 MB of RSS that stays; its heap
 * probe: new space 16 MB untuned, 2 MB frozen, the same live heap). Once per process, like
 * tuneHeapForCheckers (whichever comes first wins); TSKEEPALIVED_V8_TUNING=off leaves V8's defaults.
 */
export function tuneHeapForVrrp(env: NodeJS.ProcessEnv = process.env): boolean {
  if (applied || env.TSKEEPALIVED_V8_TUNING === 'off') return false;
  applied = true;
  v8.setFlagsFromString(CHECKER_V8_FLAGS[1]!);
  return true;
}
