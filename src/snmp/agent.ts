// The SNMP subsystem as the daemon sees it: which MIBs to register (settings.ts), the AgentX
// session (subagent.ts), a view of the registered MIBs built from the live engines when the master
// asks (reused for at most VIEW_TTL_MS, dropped at once on any engine event), and the
// notifications keepalived sends on the same engine events.
import type { Logger } from 'pino';
import type { KeepalivedConfig } from '../config/model.js';
import { realServerText, virtualServerText } from '../config/server-text.js';
import type { EngineEvent } from '../engine-api/types.js';
import { compareOid, ERR, int, isPrefix, type Oid, oidValue, str, T, ticks, type VarBind } from './agentx.js';
import { addrBytes, CHECK_OID, checkPart, GLOBAL_OID, globalPart, PROTOCOL_CODE, ROUTER_ID_OID, VRRP_OID, VRRP_STATE, vrrpPart } from './keepalived-mib.js';
import { RFC2787_OID, RFC6527_OID, rfc2787NewMaster, rfc2787Part, rfc6527NewMaster, rfc6527Part } from './rfc-mibs.js';
import { type SnmpSettings, snmpWanted } from './settings.js';
import type { SnmpSources } from './sources.js';
import { AgentxSubagent, parseAgentxAddress } from './subagent.js';
import { MibView } from './view.js';

/** a view is reused for max(VIEW_TTL_MS, VIEW_TTL_FACTOR x the time it took to build) */
export const VIEW_TTL_MS = 250;
export const VIEW_TTL_FACTOR = 10;
const SYS_UPTIME_OID: Oid = [1, 3, 6, 1, 2, 1, 1, 3, 0];
const SNMP_TRAP_OID: Oid = [1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0];

export interface SnmpAgentOptions {
  /** ms; the subagent's reconnect backoff (tests shorten it) */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  pingIntervalMs?: number;
}

export class SnmpAgent {
  private subagent?: AgentxSubagent;
  /** views by registered subtree ('all' for a request that spans several) */
  private cached = new Map<string, { view: MibView; at: number; ttl: number }>();
  private readonly log: Logger;

  constructor(
    private settings: SnmpSettings,
    private readonly sources: SnmpSources,
    logger: Logger,
    private readonly opts: SnmpAgentOptions = {},
  ) {
    this.log = logger;
  }

  get connected(): boolean {
    return this.subagent?.connected ?? false;
  }

  get stats() {
    return this.subagent?.stats;
  }

  /** The subtrees registered with the master: keepalived's, each behind its switch. */
  subtrees(): Oid[] {
    const s = this.settings;
    const out: Oid[] = [];
    if (s.vrrp || s.checker) out.push(GLOBAL_OID);
    if (s.vrrp) out.push(VRRP_OID);
    if (s.checker) out.push(CHECK_OID);
    if (s.rfcv2) out.push(RFC2787_OID);
    if (s.rfcv3) out.push(RFC6527_OID);
    return out;
  }

  start(): void {
    if (!snmpWanted(this.settings)) return;
    const address = parseAgentxAddress(this.settings.socket);
    this.subagent = new AgentxSubagent({
      address,
      subtrees: this.subtrees(),
      view: (starts) => this.viewFor(starts),
      logger: this.log,
      descr: 'tskeepalived SNMP subagent (KEEPALIVED-MIB, VRRP-MIB, VRRPv3-MIB)',
      backoffMinMs: this.opts.backoffMinMs,
      backoffMaxMs: this.opts.backoffMaxMs,
      pingIntervalMs: this.opts.pingIntervalMs,
      set: { test: (vbs) => this.testSet(vbs) },
    });
    this.subagent.start();
    this.log.info({ socket: this.settings.socket ?? 'default', subtrees: this.subtrees().map((o) => o.join('.')) }, 'SNMP subagent starting');
  }

  async stop(): Promise<void> {
    const s = this.subagent;
    this.subagent = undefined;
    await s?.stop();
  }

  /** A reload: same socket and MIBs keep the session; otherwise a new session registers the new set. */
  async reload(settings: SnmpSettings): Promise<void> {
    const same = JSON.stringify(settings) === JSON.stringify(this.settings);
    this.settings = settings;
    this.cached.clear();
    if (same && this.subagent) return;
    await this.stop();
    this.start();
  }

