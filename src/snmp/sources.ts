// What the MIB builders read, at request time: the running config, the engines' live snapshots
// (the JSON of Engine.snapshot(), typed here by what the builders use) and the kernel's view of an
// interface. The daemon provides them (src/daemon/daemon.ts); nothing here keeps a copy.
import type { KeepalivedConfig } from '../config/model.js';

export interface VrrpInstanceSnap {
  name: string;
  state: string;
  interface?: string;
  vrid?: number;
  version: 2 | 3;
  family: 4 | 6;
  basePriority: number;
  effectivePriority: number;
  advertIntMs: number;
  primaryAddress?: string;
  masterAddress?: string;
  vipsInstalled?: boolean;
  syncGroup?: string;
  lastTransition?: string;
  stats?: {
    advertsSent: number;
    advertsReceived: number;
    priorityZeroSent: number;
    priorityZeroReceived: number;
    becameMaster: number;
    releasedMaster: number;
  };
  rejects?: Record<string, number>;
}

export interface VrrpSnap {
  instances: VrrpInstanceSnap[];
  syncGroups: { name: string; state: string; members: string[] }[];
  /** the vrrp_scripts that run, with their current result */
  scripts?: { name: string; ok: boolean }[];
  /** the track_files that are read, with their current value */
  files?: { name: string; value: number }[];
}

export interface CheckerSnap {
  virtualServers: {
    virtualServer: string;
    quorumUp: boolean;
    quorum: number;
    hysteresis: number;
    realServers: { realServer: string; alive: boolean; weight: number; checkers: { type: string; up: boolean }[] }[];
  }[];
}

export interface SnmpSources {
  config(): KeepalivedConfig;
  vrrp(): VrrpSnap | undefined;
  checkers(): CheckerSnap | undefined;
  /** the interface's index and MAC address (xx:xx:..) in this namespace; undefined when missing */
  link(name: string): { index: number; mac: string } | undefined;
  /** epoch ms the daemon started (sysUpTime-like TimeTicks) */
  startedAt: number;
  /** SNMP SET of realServerWeight: the checker engine applies it; false when it cannot */
  setRealServerWeight?(virtualServer: string, realServer: string, weight: number): boolean;
}

/** Engine.snapshot() as the builders read it; anything else (an error object, null) is "no engine". */
export function asVrrpSnap(v: unknown): VrrpSnap | undefined {
  const s = v as VrrpSnap | null | undefined;
  return s && Array.isArray(s.instances) ? s : undefined;
}

export function asCheckerSnap(v: unknown): CheckerSnap | undefined {
  const s = v as CheckerSnap | null | undefined;
  return s && Array.isArray(s.virtualServers) ? s : undefined;
}
