// Memory of the checker process per real server (docs/memory.md), in a fresh node process: the
// configuration model loaded from a keepalived.conf of 2,000 real servers with HTTP_GET, and the
// engine running on it, each measured as live heap after full collections over a warmed-up start.
// And the TimerWheel that replaced one node Timeout per checker loop: order, removal, re-arming
// from a callback, and no timer left once nothing is armed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CheckerLoop, TimerWheel, WHEEL_TICK_MS, timerWheel } from '../src/checkers/scheduler.js';

const dist = fileURLToPath(new URL('../src/', import.meta.url));

/**
 * bytes per real server. Measured when written (docs/memory.md, third pass: one engine object per
 * real server, no copy of the destinations, one checker and one url inline in the model): model
 * 533 to 547, engine 156 to 369 (how a full collection splits survivors between the two phases
 * varies), together 689 to 906; the second pass measured model 659 to 663 and engine 366 to 486;
 * the first model 860 to 980 and engine 270 to 480; before any of it, about 1,000 and 1,230.
 */
const MODEL_MAX = 650;
const ENGINE_MAX = 500;
const TOTAL_MAX = 1000;

function measure(dir: string, vs: number, rs: number): { modelPerRs: number; enginePerRs: number; loops: number } {
  const script = `
    import v8 from 'node:v8';
    import vm from 'node:vm';
    import { writeFileSync } from 'node:fs';
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc');
    const live = () => { gc(); gc(); gc(); return process.memoryUsage().heapUsed; };
    const { loadConfig } = await import(${JSON.stringify(join(dist, 'config/load.js'))});
    const { CheckersEngine } = await import(${JSON.stringify(join(dist, 'checkers/engine.js'))});
    const { timerWheel } = await import(${JSON.stringify(join(dist, 'checkers/scheduler.js'))});
    const conf = (nvs, nrs) => {
      const out = ['global_defs {', '  router_id mem', '}'];
      for (let v = 0; v < nvs; v++) {
        out.push('virtual_server 10.9.' + (v >> 8) + '.' + (v & 255) + ' 80 {', '  delay_loop 5', '  lb_algo rr', '  lb_kind NAT', '  protocol TCP');
        for (let r = 0; r < nrs; r++)
          out.push('  real_server 127.0.0.1 ' + (20000 + r) + ' {', '    weight 1', '    HTTP_GET {', '      url {', '        path /health/' + r,
            r % 2 ? '        status_code 200' : '        digest 9b3a0c85a887a256d6939da88aabd8cd', '      }', '      connect_timeout 3', '    }', '  }');
        out.push('}');
      }
      return out.join('\\n') + '\\n';
    };
    const backend = () => ({ name: 'dry-run', open: async () => {}, apply: async () => {}, current: () => ({ services: [] }), close: async () => {} });
    const logger = (await import('pino')).default({ level: 'silent' });
    const load = (file) => loadConfig(file, { checkInterfaces: false, configId: 'mem' }).config;
    // warm-up: code compiled and modules loaded once are not per real server
    writeFileSync(${JSON.stringify(join(dir, 'one.conf'))}, conf(1, 1));
    const w = new CheckersEngine({ backend: backend(), logger });
    await w.start(load(${JSON.stringify(join(dir, 'one.conf'))}));
    await w.stop({ release: true });
    writeFileSync(${JSON.stringify(join(dir, 'k.conf'))}, conf(${vs}, ${rs}));
    const h0 = live();
    const config = load(${JSON.stringify(join(dir, 'k.conf'))});
    const h1 = live();
    const e = new CheckersEngine({ backend: backend(), logger });
    await e.start(config);
    const loops = timerWheel.size;
    const h2 = live();
    await e.stop({ release: true });
    const n = ${vs * rs};
    process.stdout.write(JSON.stringify({ modelPerRs: (h1 - h0) / n, enginePerRs: (h2 - h1) / n, loops }));
    globalThis.keep = config;`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(dist, '..', '..'), encoding: 'utf8', timeout: 90_000 });
  return JSON.parse(out) as { modelPerRs: number; enginePerRs: number; loops: number };
}

