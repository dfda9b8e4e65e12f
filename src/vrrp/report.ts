// Snapshots, keepalived-style data/stats dumps and Prometheus samples for VRRP instances.
import type { MetricSample } from '../engine-api/types.js';
import type { VirtualAddress, VrrpInstance } from '../config/model.js';
import { keepalivedCommandText } from '../config/script-security.js';
import type { InstanceRuntime } from './instance.js';
import { REJECT_REASONS } from './receive-checks.js';
import type { SocketDropCount } from './socket-pool.js';
import type { SyncGroupRuntime } from './sync-group.js';
import { vmacAddress } from './vmac.js';

const STATE_CODE: Record<string, number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3, STOP: 4 };

export function instanceSnapshot(rt: InstanceRuntime) {
  const m = rt.machine;
  return {
    name: rt.cfg.name,
    state: rt.state,
    interface: rt.ifname,
    vrid: rt.cfg.virtualRouterId,
    version: rt.version,
    family: rt.family,
    basePriority: rt.cfg.priority,
    effectivePriority: m?.priority ?? rt.cfg.priority,
    advertIntMs: rt.cfg.advertInt,
    primaryAddress: rt.primaryAddress,
    masterAddress: rt.state === 'MASTER' ? rt.primaryAddress : m?.masterAddress,
    virtualIpaddress: rt.cfg.virtualIpaddress.map((v) => `${v.prefix.address}/${v.prefix.prefixLen}`),
    vipsInstalled: rt.vipsInstalled,
    faults: m?.faultReasons ?? [],
    syncGroup: rt.group,
    lastTransition: new Date(rt.lastTransitionAt).toISOString(),
    stats: m ? { ...m.stats } : undefined,
    rejects: Object.fromEntries(rt.rejects.counts),
    ...(rt.cfg.useVmac ? { vmac: { name: rt.vmacPlan?.main, up: rt.vmacInterface !== undefined, xmitBase: rt.cfg.vmacXmitBase } } : {}),
  };
}

/** keepalived's VMAC lines of the data dump. */
function vmacLines(rt: InstanceRuntime): string[] {
  const cfg = rt.cfg;
  const out: string[] = [];
  if (cfg.useVmac) {
    out.push(`   Use VMAC, i/f name ${rt.vmacPlan?.main ?? ''}, is_up = ${rt.vmacInterface !== undefined}, xmit_base = ${cfg.vmacXmitBase}`);
    if (cfg.vmacMac) out.push(`     MAC = ${vmacAddress(cfg)}${cfg.vmacMac.replace(/:$/, '').split(':').length === 5 ? ' (using VRID)' : ''}`);
  }
  if (cfg.useVmacAddr) out.push('   Use VMAC for VIPs on other interfaces');
  const vmac = rt.vmacInterface;
  out.push(vmac ? `   Interface = ${vmac}, vmac on ${rt.ifname}${cfg.vmacXmitBase ? ', xmit base i/f' : ''}` : `   Interface = ${rt.ifname}`);
  return out;
}

export function renderData(list: InstanceRuntime[], groups: SyncGroupRuntime[]): string {
  const out: string[] = ['------< VRRP Topology >------'];
  for (const rt of list) {
    const s = instanceSnapshot(rt);
    out.push(
      ` VRRP Instance = ${s.name}`,
      `   State = ${s.state}`,
      ...vmacLines(rt),
      `   Virtual Router ID = ${s.vrid}`,
      `   VRRP Version = ${s.version}`,
      `   Priority = ${s.basePriority}`,
      `   Effective priority = ${s.effectivePriority}`,
      `   Advert interval = ${s.advertIntMs / 1000} sec`,
      `   Using src_ip = ${s.primaryAddress ?? '(none)'}`,
      `   Master router = ${s.masterAddress ?? '(unknown)'}`,
      `   Virtual IP (${s.virtualIpaddress.length}):`,
      ...rt.cfg.virtualIpaddress.map((v) => `     ${v.prefix.address}/${v.prefix.prefixLen} dev ${rt.devFor(v)}`),
    );
    if (s.faults.length) out.push(`   Fault reasons = ${s.faults.join(', ')}`);
  }
  if (groups.length) out.push('------< VRRP Sync groups >------');
  for (const g of groups) out.push(` VRRP Sync Group = ${g.cfg.name}, ${g.state}`, ...g.members.map((m) => `   monitor = ${m.cfg.name}`));
  return out.join('\n') + '\n';
}

