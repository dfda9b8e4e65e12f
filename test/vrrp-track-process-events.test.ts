// track_process on the kernel's process events (the proc connector): the codec, and a ProcessTracker on
// the real /proc whose clock never advances, so that nothing but the kernel's events can move its count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { TrackProcess } from '../src/config/model.js';
import { decodeProcEvent, encodeProcListen, watchProcessEvents } from '../src/net/proc-connector.js';
import { FakeClock } from '../src/util/clock.js';
import { ProcEventHub, ProcessTracker } from '../src/vrrp/track-runners.js';

const log = pino({ level: 'silent' });
const root = process.getuid?.() === 0;

test('proc connector codec: the subscription request, and fork / exec / exit events decoded', () => {
  const req = encodeProcListen(true);
  assert.equal(req.length, 16 + 20 + 4);
  assert.equal(req.readUInt32LE(0), 40, 'nlmsg_len');
  assert.equal(req.readUInt16LE(4), 3, 'NLMSG_DONE');
  assert.deepEqual([req.readUInt32LE(16), req.readUInt32LE(20)], [1, 1], 'cb_id CN_IDX_PROC / CN_VAL_PROC');
  assert.equal(req.readUInt16LE(32), 4, 'cn_msg len');
  assert.equal(req.readUInt32LE(36), 1, 'PROC_CN_MCAST_LISTEN');
  assert.equal(encodeProcListen(false).readUInt32LE(36), 2, 'PROC_CN_MCAST_IGNORE');
  const ev = (what: number, ...data: number[]) => {
    const p = Buffer.alloc(20 + 16 + 4 * data.length);
    p.writeUInt32LE(1, 0);
    p.writeUInt32LE(1, 4);
    p.writeUInt32LE(what, 20);
    for (const [i, v] of data.entries()) p.writeInt32LE(v, 36 + 4 * i);
    return { type: 3, flags: 0, seq: 0, pid: 0, payload: p };
  };
  assert.deepEqual(decodeProcEvent(ev(1, 10, 10, 11, 11)), { kind: 'fork', parentTgid: 10, childPid: 11, childTgid: 11 });
  assert.deepEqual(decodeProcEvent(ev(2, 11, 11)), { kind: 'exec', pid: 11, tgid: 11 });
  assert.deepEqual(decodeProcEvent(ev(0x200, 12, 11)), { kind: 'comm', pid: 12, tgid: 11 });
  assert.deepEqual(decodeProcEvent(ev(0x80000000, 11, 11, 0, 9, 10, 10)), { kind: 'exit', pid: 11, tgid: 11 });
  assert.equal(decodeProcEvent(ev(0x4, 1, 1)), undefined, 'uid events are not used');
  assert.equal(decodeProcEvent(ev(2, 11)), undefined, 'truncated');
  const other = ev(2, 11, 11);
  other.payload.writeUInt32LE(7, 0);
  assert.equal(decodeProcEvent(other), undefined, 'another connector');
});

test('without process events (a refusing source) the tracker polls /proc, and says so', () => {
  const hub = new ProcEventHub(() => {
    throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
  }, log);
  const t = new ProcessTracker(tp('none-such'), log, 500, new FakeClock(), '/proc', hub);
  t.start();
  assert.equal(t.source, 'poll');
  t.stop();
});

/** the kernel refuses the subscription outside the initial network namespace (keepalived 2.2.7's errno 111) */
test('outside the initial network namespace the kernel refuses the subscription: ECONNREFUSED', { skip: !root && 'needs root (ip netns)' }, () => {
  const ns = `tkpe-${process.pid}`;
  spawnSync('ip', ['netns', 'add', ns]);
  try {
    const script = `import(${JSON.stringify(new URL('../src/net/proc-connector.js', import.meta.url).href)}).then((m) => { try { m.watchProcessEvents(() => {})(); console.log('OK'); } catch (e) { console.log(e.code); } })`;
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.stdout.trim(), 'ECONNREFUSED', r.stderr);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
});

/**
 * A netlink socket keeps the namespace it was made in: opened before the setns (openProcConnector, what
 * the daemon does before entering net_namespace), it gets the events inside the namespace; two watchers
 * share its one subscription, which ends with the last and can start again; closed, the refusal is back.
 */
