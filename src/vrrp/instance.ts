// One running vrrp_instance: its state machine, socket and tracking; drives its addresses (vip-install.ts)
// and its GARP schedule (garp-schedule.ts).
import type { Logger } from 'pino';
import type { GlobalDefs, KeepalivedConfig, VirtualAddress, VrrpInstance } from '../config/model.js';
import type { Clock } from '../util/clock.js';
import type { NetEvent, ReceivedVrrp, VrrpNetIo, VrrpSocketHandle } from './io.js';
import { AhCounter } from './ah-counter.js';
import { buildAhDatagram, openAhDatagram } from './ah.js';
import { canonicalIp, compareIp } from '../util/inet.js';
import { runNotify } from './notify.js';
import { encodeAdvert, wireIntervalMs } from './packet.js';
import { checkAdvert, ReceiveErrorCounters, type ReceiveExpectations, type RejectReason } from './receive-checks.js';
import type { SocketPool } from './socket-pool.js';
import { VrrpStateMachine, type EnteredState, type MachineAction, type VrrpStateName, type TransitionReason } from './state-machine.js';
import { computeEffectivePriority, type TrackedStatus } from './tracking.js';
import type { FileTracker, ProcessTracker, ScriptTracker } from './track-runners.js';
import { InstanceVmacs } from './instance-vmacs.js';
import { GarpSchedule } from './garp-schedule.js';
import { filterTable, VipInstall } from './vip-install.js';
import type { VmacPlan } from './vmac.js';

export interface InstanceHooks {
  onTransition(rt: InstanceRuntime, from: VrrpStateName, to: EnteredState, reason: TransitionReason): void;
  /** own faults (not group-induced) changed */
  onOwnFaultsChanged(rt: InstanceRuntime): void;
  scriptTracker(name: string): ScriptTracker | undefined;
  fileTracker(name: string): FileTracker | undefined;
  processTracker(name: string): ProcessTracker | undefined;
  linkUp(ifname: string): boolean | undefined;
  /** whether the bfd_instance is Up (false until the BFD engine says so, as keepalived) */
  bfdUp(name: string): boolean;
}

export const GROUP_FAULT_PREFIX = 'sync-group ';

export class InstanceRuntime {
  readonly log: Logger;
  machine!: VrrpStateMachine;
  readonly rejects = new ReceiveErrorCounters();
  ifname: string;
  primaryAddress: string | undefined;
  private socket: VrrpSocketHandle | undefined;
  private sockOpts: { ifname: string; family: 4 | 6; group?: string; srcAddress?: string; ah?: boolean } | undefined;
  /** auth_type AH: the password and keepalived's sequence / IP id counters */
  private readonly ah: { pass: string; counter: AhCounter } | undefined;
  private readonly rx = (p: ReceivedVrrp, family: 4 | 6) => this.onPacket(p, family);
  private readonly garp: GarpSchedule;
  private readonly vips: VipInstall;
  /** the addresses of the latest MASTER transition are in place (the first GARP burst waits for it) */
  private addressesInPlace: Promise<void> = Promise.resolve();
  private expectations!: ReceiveExpectations;
  private ownFaults = new Set<string>();
  private stopped = false;
  private keepAddresses = false;
  private retrying = false;
  private pendingRemoval: Promise<void> = Promise.resolve();
  lastTransitionAt = Date.now();
  /** use_vmac / use_vmac_addr: the VMAC interface names, chosen by the engine (planVmacs) */
  vmacPlan: VmacPlan | undefined;
  private vmacs: InstanceVmacs | undefined;
  readonly family: 4 | 6;
  readonly version: 2 | 3;
  /** set by the engine when the instance belongs to a sync group */
  group: string | undefined;
  /** extra tracking from the sync group */
  groupTrack:
    | {
        trackInterface: VrrpInstance['trackInterface'];
        trackScript: VrrpInstance['trackScript'];
        trackFile: VrrpInstance['trackFile'];
        trackBfd?: VrrpInstance['trackBfd'];
        trackProcess?: VrrpInstance['trackProcess'];
      }
    | undefined;

