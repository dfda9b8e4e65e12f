// The BGP announcer: from the `bgp` block and the engines' events, which VIP prefixes to announce
// with which attributes, and why; hands the set to a driver (BIRD or FRR). ECMP entries follow the
// quorum of their virtual servers, VRRP-follow entries the state of their instance.
import type { Logger } from 'pino';
import type { BgpAttributes, BgpConfig, KeepalivedConfig } from '../config/model.js';
import { virtualServerText } from '../config/server-text.js';
import { type EngineEvent, type MetricSample, metricSample } from '../engine-api/types.js';
import { BirdDriver } from './bird-driver.js';
import { FrrDriver } from './frr-driver.js';
import type { BgpDriver, BgpRoute } from './types.js';

type VrrpState = Extract<EngineEvent, { kind: 'vrrp-instance' }>['state'];

/** What the engines say now (from their snapshots): quorum by virtual server text, state by instance name. */
export interface BgpSeed {
  quorum: Map<string, boolean>;
  vrrp: Map<string, VrrpState>;
}

export type DriverFactory = (bgp: BgpConfig, log: Logger) => BgpDriver;

export const defaultDriverFactory: DriverFactory = (bgp, log) => {
  const { controlSocket, routesFile, protocolName, commandTimeout } = bgp;
  if (bgp.driver === 'frr') return new FrrDriver({ controlSocket, routesFile, protocolName, commandTimeout, asn: bgp.asn }, log);
  return new BirdDriver({ controlSocket, routesFile, protocolName, commandTimeout }, log);
};

interface Announcement {
  prefix: string;
  family: 4 | 6;
  mode: 'ecmp' | 'vrrp-follow';
  /** "virtual_server 192.0.2.10 80" / "vrrp_instance VI_1" */
  source: string;
  vsTexts: string[];
  instance?: string;
  attrs: BgpAttributes;
  backup?: BgpAttributes;
  announced: boolean;
  /** the attributes announced with (MASTER's or BACKUP's) */
  current?: BgpAttributes;
  since: number;
  why: string;
  changes: number;
}

/** The engines' snapshots as the daemon has them (shapes of src/checkers and src/vrrp `snapshot()`). */
export function seedFromSnapshots(checkers: unknown, vrrp: unknown): BgpSeed {
  const seed: BgpSeed = { quorum: new Map(), vrrp: new Map() };
  const vss = (checkers as { virtualServers?: { virtualServer?: unknown; quorumUp?: unknown }[] } | null)?.virtualServers;
  if (Array.isArray(vss))
    for (const v of vss) if (typeof v.virtualServer === 'string' && typeof v.quorumUp === 'boolean') seed.quorum.set(v.virtualServer, v.quorumUp);
  const insts = (vrrp as { instances?: { name?: unknown; state?: unknown }[] } | null)?.instances;
  if (Array.isArray(insts)) for (const i of insts) if (typeof i.name === 'string' && typeof i.state === 'string') seed.vrrp.set(i.name, i.state as VrrpState);
  return seed;
}

function hostPrefix(address: string, family: 4 | 6): string {
  return `${address}/${family === 4 ? 32 : 128}`;
}

