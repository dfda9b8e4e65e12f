// Which MIBs and traps are on, and where the master agent is: global_defs' SNMP keywords (kept in
// GlobalDefs.raw by the config builder) and the command line (-x/--snmp, -A/--snmp-agent-socket),
// as keepalived combines them.
import type { GlobalDefs } from '../config/model.js';

export interface SnmpSettings {
  /** KEEPALIVED-MIB global + vrrp parts (enable_snmp_vrrp, its old name enable_snmp_keepalived) */
  vrrp: boolean;
  /** KEEPALIVED-MIB global + check parts (enable_snmp_checker) */
  checker: boolean;
  /** VRRP-MIB, RFC 2787 (enable_snmp_rfcv2, or enable_snmp_rfc) */
  rfcv2: boolean;
  /** VRRPv3-MIB, RFC 6527 (enable_snmp_rfcv3, or enable_snmp_rfc) */
  rfcv3: boolean;
  /** enable_traps */
  traps: boolean;
  /** snmp_socket, or -A; undefined = keepalived's default */
  socket?: string;
}

export function snmpSettingsFrom(global: GlobalDefs, cli: { snmp?: boolean; snmpAgentSocket?: string } = {}): SnmpSettings {
  const raw = global.raw ?? [];
  const has = (k: string) => raw.some((r) => r.keyword === k);
  const arg = (k: string) => [...raw].reverse().find((r) => r.keyword === k)?.args[0];
  const all = cli.snmp === true;
  const rfc = has('enable_snmp_rfc');
  return {
    vrrp: all || has('enable_snmp_vrrp') || has('enable_snmp_keepalived'),
    checker: all || has('enable_snmp_checker'),
    rfcv2: all || rfc || has('enable_snmp_rfcv2'),
    rfcv3: all || rfc || has('enable_snmp_rfcv3'),
    traps: has('enable_traps'),
    socket: cli.snmpAgentSocket ?? arg('snmp_socket'),
  };
}

export function snmpWanted(s: SnmpSettings): boolean {
  return s.vrrp || s.checker || s.rfcv2 || s.rfcv3;
}
