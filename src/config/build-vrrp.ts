// vrrp_instance and vrrp_sync_group keyword tables.
import type { ConfNode } from '../parser/ast.js';
import type { BuildContext } from './context.js';
import { parseAddressLine, parseRouteLine, parseRuleLine } from './build-address.js';
import { readTrackRefs } from './build-track.js';
import { arg, flagField } from './handlers.js';
import { isMulticast, parseAddress, parsePrefix } from '../util/inet.js';
import type { GlobalDefs, NotifyScripts, RawKeyword, SourceLoc, SyncGroup, TrackRef, VrrpInstance } from './model.js';
import { readScript } from './scripts.js';
import { KeywordTable } from './table.js';
import { readDecimal, readInt, readTimerMs, readUnsigned, trueFalse } from './values.js';

/** Names defined so far (keepalived resolves track references while parsing). */
export interface VrrpRegistry {
  scripts: Set<string>;
  trackFiles: Set<string>;
  trackProcesses: Set<string>;
  bfds: Set<string>;
  global: GlobalDefs;
}

export interface InstanceDraft {
  v: VrrpInstance;
  reg: VrrpRegistry;
  raw?: RawKeyword[];
  versionSet: boolean;
  sawAuth: boolean;
  prioritySet?: boolean;
  /** a unicast keyword was given (unicast_peer, unicast_src_ip, check_unicast_src, ...) */
  unicastConfigured?: boolean;
}

/** A vrrp_instance with keepalived's defaults (some taken from global_defs). */
export function newInstance(name: string, loc: SourceLoc, g: GlobalDefs): VrrpInstance {
  return {
    name,
    vmacXmitBase: false,
    dontTrackPrimary: false,
    trackInterface: [],
    trackScript: [],
    trackFile: [],
    unicastPeers: [],
    priority: 100,
    advertInt: 1000,
    version: g.vrrpVersion,
    family: 4,
    virtualIpaddress: [],
    virtualIpaddressExcluded: [],
    virtualRoutes: [],
    virtualRules: [],
    nopreempt: false,
    preemptDelay: 0,
    garpMasterDelay: g.vrrpGarpMasterDelay,
    garpMasterRepeat: g.vrrpGarpMasterRepeat,
    garpMasterRefresh: g.vrrpGarpMasterRefresh,
    garpMasterRefreshRepeat: g.vrrpGarpMasterRefreshRepeat,
    notify: {},
    loc,
  };
}

function notifyHandler(key: keyof NotifyScripts, label: string) {
  return (ctx: BuildContext, n: ConfNode, d: InstanceDraft) => {
    if (d.v.notify[key]) {
      ctx.error(n, `(${d.v.name}) ${label} already specified - ignoring ${n.args[0] ?? ''}`);
      return;
    }
    const s = readScript(ctx, ctx.scripts, n);
    if (s) d.v.notify[key] = s;
  };
}

function addresses(excluded: boolean) {
  return (ctx: BuildContext, n: ConfNode, d: InstanceDraft) => {
    const list = excluded ? d.v.virtualIpaddressExcluded : d.v.virtualIpaddress;
    for (const c of n.children ?? []) {
      const a = parseAddressLine(ctx, c, undefined, false);
      if (!a) continue;
      if (!excluded && list.length === 0 && d.v.virtualIpaddressExcluded.length === 0) d.v.family = a.prefix.family;
      else if (!excluded && d.v.virtualIpaddress.length === 0 && d.v.virtualIpaddressExcluded.length === 0) d.v.family = a.prefix.family;
      list.push(a);
    }
  };
}

function optBool(ctx: BuildContext, n: ConfNode, d: InstanceDraft, what: string): boolean | undefined {
  const w = n.args[0];
  if (w === undefined) return true;
  const b = trueFalse(w);
  if (b === undefined) ctx.error(n, `(${d.v.name}) invalid ${what} ${w} specified`);
  return b;
}

function garpSeconds(set: (v: VrrpInstance, ms: number) => void, label: string) {
  return (ctx: BuildContext, n: ConfNode, d: InstanceDraft) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, 0, 86400);
    if (v === undefined) ctx.error(n, `(${d.v.name}): ${label} '${w}' invalid - ignoring`);
    else set(d.v, v * 1000);
  };
}

