// Creating the two engines (VRRP, checkers) and the load-balancer backend. The modules are
// loaded on demand (dynamic import) so that -P does not load the checkers and -C not VRRP.
import type { Logger } from 'pino';
import type { CliOptions } from '../cli/options.js';
import type { KeepalivedConfig, LbBackendName } from '../config/model.js';
import type { Engine } from '../engine/types.js';
import type { LbBackend } from '../ipvs/backend.js';

export interface EngineDeps {
  logger: Logger;
  cli: CliOptions;
  /** the checkers' load-balancer backend */
  backend?: LbBackend;
}

export interface EngineFactory {
  createEngine(kind: 'vrrp' | 'checkers', deps: EngineDeps): Promise<Engine>;
  createBackend(name: LbBackendName, logger: Logger): Promise<LbBackend>;
}

type AnyModule = Record<string, unknown>;

async function importModule(spec: string): Promise<AnyModule> {
  return (await import(spec)) as AnyModule;
}

/** Find a factory function or an engine class in a module and build the engine with deps. */
function construct(mod: AnyModule, names: { factories: string[]; classes: string[] }, deps: EngineDeps): Engine {
  for (const f of names.factories) {
    const fn = mod[f];
    if (typeof fn === 'function') return (fn as (d: EngineDeps) => Engine)(deps);
  }
  for (const c of names.classes) {
    const cls = mod[c];
    if (typeof cls === 'function') return new (cls as new (d: EngineDeps) => Engine)(deps);
  }
  throw new Error(`module exports none of ${[...names.factories, ...names.classes].join(', ')}`);
}

export const defaultEngineFactory: EngineFactory = {
  async createEngine(kind, deps) {
    if (kind === 'vrrp') {
      const mod = await importModule('../vrrp/engine.js');
      if (typeof mod.createVrrpEngine === 'function') return construct(mod, { factories: ['createVrrpEngine'], classes: [] }, deps);
      // the production network edge (native sockets, netlink) for the VRRP engine
      const netMod = await importModule('../vrrp/net-io.js');
      const createNetIo = netMod.createNetIo as (() => Promise<unknown>) | undefined;
      if (typeof createNetIo !== 'function') throw new Error('src/vrrp/net-io.ts does not export createNetIo');
      const io = await createNetIo();
      return construct(mod, { factories: [], classes: ['VrrpEngine'] }, { ...deps, io } as EngineDeps);
    }
    const mod = await importModule('../checkers/engine.js');
    return construct(
      mod,
      { factories: ['createCheckerEngine', 'createCheckersEngine'], classes: ['CheckerEngine', 'CheckersEngine'] },
      deps,
    );
  },
  async createBackend(name, logger) {
    const mod = await importModule('../ipvs/factory.js');
    const fn = mod.createBackend as ((n: LbBackendName, o?: { logger?: Logger }) => LbBackend | Promise<LbBackend>) | undefined;
    if (typeof fn !== 'function') throw new Error('src/ipvs/factory.ts does not export createBackend');
    return await fn(name, { logger });
  },
};

/** Which subsystems this run has: -P only VRRP, -C only checkers; otherwise those the config uses. */
export function wantedEngines(cli: CliOptions, config: KeepalivedConfig): { vrrp: boolean; checkers: boolean } {
  const vrrpAllowed = !cli.checkOnly || cli.vrrpOnly;
  const checkersAllowed = !cli.vrrpOnly || cli.checkOnly;
  return {
    vrrp: vrrpAllowed && (config.vrrpInstances.length > 0 || config.staticIpaddress.length > 0 || config.staticRoutes.length > 0),
    checkers: checkersAllowed && config.virtualServers.length > 0,
  };
}
