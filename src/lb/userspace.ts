// The userspace backend: a TCP/UDP proxy in Node with IPVS-like schedulers, listening on each virtual
// address:port (for unprivileged sidecars and hosts without IPVS or nftables). apply() reconfigures
// listeners and destinations in place; existing connections of remaining destinations are untouched.
// A listener whose address is not (yet) on this host (EADDRNOTAVAIL, e.g. a VIP on a BACKUP node) is
// retried until it can bind.
import type { LbBackend, LbState, Service } from './backend.js';
import { serviceKeyText } from './backend.js';
import type { LbLogger } from './logger.js';
import { silentLogger } from './logger.js';
import { USERSPACE_SCHEDULERS } from './schedulers.js';
import { cloneState, destinationCount, normalizeState, serviceAttrsDiffer, serviceId } from './state.js';
import { ServiceProxy } from './userspace-service.js';
import type { ServiceProxyOptions } from './userspace-service.js';
import { TskeepalivedError } from '../util/errors.js';
import { SerialQueue } from '../util/serial-queue.js';

export interface UserspaceOptions {
  logger?: LbLogger;
  /** retry interval for listeners that cannot bind yet (ms), default 1000 */
  retryMs?: number;
  /** UDP session idle timeout (ms), default 300000 (IPVS's UDP timeout) */
  udpIdleMs?: number;
  /** TCP entry linger after a graceful close (ms), default 120000 (IPVS TIME_WAIT) */
  tcpTimeWaitMs?: number;
  /** TCP entry linger after a reset (ms), default 10000 (IPVS CLOSE) */
  tcpCloseMs?: number;
  /** lblc/lblcr entry expiration (ms), default 24 h (IPVS lblc_expiration) */
  lblcExpirationMs?: number;
  /** drop persistence templates of weight-0 servers (net.ipv4.vs.expire_quiescent_template=1); default false as IPVS */
  expireQuiescentTemplate?: boolean;
  now?: () => number;
}

export class UserspaceConfigError extends TskeepalivedError {
  constructor(readonly problems: string[]) {
    super(`userspace LB backend: ${problems.join('; ')}`, 'TSK_ERR_USERSPACE_CONFIG');
    this.name = 'UserspaceConfigError';
  }
}

/** Problems that make a state impossible for the userspace proxy (empty = supported). */
export function userspaceUnsupported(state: LbState): string[] {
  const problems: string[] = [];
  for (const s of state.services) {
    const name = serviceKeyText(s.key);
    if (s.key.kind === 'fwmark') problems.push(`${name}: firewall-mark services need the kernel (use --lb-backend=ipvs or nftables)`);
    else if (s.key.protocol === 'SCTP') problems.push(`${name}: SCTP is not supported by the userspace proxy`);
    if (!(USERSPACE_SCHEDULERS as readonly string[]).includes(s.scheduler)) problems.push(`${name}: unknown scheduler "${s.scheduler}"`);
  }
  return problems;
}

interface Entry {
  service: Service;
  proxy: ServiceProxy;
  retry?: NodeJS.Timeout;
  lastError?: string;
}

export class UserspaceBackend implements LbBackend {
  readonly name = 'userspace' as const;
  private readonly log: LbLogger;
  private readonly retryMs: number;
  private readonly udpIdleMs: number;
  private readonly proxyOpts: ServiceProxyOptions;
  private readonly entries = new Map<string, Entry>();
  private state: LbState = { services: [] };
  private readonly queue = new SerialQueue();
  private warnedLbKind = new Set<string>();

  constructor(opts: UserspaceOptions = {}) {
    this.log = opts.logger ?? silentLogger;
    this.retryMs = opts.retryMs ?? 1000;
    this.udpIdleMs = opts.udpIdleMs ?? 300_000;
    this.proxyOpts = {
      udpIdleMs: this.udpIdleMs,
      tcpTimeWaitMs: opts.tcpTimeWaitMs,
      tcpCloseMs: opts.tcpCloseMs,
      lblcExpirationMs: opts.lblcExpirationMs,
      expireQuiescentTemplate: opts.expireQuiescentTemplate,
      now: opts.now,
    };
  }