function garpCount(set: (v: VrrpInstance, c: number) => void, label: string) {
  return (ctx: BuildContext, n: ConfNode, d: InstanceDraft) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, 0, 4294967295);
    if (v === undefined) ctx.error(n, `(${d.v.name}): ${label} '${w}' invalid - ignoring`);
    else if (v === 0) {
      ctx.error(n, `(${d.v.name}): ${label} must be greater than 0, setting to 1`);
      set(d.v, 1);
    } else set(d.v, v);
  };
}

export const vrrpInstanceTable = new KeywordTable<InstanceDraft>('vrrp_instance')
  .model('state', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    if (w === 'MASTER') d.v.state = 'MASTER';
    else if (w === 'BACKUP') {
      if (d.v.state === 'MASTER') ctx.error(n, `(${d.v.name}) state previously set as MASTER - ignoring BACKUP`);
      else d.v.state = 'BACKUP';
    } else {
      ctx.error(n, `(${d.v.name}) unknown state '${w}', defaulting to BACKUP`);
      d.v.state = 'BACKUP';
    }
  })
  .model('interface', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    if (w.length >= 16) return ctx.error(n, `Interface name '${w}' too long - ignoring`);
    if (!ctx.hasInterface(w)) {
      ctx.error(n, `WARNING - interface ${w} for vrrp_instance ${d.v.name} doesn't exist`);
    } else if (w === 'lo') {
      ctx.error(n, `(${d.v.name}) cannot use a loopback interface (${w}) for vrrp - ignoring`);
      return;
    }
    d.v.interface = w;
  })
  .model('use_vmac', (ctx, n, d) => {
    d.v.useVmac = true;
    for (const w of n.args.slice(0, 2)) {
      if (w.includes(':')) {
        if (d.v.vmacMac !== undefined) ctx.error(n, 'VMAC interface address already specified');
        else {
          const problem = vmacMacProblem(w);
          if (problem) ctx.error(n, problem);
          else d.v.vmacMac = w;
        }
      } else if (typeof d.v.useVmac === 'string') ctx.error(n, 'VMAC interface name already specified');
      else if (w.length >= 16 || /[\s/]/.test(w)) ctx.error(n, `VMAC interface name '${w}' too long or invalid characters - ignoring`);
      else d.v.useVmac = w;
    }
  })
  .model('use_ipvlan', (ctx, n, d) => {
    // keepalived 2.2.7's words: a flag (bridge, private, vepa), an address (with an optional prefix length), else the name
    if (d.v.useIpvlan) return ctx.error(n, `(${d.v.name}) use_ipvlan already specified`);
    const ipv: NonNullable<VrrpInstance['useIpvlan']> = { flags: 'bridge' };
    let hadFlags = false;
    for (const w of n.args) {
      if (w === 'bridge' || w === 'private' || w === 'vepa') {
        if (hadFlags) ctx.error(n, `(${d.v.name}) ipvlan type already specified - ignoring '${w}'`);
        else {
          ipv.flags = w;
          hadFlags = true;
        }
        continue;
      }
      const p = parsePrefix(w);
      if (p) {
        if (ipv.address) ctx.error(n, `(${d.v.name}) ipvlan address already specified - ignoring '${w}'`);
        else {
          ipv.address = p;
          // keepalived sends the adverts from it unless a source address was configured before
          if (d.v.mcastSrcIp === undefined && d.v.unicastSrcIp === undefined) d.v.mcastSrcIp = p.address;
        }
        continue;
      }
      if (ipv.name !== undefined) ctx.error(n, `(${d.v.name}) IPVLAN interface already specified - ignoring '${w}'`);
      else if (w.length >= 16) ctx.error(n, `(${d.v.name}) IPVLAN interface name '${w}' too long - ignoring`);
      else ipv.name = w;
    }
    d.v.useIpvlan = ipv;
  })
  .model(
    'use_vmac_addr',
    flagField((d) => (d.v.useVmacAddr = true)),
  )
  .model(
    'vmac_xmit_base',
    flagField((d) => (d.v.vmacXmitBase = true)),
  )
  .model(
    'dont_track_primary',
    flagField((d) => (d.v.dontTrackPrimary = true)),
  )
  .model('track_interface', (ctx, n, d) => {
    for (const c of n.children ?? []) {
      if (!ctx.hasInterface(c.keyword)) {
        ctx.error(c, `(${d.v.name}) tracked interface ${c.keyword} doesn't exist`);
        continue;
      }
      if (c.args.length && c.args[0] !== 'weight') {
        ctx.error(c, `(${d.v.name}) unknown track_interface ${c.keyword} option ${c.args[0]} - ignoring`);
        continue;
      }
      const ref: TrackRef = { name: c.keyword, reverse: c.args[2] === 'reverse', loc: c.loc };
      if (c.args[0] === 'weight') {
        if (c.args[1] === undefined) {
          ctx.error(c, `(${d.v.name}) weight without value specified for track_interface ${c.keyword} - ignoring`);
          continue;
        }
        const w = readInt(ctx, c, c.args[1], -253, 253);
        if (w === undefined) continue;
        ref.weight = w;
      }
      d.v.trackInterface.push(ref);
    }
  })
  .model('track_script', (ctx, n, d) => {
    d.v.trackScript.push(
      ...readTrackRefs(
        ctx,
        n,
        -253,
        253,
        (s) => d.reg.scripts.has(s),
        (s) => `(${d.v.name}) track script ${s} not found, ignoring...`,
      ),
    );
  })
  .model('track_file', (ctx, n, d) => {
    d.v.trackFile.push(
      ...readTrackRefs(
        ctx,
        n,
        -254,
        254,
        (s) => d.reg.trackFiles.has(s),
        (s) => `(${d.v.name}) track file ${s} not found, ignoring...`,
      ),
    );
  })
  .model('track_process', (ctx, n, d) => {
    (d.v.trackProcess ??= []).push(
      ...readTrackRefs(
        ctx,
        n,
        -254,
        254,
        (s) => d.reg.trackProcesses.has(s),
        (s) => `(${d.v.name}) track process ${s} not found, ignoring...`,
      ),
    );
  })
  .model('track_bfd', (ctx, n, d) => {
    (d.v.trackBfd ??= []).push(
      ...readTrackRefs(
        ctx,
        n,
        -253,
        253,
        (s) => d.reg.bfds.has(s),
        (s) => `(${d.v.name}) track bfd ${s} not found, ignoring...`,
      ),
    );
  })
  .model('mcast_src_ip', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const a = parseAddress(w);
    if (!a) ctx.error(n, `Configuration error: VRRP instance[${d.v.name}] malformed src address[${w}]`);
    else d.v.mcastSrcIp = a.address;
  })
  .model('unicast_src_ip', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const a = parseAddress(w);
    if (!a) ctx.error(n, `Configuration error: VRRP instance[${d.v.name}] malformed unicast src address[${w}]`);
    else d.v.unicastSrcIp = a.address;
    d.unicastConfigured = true;
  })
  .model('mcast_dst_ip', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const a = parseAddress(w);
    if (!a) ctx.error(n, `(${d.v.name}) malformed mcast dest address ${w}`);
    else if (!isMulticast(a.address)) ctx.error(n, `(${d.v.name}) mcast_dst_ip ${w} not multicast. Skipping...`);
    else d.v.mcastDstIp = a.address;
  })
  .model(
    'track_src_ip',
    flagField((d) => (d.v.trackSrcIp = true)),
  )
  .model('unicast_peer', (ctx, n, d) => {
    d.unicastConfigured = true;
    for (const c of n.children ?? []) {
      const a = parseAddress(c.keyword);
      if (!a) {
        ctx.error(c, `(${d.v.name}) unicast_peer ${c.keyword} is not a valid address - ignoring`);
        continue;
      }
      const peer: VrrpInstance['unicastPeers'][number] = { address: a.address, loc: c.loc };
      for (let i = 0; i + 1 < c.args.length; i += 2) {
        const v = readUnsigned(ctx, c, c.args[i + 1], 0, 255);
        if (v === undefined) continue;
        if (c.args[i] === 'min_ttl') peer.minTtl = v;
        else if (c.args[i] === 'max_ttl') peer.maxTtl = v;
      }
      d.v.unicastPeers.push(peer);
    }
  })
  .model(
    'unicast_fault_no_peer',
    flagField((d) => ((d.v.unicastFaultNoPeer = true), (d.unicastConfigured = true))),
  )
  .model(
    'check_unicast_src',
    flagField((d) => ((d.v.checkUnicastSrc = true), (d.unicastConfigured = true))),
  )
  .rawWith('old_unicast_checksum', (_ctx, _n, d) => {
    d.unicastConfigured = true;
  })
  .model('virtual_router_id', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, 1, 255);
    if (v === undefined) ctx.error(n, `(${d.v.name}): VRID '${w}' not valid - must be between 1 & 255`);
    else d.v.virtualRouterId = v;
  })
  .model('unicast_ttl', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, 0, 255);
    if (v === undefined) ctx.error(n, `(${d.v.name}): TTL '${w}' not valid - must be between 0 & 255`);
    else d.v.unicastTtl = v;
  })
  .model('version', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, 2, 3);
    if (v === undefined) ctx.error(n, `(${d.v.name}): Version must be either 2 or 3`);
    else {
      d.v.version = v as 2 | 3;
      d.versionSet = true;
    }
  })
  .model('priority', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, 1, 255);
    if (v === undefined) {
      ctx.error(n, `(${d.v.name}) Priority not valid! must be between 1 & 255. Using default 100`);
      d.v.priority = 100;
      d.prioritySet = true;
    } else {
      d.v.priority = v;
      d.prioritySet = true;
    }
  })
  .model('advert_int', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const us = readDecimal(ctx, n, w, 0, 4294967295, 6);
    if (us === undefined || us === 0) ctx.error(n, `(${d.v.name}) Advert interval (${w}) not valid! Must be > 0 - ignoring`);
    else d.v.advertInt = us / 1000;
  })
  .model('virtual_ipaddress', addresses(false))
  .model('virtual_ipaddress_excluded', addresses(true))
  .model(
    'promote_secondaries',
    flagField((d) => (d.v.promoteSecondaries = true)),
  )
  .model('virtual_routes', (ctx, n, d) => {
    for (const c of n.children ?? []) {
      const r = parseRouteLine(ctx, c);
      if (r) d.v.virtualRoutes.push(r);
    }
  })
  .model('virtual_rules', (ctx, n, d) => {
    for (const c of n.children ?? []) {
      const r = parseRuleLine(ctx, c);
      if (r) d.v.virtualRules.push(r);
    }
  })
  .model(
    'accept',
    flagField((d) => (d.v.accept = true)),
  )
  .model(
    'no_accept',
    flagField((d) => (d.v.accept = false)),
  )
  .model('skip_check_adv_addr', (ctx, n, d) => {
    const b = optBool(ctx, n, d, 'skip_check_adv_addr');
    if (b !== undefined) d.v.skipCheckAdvAddr = b;
  })
  .model('strict_mode', (ctx, n, d) => {
    const b = optBool(ctx, n, d, 'strict_mode');
    if (b !== undefined) d.v.strictMode = b;
  })
  .model(
    'preempt',
    flagField((d) => (d.v.nopreempt = false)),
  )
  .model(
    'nopreempt',
    flagField((d) => (d.v.nopreempt = true)),
  )
  .model('preempt_delay', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const ms = readTimerMs(ctx, n, w, 0, 1000000000);
    if (ms === undefined) ctx.error(n, `(${d.v.name}) Preempt_delay not valid! must be between 0-1000`);
    else d.v.preemptDelay = ms;
  })
  .model('debug', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w !== undefined && readUnsigned(ctx, n, w, 0, 4) === undefined) ctx.error(n, `(${d.v.name}) Debug value '${w}' not valid; must be between 0-4`);
  })
  .model('notify_backup', notifyHandler('backup', 'notify_backup script'))
  .model('notify_master', notifyHandler('master', 'notify_master script'))
  .model('notify_fault', notifyHandler('fault', 'notify_fault script'))
  .model('notify_stop', notifyHandler('stop', 'notify_stop script'))
  .model('notify_deleted', (ctx, n, d) => {
    if (n.args.length === 0) return;
    const s = readScript(ctx, ctx.scripts, n);
    if (s) d.v.notify.deleted = s;
  })
  .model('notify', notifyHandler('notify', 'notify script'))
  .model('notify_master_rx_lower_pri', notifyHandler('masterRxLowerPri', 'notify_master_rx_lower_pri script'))
  .model('smtp_alert', (ctx, n, d) => {
    const w = n.args[0];
    if (w === undefined) return void (d.v.smtpAlert = true);
    const b = trueFalse(w);
    if (b === undefined) ctx.error(n, `Invalid vrrp_instance smtp_alert parameter ${w}`);
    else d.v.smtpAlert = b;
  })
  .model('notify_priority_changes', (ctx, n, d) => {
    const w = n.args[0];
    if (w === undefined) return void (d.v.notifyPriorityChanges = true);
    const b = trueFalse(w);
    if (b === undefined) ctx.error(n, `(${d.v.name}) Invalid value '${w}' for notify_priority_changes specified`);
    else d.v.notifyPriorityChanges = b;
  })
  .model('lvs_sync_daemon_interface', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    ctx.error(n, `(${d.v.name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.`);
    ctx.error(n, `      ${' '.repeat(Math.max(0, d.v.name.length - 2))}Please use global lvs_sync_daemon`);
    d.v.lvsSyncDaemonInterface = w;
  })
  .model(
    'garp_master_delay',
    garpSeconds((v, ms) => (v.garpMasterDelay = ms), 'garp_master_delay'),
  )
  .model('garp_master_refresh', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, 0, 4294967295);
    if (v === undefined) ctx.error(n, `(${d.v.name}): Invalid garp_master_refresh '${w}' - ignoring`);
    else d.v.garpMasterRefresh = v * 1000;
  })
  .model(
    'garp_master_repeat',
    garpCount((v, c) => (v.garpMasterRepeat = c), 'garp_master_repeat'),
  )
  .model(
    'garp_master_refresh_repeat',
    garpCount((v, c) => (v.garpMasterRefreshRepeat = c), 'garp_master_refresh_repeat'),
  )
  .model(
    'garp_lower_prio_delay',
    garpSeconds((v, ms) => (v.garpLowerPrioDelay = ms), 'garp_lower_prio_delay'),
  )
  .model('garp_lower_prio_repeat', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, 0, 4294967295);
    if (v === undefined) ctx.error(n, `(${d.v.name}): Invalid garp_lower_prio_repeat '${w}'`);
    else d.v.garpLowerPrioRepeat = v;
  })
  .model('down_timer_adverts', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, 1, 100);
    if (v === undefined) ctx.error(n, `(${d.v.name}): Invalid down_timer_adverts [1:100] '${w}'`);
    else d.v.downTimerAdverts = v;
  })
  .model('lower_prio_no_advert', (ctx, n, d) => {
    const b = optBool(ctx, n, d, 'lower_prio_no_advert');
    if (b !== undefined) d.v.lowerPrioNoAdvert = b;
  })
  .model('higher_prio_send_advert', (ctx, n, d) => {
    const b = optBool(ctx, n, d, 'higher_prio_send_advert');
    if (b !== undefined) d.v.higherPrioSendAdvert = b;
  })
  .model('vrf', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    if (d.v.interface !== undefined) return ctx.error(n, `(${d.v.name}) Cannot specify VRF interface and interface - ignoring`);
    if (!ctx.hasInterface(w)) ctx.error(n, `(${d.v.name}) WARNING - VRF interface ${w} doesn't exist`);
    d.v.vrf = w;
  })
  .model('authentication', (ctx, n, d) => {
    d.sawAuth = true;
    for (const c of n.children ?? []) {
      if (c.keyword === 'auth_type') {
        const w = arg(ctx, c);
        if (w === 'PASS' || w === 'AH') d.v.auth = { type: w, pass: d.v.auth?.pass ?? '' };
        else if (w !== undefined) ctx.error(c, `(${d.v.name}) unknown authentication type '${w}'`);
      } else if (c.keyword === 'auth_pass') {
        const w = arg(ctx, c);
        if (w !== undefined) d.v.auth = { type: d.v.auth?.type ?? 'PASS', pass: w.slice(0, 8) };
      } else ctx.error(c, `Unknown keyword '${c.keyword}'`);
    }
  })
  .model('linkbeat_use_polling', (ctx, n, d) =>
    ctx.error(n, `(${d.v.name}) 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block`),
  )
  .raw('native_ipv6', 'garp_extra_if', 'vmac_garp_intvl', 'kernel_rx_buf_size');

