// The checker loop (retry, delay_before_retry, delay_loop, already-down, stop) with a scripted clock,
// first-run spreading, the in-flight limiter, and the pure pool logic (quorum, hysteresis, sorry).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Limiter } from '../src/checkers/limiter.js';
import { initialQuorum, nextQuorum, poolDestinations, type RealServerHealth } from '../src/checkers/pool.js';
import { CheckerLoop, firstDelay, type LoopTiming, type Timers } from '../src/checkers/scheduler.js';
import type { CheckResult } from '../src/checkers/types.js';
import { expandRange } from '../src/checkers/services.js';
import { loopTiming } from '../src/checkers/engine.js';
import type { Checker } from '../src/config/model.js';
import { httpCheck, rs, tcpCheck, vs } from './checkers-fixtures.js';

/** Timers that record every requested delay and fire only when told. */
class ScriptedTimers implements Timers {
  pending: { fn: () => void; ms: number; id: number }[] = [];
  delays: number[] = [];
  private next = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.push({ fn, ms, id });
    this.delays.push(ms);
    return id;
  }
  clearTimeout(h: unknown): void {
    this.pending = this.pending.filter((p) => p.id !== h);
  }
  async fireNext(): Promise<void> {
    const p = this.pending.shift();
    assert.ok(p, 'a timer is pending');
    p.fn();
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

function scriptedLoop(outcomes: boolean[], timing: LoopTiming = { delayLoop: 1000, retry: 2, delayBeforeRetry: 100 }, initialUp = true) {
  const timers = new ScriptedTimers();
  const verdicts: boolean[] = [];
  let i = 0;
  const attempt = async (): Promise<CheckResult> => {
    const ok = outcomes[i++] ?? true;
    return { ok, reason: ok ? 'ok' : 'fail', latencyMs: 1 };
  };
  const loop = new CheckerLoop({ attempt, verdict: (_loop, up) => void verdicts.push(up) }, timing, initialUp, { timers });
  return { loop, timers, verdicts, attempts: () => i };
}

describe('checker loop', () => {
  it('retries `retry` times, delay_before_retry apart, before declaring down', async () => {
    const { loop, timers, verdicts } = scriptedLoop([false, false, false, false]);
    loop.start(7);
    await timers.fireNext(); // attempt 1 fails -> retry
    await timers.fireNext(); // retry 1 fails
    assert.deepEqual(verdicts, []);
    await timers.fireNext(); // retry 2 fails -> down
    assert.deepEqual(verdicts, [false]);
    await timers.fireNext(); // already down: no retries, verdict repeated
    assert.deepEqual(verdicts, [false, false]);
    assert.deepEqual(timers.delays, [7, 100, 100, 1000, 1000]);
    assert.equal(loop.stats.failures, 4);
  });

  it('a success during retries keeps the checker up', async () => {
    const { loop, timers, verdicts } = scriptedLoop([false, true]);
    loop.start(0);
    await timers.fireNext();
    await timers.fireNext();
    assert.deepEqual(verdicts, [true]);
    assert.equal(loop.up, true);
    assert.deepEqual(timers.delays, [0, 100, 1000]);
  });

  it('alpha: starts down, one success brings it up', async () => {
    const { loop, timers, verdicts } = scriptedLoop([true], undefined, false);
    assert.equal(loop.up, false);
    loop.start(0);
    await timers.fireNext();
    assert.deepEqual(verdicts, [true]);
  });

  it("HTTP_GET after a failure (keepalived's failed url): the first success clears it, the next pass restores", async () => {
    const { loop, timers, verdicts } = scriptedLoop([false, false, true, false, true, true], {
      delayLoop: 1000,
      retry: 0,
      delayBeforeRetry: 100,
      confirmAfterFailure: 1000,
    });
    loop.start(0);
    await timers.fireNext(); // fails -> down
    await timers.fireNext(); // fails again, still down
    assert.deepEqual(verdicts, [false, false]);
    await timers.fireNext(); // success: failed url cleared, not restored yet
    assert.deepEqual(verdicts, [false, false]);
    assert.equal(loop.up, false);
    await timers.fireNext(); // a failure in between does not set the failed url again (keepalived)
    await timers.fireNext(); // success: restored
    assert.deepEqual(verdicts, [false, false, false, true]);
    assert.equal(loop.up, true);
    assert.deepEqual(timers.delays, [0, 1000, 1000, 1000, 1000, 1000]);
  });

  it('HTTP_GET with fast_recovery: the confirming pass runs at once; alpha start: the first success restores', async () => {
    const fast = scriptedLoop([false, true, true], { delayLoop: 1000, retry: 0, delayBeforeRetry: 100, confirmAfterFailure: 0 });
    fast.loop.start(0);
    await fast.timers.fireNext();
    await fast.timers.fireNext();
    await fast.timers.fireNext();
    assert.deepEqual(fast.verdicts, [false, true]);
    assert.deepEqual(fast.timers.delays, [0, 1000, 0, 1000]);
    const alpha = scriptedLoop([true], { delayLoop: 1000, retry: 0, delayBeforeRetry: 100, confirmAfterFailure: 1000 }, false);
    alpha.loop.start(0);
    await alpha.timers.fireNext();
    assert.deepEqual(alpha.verdicts, [true], 'never failed: no failed url to clear');
  });

  it('stop cancels the pending run and ignores an in-flight result', async () => {
    const { loop, timers, verdicts, attempts } = scriptedLoop([true]);
    loop.start(5);
    loop.stop();
    assert.equal(timers.pending.length, 0);
    assert.equal(attempts(), 0);
    assert.deepEqual(verdicts, []);
  });

  it('spreads first runs over the delay_loop (hashed) or the warmup (random)', () => {
    const timing = { delayLoop: 5000, retry: 1, delayBeforeRetry: 1000 };
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 5000; i++) {
      const d = firstDelay(`vs|10.0.0.${i % 250}|${i}`, timing);
      assert.ok(d >= 0 && d < 5000);
      buckets[Math.floor(d / 500)]++;
    }
    for (const b of buckets) assert.ok(b > 350 && b < 650, `uneven spread ${buckets}`);
    assert.equal(firstDelay('same', timing), firstDelay('same', timing));
    assert.equal(
      firstDelay('x', { ...timing, warmup: 2000 }, () => 0.5),
      1000,
    );
  });
});