  async open(): Promise<void> {
    this.log.info({ backend: this.name }, 'LB backend userspace proxy ready');
  }

  apply(desired: LbState): Promise<void> {
    return this.queue.run(() => this.applyNow(desired));
  }

  private async applyNow(desired: LbState): Promise<void> {
    const norm = normalizeState(desired);
    const problems = userspaceUnsupported(norm);
    if (problems.length) throw new UserspaceConfigError(problems);
    const wanted = new Map(norm.services.map((s) => [serviceId(s.key), s]));
    for (const [id, e] of this.entries) {
      if (wanted.has(id)) continue;
      clearTimeout(e.retry);
      this.entries.delete(id);
      await e.proxy.stop(false);
      this.log.info({ backend: this.name, service: serviceKeyText(e.service.key) }, 'virtual service removed');
    }
    const failures: string[] = [];
    for (const [id, s] of wanted) {
      for (const d of s.destinations)
        if (d.lbKind !== 'NAT' && !this.warnedLbKind.has(id)) {
          this.warnedLbKind.add(id);
          this.log.warn({ backend: this.name, service: serviceKeyText(s.key) }, `lb_kind ${d.lbKind} is proxied like NAT by the userspace backend`);
        }
      const e = this.entries.get(id);
      if (e) {
        if (serviceAttrsDiffer(e.service, s) || JSON.stringify(e.service.destinations) !== JSON.stringify(s.destinations)) e.proxy.update(s);
        e.service = s;
        continue;
      }
      const entry: Entry = { service: s, proxy: new ServiceProxy(s, this.proxyOpts) };
      this.entries.set(id, entry);
      const err = await this.tryListen(id, entry);
      if (err && err !== 'EADDRNOTAVAIL') failures.push(`${serviceKeyText(s.key)}: cannot listen (${err}), retrying every ${this.retryMs} ms`);
    }
    this.state = cloneState(norm);
    this.log.info({ backend: this.name, services: norm.services.length, destinations: destinationCount(norm) }, 'LB state applied');
    if (failures.length) throw new UserspaceConfigError(failures);
  }

  /** Try to listen; on failure schedule a retry. Returns the error code, or undefined once listening. */
  private async tryListen(id: string, e: Entry): Promise<string | undefined> {
    try {
      await e.proxy.start();
      if (e.lastError) this.log.info({ backend: this.name, service: serviceKeyText(e.service.key) }, 'listener up');
      e.lastError = undefined;
      return undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      if (code !== e.lastError)
        this.log.warn({ backend: this.name, service: serviceKeyText(e.service.key), code }, 'cannot listen on the virtual address yet; retrying');
      e.lastError = code;
      e.retry = setTimeout(() => {
        if (this.entries.get(id) === e) void this.tryListen(id, e);
      }, this.retryMs);
      e.retry.unref();
      return code;
    }
  }

  current(): LbState {
    return cloneState(this.state);
  }

  /** Per service: listening or not, and per destination open/total connections. */
  stats(): { service: string; listening: boolean; refused: number; templates: number; destinations: ReturnType<ServiceProxy['stats']> }[] {
    return [...this.entries.values()].map((e) => ({
      service: serviceKeyText(e.service.key),
      listening: e.proxy.isListening,
      refused: e.proxy.refused,
      templates: e.proxy.templates(),
      destinations: e.proxy.stats(),
    }));
  }

  async close(opts: { release: boolean }): Promise<void> {
    await this.queue.idle();
    for (const e of this.entries.values()) {
      clearTimeout(e.retry);
      await e.proxy.stop(opts.release);
    }
    this.entries.clear();
    this.state = { services: [] };
  }
}