function sameAttrs(a: BgpAttributes | undefined, b: BgpAttributes | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function driverKey(b: BgpConfig): string {
  return JSON.stringify([b.driver, b.controlSocket, b.routesFile, b.protocolName, b.commandTimeout, b.asn ?? null]);
}

export class BgpAnnouncer {
  private announcements: Announcement[] = [];
  private readonly quorum = new Map<string, boolean>();
  private readonly vrrp = new Map<string, VrrpState>();
  private driver: BgpDriver;
  private started = false;
  private stopped = false;
  private lastSent = '';
  private settled: Promise<void> = Promise.resolve();

  constructor(
    private bgp: BgpConfig,
    config: KeepalivedConfig,
    private readonly log: Logger,
    private readonly factory: DriverFactory = defaultDriverFactory,
  ) {
    this.driver = factory(bgp, log);
    this.announcements = this.build(config, []);
  }

  get config(): BgpConfig {
    return this.bgp;
  }

  /** Start the driver (withdrawing what a previous run left), then announce from the seed. */
  async start(seed: BgpSeed): Promise<void> {
    this.applySeed(seed);
    await this.driver.start();
    this.started = true;
    this.evaluate('start');
    await this.settled;
  }

  /** An engine event (synchronous, cheap, never throws). */
  handle(ev: EngineEvent): void {
    try {
      if (ev.kind === 'virtual-server-quorum') this.quorum.set(ev.virtualServer, ev.up);
      else if (ev.kind === 'vrrp-instance') this.vrrp.set(ev.name, ev.state);
      else return;
      this.evaluate('event');
    } catch (e) {
      this.log.error({ err: e }, 'bgp event handling failed');
    }
  }

  /** A new, validated configuration with a bgp block (the daemon stops the announcer when the block goes). */
  async reload(config: KeepalivedConfig, seed: BgpSeed): Promise<void> {
    const next = config.bgp!;
    if (driverKey(next) !== driverKey(this.bgp)) {
      this.log.info('bgp driver settings changed: withdrawing through the old settings, announcing through the new');
      await this.driver.stop({ withdraw: true });
      this.driver = this.factory(next, this.log);
      this.lastSent = '';
      this.bgp = next;
      this.announcements = this.build(config, this.announcements);
      this.applySeed(seed);
      await this.driver.start();
    } else {
      this.bgp = next;
      this.announcements = this.build(config, this.announcements);
      this.applySeed(seed);
    }
    this.evaluate('reload');
    await this.settled;
  }

  async stop(opts: { withdraw: boolean }): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const at = Date.now();
    if (opts.withdraw) for (const a of this.announcements) if (a.announced) this.mark(a, false, undefined, 'tskeepalived is stopping', at);
    await this.driver.stop(opts);
  }

  /** Resolves when the last hand-over to the driver has finished (tests, reload). */
  whenSettled(): Promise<void> {
    return this.settled;
  }

  announced(): Promise<string[]> {
    return this.driver.announced();
  }

  // ---------------------------------------------------------------- model

  private applySeed(seed: BgpSeed): void {
    for (const [k, v] of seed.quorum) this.quorum.set(k, v);
    for (const [k, v] of seed.vrrp) this.vrrp.set(k, v);
  }

  private build(config: KeepalivedConfig, previous: Announcement[]): Announcement[] {
    const bgp = config.bgp!;
    const out: Announcement[] = [];
    for (const e of bgp.virtualServers) {
      const vsTexts = config.virtualServers
        .filter((vs) => vs.key.kind === 'addr' && vs.key.address === e.address && (e.port === undefined || vs.key.port === e.port))
        .map(virtualServerText);
      out.push(
        this.entry(previous, {
          prefix: hostPrefix(e.address, e.family),
          family: e.family,
          mode: 'ecmp',
          source: `virtual_server ${e.address}${e.port === undefined ? '' : ` ${e.port}`}`,
          vsTexts,
          attrs: e.attrs,
        }),
      );
    }
    for (const e of bgp.vrrpInstances) {
      const inst = config.vrrpInstances.find((i) => i.name === e.name);
      for (const vip of inst?.virtualIpaddress ?? []) {
        const family = vip.prefix.family;
        out.push(
          this.entry(previous, {
            prefix: hostPrefix(vip.prefix.address, family),
            family,
            mode: 'vrrp-follow',
            source: `vrrp_instance ${e.name}`,
            vsTexts: [],
            instance: e.name,
            attrs: e.master,
            ...(e.backup ? { backup: e.backup } : {}),
          }),
        );
      }
    }
    return out;
  }

  private entry(previous: Announcement[], a: Omit<Announcement, 'announced' | 'since' | 'why' | 'changes'>): Announcement {
    const old = previous.find((p) => p.prefix === a.prefix && p.source === a.source);
    if (old) {
      const r = { ...old, ...a };
      if (!a.backup) delete r.backup;
      return r;
    }
    return { ...a, announced: false, since: Date.now(), why: 'not evaluated yet', changes: 0 };
  }

  /** What an entry wants now: announce with which attributes, and why. */
  private want(a: Announcement): { up: boolean; attrs?: BgpAttributes; why: string } {
    if (a.mode === 'ecmp') {
      if (a.vsTexts.length === 0) return { up: false, why: 'no matching virtual_server' };
      const down = a.vsTexts.filter((t) => this.quorum.get(t) === false);
      if (down.length) return { up: false, why: `quorum lost: ${down.join(', ')}` };
      const unknown = a.vsTexts.filter((t) => !this.quorum.has(t));
      if (unknown.length) return { up: false, why: `quorum not known yet: ${unknown.join(', ')}` };
      return { up: true, attrs: a.attrs, why: `quorum up: ${a.vsTexts.join(', ')}` };
    }
    const state = this.vrrp.get(a.instance!);
    if (state === 'MASTER') return { up: true, attrs: a.attrs, why: `${a.instance} is MASTER` };
    if (state === 'BACKUP' && a.backup) return { up: true, attrs: a.backup, why: `${a.instance} is BACKUP (the less preferred path)` };
    return { up: false, why: `${a.instance} is ${state ?? 'not started'}` };
  }

  private mark(a: Announcement, up: boolean, attrs: BgpAttributes | undefined, why: string, at: number): void {
    if (a.announced !== up || !sameAttrs(a.current, attrs)) {
      a.changes++;
      a.since = at;
      this.log.info({ prefix: a.prefix, source: a.source, why }, `${up ? 'announcing' : 'withdrawing'} ${a.prefix} (${a.source}): ${why}`);
    }
    a.announced = up;
    if (attrs) a.current = attrs;
    else delete a.current;
    a.why = why;
  }

  private evaluate(cause: string): void {
    if (!this.started || this.stopped) return;
    const at = Date.now();
    for (const a of this.announcements) {
      const w = this.want(a);
      this.mark(a, w.up, w.attrs, w.why, at);
    }
    // one route per prefix: announced only while every entry naming it says so (first entry's attributes)
    const byPrefix = new Map<string, { route: BgpRoute; up: boolean }>();
    for (const a of this.announcements) {
      const p = byPrefix.get(a.prefix);
      if (!p) byPrefix.set(a.prefix, { route: { prefix: a.prefix, family: a.family, attrs: a.current ?? a.attrs }, up: a.announced });
      else p.up &&= a.announced;
    }
    const routes = [...byPrefix.values()].filter((p) => p.up).map((p) => p.route);
    const key = JSON.stringify(routes);
    if (key === this.lastSent) return;
    this.lastSent = key;
    this.log.debug({ cause, routes: routes.map((r) => r.prefix) }, 'bgp routes changed');
    this.settled = this.driver.set(routes);
  }

  // ---------------------------------------------------------------- introspection

  snapshot(): unknown {
    const h = this.driver.health();
    return {
      driver: this.driver.name,
      controlSocket: this.bgp.controlSocket,
      routesFile: this.bgp.routesFile,
      protocols: this.bgp.driver === 'frr' ? [`route-map ${this.bgp.protocolName}_*`] : [`${this.bgp.protocolName}4`, `${this.bgp.protocolName}6`],
      ...(this.bgp.asn === undefined ? {} : { asn: this.bgp.asn }),
      health: {
        ok: h.ok,
        reason: h.reason ?? null,
        lastAppliedAt: h.lastAppliedAt ? new Date(h.lastAppliedAt).toISOString() : null,
        lastApplyMs: h.lastApplyMs ?? null,
        applies: h.applies,
        failures: h.failures,
        guardPid: h.guardPid ?? null,
      },
      announcements: this.announcements.map((a) => ({
        prefix: a.prefix,
        mode: a.mode,
        source: a.source,
        state: a.announced ? 'announced' : 'withdrawn',
        since: new Date(a.since).toISOString(),
        why: a.why,
        attributes: a.announced ? (a.current ?? a.attrs) : null,
        changes: a.changes,
      })),
    };
  }

  metrics(): MetricSample[] {
    const g = metricSample;
    const h = this.driver.health();
    const out: MetricSample[] = [
      g('tskeepalived_bgp_driver_up', 'Whether the last hand-over to the BGP daemon succeeded (1) or not (0).', h.ok ? 1 : 0, { driver: this.driver.name }),
      g('tskeepalived_bgp_applies_total', 'Route sets handed to the BGP daemon.', h.applies, { driver: this.driver.name }, 'counter'),
      g('tskeepalived_bgp_apply_failures_total', 'Failed hand-overs to the BGP daemon (retried).', h.failures, { driver: this.driver.name }, 'counter'),
      g('tskeepalived_bgp_guard_up', 'Whether the process that withdraws the routes if tskeepalived dies runs (1) or not (0).', h.guardPid ? 1 : 0, {
        driver: this.driver.name,
      }),
    ];
    if (h.lastApplyMs !== undefined)
      out.push(g('tskeepalived_bgp_last_apply_seconds', 'Duration of the last hand-over to the BGP daemon.', h.lastApplyMs / 1000));
    for (const a of this.announcements) {
      const labels = { prefix: a.prefix, mode: a.mode, source: a.source };
      out.push(g('tskeepalived_bgp_announced', 'Whether the prefix is announced (1) or withdrawn (0).', a.announced ? 1 : 0, labels));
      out.push(g('tskeepalived_bgp_state_since_seconds', 'Epoch seconds of the last announce/withdraw of the prefix.', Math.floor(a.since / 1000), labels));
      out.push(g('tskeepalived_bgp_changes_total', 'Announce/withdraw changes of the prefix.', a.changes, labels, 'counter'));
    }
    return out;
  }
}
