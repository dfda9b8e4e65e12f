// The checkers engine end to end: real HTTP/TCP servers on 127.0.0.x, the engine, and a recording
// LbBackend double. Timing bounds derive from delay_loop, retry, delay_before_retry and timeouts.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { CheckersEngine } from '../src/checkers/engine.js';
import { DryRunBackend } from '../src/lb/dry-run.js';
import type { EngineEvent } from '../src/engine-api/types.js';
import { RecordingBackend, TestHttpServer, config, httpCheck, loc, rs, shScript, silentLogger, sleep, tcpCheck, vs, waitFor } from './checkers-fixtures.js';

const DELAY = 200;
const RETRY = 1;
const DBR = 100;
const TIMEOUT = 300;
/** worst case from a failure to the verdict: one loop, the first attempt, retries, plus slack */
const DOWN_BOUND = DELAY + (RETRY + 1) * TIMEOUT + RETRY * DBR + 400;
const UP_BOUND = DELAY + TIMEOUT + 400;

describe('checkers engine', () => {
  const servers: TestHttpServer[] = [];
  let dir: string;
  let engine: CheckersEngine | undefined;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tkk-engine-'));
    for (const a of ['127.0.0.11', '127.0.0.12', '127.0.0.13']) servers.push(await new TestHttpServer(a).listen());
  });
  after(async () => {
    for (const s of servers) await s.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await engine?.stop({ release: true });
    engine = undefined;
    for (const s of servers) s.mode = 'ok';
  });

  const hc = () => httpCheck({ connectTimeout: TIMEOUT, retry: RETRY, delayBeforeRetry: DBR });
  const real = (i: number, over = {}) => rs(servers[i].address, servers[i].port, [hc()], over);
  const start = async (cfg: ReturnType<typeof config>) => {
    const backend = new RecordingBackend();
    engine = new CheckersEngine({ backend, logger: silentLogger });
    const events: EngineEvent[] = [];
    engine.on((e) => events.push(e));
    await engine.start(cfg);
    return { backend, events, engine };
  };

  it('starts with every real server, removes a failing one within the bound and adds it back', async () => {
    const { backend, events, engine: e } = await start(config([vs([real(0), real(1), real(2)])]));
    assert.equal(backend.opened, true);
    assert.deepEqual(backend.dests(), servers.map((s) => `${s.address}:${s.port}=1`).sort());
    const svc = backend.current().services[0];
    assert.deepEqual(svc.key, { kind: 'addr', family: 4, protocol: 'TCP', address: '10.255.0.1', port: 80 });
    assert.equal(svc.scheduler, 'rr');

    servers[1].mode = 'status500';
    const down = await waitFor('server 2 removed', () => backend.dests().length === 2, DOWN_BOUND);
    assert.ok(!backend.dests().some((d) => d.startsWith(servers[1].address)));
    const ev = events.find((x) => x.kind === 'real-server' && !x.up);
    assert.ok(ev && ev.kind === 'real-server');
    assert.equal(ev.realServer, `[${servers[1].address}]:tcp:${servers[1].port}`);
    assert.equal(ev.virtualServer, '[10.255.0.1]:tcp:80');
    assert.equal(ev.checker, 'HTTP_GET');
    assert.match(ev.reason ?? '', /500/);

    servers[1].mode = 'ok';
    await waitFor('server 2 back', () => backend.dests().length === 3, UP_BOUND);

    servers[2].mode = 'hang';
    await waitFor('hanging server removed', () => backend.dests().length === 2, DOWN_BOUND);

    const snap = e.snapshot() as { virtualServers: { realServers: { alive: boolean; checkers: { checks: number; failures: number }[] }[] }[] };
    const rss = snap.virtualServers[0].realServers;
    assert.equal(rss[2].alive, false);
    assert.ok(rss[1].checkers[0].failures >= 2 && rss[0].checkers[0].checks >= 3);
    assert.ok(e.metrics().some((m) => m.name === 'tskeepalived_real_server_up' && m.value === 0));
    assert.ok(down < DOWN_BOUND);
  });

  it('follows a server that dies (stops listening), comes back on its port, turns slow and resets', async () => {
    const s = await new TestHttpServer('127.0.0.14').listen();
    try {
      const { backend } = await start(config([vs([rs(s.address, s.port, [hc()]), real(0)])]));
      const mine = () => backend.dests().some((d) => d.startsWith(`${s.address}:`));
      assert.ok(mine());
      await s.stop();
      const t1 = await waitFor('dead server removed', () => !mine(), DOWN_BOUND);
      await s.listen(s.port);
      await waitFor('revived server added', mine, UP_BOUND);
      s.mode = 'slow';
      s.slowMs = TIMEOUT * 3;
      await waitFor('slow server removed', () => !mine(), DOWN_BOUND + TIMEOUT);
      s.slowMs = 10;
      await waitFor('fast again', mine, UP_BOUND);
      s.mode = 'reset';
      await waitFor('resetting server removed', () => !mine(), DOWN_BOUND);
      assert.ok(t1 < DOWN_BOUND);
      assert.equal(backend.dests().length, 1, 'the other server stayed');
    } finally {
      await s.stop().catch(() => undefined);
    }
  });

  it('retries before declaring failure: one failed attempt followed by a success keeps the server', async () => {
    const { backend } = await start(
      config([vs([rs(servers[0].address, servers[0].port, [httpCheck({ connectTimeout: TIMEOUT, retry: 2, delayBeforeRetry: 150 })])])]),
    );
    servers[0].mode = 'status500';
    await waitFor('one failed attempt', () => servers[0].requests > 0 && servers[0].mode === 'status500', 1000);
    const before = servers[0].requests;
    await waitFor('first failure', () => servers[0].requests > before, DELAY + 200);
    servers[0].mode = 'ok';
    await sleep(DELAY + 2 * 150 + 100);
    assert.ok(
      backend.states.every((s) => s.state.services[0].destinations.length === 1),
      'never removed',
    );
  });

  it('inhibit_on_failure keeps a dead server at weight 0', async () => {
    const { backend } = await start(config([vs([real(0, { weight: 3, inhibitOnFailure: true }), real(1)])]));
    assert.deepEqual(backend.dests(), [`${servers[0].address}:${servers[0].port}=3`, `${servers[1].address}:${servers[1].port}=1`].sort());
    servers[0].mode = 'status500';
    await waitFor('inhibited', () => backend.dests().includes(`${servers[0].address}:${servers[0].port}=0`), DOWN_BOUND);
    assert.equal(backend.dests().length, 2);
  });

  it('alpha starts real servers down until their first success', async () => {
    const { backend } = await start(config([vs([real(0), real(1)], { alpha: true })]));
    assert.deepEqual(backend.dests(), []);
    await waitFor('both up', () => backend.dests().length === 2, UP_BOUND);
  });

  it('quorum with hysteresis, sorry server and quorum_up/quorum_down scripts', async () => {
    const upMark = join(dir, 'quorum-up');
    const downMark = join(dir, 'quorum-down');
    const cfg = config([
      vs([real(0), real(1), real(2)], {
        quorum: 2,
        hysteresis: 1,
        sorryServer: { address: '127.0.0.99', port: 8080 },
        quorumUp: shScript(`echo up >> ${upMark}`),
        quorumDown: shScript(`echo down >> ${downMark}`),
      }),
    ]);
    const { backend, events } = await start(cfg);
    assert.equal(backend.dests().length, 3);
    // 3 alive, quorum 2, hysteresis 1: lost below 1, gained at 3
    servers[0].mode = 'status500';
    servers[1].mode = 'status500';
    await waitFor('two down', () => backend.dests().length === 1, DOWN_BOUND);
    await sleep(100);
    assert.deepEqual(backend.dests(), [`${servers[2].address}:${servers[2].port}=1`], 'live weight 1 keeps quorum (1 >= 2-1)');
    servers[2].mode = 'status500';
    await waitFor('sorry server in', () => backend.dests().join() === '127.0.0.99:8080=1', DOWN_BOUND);
    await waitFor('quorum_down script ran', () => existsSync(downMark), 2000);
    assert.ok(events.some((e) => e.kind === 'virtual-server-quorum' && !e.up && e.quorum === 2));
    // bring two back: live 2 < quorum + hysteresis = 3, still the sorry server
    servers[0].mode = 'ok';
    servers[1].mode = 'ok';
    await sleep(UP_BOUND);
    assert.deepEqual(backend.dests(), ['127.0.0.99:8080=1']);
    assert.equal(existsSync(upMark), false);
    servers[2].mode = 'ok';
    await waitFor('quorum back', () => backend.dests().length === 3 && !backend.dests().includes('127.0.0.99:8080=1'), UP_BOUND);
    await waitFor('quorum_up script ran', () => existsSync(upMark), 2000);
    assert.equal(readFileSync(downMark, 'utf8'), 'down\n');
  });

  it('sorry_server_inhibit keeps the sorry server at weight 0 while quorum holds', async () => {
    const { backend } = await start(config([vs([real(0)], { sorryServer: { address: '127.0.0.98', port: 81 }, sorryServerInhibit: true })]));
    assert.deepEqual(backend.dests(), ['127.0.0.98:81=0', `${servers[0].address}:${servers[0].port}=1`].sort());
    servers[0].mode = 'status500';
    await waitFor('sorry enabled', () => backend.dests().join() === '127.0.0.98:81=1', DOWN_BOUND);
  });

  it('MISC_CHECK misc_dynamic sets weights from the exit code (code - 2); exit 1 fails', async () => {
    const codeFile = join(dir, 'misc-code');
    writeFileSync(codeFile, '0');
    const misc = {
      type: 'MISC_CHECK' as const,
      miscPath: shScript(`exit $(cat ${codeFile})`),
      miscTimeout: 1000,
      miscDynamic: true,
      connectTimeout: 1000,
      retry: 0,
      delayBeforeRetry: 100,
      loc,
    };
    const { backend } = await start(config([vs([rs('127.0.0.21', 80, [misc], { weight: 5 })])]));
    assert.deepEqual(backend.dests(), ['127.0.0.21:80=5']);
    writeFileSync(codeFile, '9');
    await waitFor('weight 7', () => backend.dests().join() === '127.0.0.21:80=7', 2000);
    writeFileSync(codeFile, '1');
    await waitFor('down', () => backend.dests().length === 0, 2000);
    writeFileSync(codeFile, '0');
    await waitFor('back at configured weight', () => backend.dests().join() === '127.0.0.21:80=5', 2000);
  });

  it('notify_up and notify_down scripts run', async () => {
    const mark = join(dir, 'notify');
    const { backend } = await start(config([vs([real(0, { notifyUp: shScript(`echo up >> ${mark}`), notifyDown: shScript(`echo down >> ${mark}`) })])]));
    servers[0].mode = 'status500';
    await waitFor('down', () => backend.dests().length === 0, DOWN_BOUND);
    servers[0].mode = 'ok';
    await waitFor('up', () => backend.dests().length === 1, UP_BOUND);
    await waitFor('both notify scripts ran', () => existsSync(mark) && readFileSync(mark, 'utf8') === 'down\nup\n', 2000);
  });

  it('a real server is up only when all its checkers are up', async () => {
    const { backend } = await start(
      config([vs([rs(servers[0].address, servers[0].port, [hc(), tcpCheck({ connectPort: servers[1].port, connectIp: servers[1].address })])])]),
    );
    assert.equal(backend.dests().length, 1);
    servers[0].mode = 'status500';
    await waitFor('down via HTTP', () => backend.dests().length === 0, DOWN_BOUND);
    servers[0].mode = 'ok';
    await waitFor('up again', () => backend.dests().length === 1, UP_BOUND);
  });

  it('reload keeps healthy unchanged real servers, adds new ones and removes old ones', async () => {
    const v1 = vs([real(0), real(1)]);
    const { backend, engine: e } = await start(config([v1]));
    const statesBefore = backend.states.length;
    servers[1].mode = 'status500';
    await waitFor('server 1 down', () => backend.dests().length === 1, DOWN_BOUND);
    // reload: server 0 unchanged, server 1 unchanged (still down, must not come back instantly), server 2 new
    await e.reload(config([vs([real(0), real(1), real(2)])]));
    assert.deepEqual(backend.dests(), [`${servers[0].address}:${servers[0].port}=1`, `${servers[2].address}:${servers[2].port}=1`].sort());
    // every state applied since the start kept server 0
    assert.ok(backend.states.slice(statesBefore).every((s) => s.state.services[0].destinations.some((d) => d.address === servers[0].address)));
    // reload removing server 0 and the virtual server's weight change for server 2
    await e.reload(config([vs([real(1), real(2, { weight: 4 })])]));
    assert.deepEqual(backend.dests(), [`${servers[2].address}:${servers[2].port}=4`]);
    // removing the virtual server removes its service
    await e.reload(config([]));
    assert.deepEqual(backend.current().services, []);
  });

  it('expands virtual_server_group ranges and fwmarks, fwmark services, persistence and lb_kind', async () => {
    const group = {
      name: 'web',
      entries: [
        { kind: 'addr' as const, address: '10.255.1.1', rangeEnd: '3', family: 4 as const, port: 80, loc },
        { kind: 'fwmark' as const, fwmark: 7, loc },
      ],
      loc,
    };
    const cfg = config(
      [
        vs([real(0)], { key: { kind: 'group', group: 'web' }, persistenceTimeout: 300, lbKind: 'DR', lbAlgo: 'wlc' }),
        vs([real(1)], { key: { kind: 'fwmark', fwmark: 9, family: 4 }, ops: true }),
      ],
      { virtualServerGroups: [group] },
    );
    const { backend, events } = await start(cfg);
    const keys = backend.current().services.map((s) => (s.key.kind === 'fwmark' ? `FWM ${s.key.fwmark}` : `${s.key.address}:${s.key.port}`));
    assert.deepEqual(keys, ['10.255.1.1:80', '10.255.1.2:80', '10.255.1.3:80', 'FWM 7', 'FWM 9']);
    const s0 = backend.current().services[0];
    assert.equal(s0.persistenceTimeout, 300);
    assert.equal(s0.scheduler, 'wlc');
    assert.equal(s0.destinations[0].lbKind, 'DR');
    assert.equal(backend.current().services[4].ops, true);
    servers[0].mode = 'status500';
    await waitFor(
      'group services follow',
      () =>
        backend
          .current()
          .services.slice(0, 4)
          .every((s) => s.destinations.length === 0),
      DOWN_BOUND,
    );
    const ev = events.find((x) => x.kind === 'real-server');
    assert.equal(ev?.kind === 'real-server' && ev.virtualServer, '[web]:0');
  });

  it('drives the real dry-run backend: ipvsadm -S lines follow health', async () => {
    let out = '';
    const backend = new DryRunBackend({ out: { write: (t: string) => ((out += t), true) } });
    engine = new CheckersEngine({ backend, logger: silentLogger });
    await engine.start(config([vs([real(0, { weight: 2 }), real(1, { inhibitOnFailure: true })], { lbAlgo: 'wrr', persistenceTimeout: 60 })]));
    const line = (i: number, w: number) => `-a -t 10.255.0.1:80 -r ${servers[i].address}:${servers[i].port} -m -w ${w}`;
    assert.match(backend.text(), /^-A -t 10\.255\.0\.1:80 -s wrr -p 60$/m);
    assert.ok(backend.text().includes(line(0, 2)) && backend.text().includes(line(1, 1)), backend.text());
    servers[0].mode = 'status500';
    servers[1].mode = 'status500';
    await waitFor('dry-run shows the change', () => !backend.text().includes(line(0, 2)) && backend.text().includes(line(1, 0)), DOWN_BOUND);
    servers[0].mode = 'ok';
    servers[1].mode = 'ok';
    await waitFor('dry-run shows recovery', () => backend.text().includes(line(0, 2)) && backend.text().includes(line(1, 1)), UP_BOUND);
    assert.ok(out.split('-A -t').length - 1 >= 3, 'one dump per distinct state');
  });

  it('stop closes the backend and stops every check', async () => {
    const { backend, engine: e } = await start(config([vs([real(0)])]));
    await e.stop({ release: true });
    engine = undefined;
    assert.equal(backend.closed, true);
    const n = servers[0].requests;
    await sleep(DELAY * 2);
    assert.equal(servers[0].requests, n);
  });
});
