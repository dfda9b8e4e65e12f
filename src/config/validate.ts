// Whole-config checks keepalived makes after parsing (vrrp_complete_init, check_validate_config).
import type { BuildState, ScriptFlags } from './build-state.js';
import { applyCheckerDefaults } from './build-checkers.js';
import { countOf, itemAt } from './exact.js';
import { formatVs, protocolName } from './build-lvs.js';
import { Pass, type BuildContext } from './context.js';
import type { VsDraft } from './build-lvs.js';
import type { GlobalDefs, KeepalivedConfig, RealServer, ScriptSpec, TrackRef, VirtualServer, VirtualServerGroup, VrrpInstance } from './model.js';
import { checkScript } from './script-security.js';

export const noScripts = (): ScriptFlags => ({ isScript: false, insecure: false });

function addScript(flags: ScriptFlags, s: ScriptSpec | undefined): void {
  if (!s) return;
  const r = checkScript(s);
  flags.isScript ||= r.isScript;
  flags.insecure ||= r.insecure;
}

/** the scripts of a virtual server (quorum, notify of its real servers, MISC_CHECK) */
export function addVirtualServerScripts(flags: ScriptFlags, vs: VirtualServer): void {
  addScript(flags, vs.quorumUp);
  addScript(flags, vs.quorumDown);
  const rss = vs.realServers;
  for (let i = 0; i < rss.length; i++) {
    const rs = rss[i]!;
    addScript(flags, rs.notifyUp);
    addScript(flags, rs.notifyDown);
    for (let j = 0, n = countOf(rs.checkers); j < n; j++) {
      const c = itemAt(rs.checkers, j);
      if (c.type === 'MISC_CHECK') addScript(flags, c.miscPath);
    }
  }
}

function securityViolation(ctx: BuildContext, flags: ScriptFlags, what: string): void {
  if (flags.isScript && !ctx.scripts.enableScriptSecurity)
    ctx.report(
      'security',
      `SECURITY VIOLATION - ${what} are being executed but script_security not enabled.${flags.insecure ? ' There are insecure scripts.' : ''}`,
    );
}

/** keepalived's parent process checks start/shutdown scripts right after reading the config. */
export function validateParent(ctx: BuildContext, cfg: KeepalivedConfig): void {
  ctx.pass = Pass.Parent;
  const flags = noScripts();
  addScript(flags, cfg.global.startupScript);
  addScript(flags, cfg.global.shutdownScript);
  securityViolation(ctx, flags, 'start/shutdown scripts');
}

export function validateChecker(ctx: BuildContext, cfg: KeepalivedConfig, state: BuildState): void {
  ctx.pass = Pass.Checker;
  const g = cfg.global;
  const early = state.early;
  if (cfg.virtualServers.length || early.count) {
    const flags: ScriptFlags = { ...early.scripts };
    addScript(flags, g.lvsNotifyFifo?.script);
    addScript(flags, g.notifyFifo?.script);
    for (const vs of cfg.virtualServers) addVirtualServerScripts(flags, vs);
    securityViolation(ctx, flags, 'check scripts');
  }
  cfg.virtualServerGroups = cfg.virtualServerGroups.filter((x) => x.entries.length > 0);
  const groups = new Map(cfg.virtualServerGroups.map((x) => [x.name, x]));
  ctx.append(early.diagnostics);
  const kept = [];
  for (const d of state.vsDrafts) if (validateVirtualServer(ctx, d, groups)) kept.push(d.vs);
  cfg.virtualServers = kept;
}

/**
 * false when no two real servers have the same address and port, found without allocating for a
 * usual number of them; true when there are many (the removal below then looks)
 */
function mayHaveDuplicate(rss: readonly RealServer[]): boolean {
  if (rss.length > 32) return true;
  for (let i = 1; i < rss.length; i++) {
    const a = rss[i]!;
    for (let j = 0; j < i; j++) if (rss[j]!.port === a.port && rss[j]!.address === a.address) return true;
  }
  return false;
}

/**
 * keepalived's checks of one virtual server once the whole configuration is read; fills in what
 * its real servers and checkers inherit. false = keepalived drops it. Only a server of a group
 * needs `groups` (all of the configuration's virtual_server_groups).
 */