export function renderStats(list: InstanceRuntime[]): string {
  const out: string[] = [];
  for (const rt of list) {
    const st = rt.machine?.stats;
    const r = (k: Parameters<typeof rt.rejects.get>[0]) => rt.rejects.get(k);
    out.push(
      `VRRP Instance: ${rt.cfg.name}`,
      '  Advertisements:',
      `    Received: ${st?.advertsReceived ?? 0}`,
      `    Sent: ${st?.advertsSent ?? 0}`,
      `  Became master: ${st?.becameMaster ?? 0}`,
      `  Released master: ${st?.releasedMaster ?? 0}`,
      '  Packet Errors:',
      `    Length: ${r('too-short') + r('length-mismatch')}`,
      `    TTL: ${r('ttl')}`,
      `    Invalid Type: ${r('bad-type')}`,
      `    Advertisement Interval: ${r('interval-mismatch')}`,
      `    Address List: ${r('address-mismatch') + r('wrong-destination')}`,
      '  Authentication Errors:',
      `    Invalid Type: ${r('auth-type-mismatch')}`,
      `    Type Mismatch: ${r('auth-type-mismatch')}`,
      `    Failure: ${r('auth-pass-mismatch') + r('auth-failure') + r('ah-sequence')}`,
      '  Priority Zero:',
      `    Received: ${st?.priorityZeroReceived ?? 0}`,
      `    Sent: ${st?.priorityZeroSent ?? 0}`,
    );
  }
  return out.join('\n') + '\n';
}

export function instanceMetrics(rt: InstanceRuntime): MetricSample[] {
  const labels = { instance: rt.cfg.name, interface: rt.ifname, vrid: String(rt.cfg.virtualRouterId ?? '') };
  const st = rt.machine?.stats;
  const out: MetricSample[] = [
    {
      name: 'tskeepalived_vrrp_state',
      help: 'VRRP state (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 4 STOP)',
      type: 'gauge',
      labels,
      value: STATE_CODE[rt.state] ?? 0,
    },
    { name: 'tskeepalived_vrrp_priority', help: 'Configured VRRP priority', type: 'gauge', labels, value: rt.cfg.priority },
    {
      name: 'tskeepalived_vrrp_effective_priority',
      help: 'Effective VRRP priority after tracking',
      type: 'gauge',
      labels,
      value: rt.machine?.priority ?? rt.cfg.priority,
    },
    { name: 'tskeepalived_vrrp_adverts_sent_total', help: 'VRRP advertisements sent', type: 'counter', labels, value: st?.advertsSent ?? 0 },
    { name: 'tskeepalived_vrrp_adverts_received_total', help: 'Valid VRRP advertisements received', type: 'counter', labels, value: st?.advertsReceived ?? 0 },
    { name: 'tskeepalived_vrrp_became_master_total', help: 'Transitions to MASTER', type: 'counter', labels, value: st?.becameMaster ?? 0 },
    { name: 'tskeepalived_vrrp_released_master_total', help: 'Transitions out of MASTER', type: 'counter', labels, value: st?.releasedMaster ?? 0 },
    { name: 'tskeepalived_vrrp_priority_zero_sent_total', help: 'Priority-0 advertisements sent', type: 'counter', labels, value: st?.priorityZeroSent ?? 0 },
    {
      name: 'tskeepalived_vrrp_priority_zero_received_total',
      help: 'Priority-0 advertisements received',
      type: 'counter',
      labels,
      value: st?.priorityZeroReceived ?? 0,
    },
  ];
  for (const reason of REJECT_REASONS) {
    if (reason === 'wrong-vrid') continue;
    out.push({
      name: 'tskeepalived_vrrp_packet_errors_total',
      help: 'Received VRRP packets rejected, by reason',
      type: 'counter',
      labels: { ...labels, reason },
      value: rt.rejects.get(reason),
    });
  }
  return out;
}

/** Datagrams no instance saw: per VRRP socket and reason. */
export function socketDropMetrics(drops: SocketDropCount[]): MetricSample[] {
  return drops.map((d) => ({
    name: 'tskeepalived_vrrp_socket_drops_total',
    help: 'Received VRRP/AH datagrams dropped before any instance (truncated, malformed, unknown VRID), by socket and reason',
    type: 'counter' as const,
    labels: { interface: d.ifname, family: String(d.family), socket: d.socket, source: d.source, reason: d.reason },
    value: d.count,
  }));
}

/** keepalived's auth_type numbers (vrrp.h: none, PASS, AH) */
const AUTH_TYPE: Record<string, number> = { PASS: 1, AH: 2 };

/** One address as keepalived's format_ipaddress writes it in the JSON dump ("10.0.0.1/24 dev eth0 scope global set"). */
function keepalivedAddressText(rt: InstanceRuntime, v: VirtualAddress, installed: boolean): string {
  const brd = v.brd ? ` brd ${v.brd}` : '';
  const label = v.label ? ` label ${v.label}` : '';
  return `${v.prefix.address}/${v.prefix.prefixLen}${brd} dev ${rt.devFor(v)} scope ${v.scope ?? 'global'}${label}${installed ? ' set' : ''}`;
}

/**
 * keepalived 2.2.7's JSON dump (/tmp/keepalived.json on SIGRTMIN+2): one `{data, stats}` object per
 * VRRP instance with its keys and value types. Not written (as keepalived): `vroutes`, `vrules`.
 * @param scriptCommand the command line of a vrrp_script (track_script), by name
 */
