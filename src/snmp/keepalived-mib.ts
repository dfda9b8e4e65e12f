// KEEPALIVED-MIB (1.3.6.1.4.1.9586.100.5): the global part, the VRRP part (sync groups, their
// members, instances, addresses) and the checker part (virtual and real servers), with
// keepalived 2.2.7's index schemes, types and values as its subagent answers them (measured with
// snmpwalk against keepalived 2.2.7 under snmpd; see test/snmp-walk.test.ts). Built from the
// running config and the engines' live snapshots each time the subagent asks for a view.
import type { KeepalivedConfig, VrrpInstance } from '../config/model.js';
import { parseIP } from '../util/inet.js';
import { gauge, int, type Oid, str, type Value, type VarBind } from './agentx.js';
import type { SnmpSources, VrrpInstanceSnap } from './sources.js';
import { VERSION } from '../util/version.js';

export const KEEPALIVED_OID: Oid = [1, 3, 6, 1, 4, 1, 9586, 100, 5];
export const GLOBAL_OID: Oid = [...KEEPALIVED_OID, 1];
export const VRRP_OID: Oid = [...KEEPALIVED_OID, 2];
export const CHECK_OID: Oid = [...KEEPALIVED_OID, 3];
export const ROUTER_ID_OID: Oid = [...GLOBAL_OID, 2, 0];
export const VERSION_TEXT = `tskeepalived v${VERSION}`;

/** VrrpState of KEEPALIVED-MIB */
export const VRRP_STATE: Record<string, number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3, STOP: 5, DELETED: 6 };

const onOffUnset = (v: boolean | undefined) => (v === undefined ? 3 : v ? 1 : 2);
const enabled = (v: boolean | undefined) => (v ? 1 : 2);

/** InetAddressType of an address text: ipv4(1), ipv6(2) */
export function inetType(address: string): number {
  return address.includes(':') ? 2 : 1;
}

export function addrBytes(address: string | undefined, family: 4 | 6 = 4): Buffer {
  if (!address) return Buffer.alloc(family === 6 ? 16 : 4);
  try {
    return parseIP(address);
  } catch {
    return Buffer.alloc(family === 6 ? 16 : 4);
  }
}

function hasRaw(config: KeepalivedConfig, k: string): boolean {
  return (config.global.raw ?? []).some((r) => r.keyword === k);
}

export function globalPart(src: SnmpSources, traps: boolean): VarBind[] {
  const c = src.config();
  const g = c.global;
  const o = (sub: number[], value: Value): VarBind => ({ oid: [...GLOBAL_OID, ...sub], value });
  const out: VarBind[] = [o([1, 0], str(VERSION_TEXT)), o([2, 0], str(g.routerId))];
  const smtp = g.smtpServer;
  const smtpIsIp = smtp ? /^[0-9.]+$|:/.test(smtp.host) : false;
  out.push(o([3, 1, 0], int(smtp && smtpIsIp ? inetType(smtp.host) : 2)), o([3, 2, 0], str(addrBytes(smtp && smtpIsIp ? smtp.host : undefined))));
  out.push(o([3, 3, 0], gauge(smtp ? Math.round(g.smtpConnectTimeout / 1000) : 0)));
  if (g.notificationEmailFrom) out.push(o([3, 4, 0], str(g.notificationEmailFrom)));
  g.notificationEmail.forEach((e, i) => {
    out.push(o([3, 5, 1, 2, i + 1], str(e)));
  });
  out.push(
    o([3, 6, 0], gauge(smtp ? smtp.port : 0)),
    o([3, 7, 0], int(hasRaw(c, 'no_email_faults') ? 2 : 1)),
    o([3, 8, 0], int(onOffUnset(g.smtpAlert))),
    o([3, 9, 0], int(onOffUnset(g.smtpAlertVrrp))),
    o([3, 10, 0], int(onOffUnset(g.smtpAlertChecker))),
    o([4, 0], int(enabled(traps))),
    o([5, 0], int(1)),
    o([6, 0], int(enabled(g.lvsFlush))),
    o([7, 0], int(1)),
    o([8, 0], str('')),
    o([9, 0], int(2)),
    o([10, 0], int(g.dynamicInterfaces ? 1 : 2)),
    o([11, 0], int(hasRaw(c, 'lvs_flush_onstop') || hasRaw(c, 'lvs_flush_on_stop') ? 1 : 2)),
  );
  return out;
}