  constructor(
    public cfg: VrrpInstance,
    public config: KeepalivedConfig,
    private readonly io: VrrpNetIo,
    private readonly pool: SocketPool,
    private readonly clock: Clock,
    parentLog: Logger,
    private readonly hooks: InstanceHooks,
  ) {
    this.log = parentLog.child({ instance: cfg.name });
    this.ifname = cfg.interface ?? config.global.defaultInterface ?? 'eth0';
    this.family = cfg.family;
    this.version = cfg.family === 6 ? 3 : cfg.version;
    // the config validator already dropped AH for IPv6 and VRRPv3, as keepalived does
    if (cfg.auth?.type === 'AH' && this.version === 2 && this.family === 4) this.ah = { pass: cfg.auth.pass, counter: new AhCounter() };
    this.vips = new VipInstall(io, this.log, {
      cfg: () => this.cfg,
      global: () => this.global,
      ifname: () => this.ifname,
      devFor: (v) => this.devFor(v),
      vrrpIfname: () => this.vmacs?.main ?? this.ifname,
    });
    this.garp = new GarpSchedule(
      clock,
      io,
      {
        settings: () => ({ ...this.cfg, garpIntervalMs: this.global.vrrpGarpInterval, gnaIntervalMs: this.global.vrrpGnaInterval }),
        addresses: () => this.vips.all(),
        devFor: (v) => this.devFor(v),
        isMaster: () => this.state === 'MASTER',
        logInterface: () => this.vmacs?.main ?? this.ifname,
      },
      this.log,
    );
  }

  private get unicast(): boolean {
    return this.cfg.unicastPeers.length > 0;
  }

  get global(): GlobalDefs {
    return this.config.global;
  }
  get state(): VrrpStateName {
    return this.machine?.state ?? 'INIT';
  }
  /** the VIPs are on the host (MASTER) */
  get vipsInstalled(): boolean {
    return this.vips.installed;
  }
  get ownFaultList(): string[] {
    return [...this.ownFaults];
  }

  private vipList(): string[] {
    // addresses of the other family are not advertised (keepalived treats them as excluded)
    return this.cfg.virtualIpaddress.filter((v) => v.prefix.family === this.family).map((v) => canonicalIp(v.prefix.address));
  }

  private mcastGroup(): string {
    return this.family === 4 ? this.global.vrrpMcastGroup4 || '224.0.0.18' : this.global.vrrpMcastGroup6 || 'ff02::12';
  }

  async start(): Promise<void> {
    const cfg = this.cfg;
    const info = await this.io.interfaceInfo(this.ifname).catch(() => undefined);
    if (cfg.unicastSrcIp) this.primaryAddress = canonicalIp(cfg.unicastSrcIp);
    else if (cfg.mcastSrcIp) this.primaryAddress = canonicalIp(cfg.mcastSrcIp);
    else if (info) {
      const cands = info.addresses.filter((a) => a.family === this.family);
      const pick = this.family === 6 ? (cands.find((a) => a.address.startsWith('fe80')) ?? cands[0]) : cands[0];
      this.primaryAddress = pick?.address;
    }
    const basePriority = cfg.priority;
    this.machine = new VrrpStateMachine(
      {
        name: cfg.name,
        version: this.version,
        advertIntMs: wireIntervalMs(this.version, cfg.advertInt),
        priority: basePriority,
        primaryAddress: this.primaryAddress ?? (this.family === 4 ? '0.0.0.0' : '::'),
        nopreempt: cfg.nopreempt,
        preemptDelayMs: cfg.preemptDelay,
        lowerPrioNoAdvert: this.global.vrrpLowerPrioNoAdvert,
        higherPrioSendAdvert: this.global.vrrpHigherPrioSendAdvert,
      },
      this.clock,
      (a) => this.onAction(a),
    );
    this.expectations = {
      version: this.version,
      vrid: cfg.virtualRouterId ?? 0,
      advertIntMs: cfg.advertInt,
      authPass: cfg.auth?.type === 'PASS' ? cfg.auth.pass : undefined,
      ah: this.ah !== undefined,
      addresses: this.vipList(),
      skipCheckAdvAddr: this.global.vrrpSkipCheckAdvAddr,
      unicastPeers: cfg.unicastPeers.map((p) => ({ address: canonicalIp(p.address), minTtl: p.minTtl, maxTtl: p.maxTtl })),
      checkUnicastSrc: this.global.vrrpCheckUnicastSrc,
    };
    if (!info) this.log.error(`interface ${this.ifname} not found`);
    if (!this.primaryAddress) this.log.error(`no IPv${this.family} address on ${this.ifname}`);
    if (this.vmacPlan) this.vmacs = new InstanceVmacs(cfg, this.ifname, this.vmacPlan, this.io, this.log, () => filterTable(this.global));
    if (this.vmacs?.wanted && !(await this.vmacs.setup(info))) this.setOwnFault('vmac', true);
    this.sockOpts = this.socketOptions();
    try {
      this.socket = await this.pool.acquire(this.sockOpts, this.expectations.vrid, this.rx);
    } catch (e) {
      this.log.error({ err: e }, `cannot open VRRP socket on ${this.ifname}`);
    }
    // keepalived removes any leftover VIPs at start
    await this.vips.remove(true);
    this.recomputeTracking(true);
    if (!info || !this.primaryAddress || !this.socket) this.setOwnFault('interface', true);
    this.machine.handle({ type: 'start' });
  }

