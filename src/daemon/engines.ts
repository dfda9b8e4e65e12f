// Creating the engines (VRRP, checkers, BFD) and the load-balancer backend. The modules are
// loaded on demand (dynamic import) so that -P does not load the checkers and -C not VRRP.
import type { Logger } from 'pino';
import type { DaemonOptions } from './options.js';
import type { KeepalivedConfig, LbBackendName } from '../config/model.js';
import type { Engine } from '../engine-api/types.js';
import type { LbBackend } from '../lb/backend.js';

export interface EngineDeps {
  logger: Logger;
  cli: DaemonOptions;
  /** the checkers' load-balancer backend */
  backend?: LbBackend;
}

export interface EngineFactory {
  createEngine(kind: 'vrrp' | 'checkers' | 'bfd', deps: EngineDeps): Promise<Engine>;
  createBackend(name: LbBackendName, logger: Logger, opts?: { lvsFlush?: boolean }): Promise<LbBackend>;
}

export const defaultEngineFactory: EngineFactory = {
  async createEngine(kind, deps) {
    if (kind === 'vrrp') {
      const [{ VrrpEngine }, { createNetIo }] = await Promise.all([import('../vrrp/engine.js'), import('./vrrp-net-io.js')]);
      // the production network edge (native sockets, netlink) for the VRRP engine
      return new VrrpEngine({ logger: deps.logger, io: await createNetIo() });
    }
    if (kind === 'bfd') {
      const [{ BfdEngine }, { openBfdListener, openBfdSender }] = await Promise.all([import('../bfd/engine.js'), import('../net/bfd-socket.js')]);
      // the production edge: UDP sockets of the native layer (the received TTL for the GTSM check)
      return new BfdEngine({
        logger: deps.logger,
        io: { listen: (family, onPacket, onError) => openBfdListener(family, onPacket, onError), openSender: openBfdSender },
      });
    }
    const { CheckersEngine } = await import('../checkers/engine.js');
    return new CheckersEngine({ logger: deps.logger, cli: deps.cli, backend: deps.backend });
  },
  async createBackend(name, logger, opts = {}) {
    const { createBackend } = await import('../lb/factory.js');
    return createBackend(name, { logger, lvsFlush: opts.lvsFlush });
  },
};

/** Which subsystems this run has: -P only VRRP, -C only checkers, -B no BFD; otherwise those the config uses. */
export function wantedEngines(cli: DaemonOptions, config: KeepalivedConfig): { vrrp: boolean; checkers: boolean; bfd: boolean } {
  const vrrpAllowed = !cli.checkOnly || cli.vrrpOnly;
  const checkersAllowed = !cli.vrrpOnly || cli.checkOnly;
  return {
    vrrp: vrrpAllowed && (config.vrrpInstances.length > 0 || config.staticIpaddress.length > 0 || config.staticRoutes.length > 0),
    checkers: checkersAllowed && config.virtualServers.length > 0,
    bfd: !cli.noBfd && (config.bfdInstances?.length ?? 0) > 0,
  };
}
