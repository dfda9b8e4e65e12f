// Choosing and constructing the load-balancer backend.
// Precedence: --lb-backend (CliOptions.lbBackend) > global_defs lb_backend (GlobalDefs.lbBackend) > 'ipvs'.
import type { LbBackendName } from '../config/model.js';
import type { LbBackend } from './backend.js';
import { DryRunBackend } from './dry-run.js';
import type { DryRunOptions } from './dry-run.js';
import { IpvsNetlinkBackend } from './ipvs-netlink.js';
import type { IpvsNetlinkOptions } from './ipvs-netlink.js';
import type { LbLogger, TextSink } from './logger.js';
import { NftablesBackend } from './nftables.js';
import { UserspaceBackend } from './userspace.js';
import type { UserspaceOptions } from './userspace.js';
import type { NftablesOptions } from './nftables.js';
import { TskeepalivedError } from '../util/errors.js';

export const LB_BACKEND_NAMES: readonly LbBackendName[] = ['ipvs', 'nftables', 'userspace', 'dry-run'];
export const DEFAULT_LB_BACKEND: LbBackendName = 'ipvs';

export class LbBackendChoiceError extends TskeepalivedError {
  constructor(message: string) {
    super(message, 'TSK_ERR_LB_BACKEND_CHOICE');
    this.name = 'LbBackendChoiceError';
  }
}

export function isLbBackendName(v: string): v is LbBackendName {
  return (LB_BACKEND_NAMES as readonly string[]).includes(v);
}

export interface LbBackendChoice {
  name: LbBackendName;
  /** where the choice came from, for the start-up log line */
  source: 'cli' | 'config' | 'default';
}

/**
 * Resolve the backend name. A bad --lb-backend value or lb_backend keyword value is a clear error
 * (with file:line for the config keyword when known).
 */
export function chooseBackend(cli: { lbBackend?: string }, global?: { lbBackend?: string; loc?: { file: string; line: number } }): LbBackendChoice {
  const valid = 'expected ipvs, nftables, userspace or dry-run';
  if (cli.lbBackend !== undefined) {
    if (!isLbBackendName(cli.lbBackend)) throw new LbBackendChoiceError(`invalid --lb-backend value "${cli.lbBackend}": ${valid}`);
    return { name: cli.lbBackend, source: 'cli' };
  }
  if (global?.lbBackend !== undefined) {
    if (!isLbBackendName(global.lbBackend)) {
      const where = global.loc ? `${global.loc.file}:${global.loc.line}: ` : '';
      throw new LbBackendChoiceError(`${where}invalid lb_backend "${global.lbBackend}": ${valid}`);
    }
    return { name: global.lbBackend, source: 'config' };
  }
  return { name: DEFAULT_LB_BACKEND, source: 'default' };
}

export interface CreateBackendOptions {
  logger?: LbLogger;
  /** global_defs lvs_flush: the ipvs backend flushes every IPVS service at open */
  lvsFlush?: boolean;
  /** dry-run: where the ipvsadm -S lines go (default process.stdout) */
  out?: TextSink;
  dryRun?: Omit<DryRunOptions, 'logger' | 'out'>;
  ipvs?: Omit<IpvsNetlinkOptions, 'logger'>;
  nftables?: Omit<NftablesOptions, 'logger'>;
  userspace?: Omit<UserspaceOptions, 'logger'>;
}

export function createBackend(name: LbBackendName, opts: CreateBackendOptions = {}): LbBackend {
  if (!isLbBackendName(name)) throw new LbBackendChoiceError(`unknown LB backend "${String(name)}": expected ipvs, nftables, userspace or dry-run`);
  switch (name) {
    case 'dry-run':
      return new DryRunBackend({ ...opts.dryRun, out: opts.out, logger: opts.logger });
    case 'ipvs':
      return new IpvsNetlinkBackend({ flushOnOpen: opts.lvsFlush, ...opts.ipvs, logger: opts.logger });
    case 'nftables':
      return new NftablesBackend({ ...opts.nftables, logger: opts.logger });
    case 'userspace':
      return new UserspaceBackend({ ...opts.userspace, logger: opts.logger });
    default: {
      const never: never = name;
      throw new LbBackendChoiceError(`unknown LB backend "${String(never)}"`);
    }
  }
}