export function validateVirtualServer(ctx: BuildContext, d: VsDraft, groups: ReadonlyMap<string, VirtualServerGroup>): boolean {
  const vs = d.vs;
  // keepalived silently drops a virtual server whose group is not defined
  if (vs.key.kind === 'group' && !groups.has(vs.key.group)) return false;
  if (vs.realServers.length === 0) {
    ctx.error(undefined, `Virtual server ${formatVs(vs, d.protocolSet)} has no real servers - ignoring`);
    return false;
  }
  const k = vs.key;
  const grp = k.kind === 'group' ? groups.get(k.group) : undefined;
  const hasAddr = k.kind === 'addr' || grp?.entries.some((e) => e.kind === 'addr');
  const fwmarkOnly = k.kind === 'fwmark' || (grp !== undefined && grp.entries.length > 0 && grp.entries.every((e) => e.kind === 'fwmark'));
  if (hasAddr && !d.protocolSet) {
    ctx.error(undefined, `Virtual server ${formatVs(vs, d.protocolSet)}: no protocol set - defaulting to UDP`);
    vs.protocol = 'UDP';
    d.protocolSet = true;
  }
  if (hasAddr && vs.ops && vs.protocol !== 'UDP') {
    ctx.error(undefined, `Virtual server ${formatVs(vs, d.protocolSet)}: one packet scheduling requires UDP - resetting`);
    vs.ops = false;
  }
  if (k.kind === 'addr' && k.port === 0 && !vs.persistenceTimeout) {
    ctx.error(undefined, `Virtual server ${formatVs(vs, d.protocolSet)}: zero port only valid for persistent services - setting`);
    vs.persistenceTimeout = 360;
  }
  if (d.protocolSet && fwmarkOnly) {
    ctx.error(undefined, `Warning: Virtual server ${formatVs(vs, d.protocolSet)}: protocol specified for fwmark - protocol will be ignored`);
  }
  if (!d.schedSet) ctx.error(undefined, `Virtual server ${formatVs(vs, d.protocolSet)}: no scheduler set, setting default 'wlc'`);
  let reportedKind = false;
  // ports seen per address (no per-server key string: large configs have many servers)
  const seenRs = new Map<string, Set<number>>();
  if (vs.realServers.length > 1 && mayHaveDuplicate(vs.realServers))
    vs.realServers = vs.realServers.filter((rs) => {
      const ports = seenRs.get(rs.address);
      if (ports === undefined) {
        seenRs.set(rs.address, new Set([rs.port]));
        return true;
      }
      if (!ports.has(rs.port)) {
        ports.add(rs.port);
        return true;
      }
      const proto = d.protocolSet ? protocolName(vs.protocol) : 'none';
      ctx.error(undefined, `VS ${formatVs(vs, d.protocolSet)}: real server [${rs.address}]:${proto}:${rs.port} is duplicated - removing second rs`);
      return false;
    });
  const rss = vs.realServers;
  for (let i = 0; i < rss.length; i++) {
    const rs = rss[i]!;
    if (rs.lbKind === undefined) {
      if (!d.kindSet && !reportedKind) {
        ctx.error(undefined, `Virtual server ${formatVs(vs, d.protocolSet)}: no forwarding method set, setting default NAT`);
        reportedKind = true;
      }
      rs.lbKind = vs.lbKind;
    }
    rs.alpha ??= vs.alpha;
    if (rs.retry === undefined && vs.retry !== undefined) rs.retry = vs.retry;
    if (rs.delayBeforeRetry === undefined && vs.delayBeforeRetry !== undefined) rs.delayBeforeRetry = vs.delayBeforeRetry;
    if (rs.warmup === undefined && vs.warmup !== undefined) rs.warmup = vs.warmup;
    if (rs.connectTimeout === undefined && vs.connectTimeout !== undefined) rs.connectTimeout = vs.connectTimeout;
    rs.delayLoop ??= vs.delayLoop;
    const inherited = rs as RealServer & { delayLoop: number };
    for (let j = 0, n = countOf(rs.checkers); j < n; j++) applyCheckerDefaults(itemAt(rs.checkers, j), inherited, vs);
  }
  return true;
}

