import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { computeEffectivePriority, RiseFall, parseTrackFileValue } from '../src/vrrp/tracking.js';
import { ScriptTracker, FileTracker, ProcessTracker, processMatches } from '../src/vrrp/track-runners.js';
import { FakeClock } from '../src/util/clock.js';
import type { VrrpScript, TrackFile, TrackProcess } from '../src/config/model.js';

const loc = { file: 't.conf', line: 1 };
const log = pino({ level: 'silent' });

test('effective priority: weights, reverse, faults, clamping, owner', () => {
  const p = (base: number, ...items: Parameters<typeof computeEffectivePriority>[1]) => computeEffectivePriority(base, items);
  assert.deepEqual(p(100, { kind: 'script', name: 's', weight: 20, reverse: false, ok: true }), { priority: 120, faults: [] });
  assert.deepEqual(p(100, { kind: 'script', name: 's', weight: 20, reverse: false, ok: false }), { priority: 100, faults: [] });
  assert.deepEqual(p(100, { kind: 'script', name: 's', weight: -30, reverse: false, ok: false }), { priority: 70, faults: [] });
  // reverse negates the amount, not the state (keepalived's weight_multiplier)
  assert.deepEqual(p(100, { kind: 'script', name: 's', weight: -30, reverse: true, ok: true }), { priority: 100, faults: [] });
  assert.deepEqual(p(100, { kind: 'script', name: 's', weight: -30, reverse: true, ok: false }), { priority: 130, faults: [] });
  assert.deepEqual(p(100, { kind: 'script', name: 's', weight: 10, reverse: true, ok: true }), { priority: 90, faults: [] });
  assert.deepEqual(p(100, { kind: 'script', name: 's', weight: 10, reverse: true, ok: false }), { priority: 100, faults: [] });
  assert.deepEqual(p(100, { kind: 'interface', name: 'e', weight: 10, reverse: true, ok: true }), { priority: 90, faults: [] });
  assert.deepEqual(p(100, { kind: 'interface', name: 'e', weight: -10, reverse: true, ok: false }), { priority: 110, faults: [] });
  assert.deepEqual(p(100, { kind: 'bfd', name: 'b', weight: 10, reverse: true, ok: true }), { priority: 90, faults: [] });
  assert.deepEqual(p(100, { kind: 'script', name: 's', weight: 0, reverse: true, ok: true }), { priority: 100, faults: ['script s'] });
  assert.deepEqual(p(100, { kind: 'script', name: 's', weight: 0, reverse: true, ok: false }), { priority: 100, faults: [] });
  assert.deepEqual(p(100, { kind: 'script', name: 's', weight: 0, reverse: false, ok: false }), { priority: 100, faults: ['script s'] });
  assert.deepEqual(p(100, { kind: 'interface', name: 'eth1', weight: 0, reverse: false, ok: false }), { priority: 100, faults: ['interface eth1'] });
  assert.deepEqual(p(250, { kind: 'script', name: 's', weight: 50, reverse: false, ok: true }), { priority: 254, faults: [] });
  assert.deepEqual(p(10, { kind: 'script', name: 's', weight: -50, reverse: false, ok: false }), { priority: 1, faults: [] });
  assert.deepEqual(p(255, { kind: 'script', name: 's', weight: -50, reverse: false, ok: false }), { priority: 255, faults: [] });
  // track files: value x weight, reverse negates, weight 0 non-zero = fault, < -253 = fault
  assert.deepEqual(p(100, { kind: 'file', name: 'f', weight: 3, reverse: false, value: 5 }), { priority: 115, faults: [] });
  assert.deepEqual(p(100, { kind: 'file', name: 'f', weight: 3, reverse: true, value: 5 }), { priority: 85, faults: [] });
  assert.deepEqual(p(100, { kind: 'file', name: 'f', weight: 0, reverse: false, value: 1 }), { priority: 100, faults: ['file f'] });
  assert.deepEqual(p(100, { kind: 'file', name: 'f', weight: 1, reverse: false, value: -254 }), { priority: 100, faults: ['file f'] });
  // weight 0 reverse: a zero value is the fault; a contribution is capped at 253
  assert.deepEqual(p(100, { kind: 'file', name: 'f', weight: 0, reverse: true, value: 0 }), { priority: 100, faults: ['file f'] });
  assert.deepEqual(p(100, { kind: 'file', name: 'f', weight: 0, reverse: true, value: 3 }), { priority: 100, faults: [] });
  assert.deepEqual(
    p(1, { kind: 'file', name: 'f', weight: 1, reverse: false, value: 300 }, { kind: 'script', name: 's', weight: -100, reverse: false, ok: false }),
    { priority: 154, faults: [] },
  );
  assert.equal(parseTrackFileValue(' 42\n'), 42);
  assert.equal(parseTrackFileValue('-7 foo'), -7);
  assert.equal(parseTrackFileValue('abc'), 0);
});

