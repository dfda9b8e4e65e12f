// The daemon around the two engines: start, reload, dumps, notifications, status, stop.
// Failure isolation: an engine that throws is logged and the others keep running; event
// listeners (fifo, email, JSON dump) never throw into an engine.
import type { Logger } from 'pino';
import type { DaemonOptions } from './options.js';
import type { KeepalivedConfig } from '../config/model.js';
import { type Engine, type EngineEvent, type MetricSample, metricSample } from '../engine-api/types.js';
import type { LbBackend } from '../lb/backend.js';
import { VERSION } from '../util/version.js';
import { Notifier } from '../notify/notifier.js';
import { BgpAnnouncer, seedFromSnapshots } from '../bgp/announcer.js';
import { EventLoopDelay } from '../status/event-loop.js';
import { processMetrics } from '../status/prometheus.js';
import { parseListen, StatusServer } from '../status/server.js';
import { formatDiagnostic, loadConfiguration, reloadRefusal } from './config-source.js';
import { dumpPaths, writeDataDump, writeJsonDump, writeKeepalivedJson, writeStatsDump } from './dumps.js';
import type { SnmpAgent } from '../snmp/agent.js';
import { applySnmp } from './snmp-hook.js';
import type { DbusService } from '../dbus/service.js';
import { applyDbus } from './dbus-hook.js';
import { defaultEngineFactory, wantedEngines, type EngineFactory } from './engines.js';

type Kind = 'vrrp' | 'checkers' | 'bfd';

export interface DaemonDeps {
  logger: Logger;
  engines?: EngineFactory;
  /** ms allowed to each engine's stop() */
  stopTimeoutMs?: number;
}

interface Counters {
  reloads: number;
  reloadFailures: number;
  lastReloadAt?: number;
  lastReloadError?: string;
  engineErrors: Record<Kind, number>;
  events: Record<string, number>;
  uncaught: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

export class Daemon {
  readonly startedAt = Date.now();
  private readonly loopDelay = new EventLoopDelay();
  private config!: KeepalivedConfig;
  private readonly engines = new Map<Kind, Engine>();
  private backend?: LbBackend;
  private notifier?: Notifier;
  private bgp?: BgpAnnouncer;
  private status?: StatusServer;
  private statusAddress?: string;
  private snmp?: SnmpAgent;
  private dbus?: DbusService;
  private stopping = false;
  private reloadChain: Promise<unknown> = Promise.resolve();
  private reloadPending = false;
  private jsonDumpTimer?: NodeJS.Timeout;
  private readonly log: Logger;
  private readonly factory: EngineFactory;
  readonly counters: Counters = { reloads: 0, reloadFailures: 0, engineErrors: { vrrp: 0, checkers: 0, bfd: 0 }, events: {}, uncaught: 0 };

  constructor(
    private readonly cli: DaemonOptions,
    private readonly deps: DaemonDeps,
  ) {
    this.log = deps.logger.child({ subsystem: 'daemon' });
    this.factory = deps.engines ?? defaultEngineFactory;
  }

  get currentConfig(): KeepalivedConfig {
    return this.config;
  }

  get runningEngines(): Engine[] {
    return [...this.engines.values()];
  }

  get statusListenAddress(): string | undefined {
    return this.statusAddress;
  }

  private starting: Promise<void> = Promise.resolve();

  /** Start the subsystems. Reloads and stop requested meanwhile wait for it to finish. */
  start(config: KeepalivedConfig): Promise<void> {
    this.config = config;
    const p = this.startNow(config);
    this.starting = p.catch(() => undefined);
    this.reloadChain = this.starting;
    return p;
  }