export function validateVrrp(ctx: BuildContext, cfg: KeepalivedConfig, state: BuildState): void {
  ctx.pass = Pass.Vrrp;
  // keepalived stops its VRRP checks at the first fatal problem; the defaults below are applied
  // to every instance all the same, so the model is complete whatever was reported
  let quiet = false;
  const say = (message: string, severity: 'error' | 'fatal' = 'error') => {
    if (!quiet) ctx.report(severity, message);
  };
  const stop = (message: string, severity: 'error' | 'fatal' = 'error') => {
    say(message, severity);
    quiet = true;
  };
  if (ctx.missingInterface) stop('Non-existent interface specified in configuration', 'fatal');
  const g = cfg.global;
  if (cfg.vrrpInstances.length && !quiet) {
    const scripts: (ScriptSpec | undefined)[] = cfg.vrrpScripts.map((s) => s.script);
    for (const v of cfg.vrrpInstances) scripts.push(...Object.values(v.notify));
    for (const s of cfg.syncGroups) scripts.push(...Object.values(s.notify));
    scripts.push(g.notifyFifo?.script, g.vrrpNotifyFifo?.script);
    for (const s of cfg.vrrpScripts) {
      if (s.script && !checkScript(s.script).isScript) ctx.info(undefined, `Disabling track script ${s.name} since not found/accessible`);
    }
    const flags = noScripts();
    for (const s of scripts) addScript(flags, s);
    securityViolation(ctx, flags, 'scripts');
  }
  for (const d of state.instanceDrafts) {
    if (quiet) break;
    if (d.v.virtualRouterId === undefined) stop(`(${d.v.name}) the virtual router id must be set`);
    else if (!d.v.interface) stop(`(${d.v.name}) Unknown interface!`);
  }
  const byName = new Map(cfg.vrrpInstances.map((v) => [v.name, v]));
  cfg.syncGroups = cfg.syncGroups.filter((sg) => {
    if (sg.members.length === 0) {
      say(`Sync group ${sg.name} has no virtual router(s). removing`);
      return false;
    }
    sg.members = sg.members.filter((m) => {
      if (byName.has(m)) return true;
      say(`Virtual router ${m} specified in sync group ${sg.name} doesn't exist - ignoring`);
      return false;
    });
    if (sg.members.length === 1) say(`Sync group ${sg.name} has only 1 virtual router(s) - this probably isn't what you want`);
    return sg.members.length > 0;
  });
  for (const d of state.instanceDrafts) {
    const v = d.v;
    const strict = v.strictMode ?? g.vrrpStrict;
    v.strictMode = strict;
    if (v.family === 6 && !d.versionSet) v.version = 3;
    if (v.family === 6 && v.version === 2 && strict) {
      say(`(${v.name}) cannot use IPv6 with VRRP version 2; setting version 3`);
      v.version = 3;
    }
    if (strict && v.version === 2 && v.accept === true) {
      say(`(${v.name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting`);
      v.accept = false;
    }
    if (v.virtualIpaddress.length === 0) {
      if (v.version === 3 || strict) stop(`(${v.name}) No VIP specified; at least one is required`);
      else say(`(${v.name}) No VIP specified; at least one is sensible`);
    }
    if (!d.prioritySet) v.priority = v.state === 'MASTER' ? 255 : 100;
    if (v.state === undefined) v.state = v.priority === 255 ? 'MASTER' : 'BACKUP';
    else if (strict && (v.state === 'MASTER') !== (v.priority === 255)) {
      say(`(${v.name}) State MASTER must match being address owner`);
      v.state = v.priority === 255 ? 'MASTER' : 'BACKUP';
    }
    if (v.auth) {
      if (strict) {
        say(`(${v.name}) Strict mode does not support authentication. Ignoring.`);
        delete v.auth;
      } else if (v.version === 3) {
        say(`(${v.name}) VRRP version 3 does not support authentication. Ignoring.`);
        delete v.auth;
      } else if (!v.auth.pass) {
        say(`(${v.name}) Authentication specified but no password given. Ignoring`);
        delete v.auth;
      } else if (v.family === 6 && v.auth.type === 'AH') {
        say(`(${v.name}) Cannot use AH authentication with IPv6. ignoring`);
        delete v.auth;
      } else if (v.auth.type === 'AH' && v.state === 'MASTER' && v.priority !== 255) {
        say(`(${v.name}) Initial state master is incompatible with AH authentication - clearing`);
        v.state = 'BACKUP';
      }
    }
    if (d.unicastConfigured && v.unicastPeers.length === 0 && !v.unicastFaultNoPeer && !quiet)
      ctx.warning(
        undefined,
        `(${v.name}) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.`,
      );
    if (v.priority === 255 && v.nopreempt) {
      say(`(${v.name}) nopreempt is incompatible with priority 255. resetting nopreempt`);
      v.nopreempt = false;
    }
    if (v.state === 'MASTER') {
      if (v.nopreempt) {
        say(`(${v.name}) Warning - nopreempt will not work with initial state MASTER - clearing`);
        v.nopreempt = false;
      }
      if (v.preemptDelay) {
        say(`(${v.name}) Warning - preempt delay will not work with initial state MASTER - clearing`);
        v.preemptDelay = 0;
      }
    }
    applyInstanceDefaults(v, g, strict);
    ignoreTrackingWeights(v, cfg, say);
  }
  // duplicate VRIDs on one interface and family
  const seen = new Map<string, string>();
  for (const v of cfg.vrrpInstances) {
    if (quiet) break;
    if (!v.interface || v.virtualRouterId === undefined) continue;
    const key = `${v.interface}/${v.family}/${v.virtualRouterId}/${v.unicastPeers.length ? 'u' : 'm'}`;
    const first = seen.get(key);
    if (first !== undefined) stop(`${first} and ${v.name} both use VRID ${v.virtualRouterId} with IPv${v.family} on interface ${v.interface}`);
    else seen.set(key, v.name);
  }
  clearOwnerGroupWeights(cfg, say);
}

