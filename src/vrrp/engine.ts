// The VRRP engine: every vrrp_instance and vrrp_sync_group of the config, on the real network.
import pino, { type Logger } from 'pino';
import type { KeepalivedConfig, TrackFile, TrackProcess, VirtualAddress, VrrpInstance, VrrpScript } from '../config/model.js';
import { settingsKey, vrrpInstanceKey, vrrpInstanceSoftKey } from '../config/reload-identity.js';
import { type Engine, type EngineEvent, type EngineEventListener, EngineListeners, type MetricSample } from '../engine-api/types.js';
import { realClock, type Clock } from '../util/clock.js';
import { InstanceRuntime, type InstanceHooks } from './instance.js';
import type { NetEvent, VrrpNetIo } from './io.js';
import { SocketPool } from './socket-pool.js';
import { SyncGroupRuntime } from './sync-group.js';
import { FileTracker, ProcEventHub, ProcessTracker, ScriptTracker } from './track-runners.js';
import { keepalivedCommandText } from '../config/script-security.js';
import { keepalivedJson, renderData, renderStats, instanceMetrics, instanceSnapshot, socketDropMetrics } from './report.js';
import { planVmacs, type VmacPlan } from './vmac.js';

export interface VrrpEngineOptions {
  io: VrrpNetIo;
  logger?: Logger;
  clock?: Clock;
}

export class VrrpEngine implements Engine {
  readonly name = 'vrrp' as const;
  private readonly io: VrrpNetIo;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly pool: SocketPool;
  private readonly procEvents: ProcEventHub;
  private config: KeepalivedConfig | undefined;
  private instances = new Map<string, { rt: InstanceRuntime; fp: string; soft: string | undefined }>();
  private groups = new Map<string, SyncGroupRuntime>();
  private scripts = new Map<string, { t: ScriptTracker; fp: string }>();
  private files = new Map<string, { t: FileTracker; fp: string }>();
  private processes = new Map<string, { t: ProcessTracker; fp: string }>();
  private links = new Map<string, boolean>();
  private readonly listeners = new EngineListeners((err) => this.log.error({ err }, 'engine event listener failed'));
  private unmonitor: (() => void) | undefined;
  private restoreLocalIgmp: (() => void) | undefined;
  private started = false;

  constructor(opts: VrrpEngineOptions) {
    this.io = opts.io;
    this.log = opts.logger ?? pino({ name: 'vrrp' });
    this.clock = opts.clock ?? realClock;
    this.pool = new SocketPool(this.io, this.log, () => this.clock.now());
    const watch = this.io.watchProcessEvents?.bind(this.io);
    this.procEvents = new ProcEventHub(watch, this.log);
  }

  on(listener: EngineEventListener): void {
    this.listeners.add(listener);
  }

  private emit(ev: EngineEvent): void {
    this.listeners.emit(ev);
  }

  instance(name: string): InstanceRuntime | undefined {
    return this.instances.get(name)?.rt;
  }

  private hooks: InstanceHooks = {
    onTransition: (rt, from, to, reason) => {
      this.emit({ kind: 'vrrp-instance', name: rt.cfg.name, state: to, previous: from, priority: rt.machine.priority, at: Date.now() });
      if (rt.group) this.groups.get(rt.group)?.onMemberTransition(rt, from, to, reason);
    },
    onOwnFaultsChanged: (rt: InstanceRuntime) => {
      if (rt.group) this.groups.get(rt.group)?.onOwnFaultsChanged();
    },
    scriptTracker: (name: string) => this.scripts.get(name)?.t,
    fileTracker: (name: string) => this.files.get(name)?.t,
    processTracker: (name: string) => this.processes.get(name)?.t,
    linkUp: (ifname: string) => this.links.get(ifname),
    bfdUp: (name: string) => this.bfdSessions.get(name) ?? false,
  };

  /** D-Bus SendGarp on the instance's object; false when no instance has that name. */
  sendGarp(name: string): boolean {
    const rt = this.instances.get(name)?.rt;
    rt?.sendGarpNow();
    return rt !== undefined;
  }

  /** every instance's counters back to zero (D-Bus PrintStatsClear, SIGRTMAX-1), once the stats file is written */
  clearStats(): void {
    for (const { rt } of this.instances.values()) rt.clearStats();
  }

  /** bfd_instance states as the BFD engine reported them (through the daemon) */
  private readonly bfdSessions = new Map<string, boolean>();