  private async startNow(config: KeepalivedConfig): Promise<void> {
    const wanted = wantedEngines(this.cli, config);
    this.notifier = new Notifier(config, this.deps.logger.child({ subsystem: 'notify' }), {
      vrrp: !this.cli.checkOnly || this.cli.vrrpOnly,
      checkers: !this.cli.vrrpOnly || this.cli.checkOnly,
    });
    this.notifier.start();
    this.loopDelay.start();
    // created before the engines so that it sees their first events; started once they run
    if (config.bgp) this.bgp = new BgpAnnouncer(config.bgp, config, this.deps.logger.child({ subsystem: 'bgp' }));
    // before the engines, as keepalived: their first transitions are notified
    this.snmp = await applySnmp(this.cli, config, this, this.snmp, this.deps.logger.child({ subsystem: 'snmp' }));
    if (wanted.vrrp) await this.startEngine('vrrp', config);
    // as keepalived's VRRP process: on the bus once its instances exist (their states are signalled on connecting)
    this.dbus = await applyDbus(this.cli, config, this, this.dbus, this.deps.logger.child({ subsystem: 'dbus' }));
    if (wanted.checkers) await this.startEngine('checkers', config);
    // BFD last: its sessions start once the other engines are loaded (module loading and their
    // start pause the event loop, which a 3 x 10 ms detection time would not survive); the
    // tracking engines hear every session change from then on
    if (wanted.bfd) await this.startEngine('bfd', config);
    await this.startBgp();
    if (!wanted.vrrp && !wanted.checkers && !wanted.bfd)
      this.log.warn('the configuration has no vrrp_instance and no virtual_server for the enabled subsystems: nothing to do until a reload adds some');
    await this.startStatus(config);
    if (this.cli.jsonDump) this.writeJson();
    this.log.info({ engines: [...this.engines.keys()].filter((k) => !this.failedEngines.has(k)), version: VERSION }, 'tskeepalived started');
  }

  private async startEngine(kind: Kind, config: KeepalivedConfig): Promise<void> {
    const log = this.deps.logger.child({ subsystem: kind });
    let engine: Engine;
    try {
      let backend: LbBackend | undefined;
      if (kind === 'checkers') backend = await this.openBackend(config);
      engine = await this.factory.createEngine(kind, { logger: log, cli: this.cli, backend });
    } catch (e) {
      this.counters.engineErrors[kind]++;
      this.failedEngines.set(kind, (e as Error).message);
      this.log.error({ engine: kind, err: e }, `cannot create the ${kind} engine: ${(e as Error).message}`);
      return;
    }
    engine.on((ev) => this.onEvent(ev));
    this.engines.set(kind, engine);
    // an engine started after the BFD engine (a reload adding the first instance) learns the
    // sessions' states so far: a session is never reported again until it changes
    if (kind !== 'bfd') for (const [name, s] of this.bfdStates) if (!s.only || s.only.includes(kind)) this.tellBfd(kind, engine, name, s.up);
    try {
      await engine.start(config);
      this.failedEngines.delete(kind);
    } catch (e) {
      this.counters.engineErrors[kind]++;
      this.failedEngines.set(kind, (e as Error).message);
      // the message is for the operator; the stack only for debugging (-D)
      this.log.error({ engine: kind, err: e }, `the ${kind} engine failed to start: ${(e as Error).message}`);
    }
  }

  /** Engines that were wanted but failed to start, with the reason. */
  readonly failedEngines = new Map<Kind, string>();

  private async openBackend(config: KeepalivedConfig): Promise<LbBackend> {
    const name = (this.cli.lbBackend ?? config.global.lbBackend ?? 'ipvs') as KeepalivedConfig['global']['lbBackend'] & string;
    // the checker engine opens the backend on start and closes it on stop
    const backend = await this.factory.createBackend(name, this.deps.logger.child({ subsystem: 'lb' }), { lvsFlush: config.global.lvsFlush });
    this.backend = backend;
    this.log.info({ backend: backend.name }, `load-balancer backend: ${backend.name}`);
    return backend;
  }

  private async startStatus(config: KeepalivedConfig): Promise<void> {
    const listen = this.cli.statusListen ?? config.global.statusListen;
    if (!listen) return;
    try {
      const addr = parseListen(listen);
      this.status = new StatusServer({
        metrics: () => this.metrics(),
        status: () => this.statusJson(),
        health: () => this.health(),
      });
      const bound = await this.status.listen(addr);
      this.statusAddress = `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`;
      this.log.info({ listen: this.statusAddress }, `status endpoint on http://${this.statusAddress}/metrics`);
    } catch (e) {
      this.status = undefined;
      this.log.error({ listen, err: e }, `cannot start the status endpoint: ${(e as Error).message}`);
    }
  }

  private bgpSeed() {
    return seedFromSnapshots(this.snapshotOf('checkers'), this.snapshotOf('vrrp'));
  }

  private async startBgp(): Promise<void> {
    if (!this.bgp) return;
    try {
      await this.bgp.start(this.bgpSeed());
    } catch (e) {
      this.log.error({ err: e }, `the BGP announcer failed to start: ${(e as Error).message}`);
    }
  }