  private socketOptions(): { ifname: string; family: 4 | 6; group?: string; srcAddress?: string; ah?: boolean } {
    const cfg = this.cfg;
    const vmac = cfg.vmacXmitBase ? undefined : this.vmacs?.main;
    const onVmac = vmac !== undefined;
    return {
      ifname: vmac ?? this.ifname,
      family: this.family,
      group: cfg.unicastPeers.length ? undefined : this.mcastGroup(),
      // the VMAC carries no address of the instance's own: adverts leave with the base interface's
      srcAddress: cfg.unicastSrcIp ?? cfg.mcastSrcIp ?? (onVmac ? this.primaryAddress : undefined),
      ...(this.ah ? { ah: true } : {}),
    };
  }

  /** VMACs were deleted: re-make them, re-open the socket bound to the old one, put the VIPs back. */
  private async restoreVmacs(): Promise<void> {
    const remade = (await this.vmacs?.restore()) ?? [];
    const vrid = this.expectations.vrid;
    for (const name of remade) {
      if (this.stopped) return;
      if (name === this.sockOpts?.ifname) {
        await this.pool.release(this.sockOpts, vrid, this.rx).catch(() => undefined);
        this.socket = await this.pool.acquire(this.sockOpts, vrid, this.rx).catch((e) => {
          this.log.error({ err: e }, `cannot open VRRP socket on ${name}`);
          return undefined;
        });
      }
      if (this.vipsInstalled && this.state === 'MASTER') {
        await this.vips.add(this.vips.all().filter((v) => this.devFor(v) === name));
        this.garp.burst(1);
      }
    }
  }

  /** D-Bus SendGarp: one round of GARPs / unsolicited NAs, only while the VIPs are set (keepalived's vrrp_send_link_update). */
  sendGarpNow(): void {
    if (!this.stopped && this.state === 'MASTER' && this.vipsInstalled) this.garp.burst(1);
  }

  /** D-Bus PrintStatsClear: the counters of the stats dump back to zero. */
  clearStats(): void {
    const st = this.machine?.stats as unknown as Record<string, number> | undefined;
    if (st) for (const k of Object.keys(st)) st[k] = 0;
    this.rejects.counts.clear();
  }

  /** the instance's own VMAC while it is up */
  get vmacInterface(): string | undefined {
    return this.vmacs?.main;
  }

  /** The interface an address goes on: the VMAC for the instance's own family on its interface. */
  devFor(v: VirtualAddress): string {
    return this.vmacs ? this.vmacs.devFor(v) : (v.dev ?? this.ifname);
  }