  /** track_bfd: a BFD session went Up or left Up. */
  bfdState(name: string, up: boolean): void {
    if (this.bfdSessions.get(name) === up) return;
    this.bfdSessions.set(name, up);
    for (const { rt } of this.instances.values()) {
      const refs = [...(rt.cfg.trackBfd ?? []), ...(rt.groupTrack?.trackBfd ?? [])];
      if (!refs.some((r) => r.name === name)) continue;
      rt.log.info(`Tracked BFD instance ${name} is ${up ? 'UP' : 'DOWN'}`);
      rt.recomputeTracking();
    }
  }

  private onNetEvent(ev: NetEvent): void {
    if (ev.kind === 'link') {
      if (this.links.get(ev.ifname) !== ev.up) {
        this.links.set(ev.ifname, ev.up);
        this.log.info(`Netlink reports ${ev.ifname} ${ev.up ? 'up' : 'down'}`);
        for (const { rt } of this.instances.values()) rt.recomputeTracking();
      }
    }
    for (const { rt } of this.instances.values()) rt.onNetEvent(ev);
  }

  private async refreshLinks(config: KeepalivedConfig): Promise<void> {
    const names = new Set<string>();
    for (const i of config.vrrpInstances) {
      names.add(i.interface ?? config.global.defaultInterface ?? 'eth0');
      for (const t of i.trackInterface) names.add(t.name);
    }
    for (const g of config.syncGroups) for (const t of g.trackInterface) names.add(t.name);
    for (const n of names) {
      if (this.links.has(n)) continue;
      const info = await this.io.interfaceInfo(n).catch(() => undefined);
      this.links.set(n, info?.up ?? false);
    }
  }

  private syncTrackers(config: KeepalivedConfig): void {
    const secOpts = { enableScriptSecurity: config.global.enableScriptSecurity, scriptUser: config.global.scriptUser, scriptGroup: config.global.scriptGroup };
    const used = new Set<string>();
    for (const i of config.vrrpInstances) for (const r of i.trackScript) used.add(r.name);
    for (const g of config.syncGroups) for (const r of g.trackScript) used.add(r.name);
    const wantScripts = new Map<string, VrrpScript>(config.vrrpScripts.filter((s) => used.has(s.name)).map((s) => [s.name, s]));
    for (const [name, e] of this.scripts) {
      const d = wantScripts.get(name);
      if (!d || settingsKey(d) !== e.fp) {
        e.t.stop();
        this.scripts.delete(name);
      }
    }
    for (const [name, d] of wantScripts) {
      if (this.scripts.has(name)) continue;
      const t = new ScriptTracker(d, this.log, secOpts, this.clock);
      t.onChange(() => this.onTrackerChange());
      this.scripts.set(name, { t, fp: settingsKey(d) });
      t.start();
    }
    const wantFiles = new Map<string, TrackFile>(config.trackFiles.map((f) => [f.name, f]));
    for (const [name, e] of this.files) {
      const d = wantFiles.get(name);
      if (!d || settingsKey(d) !== e.fp) {
        e.t.stop();
        this.files.delete(name);
      }
    }
    for (const [name, d] of wantFiles) {
      if (this.files.has(name)) continue;
      const t = new FileTracker(d, this.log, undefined, this.clock);
      t.onChange(() => this.onTrackerChange());
      this.files.set(name, { t, fp: settingsKey(d) });
      void t.start().then(() => this.onTrackerChange());
    }
    const usedProcesses = new Set<string>();
    for (const i of config.vrrpInstances) for (const r of i.trackProcess ?? []) usedProcesses.add(r.name);
    for (const g of config.syncGroups) for (const r of g.trackProcess ?? []) usedProcesses.add(r.name);
    const wantProcesses = new Map<string, TrackProcess>((config.trackProcesses ?? []).filter((p) => usedProcesses.has(p.name)).map((p) => [p.name, p]));
    for (const [name, e] of this.processes) {
      const d = wantProcesses.get(name);
      if (!d || settingsKey(d) !== e.fp) {
        e.t.stop();
        this.processes.delete(name);
      }
    }
    for (const [name, d] of wantProcesses) {
      if (this.processes.has(name)) continue;
      const t = new ProcessTracker(d, this.log, undefined, this.clock, undefined, this.procEvents);
      t.onChange(() => this.onTrackerChange());
      this.processes.set(name, { t, fp: settingsKey(d) });
      t.start();
    }
  }

  private onTrackerChange(): void {
    for (const { rt } of this.instances.values()) rt.recomputeTracking();
  }

