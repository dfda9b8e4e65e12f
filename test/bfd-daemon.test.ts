// The daemon and BFD: the BFD engine starts with bfd_instances (not with -B), last; its
// bfd-session events reach the VRRP and checker engines' bfdState (track_bfd, BFD_CHECK), not the
// notifier; a reload that adds the first bfd_instance starts it; /status has a bfd section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BfdInstance, KeepalivedConfig } from '../src/config/model.js';
import { defaultOptions } from '../src/cli/options.js';
import { setConfigLoader } from '../src/daemon/config-source.js';
import { Daemon } from '../src/daemon/daemon.js';
import type { EngineFactory } from '../src/daemon/engines.js';
import { makeConfig, makeInstance, makeVirtualServer, RecordingEngine, recordingLogger } from './daemon-support.js';

function factory(engines: RecordingEngine[]): EngineFactory {
  return {
    async createEngine(kind) {
      const e = new RecordingEngine(kind);
      engines.push(e);
      return e;
    },
    async createBackend(name) {
      return { name, open: async () => {}, apply: async () => {}, current: () => ({ services: [] }), close: async () => {} };
    },
  };
}

const bfd = (name: string): BfdInstance => ({
  name,
  neighborIp: '10.0.0.2',
  minRx: 10,
  minTx: 10,
  idleTx: 1000,
  multiplier: 5,
  passive: false,
  loc: { file: 't', line: 1 },
});

function withBfd(): KeepalivedConfig {
  return makeConfig({
    vrrpInstances: [makeInstance('VI_1')],
    virtualServers: [makeVirtualServer('10.0.0.100', 80, [{ address: '10.0.0.2', port: 80 }])],
    bfdInstances: [bfd('b1')],
  });
}

test('BFD starts last; its events go to the VRRP and checker engines, not to the notifier', async (t) => {
  const engines: RecordingEngine[] = [];
  const { logger } = await recordingLogger();
  const d = new Daemon({ ...defaultOptions(), useFile: '/test/k.conf', dontFork: true }, { logger, engines: factory(engines) });
  t.after(() => d.stop());
  await d.start(withBfd());
  assert.deepEqual(
    engines.map((e) => e.name),
    ['vrrp', 'checkers', 'bfd'],
  );
  const [v, c, b] = engines;
  b.emit({ kind: 'bfd-session', name: 'b1', up: true, at: Date.now() });
  b.emit({ kind: 'bfd-session', name: 'b1', up: false, at: Date.now(), silentMs: 51, detectMs: 50 });
  assert.deepEqual(v.bfd, [
    ['b1', true],
    ['b1', false],
  ]);
  assert.deepEqual(c.bfd, v.bfd);
  assert.deepEqual(b.bfd, [], 'not back to the BFD engine itself');
  // keepalived's `checker` keyword in the bfd_instance: only the checkers hear it
  b.emit({ kind: 'bfd-session', name: 'b1', up: true, at: Date.now(), only: ['checkers'] });
  assert.equal(v.bfd.length, 2);
  assert.deepEqual(c.bfd.at(-1), ['b1', true]);
  assert.equal(d.counters.events['bfd-session'], 3);
  assert.ok('bfd' in d.statusJson());
  assert.ok(d.metrics().some((m) => m.name === 'tskeepalived_engine_up' && m.labels.engine === 'bfd' && m.value === 1));
});

test('-B (--no_bfd) runs no BFD engine; a reload adding the first bfd_instance starts it', async (t) => {
  const engines: RecordingEngine[] = [];
  const { logger } = await recordingLogger();
  const noBfd = new Daemon({ ...defaultOptions(), useFile: '/test/k.conf', dontFork: true, noBfd: true }, { logger, engines: factory(engines) });
  await noBfd.start(withBfd());
  assert.deepEqual(
    engines.map((e) => e.name),
    ['vrrp', 'checkers'],
  );
  await noBfd.stop();

  const engines2: RecordingEngine[] = [];
  const d = new Daemon({ ...defaultOptions(), useFile: '/test/k.conf', dontFork: true }, { logger, engines: factory(engines2) });
  t.after(() => d.stop());
  await d.start(makeConfig({ vrrpInstances: [makeInstance('VI_1')] }));
  assert.deepEqual(
    engines2.map((e) => e.name),
    ['vrrp'],
  );
  setConfigLoader(async () => ({ config: withBfd(), diagnostics: [] }));
  t.after(() => setConfigLoader(undefined));
  assert.equal(await d.reload(), true);
  assert.deepEqual(engines2.map((e) => e.name).sort(), ['bfd', 'checkers', 'vrrp']);
});

test('an engine started by a reload learns the sessions already Up', async (t) => {
  const engines: RecordingEngine[] = [];
  const { logger } = await recordingLogger();
  const d = new Daemon({ ...defaultOptions(), useFile: '/test/k.conf', dontFork: true }, { logger, engines: factory(engines) });
  t.after(() => d.stop());
  await d.start(makeConfig({ vrrpInstances: [makeInstance('VI_1')], bfdInstances: [bfd('b1'), bfd('b2')] }));
  const b = engines.find((e) => e.name === 'bfd')!;
  b.emit({ kind: 'bfd-session', name: 'b1', up: true, at: Date.now() });
  b.emit({ kind: 'bfd-session', name: 'b2', up: true, at: Date.now() });
  b.emit({ kind: 'bfd-session', name: 'b2', up: false, at: Date.now() });
  setConfigLoader(async () => ({ config: { ...withBfd(), bfdInstances: [bfd('b1'), bfd('b2')] }, diagnostics: [] }));
  t.after(() => setConfigLoader(undefined));
  assert.equal(await d.reload(), true);
  const c = engines.find((e) => e.name === 'checkers')!;
  assert.deepEqual(c.bfd, [
    ['b1', true],
    ['b2', false],
  ]);
  assert.ok(c.calls.indexOf('start') >= 0);
});
