// The Daemon with recording engines (test doubles): status endpoint, reload policy, dumps,
// failure isolation, stop/release. Real HTTP on loopback, real files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultOptions, type CliOptions } from '../src/cli/options.js';
import type { Diagnostic, KeepalivedConfig } from '../src/config/model.js';
import { setConfigLoader } from '../src/daemon/config-source.js';
import { Daemon } from '../src/daemon/daemon.js';
import type { EngineFactory } from '../src/daemon/engines.js';
import { parseListen } from '../src/status/server.js';
import { renderPrometheus } from '../src/status/prometheus.js';
import { makeConfig, makeInstance, makeVirtualServer, RecordingEngine, recordingLogger } from './daemon-support.js';

function harness(cliExtra: Partial<CliOptions> = {}) {
  const engines: RecordingEngine[] = [];
  const factory: EngineFactory = {
    async createEngine(kind) {
      const e = new RecordingEngine(kind);
      engines.push(e);
      return e;
    },
    async createBackend(name) {
      return {
        name,
        open: async () => {},
        apply: async () => {},
        current: () => ({ services: [] }),
        close: async () => {},
      };
    },
  };
  const cli: CliOptions = { ...defaultOptions(), useFile: '/test/keepalived.conf', dontFork: true, statusListen: '127.0.0.1:0', ...cliExtra };
  return { engines, factory, cli };
}

let next: { config?: KeepalivedConfig; diagnostics: Diagnostic[]; throws?: string } = { diagnostics: [] };
setConfigLoader(() => {
  if (next.throws) throw new Error(next.throws);
  return { config: next.config!, diagnostics: next.diagnostics };
});

async function get(addr: string, path: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`http://${addr}${path}`);
  return { status: r.status, text: await r.text() };
}