  /** Called by the engine whenever a tracked object or link changed. */
  recomputeTracking(initial = false): void {
    if (!this.machine) return;
    const items: TrackedStatus[] = [];
    const refs = {
      trackInterface: [...this.cfg.trackInterface, ...(this.groupTrack?.trackInterface ?? [])],
      trackScript: [...this.cfg.trackScript, ...(this.groupTrack?.trackScript ?? [])],
      trackFile: [...this.cfg.trackFile, ...(this.groupTrack?.trackFile ?? [])],
      trackBfd: [...(this.cfg.trackBfd ?? []), ...(this.groupTrack?.trackBfd ?? [])],
      trackProcess: [...(this.cfg.trackProcess ?? []), ...(this.groupTrack?.trackProcess ?? [])],
    };
    if (!this.cfg.dontTrackPrimary) items.push({ kind: 'interface', name: this.ifname, weight: 0, reverse: false, ok: this.hooks.linkUp(this.ifname) ?? true });
    for (const r of refs.trackInterface)
      items.push({ kind: 'interface', name: r.name, weight: r.weight ?? 0, reverse: r.reverse, ok: this.hooks.linkUp(r.name) ?? false });
    for (const r of refs.trackScript) {
      const t = this.hooks.scriptTracker(r.name);
      if (!t || t.disabled) continue;
      items.push({
        kind: 'script',
        name: r.name,
        weight: r.weight ?? t.def.weight,
        reverse: r.reverse || (r.weight === undefined && t.def.weightReverse),
        ok: t.ok,
      });
    }
    for (const r of refs.trackFile) {
      const t = this.hooks.fileTracker(r.name);
      if (!t) continue;
      items.push({
        kind: 'file',
        name: r.name,
        weight: r.weight ?? t.def.weight,
        reverse: r.reverse || (r.weight === undefined && t.def.weightReverse),
        value: t.value,
      });
    }
    for (const r of refs.trackBfd) {
      // the weight given here, else the bfd_instance's own (keepalived's alloc_track_bfd)
      const def = this.config.bfdInstances?.find((b) => b.name === r.name);
      items.push({
        kind: 'bfd',
        name: r.name,
        weight: r.weight ?? def?.weight ?? 0,
        reverse: r.weight === undefined ? !!def?.weightReverse : r.reverse,
        ok: this.hooks.bfdUp(r.name),
      });
    }
    for (const r of refs.trackProcess) {
      const t = this.hooks.processTracker(r.name);
      if (!t) continue;
      items.push({
        kind: 'process',
        name: r.name,
        weight: r.weight ?? t.def.weight,
        reverse: r.reverse || (r.weight === undefined && t.def.weightReverse),
        ok: t.up,
      });
    }
    const res = computeEffectivePriority(this.cfg.priority, items);
    if (res.priority !== this.machine.priority) {
      if (!initial) this.log.info(`Changing effective priority from ${this.machine.priority} to ${res.priority}`);
      this.machine.handle({ type: 'priority', priority: res.priority });
    }
    const wanted = new Set(res.faults);
    for (const f of [...this.ownFaults]) if (f.startsWith('track ') && !wanted.has(f.slice(6))) this.setOwnFault(f.slice(6), false, 'track ');
    for (const f of wanted) this.setOwnFault(f, true, 'track ');
  }

  private setOwnFault(reason: string, on: boolean, prefix = ''): void {
    const key = prefix + reason;
    if (on === this.ownFaults.has(key)) return;
    if (on) {
      this.ownFaults.add(key);
      this.log.info(`entering FAULT: ${reason}`);
      this.machine.handle({ type: 'fault', reason: key });
    } else {
      this.ownFaults.delete(key);
      this.machine.handle({ type: 'unfault', reason: key });
    }
    this.hooks.onOwnFaultsChanged(this);
  }

  /** Fault imposed by the sync group (another member is faulty). */
  setGroupFault(group: string, on: boolean): void {
    if (!this.machine) return;
    this.machine.handle({ type: on ? 'fault' : 'unfault', reason: GROUP_FAULT_PREFIX + group });
  }

  /** The interface, its address or the socket was missing at start: try again after a change. */
  private async retryNetwork(): Promise<void> {
    if (this.retrying || this.stopped) return;
    this.retrying = true;
    try {
      const info = await this.io.interfaceInfo(this.ifname).catch(() => undefined);
      if (!info) return;
      if (!this.primaryAddress) {
        const cands = info.addresses.filter((a) => a.family === this.family);
        const pick = this.family === 6 ? (cands.find((a) => a.address.startsWith('fe80')) ?? cands[0]) : cands[0];
        if (!pick) return;
        this.primaryAddress = pick.address;
        this.machine.cfg.primaryAddress = pick.address;
        const want = this.socketOptions();
        if (this.socket && this.sockOpts && want.srcAddress !== this.sockOpts.srcAddress) {
          // on a VMAC the source address is explicit: reopen with the one found now
          await this.pool.release(this.sockOpts, this.expectations.vrid, this.rx).catch(() => undefined);
          this.socket = undefined;
        }
      }
      if (!this.socket && this.sockOpts) {
        // the interface was missing at start: its VMACs could not be made then
        if (this.vmacs?.wanted && this.vmacs.none) await this.vmacs.setup(info);
        this.sockOpts = this.socketOptions();
        this.socket = await this.pool.acquire(this.sockOpts, this.expectations.vrid, this.rx).catch(() => undefined);
      }
      if (this.socket && this.primaryAddress) {
        this.log.info(`interface ${this.ifname} usable now`);
        this.setOwnFault('interface', false);
      }
    } finally {
      this.retrying = false;
    }
  }