describe('checker process memory per real server', () => {
  it(`model <= ${MODEL_MAX} B, engine <= ${ENGINE_MAX} B, both <= ${TOTAL_MAX} B per real server (2,000 HTTP_GET real servers)`, { timeout: 120_000 }, (t) => {
    const dir = mkdtempSync(join(tmpdir(), `tkk-mem-${process.pid}-`));
    try {
      const m = measure(dir, 200, 10);
      t.diagnostic(`model ${m.modelPerRs.toFixed(0)} B, engine ${m.enginePerRs.toFixed(0)} B per real server`);
      assert.ok(m.loops >= 1900, `the loops are armed on the wheel (${m.loops})`);
      assert.ok(m.modelPerRs > 100 && m.modelPerRs <= MODEL_MAX, `model ${m.modelPerRs.toFixed(0)} B per real server`);
      assert.ok(m.enginePerRs > 50 && m.enginePerRs <= ENGINE_MAX, `engine ${m.enginePerRs.toFixed(0)} B per real server`);
      assert.ok(m.modelPerRs + m.enginePerRs <= TOTAL_MAX, `model and engine ${(m.modelPerRs + m.enginePerRs).toFixed(0)} B per real server`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** a loop that records when it fired, on the shared wheel (no opts.timers) */
class Probe extends CheckerLoop {
  fired: number[] = [];
  constructor(
    private readonly t0: number,
    readonly id: number,
  ) {
    super(
      {
        attempt: async () => {
          this.fired.push(performance.now() - this.t0);
          return { ok: true, reason: 'ok', latencyMs: 0.25 };
        },
        verdict: () => undefined,
      },
      { delayLoop: 60_000, retry: 0, delayBeforeRetry: 0 },
      true,
    );
  }
}

describe('timer wheel', () => {
  it('fires loops in due order, not before their time and within a tick or two after, and skips removed ones', async () => {
    const t0 = performance.now();
    const order: number[] = [];
    // due times at least three ticks apart: loops due in the same 10 ms tick fire in the order they were
    // armed, and arming six probes on a loaded machine can take a tick (CI once saw 1 before 4 at 0/10 ms)
    const probes = [150, 30, 90, 90, 0, 200].map((ms, i) => {
      const p = new Probe(t0, i);
      const orig = p.onTimer.bind(p);
      p.onTimer = () => {
        order.push(i);
        orig();
      };
      p.start(ms);
      return { p, ms };
    });
    probes[5]!.p.stop(); // removed before its time
    try {
      const deadline = Date.now() + 5000;
      while (probes.slice(0, 5).some((x) => x.p.fired.length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 120));
      assert.deepEqual(order.slice(0, 2), [4, 1]);
      assert.deepEqual(order.slice(-1), [0]);
      assert.equal(order.length, 5, `fired: ${order}`);
      for (const { p, ms } of probes.slice(0, 5)) {
        assert.equal(p.fired.length, 1);
        assert.ok(p.fired[0]! >= ms - 1, `loop ${p.id} fired at ${p.fired[0]} ms, due ${ms}`);
        // late only by the tick and the event loop's own lateness (a loaded machine: generous)
        assert.ok(p.fired[0]! <= ms + 2 * WHEEL_TICK_MS + 1500, `loop ${p.id} fired late: ${p.fired[0]} ms, due ${ms}`);
        assert.equal(p.stats.lastLatencyMs, 0.25);
      }
    } finally {
      for (const { p } of probes) p.stop();
    }
    assert.equal(timerWheel.size, 0);
  });

  it('re-arming from a callback goes to a later run; with nothing armed no timer holds the process', async () => {
    const w = new TimerWheel();
    let n = 0;
    const loop = {
      onWheel(tick: number) {
        n++;
        if (n < 3) this.tick = w.add(this as never, 0);
        void tick;
      },
      tick: 0,
    };
    loop.tick = w.add(loop as never, 0);
    const deadline = Date.now() + 2000;
    while (n < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(n, 3);
    assert.equal(w.size, 0);
    // armed then removed: the wheel's timer is cleared (a child process with this exits at once)
    const script = `
      const { TimerWheel } = await import(${JSON.stringify(join(dist, 'checkers/scheduler.js'))});
      const w = new TimerWheel();
      const l = { onWheel() { process.stdout.write('fired'); } };
      const t = w.add(l, 60000);
      w.remove(l, t);`;
    const t = Date.now();
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(out, '');
    assert.ok(Date.now() - t < 10_000, 'the process exited without waiting for the removed loop');
  });
});