test('rise/fall hysteresis', () => {
  const rf = new RiseFall(2, 3, true);
  assert.equal(rf.push(false), false);
  assert.equal(rf.push(false), false);
  assert.equal(rf.push(true), false);
  assert.equal(rf.push(false), false);
  assert.equal(rf.push(false), false);
  assert.equal(rf.push(false), true);
  assert.equal(rf.ok, false);
  assert.equal(rf.push(true), false);
  assert.equal(rf.push(true), true);
  assert.equal(rf.ok, true);
});

test('vrrp_script runner runs the real script periodically and applies fall/rise', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tkv-track-'));
  try {
    const flag = join(dir, 'flag');
    writeFileSync(flag, '0');
    const def: VrrpScript = {
      name: 'chk',
      script: { command: '', argv: ['/bin/sh', '-c', `exit $(cat ${flag})`], loc },
      interval: 50,
      timeout: 1000,
      weight: -20,
      weightReverse: false,
      rise: 2,
      fall: 2,
      initFail: false,
      loc,
    };
    const t = new ScriptTracker(def, log, { enableScriptSecurity: false });
    const changes: boolean[] = [];
    t.onChange(() => changes.push(t.ok));
    t.start();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(t.ok, true);
    writeFileSync(flag, '1');
    const deadline = Date.now() + 3000;
    while (t.ok && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(t.ok, false);
    writeFileSync(flag, '0');
    while (!t.ok && Date.now() < deadline + 3000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(t.ok, true);
    t.stop();
    assert.deepEqual(changes, [false, true]);
    // timeout counts as failure
    const slow = new ScriptTracker({ ...def, name: 'slow', script: { command: '', argv: ['/bin/sleep', '5'], loc }, timeout: 50, fall: 1 }, log, {
      enableScriptSecurity: false,
    });
    slow.start();
    const d2 = Date.now() + 3000;
    while (slow.ok && Date.now() < d2) await new Promise((r) => setTimeout(r, 20));
    slow.stop();
    assert.equal(slow.ok, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('track file runner: init_file and value changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tkv-track-'));
  try {
    const file = join(dir, 'tf');
    const def: TrackFile = { name: 'tf', file, weight: 2, weightReverse: false, initFile: { value: 7, overwrite: false }, loc };
    const t = new FileTracker(def, log, 30);
    let changed = 0;
    t.onChange(() => changed++);
    await t.start();
    assert.equal(readFileSync(file, 'utf8').trim(), '7');
    assert.equal(t.value, 7);
    writeFileSync(file, '-3\n');
    const deadline = Date.now() + 2000;
    while ((t.value as number) !== -3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    t.stop();
    assert.equal(t.value, -3);
    assert.equal(changed, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runners are timed by the injected clock: a script every interval, a track file every poll, nothing after stop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tkv-track-clock-'));
  const settle = async (until: () => boolean) => {
    const deadline = Date.now() + 3000;
    while (!until() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  };
  try {
    const clock = new FakeClock();
    const def: VrrpScript = {
      name: 'chk',
      script: { command: '', argv: ['/bin/true'], loc },
      interval: 1000,
      timeout: 1000,
      weight: 0,
      weightReverse: false,
      rise: 1,
      fall: 1,
      initFail: false,
      loc,
    };
    const t = new ScriptTracker(def, log, { enableScriptSecurity: false }, clock);
    t.start();
    await settle(() => t.runs === 1);
    assert.equal(t.runs, 1, 'the first run at start');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(t.runs, 1, 'real time passing does not run it again');
    clock.advance(999);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(t.runs, 1);
    clock.advance(1);
    await settle(() => t.runs === 2);
    assert.equal(t.runs, 2, 'the second run one interval later on the clock');
    t.stop();
    assert.equal(clock.pending(), 0, 'stop clears its timer');

    const file = join(dir, 'tf');
    writeFileSync(file, '5\n');
    const f = new FileTracker({ name: 'tf', file, weight: 1, weightReverse: false, loc }, log, 200, clock);
    await f.start();
    assert.equal(f.value, 5);
    writeFileSync(file, '9\n');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(f.value, 5, 'not polled before the clock moves');
    clock.advance(200);
    await settle(() => f.value === 9);
    assert.equal(f.value, 9);
    await settle(() => clock.pending() === 1);
    f.stop();
    assert.equal(clock.pending(), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const tp = (over: Partial<TrackProcess>): TrackProcess => ({
  name: 'tp',
  process: ['nginx'],
  weight: 0,
  weightReverse: false,
  quorum: 1,
  fullCommand: false,
  loc,
  ...over,
});

test('track_process matching: comm (15 characters), full_command, exact / initial / partial parameters', () => {
  const argv = ['/usr/sbin/nginx', '-g', 'daemon off;'];
  assert.ok(processMatches(tp({}), 'nginx', argv), 'name only: any parameters');
  assert.ok(!processMatches(tp({}), 'nginx2', argv));
  assert.ok(processMatches(tp({ process: ['a-very-long-process-name'] }), 'a-very-long-pro', ['x']), 'comm is cut at 15');
  assert.ok(!processMatches(tp({ process: ['nginx'], fullCommand: true }), 'nginx', argv), 'full_command compares argv[0]');
  assert.ok(processMatches(tp({ process: ['/usr/sbin/nginx'], fullCommand: true }), 'nginx', argv));
  assert.ok(processMatches(tp({ process: ['nginx', '-g', 'daemon off;'] }), 'nginx', argv), 'exact parameters');
  assert.ok(!processMatches(tp({ process: ['nginx', '-g'] }), 'nginx', argv), 'exact: all of them');
  assert.ok(processMatches(tp({ process: ['nginx', '-g'], paramMatch: 'initial' }), 'nginx', argv), 'initial: the first ones');
  assert.ok(!processMatches(tp({ process: ['nginx', 'daemon off;'], paramMatch: 'initial' }), 'nginx', argv));
  assert.ok(processMatches(tp({ process: ['nginx', '-g', 'dae'], paramMatch: 'partial' }), 'nginx', argv), 'partial: the last word may be cut');
  assert.ok(!processMatches(tp({ process: ['nginx', '-g', 'x'], paramMatch: 'partial' }), 'nginx', argv));
});

test('ProcessTracker: counts processes in a /proc tree, quorum / quorum_max, terminate_delay and fork_delay', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tkv-proc-'));
  const clock = new FakeClock();
  const setProc = (pid: number, comm: string | undefined) => {
    if (comm === undefined) return rmSync(join(dir, String(pid)), { recursive: true, force: true });
    mkdirSync(join(dir, String(pid)), { recursive: true });
    writeFileSync(join(dir, String(pid), 'stat'), `${pid} (${comm}) S 1 1 1 0 -1`);
    writeFileSync(join(dir, String(pid), 'cmdline'), `/usr/bin/${comm}\0-x\0`);
  };
  // a poll reads /proc asynchronously: advance the clock, then let the reads finish
  const poll = async (ms: number) => {
    clock.advance(ms);
    await new Promise((r) => setTimeout(r, 50));
  };
  try {
    setProc(10, 'nginx');
    setProc(11, 'other');
    mkdirSync(join(dir, 'self'));
    const t = new ProcessTracker(tp({ quorum: 2, quorumMax: 3, terminateDelay: 1000, forkDelay: 0 }), log, 100, clock, dir);
    let changes = 0;
    t.onChange(() => changes++);
    t.start();
    assert.equal(t.count, 1, 'counted at start, synchronously');
    assert.equal(t.up, false, 'below quorum');
    setProc(12, 'nginx');
    await poll(100);
    assert.equal(t.count, 2);
    assert.equal(t.up, true, 'quorum reached, no fork_delay');
    assert.equal(changes, 1);
    setProc(13, 'nginx');
    setProc(14, 'nginx');
    await poll(100);
    assert.equal(t.count, 4);
    assert.equal(t.up, false, 'above quorum_max: down (a fork: fork_delay 0)');
    assert.equal(changes, 2);
    setProc(13, undefined);
    setProc(14, undefined);
    await poll(100);
    assert.equal(t.count, 2);
    assert.equal(t.up, false, 'back in quorum by terminations: only after terminate_delay');
    await poll(999);
    assert.equal(t.up, false);
    await poll(1);
    assert.equal(t.up, true, 'after terminate_delay');
    assert.equal(changes, 3);
    setProc(12, undefined);
    await poll(100);
    assert.equal(t.count, 1);
    assert.equal(t.up, true, 'below quorum: still up during terminate_delay');
    setProc(12, 'nginx');
    await poll(100);
    await poll(1000);
    assert.equal(t.up, true, 'restarted within terminate_delay: never went down');
    assert.equal(changes, 3);
    t.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