  onNetEvent(ev: NetEvent): void {
    if (this.stopped || !this.machine) return;
    if (ev.kind === 'link' && this.vmacs?.concerns(ev)) void this.restoreVmacs();
    if (this.ownFaults.has('interface') && ev.ifname === this.ifname && ev.kind !== 'address-removed') void this.retryNetwork();
    if (ev.kind === 'address-removed' && this.vipsInstalled && this.state === 'MASTER') {
      const vip = this.vips.find(ev.address, ev.ifname);
      if (vip) {
        this.log.warn(`VIP ${ev.address} was removed from ${ev.ifname} while MASTER, restoring it`);
        this.vips.restore(vip);
        this.garp.burst(1);
      }
    }
  }

  private onPacket(p: ReceivedVrrp, family: 4 | 6): void {
    if (this.stopped || !this.machine) return;
    const ah = this.ah;
    let ahSeq: number | undefined;
    // our own adverts must not move the anti-replay counter
    if (ah && this.primaryAddress && p.src === this.primaryAddress) {
      this.reject('own-address', p.src, 'the source is our own address');
      return;
    }
    const authenticate = ah
      ? () => {
          if (!p.datagram) return { reason: 'auth-failure' as const, detail: 'no AH header' };
          const opened = openAhDatagram(p.datagram, ah.pass, this.unicast);
          if (!opened.ok) return { reason: 'auth-failure' as const, detail: `IPSEC-AH: ${opened.detail}` };
          const before = ah.counter.seq;
          if (!ah.counter.accept(opened.seq))
            return { reason: 'ah-sequence' as const, detail: `IPSEC-AH: sequence number ${opened.seq} already processed (local ${before})` };
          ahSeq = opened.seq;
          return undefined;
        }
      : undefined;
    const r = checkAdvert({ payload: p.payload, src: p.src, dst: p.dst, ttl: p.ttl, family, authenticate }, this.expectations);
    if (!r.ok) {
      if (!r.silent) this.reject(r.reason, p.src, r.detail);
      return;
    }
    if (this.primaryAddress && p.src === this.primaryAddress) {
      this.reject('own-address', p.src, 'the source is our own address');
      return;
    }
    if (ah && ahSeq !== undefined) this.followAhSequence(r.advert.priority, p.src, ahSeq);
    this.machine.handle({ type: 'advert', priority: r.advert.priority, src: p.src, advertIntMs: r.advert.advertIntMs, ageMs: packetAgeMs(p.receivedAt) });
  }

  /**
   * Reload with only the addresses (and notify scripts) changed: the instance keeps its state; its
   * adverts and receive checks carry the new list at once and, while MASTER, the addresses that went
   * are removed. Returns the addresses to add once every instance has removed its own
   * (addUpdatedAddresses), so that an address moving between two instances is never deleted last.
   * No VMACs here.
   */
  async updateAddresses(cfg: VrrpInstance, config: KeepalivedConfig): Promise<VirtualAddress[]> {
    const before = this.vips.all();
    this.cfg = cfg;
    this.config = config;
    if (!this.machine) return [];
    this.expectations.addresses = this.vipList();
    if (!this.vipsInstalled || this.state !== 'MASTER') return [];
    return this.vips.replace(before);
  }

  /** Reload, after updateAddresses: add the new addresses (still MASTER) and announce them only. */
  async addUpdatedAddresses(added: VirtualAddress[]): Promise<void> {
    if (!added.length || !this.vipsInstalled || this.state !== 'MASTER') return;
    await this.vips.add(added);
    this.garp.burst(Math.max(1, this.cfg.garpMasterRepeat), added);
  }

  /** Count a dropped advertisement under its reason; the log line is rate-limited per reason. */
  private reject(reason: RejectReason, src: string, detail: string): void {
    if (this.rejects.record(reason, this.clock.now()))
      this.log.warn({ reason, src, count: this.rejects.get(reason) }, `advertisement rejected: ${reason} (${detail})`);
  }

  /** Reload: keepalived carries the AH sequence counter of an instance over to its new configuration. */
  inheritAhCounter(from: InstanceRuntime): void {
    if (this.ah && from.ah) this.ah.counter.inheritSequence(from.ah.counter);
  }