/** Instances in keepalived's order (the config's) with their 1-based index and live snapshot. */
export function indexedInstances(src: SnmpSources): { index: number; cfg: VrrpInstance; snap: VrrpInstanceSnap }[] {
  const live = new Map((src.vrrp()?.instances ?? []).map((s) => [s.name, s]));
  const out: { index: number; cfg: VrrpInstance; snap: VrrpInstanceSnap }[] = [];
  src.config().vrrpInstances.forEach((cfg, i) => {
    const snap = live.get(cfg.name);
    if (snap) out.push({ index: i + 1, cfg, snap });
  });
  return out;
}

function scopeCode(scope: string | undefined): number {
  switch (scope) {
    case 'host':
      return 1;
    case 'link':
      return 2;
    case 'site':
      return 5;
    default:
      return 14;
  }
}

/** The advert interval as keepalived shows it: seconds for VRRPv2, centiseconds for VRRPv3. */
export function advertIntUnits(cfg: VrrpInstance): number {
  return cfg.version === 3 ? Math.round(cfg.advertInt / 10) : Math.round(cfg.advertInt / 1000);
}

export function vrrpPart(src: SnmpSources): VarBind[] {
  const c = src.config();
  const snap = src.vrrp();
  if (!snap) return [];
  const out: VarBind[] = [];
  const o = (sub: number[], value: Value) => out.push({ oid: [...VRRP_OID, ...sub], value });
  const instances = indexedInstances(src);
  const byName = new Map(instances.map((x) => [x.cfg.name, x]));
  const groupState = new Map(snap.syncGroups.map((g) => [g.name, g.state]));
  // vrrpSyncGroupTable (vrrp 1) and vrrpSyncGroupMemberTable (vrrp 2)
  c.syncGroups.forEach((g, gi) => {
    const idx = gi + 1;
    o([1, 1, 2, idx], str(g.name));
    o([1, 1, 3, idx], int(VRRP_STATE[groupState.get(g.name) ?? 'INIT'] ?? 0));
    o([1, 1, 4, idx], int(enabled(g.smtpAlert)));
    o([1, 1, 5, idx], int(enabled(Object.values(g.notify).some(Boolean))));
    if (g.notify.master) o([1, 1, 6, idx], str(g.notify.master.command));
    if (g.notify.backup) o([1, 1, 7, idx], str(g.notify.backup.command));
    if (g.notify.fault) o([1, 1, 8, idx], str(g.notify.fault.command));
    if (g.notify.notify) o([1, 1, 9, idx], str(g.notify.notify.command));
    o([1, 1, 10, idx], int(enabled(g.syncGroupTrackingWeight)));
    if (g.notify.stop) o([1, 1, 11, idx], str(g.notify.stop.command));
    g.members.forEach((m, mi) => {
      if (byName.has(m)) o([2, 1, 2, idx, mi + 1], str(m));
    });
  });
  // vrrpInstanceTable (vrrp 3)
  for (const { index: i, cfg, snap: s } of instances) {
    const state = VRRP_STATE[s.state] ?? 4;
    const initial = cfg.state === 'MASTER' ? 2 : 1;
    o([3, 1, 2, i], str(cfg.name));
    o([3, 1, 3, i], gauge(cfg.virtualRouterId ?? 0));
    o([3, 1, 4, i], int(state));
    o([3, 1, 5, i], int(initial));
    o([3, 1, 6, i], int(s.state === 'MASTER' ? 2 : s.state === 'BACKUP' ? 1 : initial));
    o([3, 1, 7, i], int(cfg.priority));
    o([3, 1, 8, i], int(s.effectivePriority));
    o([3, 1, 9, i], int(s.state === 'MASTER' && s.vipsInstalled !== false ? 1 : 2));
    o([3, 1, 10, i], str(cfg.interface ?? s.interface ?? ''));
    // vrrpInstanceTrackPrimaryIf as keepalived 2.2.7 answers it: tracked(1) when the instance tracks
    // an interface other than its own (its own one in track_interface is ignored), else notTracked(2)
    o([3, 1, 11, i], int(cfg.trackInterface.some((t) => t.name !== cfg.interface) ? 1 : 2));
    o([3, 1, 12, i], gauge(advertIntUnits(cfg)));
    o([3, 1, 13, i], int(cfg.nopreempt ? 2 : 1));
    o([3, 1, 14, i], gauge(Math.round(cfg.preemptDelay / 1000)));
    o([3, 1, 15, i], int(cfg.auth ? (cfg.auth.type === 'PASS' ? 1 : 2) : 0));
    o([3, 1, 16, i], int(cfg.lvsSyncDaemonInterface ? 1 : 2));
    if (cfg.lvsSyncDaemonInterface) o([3, 1, 17, i], str(cfg.lvsSyncDaemonInterface));
    if (s.syncGroup) o([3, 1, 18, i], str(s.syncGroup));
    o([3, 1, 19, i], gauge(Math.round(cfg.garpMasterDelay / 1000)));
    o([3, 1, 20, i], int(enabled(cfg.smtpAlert)));
    o([3, 1, 21, i], int(enabled(Object.values(cfg.notify).some(Boolean))));
    if (cfg.notify.master) o([3, 1, 22, i], str(cfg.notify.master.command));
    if (cfg.notify.backup) o([3, 1, 23, i], str(cfg.notify.backup.command));
    if (cfg.notify.fault) o([3, 1, 24, i], str(cfg.notify.fault.command));
    if (cfg.notify.stop) o([3, 1, 25, i], str(cfg.notify.stop.command));
    if (cfg.notify.notify) o([3, 1, 26, i], str(cfg.notify.notify.command));
    o([3, 1, 27, i], int(cfg.version === 3 ? (cfg.accept !== false ? 1 : 2) : 0));
    o([3, 1, 28, i], int(cfg.promoteSecondaries ? 1 : 2));
    o([3, 1, 29, i], int(2));
    o([3, 1, 30, i], int(cfg.version));
    if (cfg.notify.masterRxLowerPri) o([3, 1, 31, i], str(cfg.notify.masterRxLowerPri.command));
    if (cfg.notify.deleted) o([3, 1, 32, i], str(cfg.notify.deleted.command));
    o([3, 1, 33, i], int(cfg.notify.deleted ? 1 : 2));
    const mcast = cfg.unicastPeers.length ? undefined : (cfg.mcastDstIp ?? (cfg.family === 6 ? c.global.vrrpMcastGroup6 : c.global.vrrpMcastGroup4));
    if (mcast) {
      o([3, 1, 34, i], int(inetType(mcast)));
      o([3, 1, 35, i], str(addrBytes(mcast)));
    }
  }
  // vrrpTrackedInterfaceTable (vrrp 4): per instance, its track_interface entries but its own
  // interface (keepalived ignores that one); weights read 0 in a sync group, as for scripts
  const groupOfIf = new Map(c.syncGroups.flatMap((g) => g.members.map((m) => [m, g] as const)));
  for (const { index: i, cfg } of instances) {
    const g = groupOfIf.get(cfg.name);
    const weightless = g !== undefined && !g.syncGroupTrackingWeight;
    cfg.trackInterface
      .filter((t) => t.name !== cfg.interface)
      .forEach((t, j) => {
        o([4, 1, 1, i, j + 1], str(t.name));
        o([4, 1, 2, i, j + 1], int(weightless ? 0 : (t.weight ?? 0)));
        o([4, 1, 3, i, j + 1], int(t.reverse ? 1 : 2));
      });
  }
  // vrrpTrackedScriptTable (vrrp 5): per instance, its track_script entries; in a sync group
  // without sync_group_tracking_weight keepalived ignores the weights (shows 0)
  const groupOf = new Map(c.syncGroups.flatMap((g) => g.members.map((m) => [m, g] as const)));
  const scriptDefs = new Map(c.vrrpScripts.map((sc) => [sc.name, sc]));
  for (const { index: i, cfg } of instances) {
    const g = groupOf.get(cfg.name);
    const weightless = g !== undefined && !g.syncGroupTrackingWeight;
    cfg.trackScript.forEach((t, j) => {
      const def = scriptDefs.get(t.name);
      if (!def) return;
      o([5, 1, 2, i, j + 1], str(t.name));
      o([5, 1, 3, i, j + 1], int(weightless ? 0 : (t.weight ?? def.weight)));
      o([5, 1, 4, i, j + 1], int(t.reverse || def.weightReverse ? 1 : 2));
    });
  }
  // vrrpAddressTable (vrrp 6): the virtual addresses, then the excluded ones
  const links = new Map<string, { index: number; mac: string } | undefined>();
  const link = (name: string) => {
    if (!links.has(name)) links.set(name, src.link(name));
    return links.get(name);
  };
  let running = 0;
  for (const { index: i, cfg, snap: s } of instances) {
    const set = s.state === 'MASTER' && s.vipsInstalled !== false;
    const all = [...cfg.virtualIpaddress.map((v) => ({ v, adv: 1 })), ...cfg.virtualIpaddressExcluded.map((v) => ({ v, adv: 2 }))];
    all.forEach(({ v, adv }, ai) => {
      const a = ai + 1;
      const fam = v.prefix.family === 6 ? 6 : 4;
      const dev = v.dev ?? cfg.interface ?? '';
      o([6, 1, 2, i, a], int(fam === 6 ? 2 : 1));
      o([6, 1, 3, i, a], str(addrBytes(v.prefix.address, fam)));
      if (fam === 4) o([6, 1, 4, i, a], str(addrBytes(v.brd, 4)));
      o([6, 1, 5, i, a], gauge(v.prefix.prefixLen));
      o([6, 1, 6, i, a], int(scopeCode(v.scope)));
      o([6, 1, 7, i, a], int(link(dev)?.index ?? 0));
      o([6, 1, 8, i, a], str(dev));
      if (v.label) o([6, 1, 9, i, a], str(v.label));
      o([6, 1, 10, i, a], int(set ? 1 : 2));
      // keepalived 2.2.7 numbers the address rows across instances when it decides this column:
      // a row is "advertised" when that running number is within this instance's VIP count
      running++;
      o([6, 1, 11, i, a], int(adv === 1 && running <= cfg.virtualIpaddress.length ? 1 : 2));
    });
  }
  // vrrpTrackedFileTable (vrrp 12): per instance, its track_file entries (weights 0 in a sync group)
  const fileDefs = new Map(c.trackFiles.map((f) => [f.name, f]));
  for (const { index: i, cfg } of instances) {
    const g = groupOf.get(cfg.name);
    const weightless = g !== undefined && !g.syncGroupTrackingWeight;
    cfg.trackFile.forEach((t, j) => {
      const def = fileDefs.get(t.name);
      if (!def) return;
      o([12, 1, 2, i, j + 1], str(t.name));
      o([12, 1, 3, i, j + 1], int(weightless ? 0 : (t.weight ?? def.weight)));
      o([12, 1, 4, i, j + 1], int(t.reverse || def.weightReverse ? 1 : 2));
    });
  }
  // vrrpFileTable (vrrp 13): the track_files that are read, in config order, with their value
  const fileValues = new Map((snap.files ?? []).map((x) => [x.name, x.value]));
  let fi = 0;
  for (const f of c.trackFiles) {
    if (!fileValues.has(f.name)) continue;
    fi++;
    o([13, 1, 2, fi], str(f.name));
    o([13, 1, 3, fi], str(f.file ?? ''));
    o([13, 1, 4, fi], int(fileValues.get(f.name) ?? 0));
    o([13, 1, 5, fi], int(f.weight));
    o([13, 1, 6, fi], int(f.weightReverse ? 1 : 2));
  }
  // vrrpScriptTable (vrrp 9): the vrrp_scripts that run, in config order
  const live = new Map((snap.scripts ?? []).map((x) => [x.name, x.ok]));
  let si = 0;
  for (const sc of c.vrrpScripts) {
    if (!live.has(sc.name)) continue;
    si++;
    o([9, 1, 2, si], str(sc.name));
    o([9, 1, 3, si], str((sc.script?.argv ?? []).map((w) => `'${w}'`).join(' ')));
    o([9, 1, 4, si], int(Math.round(sc.interval / 1000)));
    o([9, 1, 5, si], int(sc.weight));
    o([9, 1, 6, si], int(live.get(sc.name) ? 3 : 2));
    o([9, 1, 7, si], gauge(sc.rise));
    o([9, 1, 8, si], gauge(sc.fall));
    o([9, 1, 9, si], int(sc.weightReverse ? 1 : 2));
  }
  return out;
}

