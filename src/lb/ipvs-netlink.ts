// Kernel IPVS through generic netlink (family "IPVS").
// open(): resolve the family (CTRL_CMD_GETFAMILY; absent -> LbUnavailableError), read the kernel's
// services and destinations (dumps). apply(): the minimal plan between what the kernel has and the
// desired state, sent as one batch of acknowledged requests. Services we never managed are left alone
// (unless flushOnOpen, keepalived's lvs_flush).
import { access } from 'node:fs/promises';
import type { LbBackend, LbState, Service } from './backend.js';
import { LbUnavailableError, serviceKeyText } from './backend.js';
import { openGenlTransport } from './genl-native.js';
import type { GenlTransport } from './genl-transport.js';
import { hasErrorCode } from '../util/errors.js';
import { decodeFamily, encodeGetFamily, GENL_ID_CTRL } from '../net/genetlink.js';
import { NLM_F_DUMP } from '../net/netlink-codec.js';
import {
  decodeDestMessage,
  decodeServiceMessage,
  encodeFlush,
  encodeGetDests,
  encodeGetServices,
  IPVS_CMD_NEW_DEST,
  IPVS_CMD_NEW_SERVICE,
  IPVS_GENL_NAME,
} from './ipvs-codec.js';
import { planToIpvsOps } from './ipvs-plan.js';
import type { LbLogger } from './logger.js';
import { silentLogger } from './logger.js';
import { describeErrno, Errno } from '../native/errno.js';
import { cloneState, destinationCount, normalizeState, planChanges, planSize, serviceId } from './state.js';
import { SerialQueue } from '../util/serial-queue.js';

export const IPVS_UNAVAILABLE_MESSAGE =
  'IPVS is not available in this kernel (generic netlink family IPVS not found); use --lb-backend=nftables, userspace or dry-run';

export interface IpvsNetlinkOptions {
  logger?: LbLogger;
  /** opens the generic netlink socket; default: the native socket layer */
  openTransport?: () => Promise<GenlTransport>;
  /** flush every IPVS service at open (keepalived's lvs_flush) */
  flushOnOpen?: boolean;
  /** /proc/net/ip_vs, checked only when no netlink socket layer is available */
  procPath?: string;
}

const defaultTransport = openGenlTransport;

export class IpvsNetlinkBackend implements LbBackend {
  readonly name = 'ipvs' as const;
  private readonly log: LbLogger;
  private readonly opts: IpvsNetlinkOptions;
  private transport: GenlTransport | undefined;
  private familyId = 0;
  /** what the kernel has (as last read or changed by us) */
  private kernel: LbState = { services: [] };
  /** ids of services we manage (ever present in a desired state) */
  private readonly owned = new Set<string>();
  private desired: LbState = { services: [] };
  private readonly queue = new SerialQueue();
  /** number of batches sent by apply() and requests in them */
  batches = 0;
  requests = 0;

  constructor(opts: IpvsNetlinkOptions = {}) {
    this.opts = opts;
    this.log = opts.logger ?? silentLogger;
  }

  async open(): Promise<void> {
    let t: GenlTransport;
    try {
      t = await (this.opts.openTransport ?? defaultTransport)();
    } catch (e) {
      // no netlink socket layer: /proc/net/ip_vs exists exactly when the IPVS module (and its genl family) is loaded
      const present = await access(this.opts.procPath ?? '/proc/net/ip_vs').then(
        () => true,
        () => false,
      );
      if (!present) throw new LbUnavailableError(IPVS_UNAVAILABLE_MESSAGE);
      throw new LbUnavailableError(`IPVS: cannot open a generic netlink socket: ${(e as Error).message}`);
    }
    try {
      const answer = await t.request('resolve generic netlink family IPVS', GENL_ID_CTRL, 0, encodeGetFamily(IPVS_GENL_NAME));
      if (!answer[0]) throw new LbUnavailableError(IPVS_UNAVAILABLE_MESSAGE);
      this.familyId = decodeFamily(answer[0]).id;
    } catch (e) {
      t.close();
      if (hasErrorCode(e, 'ENOENT')) throw new LbUnavailableError(IPVS_UNAVAILABLE_MESSAGE);
      if (hasErrorCode(e, 'TSK_ERR_LB_UNAVAILABLE')) throw e;
      throw new LbUnavailableError(`IPVS: ${(e as Error).message}`);
    }
    this.transport = t;
    if (this.opts.flushOnOpen) {
      await t.request('flush IPVS', this.familyId, 0, encodeFlush()).catch((e: Error) => {
        t.close();
        this.transport = undefined;
        throw new LbUnavailableError(`IPVS: ${e.message}`);
      });
      this.log.info({ backend: this.name }, 'IPVS flushed (lvs_flush)');
    }
    try {
      this.kernel = await this.readKernel();
    } catch (e) {
      t.close();
      this.transport = undefined;
      const hint = hasErrorCode(e, 'EPERM') ? ' (tskeepalived needs CAP_NET_ADMIN to manage IPVS)' : '';
      throw new LbUnavailableError(`IPVS: cannot read the current services: ${(e as Error).message}${hint}`);
    }
    this.log.info(
      { backend: this.name, family: this.familyId, services: this.kernel.services.length, destinations: destinationCount(this.kernel) },
      'IPVS ready',
    );
  }