test('a proc connector socket opened before setns keeps the process events inside the namespace', { skip: !root && 'needs root (ip netns)' }, () => {
  const ns = `tkpf-${process.pid}`;
  spawnSync('ip', ['netns', 'add', ns]);
  try {
    const url = (m: string) => JSON.stringify(new URL(`../src/${m}`, import.meta.url).href);
    const script = `
      const pc = await import(${url('net/proc-connector.js')});
      const { enterNetNamespace, threadNetNamespace } = await import(${url('native/netns.js')});
      const { spawn } = await import('node:child_process');
      const before = threadNetNamespace();
      pc.openProcConnector();
      enterNetNamespace(${JSON.stringify(ns)});
      const out = { moved: threadNetNamespace() !== before };
      const exitSeen = async (watchers) => {
        const seen = watchers.map(() => new Set());
        const stops = watchers.map((_, i) => pc.watchProcessEvents((ev) => ev.kind === 'exit' && seen[i].add(ev.tgid)));
        const c = spawn('/bin/true');
        await new Promise((r) => c.on('exit', r));
        for (let i = 0; i < 300 && !seen.every((s) => s.has(c.pid)); i++) await new Promise((r) => setTimeout(r, 10));
        for (const stop of stops) stop();
        return seen.map((s) => s.has(c.pid));
      };
      out.one = await exitSeen([1]);
      out.two = await exitSeen([1, 2]);
      out.again = await exitSeen([1]);
      pc.closeProcConnector();
      try { pc.watchProcessEvents(() => {})(); out.closed = 'OK'; } catch (e) { out.closed = e.code; }
      console.log(JSON.stringify(out));`;
    // a process of its own, started here in the initial namespace, moves itself (setns of its main thread)
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.deepEqual(JSON.parse(r.stdout.trim() || '{}'), { moved: true, one: [true], two: [true, true], again: [true], closed: 'ECONNREFUSED' }, r.stderr);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
});

function tp(name: string): TrackProcess {
  return { name: 'tp', process: [name], weight: 0, weightReverse: false, quorum: 2, fullCommand: false, loc: { file: 't', line: 1 } } as TrackProcess;
}

function inInitialNetns(): boolean {
  try {
    watchProcessEvents(() => {})();
    return true;
  } catch {
    return false;
  }
}

test('process events drive the count with no /proc polling: exec and exit, a forked copy counted, a child that execs something else not', {
  skip:
    (!root && 'needs root (the proc connector needs CAP_NET_ADMIN)') ||
    (!inInitialNetns() && 'not in the initial network namespace: the kernel gives no process events here'),
  timeout: 30_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tkpe-'));
  const name = `tkpe${process.pid % 100000}`;
  const bin = join(dir, name);
  copyFileSync('/bin/sh', bin);
  const clock = new FakeClock(); // never advanced: no poll and no re-read ever runs
  const hub = new ProcEventHub(watchProcessEvents, log);
  const t = new ProcessTracker(tp(name), log, 500, clock, '/proc', hub);
  let changes = 0;
  t.onChange(() => changes++);
  const kids: ChildProcess[] = [];
  const until = async (what: string, ok: () => boolean) => {
    const deadline = Date.now() + 5000;
    while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(ok(), `${what}: count ${t.count}, up ${t.up}`);
  };
  try {
    t.start();
    assert.equal(t.source, 'events');
    assert.equal(t.count, 0);
    assert.equal(t.up, false);
    // a copy of sh that keeps a subshell (a fork that stays a copy of it), then runs a plain sleep (a
    // fork that execs something else): two processes named NAME once both are in place. The subshell
    // first, so that the count never falls below the quorum on the way (each fork counts until its exec)
    kids.push(spawn(bin, ['-c', '( while :; do sleep 60; done ) & sleep 60 & wait'], { stdio: 'ignore', detached: true }));
    await until('the shell and its subshell', () => t.count === 2);
    assert.equal(t.up, true, 'quorum 2 reached');
    kids.push(spawn(bin, ['-c', 'exec sleep 60'], { stdio: 'ignore' }));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(t.count, 2, 'a copy that execs sleep is no longer counted');
    process.kill(-kids[0]!.pid!, 'SIGKILL');
    await until('every copy gone', () => t.count === 0);
    assert.equal(t.up, false);
    assert.equal(changes, 2);
    assert.equal(clock.pending() <= 1, true, 'only the idle re-read timer is pending');
  } finally {
    t.stop();
    for (const k of kids) {
      try {
        process.kill(-k.pid!, 'SIGKILL');
      } catch {
        k.kill('SIGKILL');
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