// ---------------------------------------------------------------- vrrp_sync_group

export interface SyncGroupDraft {
  g: SyncGroup;
  reg: VrrpRegistry;
  raw?: RawKeyword[];
  hasGroup: boolean;
}

function sgNotify(key: keyof NotifyScripts, label: string) {
  return (ctx: BuildContext, n: ConfNode, d: SyncGroupDraft) => {
    if (d.g.notify[key]) return ctx.error(n, `vrrp group ${d.g.name}: ${label} script already specified - ignoring ${n.args[0] ?? ''}`);
    const s = readScript(ctx, ctx.scripts, n);
    if (s) d.g.notify[key] = s;
  };
}

export const syncGroupTable = new KeywordTable<SyncGroupDraft>('vrrp_sync_group')
  .model('group', (ctx, n, d) => {
    if (d.hasGroup) return ctx.error(n, `Group list already specified for sync group ${d.g.name}`);
    d.hasGroup = true;
    for (const c of n.children ?? []) d.g.members.push(c.keyword, ...c.args);
    if (!n.children?.length) ctx.error(n, `Warning - sync group ${d.g.name} has empty group block`);
  })
  .model('track_interface', (ctx, n, d) => {
    for (const c of n.children ?? []) {
      if (!ctx.hasInterface(c.keyword)) {
        ctx.error(c, `(${d.g.name}) tracked interface ${c.keyword} doesn't exist`);
        continue;
      }
      const ref: TrackRef = { name: c.keyword, reverse: c.args[2] === 'reverse', loc: c.loc };
      if (c.args[0] === 'weight' && c.args[1] !== undefined) {
        const w = readInt(ctx, c, c.args[1], -253, 253);
        if (w === undefined) continue;
        ref.weight = w;
      }
      d.g.trackInterface.push(ref);
    }
  })
  .model('track_script', (ctx, n, d) => {
    d.g.trackScript.push(
      ...readTrackRefs(
        ctx,
        n,
        -253,
        253,
        (s) => d.reg.scripts.has(s),
        (s) => `(${d.g.name}) track script ${s} not found, ignoring...`,
      ),
    );
  })
  .model('track_file', (ctx, n, d) => {
    d.g.trackFile.push(
      ...readTrackRefs(
        ctx,
        n,
        -254,
        254,
        (s) => d.reg.trackFiles.has(s),
        (s) => `(${d.g.name}) track file ${s} not found, ignoring...`,
      ),
    );
  })
  .model('notify_backup', sgNotify('backup', 'notify_backup'))
  .model('notify_master', sgNotify('master', 'notify_master'))
  .model('notify_fault', sgNotify('fault', 'notify_fault'))
  .model('notify_stop', sgNotify('stop', 'notify_stop'))
  .model('notify', sgNotify('notify', 'notify'))
  .model('smtp_alert', (ctx, n, d) => {
    const w = n.args[0];
    if (w === undefined) return void (d.g.smtpAlert = true);
    const b = trueFalse(w);
    if (b === undefined) ctx.error(n, `Invalid vrrp_group smtp_alert parameter ${w}`);
    else d.g.smtpAlert = b;
  })
  .model('global_tracking', (ctx, n, d) => {
    ctx.error(n, `(${d.g.name}) global_tracking is deprecated. Use track_interface/script/file on the sync group`);
    d.g.globalTracking = true;
  })
  .model(
    'sync_group_tracking_weight',
    flagField((d) => (d.g.syncGroupTrackingWeight = true)),
  )
  .model('track_process', (ctx, n, d) => {
    (d.g.trackProcess ??= []).push(
      ...readTrackRefs(
        ctx,
        n,
        -254,
        254,
        (s) => d.reg.trackProcesses.has(s),
        (s) => `(${d.g.name}) track process ${s} not found, ignoring...`,
      ),
    );
  })
  .model('track_bfd', (ctx, n, d) => {
    (d.g.trackBfd ??= []).push(
      ...readTrackRefs(
        ctx,
        n,
        -253,
        253,
        (s) => d.reg.bfds.has(s),
        (s) => `(${d.g.name}) track bfd ${s} not found, ignoring...`,
      ),
    );
  })
  .raw('notify_priority_changes');

export function newSyncGroup(name: string, n: ConfNode): SyncGroup {
  return {
    name,
    members: [],
    notify: {},
    globalTracking: false,
    syncGroupTrackingWeight: false,
    trackInterface: [],
    trackScript: [],
    trackFile: [],
    loc: n.loc,
  };
}

/** keepalived's checks of `use_vmac ... MAC`: 5 or 6 hex octets, unicast, not an RFC 5798 address. */
function vmacMacProblem(w: string): string | undefined {
  const octets = w.replace(/:$/, '').split(':');
  if (!/^[0-9a-fA-F:]+$/.test(w) || (octets.length !== 5 && octets.length !== 6) || octets.some((o) => !/^[0-9a-fA-F]{1,2}$/.test(o)))
    return `VMAC invalid MAC address ${w} - ignored`;
  const b = octets.map((o) => parseInt(o, 16));
  if (b[0] & 1) return `VMAC MAC address is multicast ${w} - ignoring`;
  if (b[0] === 0 && b[1] === 0 && b[2] === 0x5e && b[3] === 0 && (b[4] === 1 || b[4] === 2))
    return `VMAC MAC address not allowed to be RFC5798 address (${w}) - ignoring`;
  return undefined;
}
