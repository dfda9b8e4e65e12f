// The engine's run-time V8 tuning takes effect: in a real node process, after tuneHeapForCheckers()
// the young generation is 8 MB and stops growing under a load of surviving objects, which it does without it
// (TSKEEPALIVED_V8_TUNING=off).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const tuning = fileURLToPath(new URL('../src/checkers/heap-tuning.js', import.meta.url));

function youngGenerationAfterLoad(env: NodeJS.ProcessEnv): { applied: boolean; newSpaceMB: number } {
  const script = `
    import v8 from 'node:v8';
    const { tuneHeapForCheckers } = await import(${JSON.stringify(tuning)});
    const applied = tuneHeapForCheckers();
    const again = tuneHeapForCheckers();
    if (again) throw new Error('applied twice');
    const keep = [];
    for (let i = 0; i < 1500000; i++) { const o = { i, s: 'x' + i }; if (i % 4 === 0) keep.push(o); if (keep.length > 200000) keep.length = 0; }
    const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(JSON.stringify({ applied, newSpaceMB: ns.space_size / 1048576 }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out) as { applied: boolean; newSpaceMB: number };
}

describe('checkers V8 heap tuning', () => {
  it('keeps the young generation small; TSKEEPALIVED_V8_TUNING=off leaves the defaults', { timeout: 120_000 }, () => {
    const tuned = youngGenerationAfterLoad({ TSKEEPALIVED_V8_TUNING: '' });
    const untuned = youngGenerationAfterLoad({ TSKEEPALIVED_V8_TUNING: 'off' });
    assert.equal(tuned.applied, true);
    assert.equal(untuned.applied, false);
    assert.ok(tuned.newSpaceMB <= 8, `tuned young generation ${tuned.newSpaceMB} MB`);
    assert.ok(untuned.newSpaceMB > tuned.newSpaceMB * 2, `untuned ${untuned.newSpaceMB} MB vs tuned ${tuned.newSpaceMB} MB`);
  });

  it('the young generation is grown to 8 MB and stays there while allocation runs over event-loop turns', { timeout: 120_000 }, () => {
    const script = `
      import v8 from 'node:v8';
      const { tuneHeapForCheckers } = await import(${JSON.stringify(tuning)});
      const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576;
      const before = young();
      tuneHeapForCheckers();
      const tuned = young();
      const keep = [];
      let max = 0;
      for (let round = 0; round < 2000; round++) {
        for (let i = 0; i < 3000; i++) { const o = { i, s: 'x' + i }; if (i % 4 === 0) keep.push(o); if (keep.length > 100000) keep.length = 0; }
        max = Math.max(max, young());
        await new Promise((r) => setImmediate(r));
      }
      process.stdout.write(JSON.stringify({ before, tuned, max }));`;
    const out = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, TSKEEPALIVED_V8_TUNING: '' },
        encoding: 'utf8',
        timeout: 60_000,
      }),
    ) as { before: number; tuned: number; max: number };
    assert.ok(out.before < 8, `young generation at start: ${out.before} MB`);
    assert.equal(out.tuned, 8, 'grown to 8 MB by the warm-up');
    assert.equal(out.max, 8, `stays at 8 MB under load (max ${out.max} MB)`);
  });

  it('VRRP only (-P): the young generation keeps its start size under a flood of short-lived garbage', { timeout: 120_000 }, () => {
    const script = `
      import v8 from 'node:v8';
      const { tuneHeapForVrrp } = await import(${JSON.stringify(tuning)});
      const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576;
      const applied = tuneHeapForVrrp();
      const start = young();
      let max = 0;
      let sink = 0;
      for (let round = 0; round < 1000; round++) {
        for (let i = 0; i < 3000; i++) { const b = Buffer.alloc(64); const o = { b, s: 'x' + i, a: [i, i + 1] }; sink += o.a.length; }
        max = Math.max(max, young());
        await new Promise((r) => setImmediate(r));
      }
      process.stdout.write(JSON.stringify({ applied, start, max, sink }));`;
    const run = (env: NodeJS.ProcessEnv) =>
      JSON.parse(
        execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 }),
      ) as { applied: boolean; start: number; max: number };
    const tuned = run({ TSKEEPALIVED_V8_TUNING: '' });
    assert.equal(tuned.applied, true);
    assert.ok(tuned.max <= 2, `frozen near its start size ${tuned.start} MB (max ${tuned.max} MB)`);
    const untuned = run({ TSKEEPALIVED_V8_TUNING: 'off' });
    assert.ok(untuned.max > tuned.max, `untuned grows: ${untuned.max} MB vs ${tuned.max} MB`);
  });
});
