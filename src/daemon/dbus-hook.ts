// The daemon's side of D-Bus: with enable_dbus (and the VRRP side running: not -C), start the
// service of src/dbus with sources that read the VRRP engine's live snapshot and hand its methods
// to the daemon (the data and stats dumps, reload, the engine's SendGarp and stats reset).
import type { Logger } from 'pino';
import type { KeepalivedConfig } from '../config/model.js';
import type { Engine } from '../engine-api/types.js';
import type { DbusInstance } from '../dbus/objects.js';
import type { DbusService, DbusSources } from '../dbus/service.js';
import { dbusSettingsFrom } from '../dbus/settings.js';
import type { DaemonOptions } from './options.js';

export interface DbusHost {
  engineSnapshot(kind: 'vrrp'): unknown;
  readonly runningEngines: Engine[];
  dumpData(): string;
  dumpStats(): string;
  reload(): Promise<boolean>;
}

interface VrrpDbusCalls {
  sendGarp(name: string): boolean;
  clearStats(): void;
}

function instancesOf(snapshot: unknown): DbusInstance[] {
  const list = (snapshot as { instances?: unknown } | null)?.instances;
  if (!Array.isArray(list)) return [];
  const out: DbusInstance[] = [];
  for (const i of list as Record<string, unknown>[]) {
    if (typeof i?.name !== 'string' || typeof i.interface !== 'string' || typeof i.vrid !== 'number') continue;
    out.push({ name: i.name, interface: i.interface, vrid: i.vrid, family: i.family === 6 ? 6 : 4, state: String(i.state) });
  }
  return out;
}

export function dbusSources(host: DbusHost, logger: Logger): DbusSources {
  const vrrp = () => host.runningEngines.find((e) => e.name === 'vrrp') as (Engine & Partial<VrrpDbusCalls>) | undefined;
  const guard = (what: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      logger.error({ err: e }, `D-Bus ${what} failed: ${(e as Error).message}`);
    }
  };
  return {
    instances: () => instancesOf(host.engineSnapshot('vrrp')),
    printData: () => guard('PrintData', () => host.dumpData()),
    printStats: (clear) =>
      guard('PrintStats', () => {
        host.dumpStats();
        if (clear) vrrp()?.clearStats?.();
      }),
    reload: () => void host.reload(),
    sendGarp: (name) => vrrp()?.sendGarp?.(name) ?? false,
  };
}

/** Start, reload or stop the service for this config; returns the running one (or undefined). */
export async function applyDbus(
  cli: DaemonOptions,
  config: KeepalivedConfig,
  host: DbusHost,
  running: DbusService | undefined,
  logger: Logger,
): Promise<DbusService | undefined> {
  const settings = dbusSettingsFrom(config.global, config.root);
  if (!settings.enabled || cli.checkOnly) {
    await running?.stop();
    return undefined;
  }
  try {
    if (running) {
      running.reloaded(settings);
      return running;
    }
    const { DbusService } = await import('../dbus/service.js');
    const service = new DbusService(settings, dbusSources(host, logger), logger, {
      backoffMinMs: Number(process.env.TSK_DBUS_BACKOFF_MS) || undefined,
    });
    service.start();
    return service;
  } catch (e) {
    logger.error({ err: e }, `cannot start the D-Bus service: ${(e as Error).message}`);
    return running;
  }
}