// ---------------------------------------------------------------- check part

export const PROTOCOL_CODE: Record<string, number> = { TCP: 1, UDP: 2, SCTP: 3 };
const LB_ALGO: Record<string, number> = { rr: 1, wrr: 2, lc: 3, wlc: 4, lblc: 5, lblcr: 6, dh: 7, sh: 8, sed: 9, nq: 10, fo: 11, ovf: 12, mh: 13 };
const LB_KIND: Record<string, number> = { NAT: 1, DR: 2, TUN: 3 };

/** virtualServerTable (check 3) and realServerTable (check 4): VS in config order, RS within it. */
export function checkPart(src: SnmpSources): VarBind[] {
  const c = src.config();
  const snap = src.checkers();
  if (!snap) return [];
  const out: VarBind[] = [];
  const o = (sub: number[], value: Value) => out.push({ oid: [...CHECK_OID, ...sub], value });
  c.virtualServers.forEach((vs, vi) => {
    const v = snap.virtualServers[vi];
    if (!v) return;
    const i = vi + 1;
    const up = v.realServers.filter((r) => r.alive).length;
    const k = vs.key;
    o([3, 1, 2, i], int(k.kind === 'fwmark' ? 1 : k.kind === 'addr' ? 2 : 3));
    if (k.kind === 'group') o([3, 1, 3, i], str(k.group));
    if (k.kind === 'fwmark') o([3, 1, 4, i], gauge(k.fwmark));
    if (k.kind === 'addr') {
      o([3, 1, 5, i], int(k.family === 6 ? 2 : 1));
      o([3, 1, 6, i], str(addrBytes(k.address, k.family)));
      o([3, 1, 7, i], gauge(k.port));
    }
    o([3, 1, 8, i], int(PROTOCOL_CODE[vs.protocol] ?? 4));
    o([3, 1, 9, i], int(LB_ALGO[vs.lbAlgo] ?? 1));
    o([3, 1, 10, i], int(LB_KIND[vs.lbKind] ?? 1));
    o([3, 1, 11, i], int(v.quorumUp ? 1 : 2));
    if (vs.virtualhost) o([3, 1, 12, i], str(vs.virtualhost));
    o([3, 1, 13, i], int(vs.persistenceTimeout ? 1 : 2));
    if (vs.persistenceTimeout) o([3, 1, 14, i], gauge(vs.persistenceTimeout));
    o([3, 1, 16, i], gauge(Math.round(vs.delayLoop / 1000)));
    o([3, 1, 18, i], int(enabled(vs.alpha)));
    o([3, 1, 19, i], int(enabled(vs.omega)));
    o([3, 1, 20, i], gauge(v.realServers.length));
    o([3, 1, 21, i], gauge(up));
    o([3, 1, 22, i], gauge(vs.quorum));
    o([3, 1, 23, i], int(v.quorumUp ? 1 : 2));
    if (vs.quorumUp) o([3, 1, 24, i], str(vs.quorumUp.command));
    if (vs.quorumDown) o([3, 1, 25, i], str(vs.quorumDown.command));
    o([3, 1, 26, i], gauge(vs.hysteresis));
    vs.realServers.forEach((rs, ri) => {
      const r = v.realServers[ri];
      if (!r) return;
      const j = ri + 1;
      o([4, 1, 2, i, j], int(1));
      o([4, 1, 3, i, j], int(rs.family === 6 ? 2 : 1));
      o([4, 1, 4, i, j], str(addrBytes(rs.address, rs.family)));
      o([4, 1, 5, i, j], gauge(rs.port));
      o([4, 1, 6, i, j], int(r.alive ? 1 : 2));
      o([4, 1, 7, i, j], int(r.weight));
      o([4, 1, 8, i, j], gauge(rs.uthreshold ?? 0));
      o([4, 1, 9, i, j], gauge(rs.lthreshold ?? 0));
      o([4, 1, 10, i, j], int(rs.inhibitOnFailure ? 2 : 1));
      if (rs.notifyUp) o([4, 1, 11, i, j], str(rs.notifyUp.command));
      if (rs.notifyDown) o([4, 1, 12, i, j], str(rs.notifyDown.command));
      o([4, 1, 13, i, j], gauge(r.checkers.filter((x) => !x.up).length));
    });
  });
  return out;
}
