// The control of the hostile-packets soak's event-loop figure: an idle Node process measuring its
// own event-loop delay with the daemon's meter (src/status/event-loop.ts), so that the machine's
// contention (other processes on the same cores) can be told from the flood's effect.
//   node dist/bench/soak/hostile-loop-control.js MAX_SECONDS
// Prints one JSON line per completed 5 s window: { t, seq, p50Ms, p99Ms, maxMs }.
import { EventLoopDelay } from '../../src/status/event-loop.js';

const meter = new EventLoopDelay();
meter.start();
let seen = 0;
const poll = setInterval(() => {
  const w = meter.lastWindow;
  if (w.seq === seen) return;
  seen = w.seq;
  process.stdout.write(JSON.stringify({ t: Date.now(), ...w }) + '\n');
}, 250);
setTimeout(
  () => {
    clearInterval(poll);
    meter.stop();
  },
  Number(process.argv[2] ?? 600) * 1000,
);