export function keepalivedJson(list: InstanceRuntime[], scriptCommand: (name: string) => string | undefined): unknown[] {
  return list.map((rt) => {
    const cfg = rt.cfg;
    const g = rt.global;
    const m = rt.machine;
    const st = m?.stats;
    const r = (k: Parameters<typeof rt.rejects.get>[0]) => rt.rejects.get(k);
    const installed = rt.vipsInstalled && rt.state === 'MASTER';
    const garpDelay = cfg.garpMasterDelay / 1000;
    const data: Record<string, unknown> = {
      iname: cfg.name,
      dont_track_primary: cfg.dontTrackPrimary ? 1 : 0,
      skip_check_adv_addr: (cfg.skipCheckAdvAddr ?? g.vrrpSkipCheckAdvAddr) ? 1 : 0,
      strict_mode: (cfg.strictMode ?? g.vrrpStrict) ? 1 : 0,
      vmac_ifname: rt.vmacInterface ?? '',
      ifp_ifname: rt.vmacInterface ?? rt.ifname,
      master_priority: rt.state === 'MASTER' ? 0 : (m?.masterPriority ?? 0),
      last_transition: rt.lastTransitionAt / 1000,
      garp_delay: garpDelay,
      garp_refresh: Math.floor(cfg.garpMasterRefresh / 1000),
      garp_rep: cfg.garpMasterRepeat,
      garp_refresh_rep: cfg.garpMasterRefreshRepeat,
      garp_lower_prio_delay: Math.floor((cfg.garpLowerPrioDelay ?? g.vrrpGarpLowerPrioDelay ?? g.vrrpGarpMasterDelay) / 1000),
      garp_lower_prio_rep: cfg.garpLowerPrioRepeat ?? g.vrrpGarpLowerPrioRepeat ?? g.vrrpGarpMasterRepeat,
      lower_prio_no_advert: (cfg.lowerPrioNoAdvert ?? g.vrrpLowerPrioNoAdvert) ? 1 : 0,
      higher_prio_send_advert: (cfg.higherPrioSendAdvert ?? g.vrrpHigherPrioSendAdvert) ? 1 : 0,
      vrid: cfg.virtualRouterId ?? 0,
      base_priority: cfg.priority,
      effective_priority: m?.priority ?? cfg.priority,
      vipset: installed,
      promote_secondaries: cfg.promoteSecondaries === true,
      adver_int: cfg.advertInt / 1000,
      master_adver_int: (m?.masterAdvertIntMs || cfg.advertInt) / 1000,
      accept: cfg.accept === false ? 0 : 1,
      nopreempt: cfg.nopreempt,
      preempt_delay: Math.floor(cfg.preemptDelay / 1000),
      state: STATE_CODE[rt.state] ?? 0,
      wantstate: STATE_CODE[rt.state] ?? 0,
      version: rt.version,
      smtp_alert: cfg.smtpAlert === true,
      notify_deleted: cfg.notify.deleted !== undefined,
    };
    const scripts: [string, keyof VrrpInstance['notify']][] = [
      ['script_backup', 'backup'],
      ['script_master', 'master'],
      ['script_fault', 'fault'],
      ['script_stop', 'stop'],
      ['script_deleted', 'deleted'],
      ['script', 'notify'],
      ['script_master_rx_lower_pri', 'masterRxLowerPri'],
    ];
    for (const [key, which] of scripts) {
      const s = cfg.notify[which];
      if (s) data[key] = keepalivedCommandText(s);
    }
    if (cfg.virtualIpaddress.length) data.vips = cfg.virtualIpaddress.map((v) => keepalivedAddressText(rt, v, installed));
    if (cfg.virtualIpaddressExcluded.length) data.evips = cfg.virtualIpaddressExcluded.map((v) => keepalivedAddressText(rt, v, installed));
    // keepalived does not list the instance's own interface (it is tracked anyway)
    const tracked = cfg.trackInterface.filter((t) => t.name !== rt.ifname);
    if (tracked.length) data.track_ifp = tracked.map((t) => t.name);
    if (cfg.trackScript.length) data.track_script = cfg.trackScript.map((t) => scriptCommand(t.name) ?? t.name);
    data.auth_type = cfg.auth ? AUTH_TYPE[cfg.auth.type] : 0;
    if (cfg.auth) data.auth_data = cfg.auth.pass.slice(0, 8);
    const stats = {
      advert_rcvd: st?.advertsReceived ?? 0,
      advert_sent: st?.advertsSent ?? 0,
      become_master: st?.becameMaster ?? 0,
      release_master: st?.releasedMaster ?? 0,
      packet_len_err: r('too-short') + r('length-mismatch'),
      advert_interval_err: r('interval-mismatch'),
      ip_ttl_err: r('ttl'),
      invalid_type_rcvd: r('bad-type'),
      addr_list_err: r('address-mismatch') + r('wrong-destination'),
      invalid_authtype: r('auth-type-mismatch'),
      authtype_mismatch: r('auth-type-mismatch'),
      auth_failure: r('auth-pass-mismatch') + r('auth-failure') + r('ah-sequence'),
      pri_zero_rcvd: st?.priorityZeroReceived ?? 0,
      pri_zero_sent: st?.priorityZeroSent ?? 0,
    };
    return { data, stats };
  });
}
