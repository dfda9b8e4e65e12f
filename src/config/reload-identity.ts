// How each model type is matched across a reload, in one place (as keepalived's checker_funcs_t
// `compare`): an *id* says "this is the same object in the old and the new file" (its name or its
// address), a *key* says "and its settings are unchanged", so its runtime state is kept. Source
// locations never count: a moved line is not a changed setting. The engines (src/vrrp/engine.ts,
// src/checkers/engine.ts) decide what to keep, restart or update only by these functions.
//
// | model type | id | unchanged when |
// | --- | --- | --- |
// | vrrp_instance | its name | vrrpInstanceKey: its settings, track scripts and files, what its sync |
// |   |   | group adds to its tracking (track_bfd and the bfd_instance weights too), the global VRRP settings it reads |
// | vrrp_instance, addresses only changed | its name | vrrpInstanceSoftKey (the key without addresses, notify scripts, smtp_alert; none with VMACs) |
// | vrrp_script, track_file | its name | settingsKey of its definition |
// | virtual_server | virtualServerId: address/port, fwmark or group, and protocol | (its settings are applied in place) |
// | real_server | realServerId: address and port | checkersKey of its checkers (health is kept), each checker by settingsKey |
// | bfd_instance | its name | bfdInstanceKey: its session settings (weight only matters to track_bfd, above) |
import { createHash } from 'node:crypto';
import type { BfdInstance, Checker, KeepalivedConfig, OneOrMany, RealServer, VirtualServer, VrrpInstance } from './model.js';
import { listOf } from './exact.js';

/** JSON of a value without its source locations (a moved line is not a changed setting). */
export function settingsKey(v: unknown): string {
  return JSON.stringify(v, (k, val) => {
    if (k === 'loc') return undefined;
    if (val && typeof val === 'object' && (val as { type?: string }).type === 'Buffer' && Array.isArray((val as { data?: unknown }).data))
      return Buffer.from((val as { data: number[] }).data).toString('hex');
    return val;
  });
}

export function virtualServerId(vs: VirtualServer): string {
  const k = vs.key;
  if (k.kind === 'addr') return `addr|${k.address}|${k.port}|${vs.protocol}`;
  if (k.kind === 'fwmark') return `fwmark|${k.fwmark}|${k.family}|${vs.protocol}`;
  return `group|${k.group}|${vs.protocol}`;
}

/**
 * A string built in one piece. Template literals longer than a few characters make V8 cons-string
 * trees (several heap objects per string); join() writes one flat string. Used for the strings the
 * engine keeps per real server (tens of thousands of them).
 */
export function flatString(...parts: (string | number)[]): string {
  return parts.join('');
}

export function realServerId(rs: RealServer): string {
  return flatString(rs.address, '|', rs.port);
}

/** Checkers of a real server are "unchanged" when their settings are the same, in order. */
export function checkersKey(cs: OneOrMany<Checker>): string {
  return createHash('sha1')
    .update(settingsKey(listOf(cs)))
    .digest('base64');
}

const usesVmac = (inst: VrrpInstance): boolean =>
  !!inst.useVmac || !!inst.useIpvlan || !!inst.useVmacAddr || [...inst.virtualIpaddress, ...inst.virtualIpaddressExcluded].some((v) => v.useVmac);

/**
 * What a VRRP instance depends on; equal keys across a reload mean "unchanged".
 * Its sync group counts by what the group adds to its tracking, not by the group's name or members:
 * the group runtimes are rebuilt around the running instances on every reload, so a member added to
 * or removed from a group restarts only that member, not the others.
 */
export function vrrpInstanceKey(inst: VrrpInstance, config: KeepalivedConfig): string {
  const g = config.global;
  const scripts = inst.trackScript.map((r) => config.vrrpScripts.find((s) => s.name === r.name));
  const files = inst.trackFile.map((r) => config.trackFiles.find((f) => f.name === r.name));
  const group = config.syncGroups.find((sg) => sg.members.includes(inst.name));
  // track_bfd without a weight of its own takes the bfd_instance's
  const bfdWeights = [...(inst.trackBfd ?? []), ...(group?.trackBfd ?? [])].map((r) => {
    const b = config.bfdInstances?.find((x) => x.name === r.name);
    return [b?.weight, b?.weightReverse];
  });
  // track_process: the vrrp_track_process definitions (name, quorum, delays, weight) of the instance and its group
  const processes = [...(inst.trackProcess ?? []), ...(group?.trackProcess ?? [])].map((r) => config.trackProcesses?.find((p) => p.name === r.name));
  return settingsKey({
    inst,
    scripts,
    files,
    bfdWeights,
    processes,
    group: group && {
      globalTracking: group.globalTracking,
      syncGroupTrackingWeight: group.syncGroupTrackingWeight,
      trackInterface: group.trackInterface,
      trackScript: group.trackScript,
      trackFile: group.trackFile,
      trackBfd: group.trackBfd,
      trackProcess: group.trackProcess,
    },
    g: [
      g.vrrpMcastGroup4,
      g.vrrpMcastGroup6,
      g.vrrpSkipCheckAdvAddr,
      g.vrrpCheckUnicastSrc,
      g.vrrpLowerPrioNoAdvert,
      g.vrrpHigherPrioSendAdvert,
      g.vrrpGarpInterval,
      g.vrrpGnaInterval,
      g.defaultInterface,
      usesVmac(inst) && [g.vmacPrefix, g.vmacAddrPrefix],
    ],
  });
}

/**
 * The key without what a running instance can take over in place: its addresses, notify scripts
 * and smtp_alert. Equal soft keys mean "only those changed": the instance keeps its state, as
 * keepalived's reload does, and moves its addresses. Not with VMACs, whose interfaces follow the
 * addresses (undefined: never equal).
 */
export function vrrpInstanceSoftKey(inst: VrrpInstance, config: KeepalivedConfig): string | undefined {
  if (usesVmac(inst)) return undefined;
  return vrrpInstanceKey({ ...inst, virtualIpaddress: [], virtualIpaddressExcluded: [], notify: {}, smtpAlert: undefined }, config);
}

/** What a BFD session depends on; equal keys across a reload keep the session (and its state). */
export function bfdInstanceKey(b: BfdInstance): string {
  const { weight: _w, weightReverse: _r, raw: _raw, ...session } = b;
  return settingsKey(session);
}