/**
 * keepalived's sync_group_tracking_init: a sync group with an address owner (priority 255) among its
 * members cannot have weighted trackers of its own; their weight is set to 0 (FAULT on failure).
 */
function clearOwnerGroupWeights(cfg: KeepalivedConfig, say: (m: string) => void): void {
  const prio = new Map(cfg.vrrpInstances.map((v) => [v.name, v.priority]));
  for (const sg of cfg.syncGroups) {
    if (!sg.members.some((m) => prio.get(m) === 255)) continue;
    type Def = { weight?: number; weightReverse?: boolean } | undefined;
    const clear = (kind: string, refs: TrackRef[] | undefined, def: (name: string) => Def, defaultWeight: number, verb: string) => {
      for (const r of refs ?? []) {
        const d = def(r.name);
        const weight = r.weight ?? d?.weight ?? defaultWeight;
        if (!weight) continue;
        say(`(${sg.name}) Cannot have weighted track ${kind} '${r.name}' with member having priority 255 - ${verb}`);
        if (r.weight === undefined) r.reverse ||= !!d?.weightReverse;
        r.weight = 0;
      }
    };
    clear('script', sg.trackScript, (n) => cfg.vrrpScripts.find((s) => s.name === n), 0, 'clearing weight');
    clear('file', sg.trackFile, (n) => cfg.trackFiles.find((f) => f.name === n), 1, 'setting weight 0');
    clear('bfd', sg.trackBfd, (n) => cfg.bfdInstances?.find((b) => b.name === n), 0, 'setting weight 0');
    clear('process', sg.trackProcess, (n) => cfg.trackProcesses?.find((p) => p.name === n), 0, 'setting weight 0');
    clear('interface', sg.trackInterface, () => undefined, 0, 'clearing weight');
  }
}

