// VRRP-MIB (RFC 2787, 1.3.6.1.2.1.68: VRRPv2 IPv4 instances) and VRRPv3-MIB (RFC 6527,
// 1.3.6.1.2.1.207: every instance), indexed by (ifIndex, VRID[, IP version]) as keepalived 2.2.7
// answers them, with the notifications for a new master.
import type { VrrpInstance } from '../config/model.js';
import { counter, counter64, gauge, int, ipv4, type Oid, str, ticks, type Value, type VarBind } from './agentx.js';
import { addrBytes, indexedInstances } from './keepalived-mib.js';
import type { SnmpSources, VrrpInstanceSnap } from './sources.js';

export const RFC2787_OID: Oid = [1, 3, 6, 1, 2, 1, 68];
export const RFC6527_OID: Oid = [1, 3, 6, 1, 2, 1, 207];

/** VrrpOperState / Vrrpv3OperationsStatus: initialize(1), backup(2), master(3) */
function operState(s: string): number {
  return s === 'MASTER' ? 3 : s === 'BACKUP' ? 2 : 1;
}

function vmacBytes(cfg: VrrpInstance, link: { mac: string } | undefined): Buffer {
  if (cfg.useVmac) {
    const b = Buffer.from([0, 0, 0x5e, 0, cfg.family === 6 ? 2 : 1, cfg.virtualRouterId ?? 0]);
    return b;
  }
  const hex = (link?.mac ?? '').split(':').filter(Boolean);
  return hex.length === 6 ? Buffer.from(hex.map((h) => Number.parseInt(h, 16))) : Buffer.alloc(6);
}

function rejects(s: VrrpInstanceSnap, ...keys: string[]): number {
  return keys.reduce((n, k) => n + (s.rejects?.[k] ?? 0), 0);
}

function rows(src: SnmpSources) {
  const links = new Map<string, { index: number; mac: string } | undefined>();
  return indexedInstances(src).map((x) => {
    const name = x.cfg.interface ?? x.snap.interface ?? '';
    if (!links.has(name)) links.set(name, src.link(name));
    const link = links.get(name);
    const sinceStart = x.snap.lastTransition ? (Date.parse(x.snap.lastTransition) - src.startedAt) / 10 : 0;
    return { ...x, link, ifIndex: link?.index ?? 0, vrid: x.cfg.virtualRouterId ?? 0, upTime: sinceStart };
  });
}

export function rfc2787Part(src: SnmpSources, traps: boolean): VarBind[] {
  const out: VarBind[] = [];
  const o = (sub: number[], value: Value) => out.push({ oid: [...RFC2787_OID, ...sub], value });
  o([1, 1, 0], int(2));
  o([1, 2, 0], int(traps ? 1 : 2));
  const v2 = rows(src).filter((r) => r.cfg.version === 2 && r.cfg.family !== 6);
  for (const r of v2) {
    const { cfg, snap: s } = r;
    const ix = [r.ifIndex, r.vrid];
    o([1, 3, 1, 2, ...ix], str(vmacBytes(cfg, r.link)));
    o([1, 3, 1, 3, ...ix], int(operState(s.state)));
    o([1, 3, 1, 4, ...ix], int(1));
    o([1, 3, 1, 5, ...ix], int(s.effectivePriority));
    o([1, 3, 1, 6, ...ix], int(cfg.virtualIpaddress.length));
    o([1, 3, 1, 7, ...ix], ipv4(addrBytes(s.state === 'MASTER' ? undefined : s.masterAddress)));
    o([1, 3, 1, 8, ...ix], ipv4(addrBytes(s.primaryAddress)));
    o([1, 3, 1, 9, ...ix], int(cfg.auth ? (cfg.auth.type === 'PASS' ? 2 : 3) : 1));
    o([1, 3, 1, 11, ...ix], int(Math.round(cfg.advertInt / 1000)));
    o([1, 3, 1, 12, ...ix], int(cfg.nopreempt ? 2 : 1));
    o([1, 3, 1, 13, ...ix], ticks(r.upTime));
    o([1, 3, 1, 14, ...ix], int(1));
    o([1, 3, 1, 15, ...ix], int(1));
    for (const v of cfg.virtualIpaddress) if (v.prefix.family !== 6) o([1, 4, 1, 2, ...ix, ...addrBytes(v.prefix.address)], int(1));
  }
  const sum = (...k: string[]) => v2.reduce((n, r) => n + rejects(r.snap, ...k), 0);
  o([2, 1, 0], counter(sum('bad-checksum')));
  o([2, 2, 0], counter(sum('bad-version')));
  o([2, 3, 0], counter(sum('wrong-vrid')));
  for (const r of v2) {
    const s = r.snap;
    const st = s.stats;
    const ix = [r.ifIndex, r.vrid];
    const c = (col: number, n: number) => o([2, 4, 1, col, ...ix], counter(n));
    c(1, st?.becameMaster ?? 0);
    c(2, st?.advertsReceived ?? 0);
    c(3, rejects(s, 'interval-mismatch'));
    c(4, rejects(s, 'auth-pass-mismatch', 'auth-failure', 'ah-sequence'));
    c(5, rejects(s, 'ttl'));
    c(6, st?.priorityZeroReceived ?? 0);
    c(7, st?.priorityZeroSent ?? 0);
    c(8, rejects(s, 'bad-type'));
    c(9, rejects(s, 'address-mismatch'));
    c(10, rejects(s, 'auth-type-mismatch'));
    c(11, rejects(s, 'auth-type-mismatch'));
    c(12, rejects(s, 'too-short', 'length-mismatch'));
  }
  return out;
}