  private buildGroups(config: KeepalivedConfig): void {
    const previous = new Map([...this.groups].map(([name, g]) => [name, g.state]));
    const previousGroup = new Map<InstanceRuntime, string>();
    this.groups.clear();
    for (const { rt } of this.instances.values()) {
      if (rt.group) previousGroup.set(rt, rt.group);
      rt.group = undefined;
      rt.groupTrack = undefined;
    }
    for (const sg of config.syncGroups) {
      const members = sg.members.map((n) => this.instances.get(n)?.rt).filter((x): x is InstanceRuntime => !!x);
      const grt = new SyncGroupRuntime(
        sg,
        members,
        () => this.config!.global,
        this.log.child({ group: sg.name }),
        (state, previous) => this.emit({ kind: 'vrrp-group', name: sg.name, state, previous, at: Date.now() }),
      );
      // a group that survives a reload keeps its state (no spurious group transition)
      const was = previous.get(sg.name);
      if (was !== undefined) grt.state = was;
      for (const m of members) {
        m.group = sg.name;
        m.groupTrack = {
          trackInterface: sg.trackInterface,
          trackScript: sg.trackScript,
          trackFile: sg.trackFile,
          trackBfd: sg.trackBfd,
          trackProcess: sg.trackProcess,
        };
      }
      this.groups.set(sg.name, grt);
    }
    // a member that left its group (or whose group went) no longer carries that group's fault
    for (const [rt, was] of previousGroup) if (rt.group !== was) rt.setGroupFault(was, false);
    // and every group imposes (or lifts) its fault on its members as they are now
    for (const grt of this.groups.values()) grt.reconcileFaults();
  }

  private newRuntime(inst: VrrpInstance, config: KeepalivedConfig, vmacPlans: Map<string, VmacPlan>): InstanceRuntime {
    const rt = new InstanceRuntime(inst, config, this.io, this.pool, this.clock, this.log, this.hooks);
    rt.vmacPlan = vmacPlans.get(inst.name);
    return rt;
  }

  async start(config: KeepalivedConfig): Promise<void> {
    this.config = config;
    this.started = true;
    try {
      this.unmonitor = await this.io.monitor((ev) => this.onNetEvent(ev));
    } catch (e) {
      this.log.error({ err: e }, 'cannot monitor links and addresses');
    }
    await this.refreshLinks(config);
    await this.applyDisableLocalIgmp(config);
    this.syncTrackers(config);
    const vmacPlans = planVmacs(config.vrrpInstances, config.global);
    for (const inst of config.vrrpInstances)
      this.instances.set(inst.name, {
        rt: this.newRuntime(inst, config, vmacPlans),
        fp: vrrpInstanceKey(inst, config),
        soft: vrrpInstanceSoftKey(inst, config),
      });
    this.buildGroups(config);
    await Promise.all([...this.instances.values()].map(({ rt }) => rt.start().catch((e) => this.log.error({ err: e }, `(${rt.cfg.name}) failed to start`))));
    // members that started after a faulty one take the group's fault now that they have a state
    for (const grt of this.groups.values()) grt.reconcileFaults();
    this.log.info(`VRRP engine started with ${this.instances.size} instance(s)`);
  }

  /** global_defs disable_local_igmp: igmp_link_local_mcast_reports 0 while running, as keepalived. */
  private async applyDisableLocalIgmp(config: KeepalivedConfig): Promise<void> {
    if (this.restoreLocalIgmp || !config.global.raw.some((r) => r.keyword === 'disable_local_igmp')) return;
    if (!this.io.disableLocalIgmp) {
      this.log.warn('disable_local_igmp is not supported by this network edge');
      return;
    }
    try {
      this.restoreLocalIgmp = await this.io.disableLocalIgmp();
    } catch (e) {
      this.log.warn({ err: e }, 'disable_local_igmp: cannot set igmp_link_local_mcast_reports');
    }
  }