  /** keepalived's sequence-number bookkeeping that depends on the state and the advert's priority. */
  private followAhSequence(priority: number, src: string, seq: number): void {
    const counter = this.ah!.counter;
    if (this.state === 'BACKUP') {
      counter.clearCycle();
      return;
    }
    if (this.state !== 'MASTER' || priority === 0) return;
    const ours = this.machine.priority;
    const srcIsLower = this.primaryAddress !== undefined && compareIp(src, this.primaryAddress) < 0;
    if (priority < ours || (priority === ours && srcIsLower)) counter.syncFromLowerPriority(seq);
    else counter.clearCycle();
  }

  private onAction(a: MachineAction): void {
    switch (a.type) {
      case 'send-advert':
        this.sendAdvert(a.priority);
        return;
      case 'add-vips':
        this.addressesInPlace = this.vips.install().catch((e) => this.log.warn({ err: e }, 'cannot set the VIPs'));
        return;
      case 'remove-vips':
        this.garp.cancel();
        if (this.keepAddresses) {
          this.vips.forget();
          return;
        }
        this.pendingRemoval = this.vips.remove(false);
        return;
      case 'garp':
        this.garp.startMaster(this.addressesInPlace);
        return;
      case 'garp-lower-prio':
        this.garp.afterLowerPriorityAdvert();
        return;
      case 'transition': {
        this.lastTransitionAt = Date.now();
        if (a.to === 'MASTER') this.ah?.counter.onBecomeMaster();
        if (a.to === 'BACKUP' && a.from === 'INIT') this.log.info(`Entering BACKUP STATE (init)`);
        else if (a.to === 'STOP') this.log.info(`Stopped`);
        else this.log.info(`Entering ${a.to} STATE`);
        runNotify(this.cfg.notify, 'INSTANCE', this.cfg.name, a.to, a.priority, this.global, this.log);
        this.hooks.onTransition(this, a.from, a.to, a.reason);
        return;
      }
    }
  }

  private sendAdvert(priority: number): void {
    if (!this.socket || !this.primaryAddress) return;
    const peers = this.cfg.unicastPeers.map((p) => canonicalIp(p.address));
    const dsts = peers.length ? peers : [this.mcastGroup()];
    // AH: one sequence number and IP id per advert round, the ICV computed for each destination
    const ahRound = this.ah ? { seq: this.ah.counter.nextSeq(), ipId: this.ah.counter.nextIpId() } : undefined;
    for (const dst of dsts) {
      let payload: Buffer;
      try {
        payload = encodeAdvert(
          {
            version: this.version,
            vrid: this.expectations.vrid,
            priority,
            family: this.family,
            addresses: this.vipList(),
            advertIntMs: this.cfg.advertInt,
            authPass: this.version === 2 && this.cfg.auth?.type === 'PASS' ? this.cfg.auth.pass : undefined,
            ah: this.ah !== undefined,
          },
          this.primaryAddress,
          dst,
        );
        if (this.ah && ahRound)
          payload = buildAhDatagram({
            src: this.primaryAddress,
            dst,
            ipId: ahRound.ipId,
            seq: ahRound.seq,
            vrrp: payload,
            pass: this.ah.pass,
            unicast: this.unicast,
          });
      } catch (e) {
        this.log.error({ err: e }, `cannot encode advert`);
        return;
      }
      try {
        this.socket.send(payload, dst);
      } catch (e) {
        this.log.warn({ err: e }, `send failed`);
      }
    }
  }

  /** Stop the instance: priority 0 when MASTER; addresses removed unless release is false. */
  async stop(release: boolean): Promise<void> {
    if (this.stopped) return;
    this.keepAddresses = !release;
    this.machine?.handle({ type: 'shutdown' });
    this.stopped = true;
    this.garp.cancel();
    await this.pendingRemoval;
    if (this.sockOpts) await this.pool.release(this.sockOpts, this.expectations.vrid, this.rx).catch(() => undefined);
    // keepalived deletes its VMACs at shutdown unless told not to release (-V)
    await this.vmacs?.remove(release);
  }
}

/** beyond this a receive time is not trusted (a wall clock step, not a wait) */
const MAX_PACKET_AGE_MS = 100;

/**
 * How long ago the kernel received a packet, from its SO_TIMESTAMPNS time: the time it waited
 * for the event loop and its checks. 0 when unknown, or when the wall clock seems to have moved
 * (more than MAX_PACKET_AGE_MS or negative).
 */
export function packetAgeMs(receivedAt: number | undefined, now = performance.timeOrigin + performance.now()): number {
  if (receivedAt === undefined) return 0;
  const age = now - receivedAt;
  return age > 0 && age <= MAX_PACKET_AGE_MS ? age : 0;
}
