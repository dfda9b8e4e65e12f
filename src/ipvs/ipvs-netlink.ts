// Kernel IPVS through generic netlink (family "IPVS").
import { access } from 'node:fs/promises';
import type { LbBackend, LbState } from './backend.js';
import { LbUnavailableError } from './backend.js';
import type { LbLogger } from './logger.js';
import { silentLogger } from './logger.js';
import { cloneState } from './state.js';

export const IPVS_UNAVAILABLE_MESSAGE =
  'IPVS is not available in this kernel (generic netlink family IPVS not found); use --lb-backend=nftables, userspace or dry-run';

export interface IpvsNetlinkOptions {
  logger?: LbLogger;
  /** /proc/net/ip_vs, checked when no netlink socket layer is available */
  procPath?: string;
}

export class IpvsNetlinkBackend implements LbBackend {
  readonly name = 'ipvs' as const;
  private state: LbState = { services: [] };
  private readonly log: LbLogger;
  private readonly procPath: string;

  constructor(opts: IpvsNetlinkOptions = {}) {
    this.log = opts.logger ?? silentLogger;
    this.procPath = opts.procPath ?? '/proc/net/ip_vs';
  }

  async open(): Promise<void> {
    try {
      await access(this.procPath);
    } catch {
      throw new LbUnavailableError(IPVS_UNAVAILABLE_MESSAGE);
    }
    this.log.error({ backend: this.name }, 'IPVS netlink socket layer not available yet');
    throw new LbUnavailableError('the IPVS netlink backend needs the native socket layer, which is not built; use --lb-backend=nftables, userspace or dry-run');
  }

  async apply(_state: LbState): Promise<void> {
    throw new LbUnavailableError('IPVS backend is not open');
  }

  current(): LbState {
    return cloneState(this.state);
  }

  async close(_opts: { release: boolean }): Promise<void> {}
}
