// The daemon's side of SNMP: when global_defs or -x ask for it, start the AgentX subagent of
// src/snmp with sources that read the running config and the engines' live snapshots at request
// time, and the kernel's interface index and MAC from sysfs (this namespace's).
import { getLink } from '../net/rtnl-link.js';
import type { Logger } from 'pino';
import type { KeepalivedConfig } from '../config/model.js';
import type { Engine } from '../engine-api/types.js';
import type { SnmpAgent } from '../snmp/agent.js';
import { snmpSettingsFrom, snmpWanted } from '../snmp/settings.js';
import { asCheckerSnap, asVrrpSnap, type SnmpSources } from '../snmp/sources.js';
import type { DaemonOptions } from './options.js';

export interface SnmpHost {
  readonly currentConfig: KeepalivedConfig;
  readonly startedAt: number;
  engineSnapshot(kind: 'vrrp' | 'checkers'): unknown;
  readonly runningEngines: Engine[];
}

interface WeightSettable {
  setRealServerWeight(virtualServer: string, realServer: string, weight: number): boolean;
}

/**
 * An interface's index and MAC, through rtnetlink: in this process's network namespace (sysfs
 * shows the one it was mounted in, which a net_namespace daemon left).
 */
function netlinkLink(name: string): { index: number; mac: string } | undefined {
  if (!name) return undefined;
  try {
    const l = getLink(name);
    return l ? { index: l.index, mac: l.mac } : undefined;
  } catch {
    return undefined;
  }
}

export function snmpSources(host: SnmpHost): SnmpSources {
  return {
    config: () => host.currentConfig,
    vrrp: () => asVrrpSnap(host.engineSnapshot('vrrp')),
    checkers: () => asCheckerSnap(host.engineSnapshot('checkers')),
    link: netlinkLink,
    startedAt: host.startedAt,
    setRealServerWeight: (vs, rs, weight) => {
      const e = host.runningEngines.find((x) => x.name === 'checkers') as (Engine & Partial<WeightSettable>) | undefined;
      return e?.setRealServerWeight?.(vs, rs, weight) ?? false;
    },
  };
}

/** Start, reload or stop the subagent for this config; returns the running one (or undefined). */
export async function applySnmp(
  cli: DaemonOptions,
  config: KeepalivedConfig,
  host: SnmpHost,
  running: SnmpAgent | undefined,
  logger: Logger,
): Promise<SnmpAgent | undefined> {
  const settings = snmpSettingsFrom(config.global, cli);
  if (!snmpWanted(settings)) {
    await running?.stop();
    return undefined;
  }
  try {
    if (running) {
      await running.reload(settings);
      return running;
    }
    const { SnmpAgent } = await import('../snmp/agent.js');
    const agent = new SnmpAgent(settings, snmpSources(host), logger, {
      backoffMinMs: Number(process.env.TSK_SNMP_BACKOFF_MS) || undefined,
      pingIntervalMs: process.env.TSK_SNMP_PING_MS ? Number(process.env.TSK_SNMP_PING_MS) : undefined,
    });
    agent.start();
    return agent;
  } catch (e) {
    logger.error({ err: e }, `cannot start the SNMP subagent: ${(e as Error).message}`);
    return running;
  }
}