export function rfc6527Part(src: SnmpSources): VarBind[] {
  const out: VarBind[] = [];
  const o = (sub: number[], value: Value) => out.push({ oid: [...RFC6527_OID, ...sub], value });
  const all = rows(src);
  for (const r of all) {
    const { cfg, snap: s } = r;
    const fam = cfg.family === 6 ? 6 : 4;
    const ix = [r.ifIndex, r.vrid, fam === 6 ? 2 : 1];
    const master = s.state === 'MASTER' ? s.primaryAddress : s.masterAddress;
    o([1, 1, 1, 1, 3, ...ix], str(addrBytes(master, fam)));
    o([1, 1, 1, 1, 4, ...ix], str(addrBytes(s.primaryAddress, fam)));
    o([1, 1, 1, 1, 5, ...ix], str(vmacBytes(cfg, r.link)));
    o([1, 1, 1, 1, 6, ...ix], int(operState(s.state)));
    o([1, 1, 1, 1, 7, ...ix], gauge(s.effectivePriority));
    o([1, 1, 1, 1, 8, ...ix], int(cfg.virtualIpaddress.length));
    o([1, 1, 1, 1, 9, ...ix], int(Math.round(cfg.advertInt / 10)));
    o([1, 1, 1, 1, 10, ...ix], int(cfg.nopreempt ? 2 : 1));
    o([1, 1, 1, 1, 11, ...ix], int(cfg.accept === false ? 2 : 1));
    o([1, 1, 1, 1, 12, ...ix], ticks(r.upTime));
    o([1, 1, 1, 1, 13, ...ix], int(1));
    for (const v of cfg.virtualIpaddress) o([1, 1, 2, 1, 2, ...ix, ...addrBytes(v.prefix.address, fam)], int(1));
  }
  const sum = (...k: string[]) => all.reduce((n, r) => n + rejects(r.snap, ...k), 0);
  o([1, 2, 1, 0], counter64(sum('bad-checksum')));
  o([1, 2, 2, 0], counter64(sum('bad-version')));
  o([1, 2, 3, 0], counter64(sum('wrong-vrid')));
  o([1, 2, 4, 0], ticks(0));
  for (const r of all) {
    const s = r.snap;
    const st = s.stats;
    const ix = [r.ifIndex, r.vrid, r.cfg.family === 6 ? 2 : 1];
    const c = (col: number, v: Value) => o([1, 2, 5, 1, col, ...ix], v);
    c(1, counter(st?.becameMaster ?? 0));
    c(2, int(s.state === 'MASTER' ? 3 : 0));
    c(3, counter64(st?.advertsReceived ?? 0));
    c(4, counter64(rejects(s, 'interval-mismatch')));
    c(5, counter64(rejects(s, 'ttl')));
    c(6, int(0));
    c(7, counter64(st?.priorityZeroReceived ?? 0));
    c(8, counter64(st?.priorityZeroSent ?? 0));
    c(9, counter64(rejects(s, 'bad-type')));
    c(10, counter64(rejects(s, 'address-mismatch')));
    c(11, counter64(rejects(s, 'too-short', 'length-mismatch')));
    c(12, ticks(0));
    c(13, gauge(r.cfg.advertInt));
  }
  return out;
}

/** vrrpTrapNewMaster (RFC 2787) for a VRRPv2 IPv4 instance that became master; undefined otherwise. */
export function rfc2787NewMaster(src: SnmpSources, name: string): { trap: Oid; varbinds: VarBind[] } | undefined {
  const r = rows(src).find((x) => x.cfg.name === name);
  if (r?.cfg.version !== 2 || r.cfg.family === 6) return undefined;
  return { trap: [...RFC2787_OID, 0, 1], varbinds: [{ oid: [...RFC2787_OID, 1, 3, 1, 7, r.ifIndex, r.vrid], value: ipv4(addrBytes(r.snap.primaryAddress)) }] };
}

/** vrrpv3NewMaster (RFC 6527) for any instance that became master. */
export function rfc6527NewMaster(src: SnmpSources, name: string): { trap: Oid; varbinds: VarBind[] } | undefined {
  const r = rows(src).find((x) => x.cfg.name === name);
  if (!r) return undefined;
  const fam = r.cfg.family === 6 ? 6 : 4;
  const ix = [r.ifIndex, r.vrid, fam === 6 ? 2 : 1];
  return {
    trap: [...RFC6527_OID, 0, 1],
    varbinds: [
      { oid: [...RFC6527_OID, 1, 1, 1, 1, 3, ...ix], value: str(addrBytes(r.snap.primaryAddress, fam)) },
      { oid: [...RFC6527_OID, 1, 2, 5, 1, 2, ...ix], value: int(3) },
    ],
  };
}