/** Defaults keepalived takes from global_defs and the instance itself. */
function applyInstanceDefaults(v: VrrpInstance, g: GlobalDefs, strict: boolean): void {
  v.accept ??= !strict;
  v.skipCheckAdvAddr ??= g.vrrpSkipCheckAdvAddr;
  v.checkUnicastSrc ??= g.vrrpCheckUnicastSrc;
  v.lowerPrioNoAdvert ??= g.vrrpLowerPrioNoAdvert || strict;
  v.higherPrioSendAdvert ??= g.vrrpHigherPrioSendAdvert;
  // keepalived: the global values (which default to the global vrrp_garp_master_*), 0 in strict mode
  v.garpLowerPrioDelay ??= strict ? 0 : (g.vrrpGarpLowerPrioDelay ?? g.vrrpGarpMasterDelay);
  v.garpLowerPrioRepeat ??= strict ? 0 : (g.vrrpGarpLowerPrioRepeat ?? g.vrrpGarpMasterRepeat);
  v.downTimerAdverts ??= g.vrrpDownTimerAdverts ?? 3;
  if (v.smtpAlert === undefined) {
    const s = g.smtpAlertVrrp ?? g.smtpAlert;
    if (s !== undefined) v.smtpAlert = s;
  }
  if (v.notifyPriorityChanges === undefined && g.vrrpNotifyPriorityChanges !== undefined) v.notifyPriorityChanges = g.vrrpNotifyPriorityChanges;
  // addresses without `dev` live on the instance's interface
  if (v.interface !== undefined) {
    for (const a of v.virtualIpaddress) a.dev ??= v.interface;
    for (const a of v.virtualIpaddressExcluded) a.dev ??= v.interface;
  }
}

/**
 * keepalived's vrrp_complete_instance: a member of a sync group without sync_group_tracking_weight
 * (or global_tracking), and an address owner (priority 255), must not have a floating priority. Its
 * own weighted tracked interfaces are reported (an owner stops tracking them), weighted scripts and
 * bfds are dropped, a track file at the default weight 1 gets weight 0 and one with another weight is
 * dropped. The sync group's own trackers are not concerned.
 */
function ignoreTrackingWeights(v: VrrpInstance, cfg: KeepalivedConfig, say: (m: string) => void): void {
  const sg = cfg.syncGroups.find((s) => s.members.includes(v.name));
  const sync = sg !== undefined && !sg.syncGroupTrackingWeight && !sg.globalTracking;
  if (!sync && v.priority !== 255) return;
  const why = sync ? 'SYNC group' : 'address_owner';
  // keepalived 2.2.7 has already registered the tracked interfaces with their weight when it says so
  // (vrrp_complete_instance adds them to the interfaces first): for a sync group member the weight is
  // still applied at run time, which we do too (seen live: vrid with `lo weight 20` advertises base + 20)
  v.trackInterface = v.trackInterface.filter((r) => {
    if (!r.weight) return true;
    say(`(${v.name}) ignoring ${r.name} tracked interface ${sync ? 'weight ' : ''}due to ${sync ? 'SYNC group' : 'address owner'}`);
    return sync;
  });
  v.trackScript = v.trackScript.filter((r) => {
    const weight = r.weight ?? cfg.vrrpScripts.find((s) => s.name === r.name)?.weight ?? 0;
    if (!weight) return true;
    say(`(${v.name}) ignoring tracked script ${r.name} with weights due to ${why}`);
    return false;
  });
  v.trackFile = v.trackFile.filter((r) => {
    const def = cfg.trackFiles.find((f) => f.name === r.name);
    const weight = r.weight ?? def?.weight ?? 1;
    if (weight === 1) {
      if (r.weight === undefined) r.reverse ||= !!def?.weightReverse;
      say(`(${v.name}) ignoring weight from tracked file ${r.name} due to ${why}. specify weight 0`);
      r.weight = 0;
      return true;
    }
    if (!weight) return true;
    say(`(${v.name}) ignoring tracked file ${r.name} with weight ${weight} due to ${why}`);
    return false;
  });
  if (v.trackBfd)
    v.trackBfd = v.trackBfd.filter((r) => {
      const weight = r.weight ?? cfg.bfdInstances?.find((b) => b.name === r.name)?.weight ?? 0;
      if (!weight) return true;
      say(`(${v.name}) ignoring tracked bfd ${r.name} with weight ${weight} due to ${why}`);
      return false;
    });
}