  async reload(config: KeepalivedConfig): Promise<void> {
    if (!this.started) return this.start(config);
    this.log.info('Reloading VRRP configuration');
    this.config = config;
    await this.refreshLinks(config);
    await this.applyDisableLocalIgmp(config);
    this.syncTrackers(config);
    const next = new Map<string, { rt: InstanceRuntime; fp: string; soft: string | undefined }>();
    const toStart: InstanceRuntime[] = [];
    const toStop: InstanceRuntime[] = [];
    const toUpdate: [InstanceRuntime, VrrpInstance][] = [];
    const restarted: [InstanceRuntime, InstanceRuntime][] = [];
    const vmacPlans = planVmacs(config.vrrpInstances, config.global);
    for (const inst of config.vrrpInstances) {
      const fp = vrrpInstanceKey(inst, config);
      const soft = vrrpInstanceSoftKey(inst, config);
      const old = this.instances.get(inst.name);
      if (old && old.fp === fp) {
        old.rt.cfg = inst;
        old.rt.config = config;
        next.set(inst.name, { ...old, soft });
      } else if (old && soft !== undefined && old.soft === soft) {
        // only its addresses / notify scripts changed: it keeps its state
        toUpdate.push([old.rt, inst]);
        next.set(inst.name, { rt: old.rt, fp, soft });
      } else {
        const rt = this.newRuntime(inst, config, vmacPlans);
        if (old) {
          toStop.push(old.rt);
          restarted.push([old.rt, rt]);
        }
        next.set(inst.name, { rt, fp, soft });
        toStart.push(rt);
      }
    }
    for (const [name, old] of this.instances) if (!next.has(name)) toStop.push(old.rt);
    for (const rt of toStop) {
      this.log.info(`(${rt.cfg.name}) ${next.has(rt.cfg.name) ? 'changed, restarting' : 'removed'}`);
      await rt.stop(true);
      if (!next.has(rt.cfg.name))
        this.emit({ kind: 'vrrp-instance', name: rt.cfg.name, state: 'DELETED', previous: 'STOP', priority: rt.machine?.priority ?? 0, at: Date.now() });
    }
    const toAdd: [InstanceRuntime, VirtualAddress[]][] = [];
    for (const [rt, inst] of toUpdate) {
      this.log.info(`(${inst.name}) addresses or notify scripts changed: updated in place, keeping its state`);
      toAdd.push([rt, await rt.updateAddresses(inst, config)]);
    }
    for (const [rt, added] of toAdd) await rt.addUpdatedAddresses(added);
    // as keepalived, a restarted instance keeps its AH sequence number (after its priority-0 advert)
    for (const [old, rt] of restarted) rt.inheritAhCounter(old);
    this.instances = next;
    this.buildGroups(config);
    await Promise.all(toStart.map((rt) => rt.start().catch((e) => this.log.error({ err: e }, `(${rt.cfg.name}) failed to start`))));
    for (const { rt } of this.instances.values()) rt.recomputeTracking();
    for (const grt of this.groups.values()) grt.reconcileFaults();
  }

  async stop(opts: { release: boolean }): Promise<void> {
    await Promise.all([...this.instances.values()].map(({ rt }) => rt.stop(opts.release).catch(() => undefined)));
    for (const { t } of this.scripts.values()) t.stop();
    for (const { t } of this.files.values()) t.stop();
    for (const { t } of this.processes.values()) t.stop();
    this.scripts.clear();
    this.files.clear();
    this.processes.clear();
    this.unmonitor?.();
    this.unmonitor = undefined;
    try {
      this.restoreLocalIgmp?.();
    } catch (e) {
      this.log.warn({ err: e }, 'cannot restore igmp_link_local_mcast_reports');
    }
    this.restoreLocalIgmp = undefined;
    this.pool.closeAll();
    // keepalived's nftables tables go at stop (with -V too), not before
    await this.io.clearFilters?.().catch((e) => this.log.warn({ err: e }, 'cannot remove the nftables tables'));
    this.io.close?.();
    this.started = false;
  }

  snapshot(): unknown {
    return {
      instances: [...this.instances.values()].map(({ rt }) => instanceSnapshot(rt)),
      syncGroups: [...this.groups.values()].map((g) => ({ name: g.cfg.name, state: g.state, members: g.members.map((m) => m.cfg.name) })),
      scripts: [...this.scripts.entries()].map(([name, { t }]) => ({ name, ok: t.ok })),
      files: [...this.files.entries()].map(([name, { t }]) => ({ name, value: t.value })),
      processes: [...this.processes.entries()].map(([name, { t }]) => ({ name, up: t.up, count: t.count })),
    };
  }

  dumpData(): string {
    return renderData(
      [...this.instances.values()].map((e) => e.rt),
      [...this.groups.values()],
    );
  }

  dumpStats(): string {
    return renderStats([...this.instances.values()].map((e) => e.rt));
  }

  keepalivedJson(): unknown[] {
    const scripts = new Map((this.config?.vrrpScripts ?? []).map((s) => [s.name, s.script ? keepalivedCommandText(s.script) : undefined]));
    return keepalivedJson(
      [...this.instances.values()].map((e) => e.rt),
      (name) => scripts.get(name),
    );
  }

  metrics(): MetricSample[] {
    return [...[...this.instances.values()].flatMap(({ rt }) => instanceMetrics(rt)), ...socketDropMetrics(this.pool.dropCounts())];
  }
}
