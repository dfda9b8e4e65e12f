// Whole-config checks keepalived makes after parsing (vrrp_complete_init, check_validate_config).
import type { BuildState } from './build.js';
import { formatVs } from './build-lvs.js';
import { Pass, type BuildContext } from './context.js';
import type { KeepalivedConfig, ScriptSpec } from './model.js';
import { checkScript } from './script-security.js';

function securityViolation(ctx: BuildContext, scripts: (ScriptSpec | undefined)[], what: string): void {
  let isScript = false;
  let insecure = false;
  for (const s of scripts) {
    if (!s) continue;
    const r = checkScript(s);
    isScript ||= r.isScript;
    insecure ||= r.insecure;
  }
  if (isScript && !ctx.scripts.enableScriptSecurity)
    ctx.report('security', `SECURITY VIOLATION - ${what} are being executed but script_security not enabled.${insecure ? ' There are insecure scripts.' : ''}`);
}

/** keepalived's parent process checks start/shutdown scripts right after reading the config. */
export function validateParent(ctx: BuildContext, cfg: KeepalivedConfig): void {
  ctx.pass = Pass.Parent;
  securityViolation(ctx, [cfg.global.startupScript, cfg.global.shutdownScript], 'start/shutdown scripts');
}

export function validateChecker(ctx: BuildContext, cfg: KeepalivedConfig, state: BuildState): void {
  ctx.pass = Pass.Checker;
  const g = cfg.global;
  if (cfg.virtualServers.length) {
    const scripts: (ScriptSpec | undefined)[] = [g.lvsNotifyFifo?.script, g.notifyFifo?.script];
    for (const vs of cfg.virtualServers) {
      scripts.push(vs.quorumUp, vs.quorumDown);
      for (const rs of vs.realServers) {
        scripts.push(rs.notifyUp, rs.notifyDown);
        for (const c of rs.checkers) if (c.type === 'MISC_CHECK') scripts.push(c.miscPath);
      }
    }
    securityViolation(ctx, scripts, 'check scripts');
  }
  const groups = new Map(cfg.virtualServerGroups.map((x) => [x.name, x]));
  const kept = [];
  for (const d of state.vsDrafts) {
    const vs = d.vs;
    if (vs.realServers.length === 0) {
      ctx.error(undefined, `Virtual server ${formatVs(vs, d.protocolSet)} has no real servers - ignoring`);
      continue;
    }
    const k = vs.key;
    const grp = k.kind === 'group' ? groups.get(k.group) : undefined;
    const hasAddr = k.kind === 'addr' || (grp !== undefined && grp.entries.some((e) => e.kind === 'addr'));
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
    for (const rs of vs.realServers) {
      if (rs.lbKind === undefined) {
        if (!d.kindSet && !reportedKind) {
          ctx.error(undefined, `Virtual server ${formatVs(vs, d.protocolSet)}: no forwarding method set, setting default NAT`);
          reportedKind = true;
        }
        rs.lbKind = vs.lbKind;
      }
      rs.alpha ??= vs.alpha;
      rs.retry ??= vs.retry;
      rs.delayBeforeRetry ??= vs.delayBeforeRetry;
      rs.warmup ??= vs.warmup;
      rs.delayLoop ??= vs.delayLoop;
      for (const c of rs.checkers) {
        if (c.type === 'FILE_CHECK' || c.type === 'BFD_CHECK') continue;
        c.delayLoop ??= rs.delayLoop;
        if (c.alpha === undefined && rs.alpha !== undefined) c.alpha = rs.alpha;
      }
    }
    kept.push(vs);
  }
  cfg.virtualServers = kept;
}