test('status endpoint: /metrics reflects engine state, /status is the JSON dump, /healthz', async (t) => {
  const { logger } = await recordingLogger();
  const h = harness();
  const d = new Daemon(h.cli, { logger, engines: h.factory });
  await d.start(makeConfig({ vrrpInstances: [makeInstance('VI_1')] }, { routerId: 'node-a' }));
  t.after(() => d.stop());
  assert.equal(h.engines.length, 1, 'only the VRRP engine: the config has no virtual_server');
  const addr = d.statusListenAddress!;
  assert.match(addr, /^127\.0\.0\.1:\d+$/);
  let m = await get(addr, '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.text, /^# TYPE tskeepalived_vrrp_state gauge$/m);
  assert.match(m.text, /^tskeepalived_vrrp_state\{instance="VI_1"\} 1$/m);
  assert.match(m.text, /^tskeepalived_engine_up\{engine="vrrp"\} 1$/m);
  assert.match(m.text, /^tskeepalived_engine_up\{engine="checkers"\} 0$/m);
  assert.match(m.text, /^process_resident_memory_bytes \d+$/m);
  // the event loop's timers and sockets by type (a leak shows as a count growing with uptime)
  assert.match(m.text, /^# TYPE process_active_resources gauge$/m);
  assert.match(m.text, /^process_active_resources\{type="\w+"\} [1-9]\d*$/m);
  h.engines[0].emit({ kind: 'vrrp-instance', name: 'VI_1', state: 'MASTER', previous: 'BACKUP', priority: 100, at: Date.now() });
  m = await get(addr, '/metrics');
  assert.match(m.text, /^tskeepalived_vrrp_state\{instance="VI_1"\} 2$/m);
  assert.match(m.text, /^tskeepalived_engine_events_total\{kind="vrrp-instance"\} 1$/m);
  const s = await get(addr, '/status');
  const json = JSON.parse(s.text);
  assert.equal(json.daemon.routerId, 'node-a');
  assert.deepEqual(json.vrrp.instances, [{ name: 'VI_1', state: 'MASTER' }]);
  assert.equal(json.checkers, null);
  assert.equal((await get(addr, '/healthz')).status, 200);
  assert.equal((await get(addr, '/nope')).status, 404);
});

test('reload: a refused config keeps the running one; a good one reaches every engine and starts new subsystems', async (t) => {
  const { logger, records } = await recordingLogger();
  const h = harness({ statusListen: undefined });
  const d = new Daemon(h.cli, { logger, engines: h.factory });
  const first = makeConfig({ vrrpInstances: [makeInstance('VI_1')] });
  await d.start(first);
  t.after(() => d.stop());
  const vrrp = h.engines[0];

  next = { diagnostics: [{ severity: 'fatal', message: 'unexpected end of file: missing }', file: '/test/keepalived.conf', line: 12 }] };
  assert.equal(await d.reload(), false);
  next = { diagnostics: [], throws: 'ENOENT: no such file' };
  assert.equal(await d.reload(), false);
  assert.deepEqual(vrrp.calls, ['start']);
  assert.equal(d.currentConfig, first);
  assert.equal(d.counters.reloadFailures, 2);
  assert.ok(records.some((r) => r.level === 'error' && /reload refused.*keepalived\.conf:12.*missing \}/.test(String(r.msg))));

  const second = makeConfig({
    vrrpInstances: [makeInstance('VI_1'), makeInstance('VI_2')],
    virtualServers: [makeVirtualServer('10.0.0.1', 80, [{ address: '192.168.1.10', port: 80 }])],
  });
  next = { config: second, diagnostics: [{ severity: 'warning', message: 'unknown keyword foo', file: '/test/keepalived.conf', line: 3 }] };
  assert.equal(await d.reload(), true);
  assert.deepEqual(vrrp.calls, ['start', 'reload']);
  assert.equal(vrrp.configs[1], second);
  assert.equal(h.engines.length, 2, 'the checker engine started by the reload that added a virtual_server');
  assert.equal(h.engines[1].name, 'checkers');
  assert.deepEqual(h.engines[1].calls, ['start']);
  assert.equal(d.currentConfig, second);

  // concurrent SIGHUPs coalesce
  const results = await Promise.all([d.reload(), d.reload(), d.reload()]);
  assert.ok(results.every((r) => r === true));
  assert.ok(vrrp.calls.filter((c) => c === 'reload').length <= 3);
});

test('failure isolation: a throwing checker engine does not stop VRRP', async (t) => {
  const { logger } = await recordingLogger();
  const h = harness({ statusListen: undefined });
  const orig = h.factory.createEngine;
  h.factory.createEngine = async (kind, deps) => {
    const e = (await orig(kind, deps)) as RecordingEngine;
    if (kind === 'checkers') e.failOn = 'reload';
    return e;
  };
  const d = new Daemon(h.cli, { logger, engines: h.factory });
  const cfg = makeConfig({ vrrpInstances: [makeInstance('VI_1')], virtualServers: [makeVirtualServer('10.0.0.1', 80, [])] });
  await d.start(cfg);
  t.after(() => d.stop());
  next = { config: cfg, diagnostics: [] };
  assert.equal(await d.reload(), true);
  assert.equal(d.counters.engineErrors.checkers, 1);
  assert.deepEqual(h.engines.find((e) => e.name === 'vrrp')!.calls, ['start', 'reload']);
  assert.equal(d.health(), undefined);
});

test('dumps: data, stats and JSON files in $TMPDIR; stop releases unless -V', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tkd-dump-'));
  const oldTmp = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  t.after(() => {
    process.env.TMPDIR = oldTmp;
    rmSync(dir, { recursive: true, force: true });
  });
  const { logger } = await recordingLogger();
  const h = harness({ statusListen: undefined, jsonDump: true, dontReleaseVrrp: true });
  const d = new Daemon(h.cli, { logger, engines: h.factory });
  await d.start(makeConfig({ vrrpInstances: [makeInstance('VI_1')] }, { routerId: 'rid-x' }));
  assert.equal(d.dumpData(), join(dir, 'keepalived.data'));
  assert.equal(d.dumpStats(), join(dir, 'keepalived.stats'));
  const data = readFileSync(join(dir, 'keepalived.data'), 'utf8');
  assert.match(data, /Router ID = rid-x/);
  assert.match(data, /VRRP Instance = VI_1\n {3}State = BACKUP/);
  assert.match(readFileSync(join(dir, 'keepalived.stats'), 'utf8'), /VRRP Instance: VI_1/);
  // --json-dump: written at start and after state changes
  let json = JSON.parse(readFileSync(join(dir, 'keepalived.json'), 'utf8'));
  assert.deepEqual(json.vrrp.instances, [{ name: 'VI_1', state: 'BACKUP' }]);
  h.engines[0].emit({ kind: 'vrrp-instance', name: 'VI_1', state: 'MASTER', previous: 'BACKUP', priority: 100, at: Date.now() });
  await new Promise((r) => setTimeout(r, 100));
  json = JSON.parse(readFileSync(join(dir, 'keepalived.json'), 'utf8'));
  assert.deepEqual(json.vrrp.instances, [{ name: 'VI_1', state: 'MASTER' }]);
  await d.stop();
  assert.deepEqual(h.engines[0].calls, ['start', 'stop:false']);
});