  /** One registered subtree's objects, from the live engines. */
  private part(subtree: Oid): VarBind[] {
    const s = this.settings;
    const key = subtree.join('.');
    if (key === GLOBAL_OID.join('.')) return globalPart(this.sources, s.traps);
    if (key === VRRP_OID.join('.')) return vrrpPart(this.sources);
    if (key === CHECK_OID.join('.')) return checkPart(this.sources);
    if (key === RFC2787_OID.join('.')) return rfc2787Part(this.sources, s.traps);
    if (key === RFC6527_OID.join('.')) return rfc6527Part(this.sources);
    return [];
  }

  /** The registered subtree an OID falls in or, before it, the next one (the master's ranges stay inside one). */
  private subtreeOf(oid: Oid): Oid | undefined {
    const list = this.subtrees().sort(compareOid);
    return list.find((t) => isPrefix(t, oid)) ?? list.find((t) => compareOid(t, oid) > 0);
  }

  /**
   * The view a request is answered from: the one subtree its ranges fall in (or all registered
   * MIBs when they span several), cached for max(VIEW_TTL_MS, VIEW_TTL_FACTOR x its build time) so
   * building stays a small share of a long walk; any engine event drops the cache.
   */
  viewFor(starts: Oid[]): MibView {
    const trees = new Set(starts.map((o) => this.subtreeOf(o)?.join('.') ?? 'none'));
    const one = trees.size === 1 ? starts.map((o) => this.subtreeOf(o))[0] : undefined;
    const key = one ? one.join('.') : 'all';
    const now = Date.now();
    const hit = this.cached.get(key);
    if (hit && now - hit.at < hit.ttl) return hit.view;
    const t0 = performance.now();
    const view = new MibView(one ? this.part(one) : this.subtrees().flatMap((t) => this.part(t)));
    const ttl = Math.max(VIEW_TTL_MS, VIEW_TTL_FACTOR * (performance.now() - t0));
    this.cached.set(key, { view, at: now, ttl });
    return view;
  }

  /** All registered MIBs' objects, from the live engines. */
  view(): MibView {
    return this.viewFor([]);
  }

  /**
   * keepalived's one writable object: realServerWeight (check 4 column 7), with the checker MIB on.
   * Everything else that exists is notWritable; a weight must be an INTEGER 0..65535.
   */
  testSet(vbs: VarBind[]): { error: number; index: number; commit: () => boolean; undo: () => boolean } {
    const plan: { vs: string; rs: string; weight: number; before: number }[] = [];
    const config = this.sources.config();
    const live = this.sources.checkers();
    for (let i = 0; i < vbs.length; i++) {
      const vb = vbs[i];
      const col = [...CHECK_OID, 4, 1, 7];
      const fail = (error: number) => ({ error, index: i + 1, commit: () => false, undo: () => false });
      const isWeight = this.settings.checker && vb.oid.length === col.length + 2 && col.every((n, k) => vb.oid[k] === n);
      if (!isWeight || !this.sources.setRealServerWeight) return fail(ERR.notWritable);
      const vs = config.virtualServers[vb.oid[col.length] - 1];
      const rs = vs?.realServers[vb.oid[col.length + 1] - 1];
      const now = live?.virtualServers[vb.oid[col.length] - 1]?.realServers[vb.oid[col.length + 1] - 1];
      if (!vs || !rs || !now) return fail(ERR.notWritable);
      if (vb.value.type !== T.integer) return fail(ERR.wrongType);
      if (vb.value.value < 0 || vb.value.value > 65535) return fail(ERR.wrongValue);
      plan.push({ vs: virtualServerText(vs), rs: realServerText(rs, vs), weight: vb.value.value, before: now.weight });
    }
    const apply = (pick: (p: (typeof plan)[number]) => number) => {
      this.cached.clear();
      return plan.every((p) => this.sources.setRealServerWeight?.(p.vs, p.rs, pick(p)) ?? false);
    };
    return { error: ERR.none, index: 0, commit: () => apply((p) => p.weight), undo: () => apply((p) => p.before) };
  }

  /** Engine events: drop the cached view; with enable_traps, send keepalived's notifications. */
  onEvent(ev: EngineEvent): void {
    this.cached.clear();
    if (!this.settings.traps || !this.subagent) return;
    for (const n of this.notificationsFor(ev)) this.send(n.trap, n.varbinds);
  }