  /** After a reload: start, reconfigure or stop (withdrawing) the BGP announcer. A bgp block with errors is not applied. */
  private async reloadBgp(config: KeepalivedConfig): Promise<void> {
    const next = config.bgp;
    try {
      if (next && next.errors > 0) {
        this.log.error({ errors: next.errors }, 'the bgp block has errors: keeping the running bgp block');
        // the running block, evaluated against the new virtual servers and instances (an entry whose
        // virtual server is gone is withdrawn)
        if (this.bgp) await this.bgp.reload({ ...config, bgp: this.bgp.config }, this.bgpSeed());
        return;
      }
      if (!next) {
        const old = this.bgp;
        this.bgp = undefined;
        await old?.stop({ withdraw: true });
        return;
      }
      if (!this.bgp) {
        this.bgp = new BgpAnnouncer(next, config, this.deps.logger.child({ subsystem: 'bgp' }));
        await this.startBgp();
      } else await this.bgp.reload(config, this.bgpSeed());
    } catch (e) {
      this.log.error({ err: e }, `the BGP announcer failed to reload: ${(e as Error).message}`);
    }
  }

  private onEvent(ev: EngineEvent): void {
    try {
      this.counters.events[ev.kind] = (this.counters.events[ev.kind] ?? 0) + 1;
      if (ev.kind === 'bfd-session') {
        // track_bfd (VRRP) and BFD_CHECK (checkers) follow the session
        this.bfdStates.set(ev.name, { up: ev.up, only: ev.only });
        for (const [kind, e] of this.engines) if (kind !== 'bfd' && (!ev.only || ev.only.includes(kind))) this.tellBfd(kind, e, ev.name, ev.up);
        if (this.cli.jsonDump) this.scheduleJson();
        return;
      }
      this.notifier?.handle(ev);
      this.bgp?.handle(ev);
      this.snmp?.onEvent(ev);
      this.dbus?.onEvent(ev);
      if (this.cli.jsonDump) this.scheduleJson();
    } catch (e) {
      this.log.error({ err: e }, 'event handling failed');
    }
  }

  /** the last state the BFD engine reported for each session */
  private readonly bfdStates = new Map<string, { up: boolean; only?: ('vrrp' | 'checkers')[] }>();

  private tellBfd(kind: Kind, e: Engine, name: string, up: boolean): void {
    try {
      e.bfdState?.(name, up);
    } catch (err) {
      this.log.error({ engine: kind, err }, `the ${kind} engine failed on a BFD event`);
    }
  }

  // ---------------------------------------------------------------- reload (SIGHUP)

  /** Reload from the config file; concurrent requests coalesce. Resolves true when applied. */
  reload(): Promise<boolean> {
    if (this.reloadPending) return this.reloadChain as Promise<boolean>;
    this.reloadPending = true;
    const run = this.reloadChain.then(async () => {
      this.reloadPending = false;
      return this.reloadNow();
    });
    this.reloadChain = run.catch(() => false);
    return run;
  }

  private async reloadNow(): Promise<boolean> {
    if (this.stopping) return false;
    this.counters.lastReloadAt = Date.now();
    this.log.info({ file: this.cli.useFile }, 'Reloading configuration');
    const outcome = await loadConfiguration(this.cli.useFile, this.cli.configId, { namespace: this.cli.namespace, enter: false });
    for (const d of outcome.diagnostics) if (d.severity !== 'info') this.log.warn({ diagnostic: d }, formatDiagnostic(d));
    const refusal = reloadRefusal(outcome, this.config);
    if (refusal || !outcome.config) {
      this.counters.reloadFailures++;
      this.counters.lastReloadError = refusal;
      this.log.error({ reason: refusal }, `reload refused, keeping the running configuration: ${refusal}`);
      return false;
    }
    const config = outcome.config;
    const wanted = wantedEngines(this.cli, config);
    for (const kind of ['bfd', 'vrrp', 'checkers'] as Kind[]) {
      const engine = this.engines.get(kind);
      if (engine) {
        try {
          await engine.reload(config);
        } catch (e) {
          this.counters.engineErrors[kind]++;
          this.log.error({ engine: kind, err: e }, `the ${kind} engine failed to reload`);
        }
      } else if (wanted[kind]) {
        await this.startEngine(kind, config);
      }
    }
    this.notifier?.reload(config);
    await this.reloadBgp(config);
    const oldListen = this.cli.statusListen ?? this.config.global.statusListen;
    const newListen = this.cli.statusListen ?? config.global.statusListen;
    this.config = config;
    if (oldListen !== newListen) {
      await this.status?.close();
      this.status = undefined;
      this.statusAddress = undefined;
      await this.startStatus(config);
    }
    this.snmp = await applySnmp(this.cli, config, this, this.snmp, this.deps.logger.child({ subsystem: 'snmp' }));
    // VrrpReloaded once the new config runs
    this.dbus = await applyDbus(this.cli, config, this, this.dbus, this.deps.logger.child({ subsystem: 'dbus' }));
    this.counters.reloads++;
    this.counters.lastReloadError = undefined;
    if (this.cli.jsonDump) this.writeJson();
    this.log.info('configuration reloaded');
    return true;
  }