test('status listen parsing and Prometheus escaping', () => {
  assert.deepEqual(parseListen('9100'), { host: '127.0.0.1', port: 9100 });
  assert.deepEqual(parseListen('0.0.0.0:9100'), { host: '0.0.0.0', port: 9100 });
  assert.deepEqual(parseListen('[::1]:9100'), { host: '::1', port: 9100 });
  assert.throws(() => parseListen('host:abc'), /invalid status listen address 'host:abc'/);
  const text = renderPrometheus([
    { name: 'a_total', help: 'line1\nline2', type: 'counter', labels: { x: 'q"uo\\te' }, value: 3 },
    { name: 'a_total', help: 'ignored', type: 'counter', labels: { x: 'b' }, value: 4 },
    { name: 'bad-name', help: '', type: 'gauge', labels: {}, value: 1 },
  ]);
  assert.equal(text, '# HELP a_total line1\\nline2\n# TYPE a_total counter\na_total{x="q\\"uo\\\\te"} 3\na_total{x="b"} 4\n');
});

test('pid files: defaults, derived from -p, explicit -r/-c', async () => {
  const { pidFilesFor } = await import('../src/daemon/pidfile.js');
  const o = defaultOptions();
  assert.deepEqual(pidFilesFor(o, true, true), ['/run/keepalived.pid', '/run/keepalived_vrrp.pid', '/run/keepalived_checkers.pid']);
  assert.deepEqual(pidFilesFor({ ...o, pidFile: '/x/node1.pid' }, true, false), ['/x/node1.pid', '/x/node1_vrrp.pid']);
  assert.deepEqual(pidFilesFor({ ...o, pidFile: '/x/n.pid', checkersPidFile: '/y/c.pid' }, false, true), ['/x/n.pid', '/y/c.pid']);
});

test('reload refusal policy: fatal, broken braces, errors that would empty a running config', async () => {
  const { reloadRefusal } = await import('../src/daemon/config-source.js');
  const running = makeConfig({ vrrpInstances: [makeInstance('VI_1')] });
  const empty = makeConfig();
  const err = (message: string) => ({ severity: 'error' as const, message, file: 'k.conf', line: 3 });
  assert.match(reloadRefusal({ diagnostics: [], refused: 'k.conf:1: fatal: x' }, running)!, /fatal/);
  assert.match(
    reloadRefusal({ config: running, diagnostics: [{ ...err("There are 2 missing '}'s or extra '{'s"), code: 'BLOCK_UNCLOSED' }] }, running)!,
    /block structure is broken: k\.conf:3: error: There are 2 missing/,
  );
  assert.match(reloadRefusal({ config: empty, diagnostics: [err('Unknown keyword garbage')] }, running)!, /would remove every instance/);
  // keepalived-tolerated errors in a config that still has instances: applied
  assert.equal(reloadRefusal({ config: running, diagnostics: [err('(VI_1) No VIP specified; at least one is sensible')] }, running), undefined);
  // deliberately emptying the config without errors: applied
  assert.equal(reloadRefusal({ config: empty, diagnostics: [] }, running), undefined);
});
