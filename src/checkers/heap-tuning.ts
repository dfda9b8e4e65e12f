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
//  - semi-space-growth-factor=1: the young generation keeps the size it has now (small at start)
//    instead of doubling up to its maximum.
// TSKEEPALIVED_V8_TUNING=off in the environment leaves V8's defaults.
import v8 from 'node:v8';

export const CHECKER_V8_FLAGS: readonly string[] = ['--heap-growing-percent=30', '--semi-space-growth-factor=1'];

let applied = false;

/** Apply CHECKER_V8_FLAGS once per process; false when already applied or turned off. */
export function tuneHeapForCheckers(env: NodeJS.ProcessEnv = process.env): boolean {
  if (applied || env.TSKEEPALIVED_V8_TUNING === 'off') return false;
  applied = true;
  for (const flag of CHECKER_V8_FLAGS) v8.setFlagsFromString(flag);
  return true;
}