  // ---------------------------------------------------------------- dumps, status, metrics

  dumpData(): string {
    const path = dumpPaths().data;
    writeDataDump(path, { routerId: this.config.global.routerId, configFile: this.config.file, startedAt: this.startedAt }, this.runningEngines);
    this.log.info({ file: path }, `data dump written to ${path}`);
    return path;
  }

  dumpStats(): string {
    const path = dumpPaths().stats;
    writeStatsDump(path, this.runningEngines);
    this.log.info({ file: path }, `stats dump written to ${path}`);
    return path;
  }

  /**
   * keepalived's JSON signal (SIGRTMIN+2): its own document, `[{data, stats}]` per VRRP instance,
   * to $TMPDIR/keepalived.json (mode 0600, as keepalived's). Like keepalived, nothing is written
   * without VRRP instances. (--json-dump and GET /status write the tskeepalived status document.)
   */
  dumpKeepalivedJson(): string | undefined {
    const doc = this.engines.get('vrrp')?.keepalivedJson?.() ?? [];
    if (doc.length === 0) {
      this.log.info('JSON dump requested: no VRRP instance, nothing written (as keepalived)');
      return undefined;
    }
    const path = dumpPaths().json;
    writeKeepalivedJson(path, doc);
    this.log.info({ file: path }, `JSON dump written to ${path}`);
    return path;
  }

  /** keepalived's STATS_CLEAR (SIGRTMAX-1): the stats dump, then every counter in it back to zero. */
  dumpAndClearStats(): string {
    const path = this.dumpStats();
    for (const e of this.runningEngines) e.clearStats?.();
    this.log.info('statistics cleared');
    return path;
  }

  writeJson(): string | undefined {
    const path = dumpPaths().json;
    try {
      writeJsonDump(path, this.statusJson());
      return path;
    } catch (e) {
      this.log.error({ file: path, err: e }, 'cannot write the JSON dump');
      return undefined;
    }
  }

  private scheduleJson(): void {
    if (this.jsonDumpTimer) return;
    this.jsonDumpTimer = setTimeout(() => {
      this.jsonDumpTimer = undefined;
      this.writeJson();
    }, 20);
    this.jsonDumpTimer.unref();
  }

  /** An engine's live snapshot (null when it does not run); /status, the dumps and SNMP read it. */
  engineSnapshot(kind: Kind): unknown {
    return this.snapshotOf(kind);
  }