export function validateVrrp(ctx: BuildContext, cfg: KeepalivedConfig, state: BuildState): void {
  ctx.pass = Pass.Vrrp;
  if (ctx.missingInterface) {
    ctx.fatal(undefined, 'Non-existent interface specified in configuration');
    return;
  }
  const g = cfg.global;
  if (cfg.vrrpInstances.length) {
    const scripts: (ScriptSpec | undefined)[] = cfg.vrrpScripts.map((s) => s.script);
    for (const v of cfg.vrrpInstances) scripts.push(...Object.values(v.notify));
    for (const s of cfg.syncGroups) scripts.push(...Object.values(s.notify));
    scripts.push(g.notifyFifo?.script, g.vrrpNotifyFifo?.script);
    securityViolation(ctx, scripts, 'scripts');
  }
  for (const d of state.instanceDrafts) {
    const v = d.v;
    if (v.virtualRouterId === undefined) {
      ctx.error(undefined, `(${v.name}) the virtual router id must be set`);
      return;
    }
    if (!v.interface) {
      ctx.error(undefined, `(${v.name}) Unknown interface!`);
      return;
    }
  }
  const byName = new Map(cfg.vrrpInstances.map((v) => [v.name, v]));
  for (const sg of cfg.syncGroups) {
    if (sg.members.length === 0) {
      ctx.error(undefined, `Sync group ${sg.name} has no virtual router(s). removing`);
      continue;
    }
    const members = sg.members.filter((m) => {
      if (byName.has(m)) return true;
      ctx.error(undefined, `Virtual router ${m} specified in sync group ${sg.name} doesn't exist - ignoring`);
      return false;
    });
    sg.members = members;
    if (members.length === 1) ctx.error(undefined, `Sync group ${sg.name} has only 1 virtual router(s) - this probably isn't what you want`);
  }
  for (const d of state.instanceDrafts) {
    const v = d.v;
    const strict = v.strictMode ?? g.vrrpStrict;
    if (v.family === 6 && !d.versionSet) v.version = 3;
    if (v.family === 6 && v.version === 2 && strict) {
      ctx.error(undefined, `(${v.name}) cannot use IPv6 with VRRP version 2; setting version 3`);
      v.version = 3;
    }
    if (v.virtualIpaddress.length === 0) {
      if (v.version === 3 || strict) {
        ctx.error(undefined, `(${v.name}) No VIP specified; at least one is required`);
        return;
      }
      ctx.error(undefined, `(${v.name}) No VIP specified; at least one is sensible`);
    }
    if (!d.prioritySet) v.priority = v.state === 'MASTER' ? 255 : 100;
    if (v.state === undefined) v.state = v.priority === 255 ? 'MASTER' : 'BACKUP';
    else if (strict && (v.state === 'MASTER') !== (v.priority === 255)) {
      ctx.error(undefined, `(${v.name}) State MASTER must match being address owner`);
      v.state = v.priority === 255 ? 'MASTER' : 'BACKUP';
    }
    if (v.auth) {
      if (strict) {
        ctx.error(undefined, `(${v.name}) Strict mode does not support authentication. Ignoring.`);
        delete v.auth;
      } else if (v.version === 3) {
        ctx.error(undefined, `(${v.name}) VRRP version 3 does not support authentication. Ignoring.`);
        delete v.auth;
      } else if (!v.auth.pass) {
        ctx.error(undefined, `(${v.name}) Authentication specified but no password given. Ignoring`);
        delete v.auth;
      } else if (v.family === 6 && v.auth.type === 'AH') {
        ctx.error(undefined, `(${v.name}) Cannot use AH authentication with IPv6. ignoring`);
        delete v.auth;
      } else if (v.auth.type === 'AH' && v.state === 'MASTER' && v.priority !== 255) {
        ctx.error(undefined, `(${v.name}) Initial state master is incompatible with AH authentication - clearing`);
        v.state = 'BACKUP';
      }
    }
    if (v.priority === 255 && v.nopreempt) {
      ctx.error(undefined, `(${v.name}) nopreempt is incompatible with priority 255. resetting nopreempt`);
      v.nopreempt = false;
    }
    if (v.state === 'MASTER') {
      if (v.nopreempt) {
        ctx.error(undefined, `(${v.name}) Warning - nopreempt will not work with initial state MASTER - clearing`);
        v.nopreempt = false;
      }
      if (v.preemptDelay) {
        ctx.error(undefined, `(${v.name}) Warning - preempt delay will not work with initial state MASTER - clearing`);
        v.preemptDelay = 0;
      }
    }
    if (v.accept === undefined) v.accept = !strict;
  }
  // duplicate VRIDs on one interface and family
  const seen = new Map<string, string>();
  for (const v of cfg.vrrpInstances) {
    if (!v.interface || v.virtualRouterId === undefined) continue;
    const key = `${v.interface}/${v.family}/${v.virtualRouterId}/${v.unicastPeers.length ? 'u' : 'm'}`;
    const first = seen.get(key);
    if (first !== undefined) {
      ctx.error(undefined, `${first} and ${v.name} both use VRID ${v.virtualRouterId} with IPv${v.family} on interface ${v.interface}`);
      return;
    }
    seen.set(key, v.name);
  }
}