describe('limiter', () => {
  it('bounds work in flight and hands slots over in order', async () => {
    const l = new Limiter(2);
    const order: number[] = [];
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const w = l.acquire();
        if (w) await w;
        active++;
        peak = Math.max(peak, active);
        order.push(i);
        await new Promise((r) => setTimeout(r, 2));
        active--;
        l.release();
      }),
    );
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(l.inFlight, 0);
  });

  it('drains 100,000 waiters that give their slot straight back without deep recursion', () => {
    const l = new Limiter(1);
    assert.equal(l.tryAcquire({ granted: () => undefined }), true);
    let granted = 0;
    for (let i = 0; i < 100_000; i++)
      l.tryAcquire({
        granted: () => {
          granted++;
          l.release();
        },
      });
    l.release();
    assert.equal(granted, 100_000);
    assert.equal(l.inFlight, 0);
    assert.equal(l.waiting, 0);
  });
});

describe('pool logic', () => {
  const rs = (address: string, alive: boolean, weight = 1, inhibit = false): RealServerHealth => ({
    address,
    family: 4,
    port: 80,
    alive,
    weight,
    inhibitOnFailure: inhibit,
    lbKind: 'NAT',
  });
  const p = { quorum: 2, hysteresis: 1, lbKind: 'NAT' as const, sorryServer: { address: '10.9.9.9', port: 80 }, sorryServerInhibit: false };

  it('quorum with hysteresis: gained at quorum + h, lost below quorum - h or at 0', () => {
    assert.equal(initialQuorum(3, p), true);
    assert.equal(initialQuorum(2, p), false);
    assert.equal(nextQuorum(true, 1, p), true);
    assert.equal(nextQuorum(true, 0, p), false);
    assert.equal(nextQuorum(false, 2, p), false);
    assert.equal(nextQuorum(false, 3, p), true);
    const q0 = { quorum: 1, hysteresis: 0 };
    assert.equal(nextQuorum(true, 0, q0), false);
    assert.equal(nextQuorum(false, 1, q0), true);
  });

  it('quorum state never flaps inside the hysteresis band', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 50 }),
        (quorum, hysteresis, lives) => {
          let up = true;
          for (const live of lives) {
            const next = nextQuorum(up, live, { quorum, hysteresis });
            if (next !== up) {
              if (next) assert.ok(live >= quorum + hysteresis);
              else assert.ok(live === 0 || live < quorum - hysteresis);
            }
            up = next;
          }
        },
      ),
    );
  });

  it('destinations: alive servers; inhibited ones at 0; the sorry server when quorum is lost', () => {
    const reals = [rs('10.0.0.1', true, 3), rs('10.0.0.2', false), rs('10.0.0.3', false, 1, true)];
    const up = poolDestinations(p, reals, true).map((d) => `${d.address}=${d.weight}`);
    assert.deepEqual(up, ['10.0.0.1=3', '10.0.0.3=0']);
    const down = poolDestinations(p, reals, false).map((d) => `${d.address}=${d.weight}`);
    assert.deepEqual(down, ['10.0.0.3=0', '10.9.9.9=1']);
    const inhibitSorry = poolDestinations({ ...p, sorryServerInhibit: true }, reals, true).map((d) => `${d.address}=${d.weight}`);
    assert.deepEqual(inhibitSorry, ['10.0.0.1=3', '10.0.0.3=0', '10.9.9.9=0']);
    const noSorry = poolDestinations({ ...p, sorryServer: undefined }, reals, false).map((d) => `${d.address}=${d.weight}`);
    assert.deepEqual(noSorry, ['10.0.0.1=3', '10.0.0.3=0'], 'without a sorry server the pool stays as is');
  });

  it('expands virtual_server_group ranges', () => {
    assert.deepEqual(expandRange('10.0.0.254', '255', 4), ['10.0.0.254', '10.0.0.255']);
    assert.deepEqual(expandRange('2001:db8::1', 'a', 6).slice(-2), ['2001:db8::9', '2001:db8::a']);
    assert.deepEqual(expandRange('10.0.0.1', undefined, 4), ['10.0.0.1']);
  });
});

describe('loop timing from the configuration', () => {
  it('HTTP_GET/SSL_GET confirm a restore one delay_loop later (at once with fast_recovery); TCP_CHECK does not', () => {
    const server = (c: Checker) => rs('127.0.0.1', 80, [c]);
    const v = vs([], { delayLoop: 3000 });
    assert.equal(loopTiming(v, server(httpCheck()), httpCheck()).confirmAfterFailure, 3000);
    assert.equal(loopTiming(v, server(httpCheck()), httpCheck({ type: 'SSL_GET' })).confirmAfterFailure, 3000);
    assert.equal(loopTiming(v, server(httpCheck()), httpCheck({ fastRecovery: true })).confirmAfterFailure, 0);
    assert.equal(loopTiming(v, server(tcpCheck()), tcpCheck()).confirmAfterFailure, undefined);
  });
});
