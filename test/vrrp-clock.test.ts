// The real clock's precise timer (the master-down timer): never before its deadline, never
// inside the call that sets it, cancellable at every stage. (How late it fires is measured by
// bench/failover, not asserted here.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realClock } from '../src/vrrp/clock.js';

test('precise timers fire at or after their deadline, asynchronously, in deadline order', async () => {
  const fired: { i: number; late: number }[] = [];
  const delays = [0, 1, 2.5, 3, 7.3, 15, 40];
  await new Promise<void>((done) => {
    delays.forEach((ms, i) => {
      const deadline = realClock.now() + ms;
      realClock.setPreciseTimeout(() => {
        fired.push({ i, late: realClock.now() - deadline });
        if (fired.length === delays.length) done();
      }, ms);
    });
    assert.equal(fired.length, 0, 'no callback runs inside setPreciseTimeout');
  });
  for (const f of fired) assert.ok(f.late >= 0, `timer ${f.i} fired ${-f.late} ms early`);
  assert.deepEqual(fired.map((f) => f.i), delays.map((_, i) => i));
});

test('a cleared precise timer never fires, whether cleared at once or while pending', async () => {
  let fired = 0;
  const a = realClock.setPreciseTimeout(() => fired++, 5);
  realClock.clearTimeout(a);
  const b = realClock.setPreciseTimeout(() => fired++, 30);
  setTimeout(() => realClock.clearTimeout(b), 20); // while its Node timer is pending
  const c = realClock.setPreciseTimeout(() => fired++, 1);
  realClock.clearTimeout(c);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(fired, 0);
});
