// Snapshots, keepalived-style data/stats dumps and Prometheus samples for VRRP instances.
import type { MetricSample } from '../engine-api/types.js';
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
