// notify_fifo / vrrp_notify_fifo / lvs_notify_fifo: real FIFOs read by the configured fifo script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FifoSet, fifoLine, NotifyFifo } from '../src/notify/fifo.js';
import type { EngineEvent } from '../src/engine-api/types.js';
import type { ScriptSpec } from '../src/config/model.js';
import { recordingLogger, sleep } from './daemon-support.js';

const at = 0;
const loc = { file: 't', line: 1 };

/** A fifo script: keepalived appends the fifo path as the last argument. */
function catScript(out: string): ScriptSpec {
  const argv = ['/bin/sh', '-c', `exec cat "$1" >> '${out}'`, 'fifo-reader'];
  return { command: argv.join(' '), argv, loc };
}

async function waitForLines(file: string, n: number, timeoutMs = 5000): Promise<string[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    if (lines.length >= n || Date.now() > until) return lines;
    await sleep(20);
  }
}

test("fifo line format is keepalived's", () => {
  const ev: EngineEvent[] = [
    { kind: 'vrrp-instance', name: 'VI_1', state: 'MASTER', previous: 'BACKUP', priority: 100, at },
    { kind: 'vrrp-group', name: 'G1', state: 'BACKUP', previous: 'MASTER', at },
    { kind: 'real-server', virtualServer: '[10.0.0.1]:tcp:80', realServer: '[192.168.1.10]:tcp:80', up: false, weight: 0, at },
    { kind: 'virtual-server-quorum', virtualServer: '[10.0.0.1]:tcp:80', up: true, alive: 2, quorum: 1, at },
    { kind: 'vrrp-instance', name: 'VI_1', state: 'INIT', previous: 'INIT', priority: 100, at },
  ];
  assert.deepEqual(ev.map(fifoLine), [
    'INSTANCE "VI_1" MASTER 100\n',
    'GROUP "G1" BACKUP 0\n',
    'RS [192.168.1.10]:tcp:80 [10.0.0.1]:tcp:80 DOWN\n',
    'VS [10.0.0.1]:tcp:80 UP\n',
    undefined,
  ]);
});

test('fifos are created, fed to their scripts, routed by subsystem, and removed on close', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tkd-fifo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { logger } = await recordingLogger();
  const paths = { notify: join(dir, 'notify'), vrrp: join(dir, 'vrrp'), lvs: join(dir, 'lvs') };
  const outs = { notify: join(dir, 'notify.out'), vrrp: join(dir, 'vrrp.out'), lvs: join(dir, 'lvs.out') };
  const set = new FifoSet(
    {
      notify: { path: paths.notify, script: catScript(outs.notify) },
      vrrp: { path: paths.vrrp, script: catScript(outs.vrrp) },
      lvs: { path: paths.lvs, script: catScript(outs.lvs) },
    },
    logger,
  );
  set.open();
  t.after(() => set.close());
  for (const p of Object.values(paths)) assert.ok(lstatSync(p).isFIFO(), `${p} is a fifo`);
  set.handle({ kind: 'vrrp-instance', name: 'VI_1', state: 'MASTER', previous: 'BACKUP', priority: 150, at });
  set.handle({ kind: 'real-server', virtualServer: '[10.0.0.1]:tcp:80', realServer: '[192.168.1.10]:tcp:80', up: true, weight: 1, at });
  set.handle({ kind: 'vrrp-group', name: 'G1', state: 'MASTER', previous: 'BACKUP', at });
  assert.deepEqual(await waitForLines(outs.notify, 3), ['INSTANCE "VI_1" MASTER 150', 'RS [192.168.1.10]:tcp:80 [10.0.0.1]:tcp:80 UP', 'GROUP "G1" MASTER 0']);
  assert.deepEqual(await waitForLines(outs.vrrp, 2), ['INSTANCE "VI_1" MASTER 150', 'GROUP "G1" MASTER 0']);
  assert.deepEqual(await waitForLines(outs.lvs, 1), ['RS [192.168.1.10]:tcp:80 [10.0.0.1]:tcp:80 UP']);
  set.close();
  for (const p of Object.values(paths)) assert.equal(existsSync(p), false, `${p} removed`);
});

test('a fifo without a reader never blocks: full pipe drops lines', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tkd-fifo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { logger } = await recordingLogger();
  const f = new NotifyFifo({ path: join(dir, 'nobody-reads') }, '', logger);
  assert.ok(f.open());
  const t0 = Date.now();
  const line = `INSTANCE "${'X'.repeat(200)}" MASTER 100\n`;
  for (let i = 0; i < 2000; i++) f.write(line); // 420 KB > the 64 KB pipe buffer
  const ms = Date.now() - t0;
  t.diagnostic(`2000 writes in ${ms} ms, written ${f.written}, dropped ${f.dropped}`);
  assert.ok(ms < 1000);
  assert.ok(f.dropped > 0 && f.written > 0);
  f.close();
});

test('an existing regular file is not used as a fifo', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tkd-fifo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { logger, records } = await recordingLogger();
  const p = join(dir, 'plain');
  writeFileSync(p, 'x');
  const f = new NotifyFifo({ path: p }, 'vrrp_', logger);
  assert.equal(f.open(), false);
  assert.ok(records.some((r) => r.level === 'error' && /is not a FIFO/.test(String(r.msg))));
  assert.equal(readFileSync(p, 'utf8'), 'x');
});