  private snapshotOf(kind: Kind): unknown {
    const e = this.engines.get(kind);
    if (!e) return null;
    try {
      return e.snapshot() ?? null;
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  statusJson(): Record<string, unknown> {
    const mail = this.notifier?.mail;
    return {
      daemon: {
        version: VERSION,
        pid: process.pid,
        startedAt: new Date(this.startedAt).toISOString(),
        uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
        configFile: this.config.file,
        routerId: this.config.global.routerId,
        engines: [...this.engines.keys()],
        lbBackend: this.backend?.name ?? null,
        reloads: this.counters.reloads,
        reloadFailures: this.counters.reloadFailures,
        lastReloadError: this.counters.lastReloadError ?? null,
        smtp: mail ? { ...mail.stats, pending: mail.pending } : null,
      },
      vrrp: this.snapshotOf('vrrp'),
      checkers: this.snapshotOf('checkers'),
      bgp: this.bgpSnapshot(),
      bfd: this.snapshotOf('bfd'),
    };
  }

  private bgpSnapshot(): unknown {
    try {
      return this.bgp?.snapshot() ?? null;
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  health(): string | undefined {
    if (this.stopping) return 'stopping';
    const wanted = wantedEngines(this.cli, this.config);
    if (wanted.vrrp && !this.engines.has('vrrp')) return 'the VRRP engine is not running';
    if (wanted.checkers && !this.engines.has('checkers')) return 'the checker engine is not running';
    if (wanted.bfd && !this.engines.has('bfd')) return 'the BFD engine is not running';
    return undefined;
  }

  metrics(): MetricSample[] {
    const out: MetricSample[] = [];
    for (const [kind, e] of this.engines) {
      try {
        out.push(...e.metrics());
      } catch (err) {
        this.log.debug({ engine: kind, err }, 'metrics failed');
      }
    }
    try {
      if (this.bgp) out.push(...this.bgp.metrics());
    } catch (err) {
      this.log.debug({ err }, 'bgp metrics failed');
    }
    const g = metricSample;
    const extra: MetricSample[] = [
      g('tskeepalived_info', 'Version and router id.', 1, { version: VERSION, router_id: this.config.global.routerId }),
      ...(['vrrp', 'checkers', 'bfd'] as Kind[]).map((k) =>
        g('tskeepalived_engine_up', 'Whether the engine runs (1) or not (0).', this.engines.has(k) ? 1 : 0, { engine: k }),
      ),
      ...(['vrrp', 'checkers', 'bfd'] as Kind[]).map((k) =>
        g('tskeepalived_engine_errors_total', 'Exceptions caught from an engine.', this.counters.engineErrors[k], { engine: k }, 'counter'),
      ),
      g('tskeepalived_reloads_total', 'Configuration reloads applied.', this.counters.reloads, {}, 'counter'),
      g('tskeepalived_reload_failures_total', 'Configuration reloads refused (old config kept).', this.counters.reloadFailures, {}, 'counter'),
      g('tskeepalived_uncaught_errors_total', 'Uncaught exceptions and rejections logged and survived.', this.counters.uncaught, {}, 'counter'),
      ...Object.entries(this.counters.events).map(([kind, n]) => g('tskeepalived_engine_events_total', 'Engine events by kind.', n, { kind }, 'counter')),
      ...this.loopDelay.metrics(),
    ];
    const mail = this.notifier?.mail;
    if (mail) {
      for (const [k, v] of Object.entries(mail.stats)) extra.push(g(`tskeepalived_smtp_alerts_${k}_total`, `SMTP alerts ${k}.`, v, {}, 'counter'));
      extra.push(g('tskeepalived_smtp_alerts_pending', 'SMTP alerts waiting to be sent.', mail.pending));
    }
    return [...out, ...processMetrics(this.startedAt, extra)];
  }

  // ---------------------------------------------------------------- stop

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info('Stopping');
    // from now on the instances' STOP transitions are signalled on D-Bus (keepalived's 98 at exit)
    this.dbus?.stopping();
    await this.starting;
    // let a reload in progress finish (bounded) before the engines stop
    await Promise.race([this.reloadChain, new Promise((r) => setTimeout(r, this.deps.stopTimeoutMs ?? 10000).unref())]);
    const timeout = this.deps.stopTimeoutMs ?? 10000;
    // withdraw the BGP routes first, so that routers move traffic away before the node stops serving
    if (this.bgp) {
      try {
        await withTimeout(this.bgp.stop({ withdraw: true }), timeout, 'bgp stop');
      } catch (err) {
        this.log.error({ err }, 'the BGP announcer failed to withdraw cleanly');
      }
    }
    const order: Kind[] = ['checkers', 'vrrp', 'bfd'];
    await Promise.all(
      order.map(async (kind) => {
        const e = this.engines.get(kind);
        if (!e) return;
        const release = kind === 'vrrp' ? !this.cli.dontReleaseVrrp : kind === 'checkers' ? !this.cli.dontReleaseIpvs : true;
        try {
          await withTimeout(e.stop({ release }), timeout, `${kind} engine stop`);
        } catch (err) {
          this.log.error({ engine: kind, err }, `the ${kind} engine failed to stop cleanly`);
        }
      }),
    );
    if (this.jsonDumpTimer) clearTimeout(this.jsonDumpTimer);
    // after the engines: their STOP transitions are signalled, then VrrpStopped (as keepalived)
    try {
      await withTimeout(this.dbus?.stop() ?? Promise.resolve(), 2000, 'D-Bus stop');
    } catch (err) {
      this.log.error({ err }, 'the D-Bus service failed to stop cleanly');
    }
    if (this.cli.jsonDump) this.writeJson();
    await this.notifier?.stop(2000);
    await this.snmp?.stop();
    await this.status?.close();
    this.loopDelay.stop();
    this.engines.clear();
    this.log.info('Stopped');
  }
}
