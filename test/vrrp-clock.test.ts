// The real clock's precise timer (the master-down timer): never before its deadline, never
// inside the call that sets it, cancellable at every stage. (How late it fires is measured by
// bench/failover, not asserted here.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, realClock } from '../src/util/clock.js';

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
  assert.deepEqual(
    fired.map((f) => f.i),
    delays.map((_, i) => i),
  );
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

test('real clock: immediates run in order after the current turn; a cleared one never runs', async () => {
  const order: string[] = [];
  realClock.setImmediate(() => order.push('a'));
  const b = realClock.setImmediate(() => order.push('b'));
  realClock.setImmediate(() => order.push('c'));
  realClock.clearTimeout(b);
  assert.deepEqual(order, [], 'never inside setImmediate()');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(order, ['a', 'c']);
});

test('fake clock: an immediate runs at the next advance, at the current time, cancellable', () => {
  const clock = new FakeClock();
  const seen: number[] = [];
  clock.advance(100);
  clock.setImmediate(() => seen.push(clock.now()));
  const h = clock.setImmediate(() => seen.push(-1));
  clock.clearTimeout(h);
  assert.deepEqual(seen, []);
  clock.advance(0);
  assert.deepEqual(seen, [100]);
  assert.equal(clock.pending(), 0);
});
