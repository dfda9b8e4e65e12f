// The daemon's event-loop delay meter (/metrics tskeepalived_event_loop_delay_seconds): a blocked
// loop shows in the window it happened in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLoopDelay } from '../src/status/event-loop.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('event-loop delay: a 60 ms block shows in its window', async () => {
  const meter = new EventLoopDelay(300, 10);
  meter.start();
  try {
    await sleep(50); // the meter's first sample only starts its clock
    const until = performance.now() + 60;
    while (performance.now() < until);
    const blockedSeq = meter.lastWindow.seq + 1;
    while (meter.lastWindow.seq < blockedSeq) await sleep(20);
    assert.ok(meter.lastWindow.maxMs >= 40, `max ${meter.lastWindow.maxMs} ms`);
    const m = meter.metrics();
    const max = m.find((s) => s.name === 'tskeepalived_event_loop_delay_seconds' && s.labels.quantile === '1');
    assert.ok(max && max.value >= 0.04);
    assert.ok(m.some((s) => s.name === 'tskeepalived_event_loop_delay_windows_total' && s.value >= 1));
  } finally {
    meter.stop();
  }
});
