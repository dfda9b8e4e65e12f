// The FRR driver (bgpd of FRR 8.x): the announced set is runtime configuration of bgpd, spoken
// over its vty socket (frr-vty.ts; no vtysh needed): one `network PREFIX route-map NAME_xxxxxxxx`
// per VIP and one route-map per attribute set (frr-routes.ts). Each hand-over reads bgpd's running
// configuration and sends the difference. bgpd forgets runtime configuration when it restarts, so
// after a successful hand-over the set is checked again every resyncMs (a restarted bgpd gets it
// back within that time). Serialising, retries and the route guard (guard.ts: withdraws through
// the same vty socket when this process dies) are guarded-driver.ts's. A record of what was handed
// over is written to routesFile (FRR does not read it).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { type FrrTarget, frrAnnounced, frrSync, renderFrrRecord } from './frr-routes.js';
import { type GuardArgs, GuardedDriver } from './guarded-driver.js';
import type { BgpRoute } from './types.js';
import { writeAtomicIfChanged } from '../util/write-atomic.js';

export interface FrrDriverOptions extends FrrTarget {
  /** the record of what was handed to FRR; the guard's pid file is ROUTES_FILE.guard.pid */
  routesFile: string;
  /** ms between retries of a failed hand-over (default 2000) */
  retryMs?: number;
  /** ms between checks that bgpd still has the set (default 5000) */
  resyncMs?: number;
  /** start the guard process (default true) */
  guard?: boolean;
}

export class FrrDriver extends GuardedDriver {
  readonly name = 'frr' as const;
  protected readonly daemonName = 'FRR';
  private warnedImportCheck = false;

  constructor(
    private readonly opts: FrrDriverOptions,
    log: Logger,
  ) {
    super({ routesFile: opts.routesFile, retryMs: opts.retryMs, resyncMs: opts.resyncMs ?? 5000, guard: opts.guard }, log);
  }

  announced(): Promise<string[]> {
    return frrAnnounced(this.opts);
  }

  protected override prepare(): void {
    try {
      mkdirSync(dirname(this.opts.routesFile), { recursive: true });
    } catch (e) {
      this.log.error({ err: e }, `cannot create the directory of ${this.opts.routesFile}`);
    }
  }

  protected guardArgs(): GuardArgs {
    const { controlSocket, routesFile, protocolName, commandTimeout, asn } = this.opts;
    return { driver: 'frr', controlSocket, routesFile, protocolName, commandTimeout, asn };
  }

  protected async apply(routes: BgpRoute[]): Promise<void> {
    const r = await frrSync(this.opts, routes);
    if (r.commands > 0) this.log.debug({ commands: r.commands }, 'bgpd reconfigured');
    if (routes.length && !r.owned.importCheckOff && !this.warnedImportCheck) {
      this.warnedImportCheck = true;
      this.log.warn(
        `router bgp ${r.owned.instanceAsn} has no 'no bgp network import-check': bgpd announces a VIP only while its own routing table has a route to it`,
      );
    }
    this.writeRecord(routes);
  }

  private writeRecord(routes: BgpRoute[]): void {
    const text = renderFrrRecord(this.opts.protocolName, routes);
    try {
      writeAtomicIfChanged(this.opts.routesFile, text);
    } catch (e) {
      this.log.warn({ err: e }, `cannot write the record ${this.opts.routesFile}`);
    }
  }
}