  notificationsFor(ev: EngineEvent): { trap: Oid; varbinds: VarBind[] }[] {
    const s = this.settings;
    const config = this.sources.config();
    const routerId: VarBind = { oid: ROUTER_ID_OID, value: str(config.global.routerId) };
    const out: { trap: Oid; varbinds: VarBind[] }[] = [];
    switch (ev.kind) {
      case 'vrrp-instance': {
        if (!s.vrrp && !s.rfcv2 && !s.rfcv3) break;
        if (ev.state === 'DELETED') break;
        const cfg = config.vrrpInstances.find((i) => i.name === ev.name);
        if (s.vrrp)
          out.push({
            trap: [...VRRP_OID, 10, 0, 2],
            varbinds: [
              { oid: [...VRRP_OID, 3, 1, 2], value: str(ev.name) },
              { oid: [...VRRP_OID, 3, 1, 4], value: int(VRRP_STATE[ev.state] ?? 4) },
              { oid: [...VRRP_OID, 3, 1, 5], value: int(cfg?.state === 'MASTER' ? 2 : 1) },
              routerId,
            ],
          });
        if (ev.state === 'MASTER') {
          const v2 = s.rfcv2 ? rfc2787NewMaster(this.sources, ev.name) : undefined;
          if (v2) out.push(v2);
          const v3 = s.rfcv3 ? rfc6527NewMaster(this.sources, ev.name) : undefined;
          if (v3) out.push(v3);
        }
        break;
      }
      case 'vrrp-group':
        if (!s.vrrp) break;
        out.push({
          trap: [...VRRP_OID, 10, 0, 1],
          varbinds: [{ oid: [...VRRP_OID, 1, 1, 2], value: str(ev.name) }, { oid: [...VRRP_OID, 1, 1, 3], value: int(VRRP_STATE[ev.state] ?? 4) }, routerId],
        });
        break;
      case 'real-server': {
        if (!s.checker) break;
        const vs = config.virtualServers.find((v) => virtualServerText(v) === ev.virtualServer);
        const rs = vs?.realServers.find((r) => realServerText(r, vs) === ev.realServer);
        if (!vs || !rs) break;
        const counts = this.realServerCounts(ev.virtualServer);
        out.push({
          trap: [...CHECK_OID, 5, 0, 1],
          varbinds: [
            { oid: [...CHECK_OID, 4, 1, 3], value: int(rs.family === 6 ? 2 : 1) },
            { oid: [...CHECK_OID, 4, 1, 4], value: str(addrBytes(rs.address, rs.family)) },
            { oid: [...CHECK_OID, 4, 1, 5], value: { type: 66, value: rs.port } },
            { oid: [...CHECK_OID, 4, 1, 6], value: int(ev.up ? 1 : 2) },
            ...this.vsTrapObjects(vs),
            { oid: [...CHECK_OID, 3, 1, 21], value: { type: 66, value: counts.up } },
            { oid: [...CHECK_OID, 3, 1, 20], value: { type: 66, value: counts.total } },
            routerId,
          ],
        });
        break;
      }
      case 'virtual-server-quorum': {
        if (!s.checker) break;
        const vs = config.virtualServers.find((v) => virtualServerText(v) === ev.virtualServer);
        if (!vs) break;
        const counts = this.realServerCounts(ev.virtualServer);
        out.push({
          trap: [...CHECK_OID, 5, 0, 2],
          varbinds: [
            ...this.vsTrapObjects(vs),
            { oid: [...CHECK_OID, 3, 1, 23], value: int(ev.up ? 1 : 2) },
            { oid: [...CHECK_OID, 3, 1, 22], value: { type: 66, value: ev.quorum } },
            { oid: [...CHECK_OID, 3, 1, 21], value: { type: 66, value: counts.up } },
            { oid: [...CHECK_OID, 3, 1, 20], value: { type: 66, value: counts.total } },
            routerId,
          ],
        });
        break;
      }
    }
    return out;
  }

  private vsTrapObjects(vs: KeepalivedConfig['virtualServers'][number]): VarBind[] {
    const k = vs.key;
    return [
      { oid: [...CHECK_OID, 3, 1, 2], value: int(k.kind === 'fwmark' ? 1 : k.kind === 'addr' ? 2 : 3) },
      { oid: [...CHECK_OID, 3, 1, 8], value: int(PROTOCOL_CODE[vs.protocol] ?? 4) },
    ];
  }

  private realServerCounts(vsText: string): { up: number; total: number } {
    const v = this.sources.checkers()?.virtualServers.find((x) => x.virtualServer === vsText);
    return { up: v?.realServers.filter((r) => r.alive).length ?? 0, total: v?.realServers.length ?? 0 };
  }

  private send(trap: Oid, varbinds: VarBind[]): void {
    const up = this.subagent?.uptime() ?? 0;
    this.subagent?.notify([{ oid: SYS_UPTIME_OID, value: ticks(up) }, { oid: SNMP_TRAP_OID, value: oidValue(trap) }, ...varbinds]);
  }
}