  /** The kernel's services and destinations (GET_SERVICE and GET_DEST dumps). */
  async readKernel(): Promise<LbState> {
    const t = this.need();
    const services: Service[] = [];
    for (const m of await t.request('list IPVS services', this.familyId, NLM_F_DUMP, encodeGetServices())) {
      if (m.payload[0] !== IPVS_CMD_NEW_SERVICE) continue;
      services.push(decodeServiceMessage(m.payload));
    }
    for (const s of services) {
      const dests = await t.request(`list real servers of ${serviceKeyText(s.key)}`, this.familyId, NLM_F_DUMP, encodeGetDests(s.key));
      s.destinations = dests
        .filter((m) => m.payload[0] === IPVS_CMD_NEW_DEST)
        .map((m) => {
          const { activeConns: _a, inactConns: _i, ...d } = decodeDestMessage(m.payload, s.key.family);
          return d;
        });
    }
    return normalizeState({ services });
  }

  private need(): GenlTransport {
    if (!this.transport) throw new LbUnavailableError('IPVS backend is not open');
    return this.transport;
  }

  apply(state: LbState): Promise<void> {
    return this.queue.run(() => this.applyNow(state));
  }

  private async applyNow(state: LbState): Promise<void> {
    const desired = normalizeState(state);
    for (const s of desired.services) this.owned.add(serviceId(s.key));
    this.desired = desired;
    // a second pass only when the kernel differed from what we believed (someone else changed IPVS)
    for (let pass = 1; pass <= 2; pass++) {
      const outcome = await this.sendPlan(desired);
      if (outcome === 'done') return;
      this.kernel = await this.readKernel();
      if (outcome === 'failed') return this.raiseFailures();
    }
  }

  private lastFailures: string[] = [];

  private raiseFailures(): never {
    for (const f of this.lastFailures) this.log.error({ backend: this.name }, f);
    throw new Error(`IPVS: ${this.lastFailures.length} change(s) failed: ${this.lastFailures.join('; ')}`);
  }

  /** One batch for the plan from our view of the kernel to `desired`. */
  private async sendPlan(desired: LbState): Promise<'done' | 'stale' | 'failed'> {
    const t = this.need();
    const ours = { services: this.kernel.services.filter((s) => this.owned.has(serviceId(s.key))) };
    const plan = planChanges(ours, desired);
    if (planSize(plan) === 0) return 'done';
    const ops = planToIpvsOps(plan);
    const results = await t.batch(
      this.familyId,
      ops.map((o) => o.payload),
    );
    this.batches++;
    this.requests += ops.length;
    const failures: string[] = [];
    let stale = false;
    results.forEach((errno, i) => {
      const op = ops[i]!;
      if (errno === 0) return;
      if ((errno === Errno.EEXIST && op.kind.startsWith('new-')) || ((errno === Errno.ENOENT || errno === Errno.ESRCH) && !op.kind.startsWith('new-'))) {
        stale = true; // the kernel was not as we believed
        return;
      }
      failures.push(`${op.what}: ${describeErrno(errno)}`);
    });
    this.log.info({ backend: this.name, changes: ops.length, failures: failures.length }, 'IPVS updated');
    this.lastFailures = failures;
    if (failures.length) return 'failed';
    if (stale) return 'stale';
    this.kernel = { services: [...this.kernel.services.filter((s) => !this.owned.has(serviceId(s.key))), ...desired.services] };
    return 'done';
  }

  current(): LbState {
    return cloneState(this.desired);
  }

  async close(opts: { release: boolean }): Promise<void> {
    await this.queue.idle();
    const t = this.transport;
    if (!t) return;
    try {
      if (opts.release) {
        const ours = this.kernel.services.filter((s) => this.owned.has(serviceId(s.key)));
        const ops = planToIpvsOps(planChanges({ services: ours }, { services: [] }));
        if (ops.length)
          await t.batch(
            this.familyId,
            ops.map((o) => o.payload),
          );
        this.desired = { services: [] };
      }
    } finally {
      t.close();
      this.transport = undefined;
    }
  }
}
