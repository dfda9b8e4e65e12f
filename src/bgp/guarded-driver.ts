// What the BIRD and FRR drivers share: the announced set kept here, hand-overs serialised and
// coalesced (the latest set wins), a failed hand-over retried every retryMs, an optional resync
// (re-checks a BGP daemon that forgets what it was told when it restarts: FRR), health, and the
// route guard (guard.ts) that withdraws everything when this process dies, however it dies.
// A driver says how one hand-over is done (`apply`) and which guard arguments withdraw its routes.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { BgpDriver, BgpRoute, DriverHealth } from './types.js';

/** argv[2] of guard.js (JSON): what it needs to withdraw every route of a driver. */
export interface GuardArgs {
  driver: 'bird' | 'frr';
  controlSocket: string;
  routesFile: string;
  protocolName: string;
  commandTimeout: number;
  /** frr: the `router bgp` instance (absent: the default one) */
  asn?: number;
}

export interface GuardedDriverOptions {
  /** where the guard writes its pid: `ROUTES_FILE.guard.pid` */
  routesFile: string;
  /** ms between retries of a failed hand-over (default 2000) */
  retryMs?: number;
  /** ms between re-checks after a successful hand-over (default: none) */
  resyncMs?: number;
  /** start the guard process (default true) */
  guard?: boolean;
}

const GUARD_JS = fileURLToPath(new URL('./guard.js', import.meta.url));

/** Where the guard of a routes file writes its pid. */
export function guardPidFile(routesFile: string): string {
  return `${routesFile}.guard.pid`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export abstract class GuardedDriver implements BgpDriver {
  abstract readonly name: 'bird' | 'frr';
  /** 'BIRD' / 'FRR' in messages */
  protected abstract readonly daemonName: string;
  protected readonly routes = new Map<string, BgpRoute>();
  private running: Promise<void> | undefined;
  private again = false;
  private retryTimer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private guard?: ChildProcess;
  private guardRestarts = 0;
  protected stopped = false;
  private readonly h: DriverHealth = { ok: false, reason: 'not started', applies: 0, failures: 0 };

  constructor(
    private readonly common: GuardedDriverOptions,
    protected readonly log: Logger,
  ) {}

  /** Hand exactly these routes to the BGP daemon; throws (a TskeepalivedError) when it cannot. */
  protected abstract apply(routes: BgpRoute[]): Promise<void>;
  /** What the guard needs to withdraw every route of this driver. */
  protected abstract guardArgs(): GuardArgs;
  abstract announced(): Promise<string[]>;
  /** Before the first hand-over (after an old guard is gone): e.g. create directories. */
  protected prepare(): void {}

  async start(): Promise<void> {
    await this.waitForOldGuard();
    this.prepare();
    if (this.common.guard !== false) this.startGuard();
    // whatever a previous run left goes now
    await this.flush();
  }

  announce(route: BgpRoute): Promise<void> {
    this.routes.set(route.prefix, route);
    return this.flush();
  }

  withdraw(prefix: string): Promise<void> {
    if (!this.routes.delete(prefix)) return this.running ?? Promise.resolve();
    return this.flush();
  }

  set(routes: BgpRoute[]): Promise<void> {
    this.routes.clear();
    for (const r of routes) this.routes.set(r.prefix, r);
    return this.flush();
  }

  health(): DriverHealth {
    const h = { ...this.h };
    if (this.guard?.pid !== undefined && this.guard.exitCode === null) h.guardPid = this.guard.pid;
    return h;
  }

  async stop(opts: { withdraw: boolean }): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    // a hand-over under way finishes first (its set may be older than the withdrawal)
    await this.running?.catch(() => {});
    if (opts.withdraw) {
      this.routes.clear();
      await this.flushNow();
    }
    const g = this.guard;
    this.guard = undefined;
    if (g && g.exitCode === null && g.signalCode === null) {
      // withdrawn (or deliberately left): the guard has nothing to do
      const exited = new Promise<void>((r) => g.once('exit', () => r()));
      // unref'd while running (it must not keep the daemon alive); waited for now
      g.ref();
      g.stdin?.end('bye\n');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
  }

  // ---------------------------------------------------------------- hand-over

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    this.retryTimer = undefined;
    this.resyncTimer = undefined;
  }

  /** Coalesced: at most one hand-over runs; changes meanwhile make one more after it. */
  protected flush(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = (async () => {
      do {
        this.again = false;
        await this.flushNow();
      } while (this.again);
    })().finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async flushNow(): Promise<void> {
    this.clearTimers();
    const t0 = performance.now();
    try {
      await this.apply([...this.routes.values()]);
      this.h.applies++;
      if (!this.h.ok && this.h.failures > 0) this.log.info(`routes handed to ${this.daemonName} again`);
      this.h.ok = true;
      this.h.reason = undefined;
      this.h.lastAppliedAt = Date.now();
      this.h.lastApplyMs = performance.now() - t0;
      this.log.debug({ routes: [...this.routes.keys()], ms: this.h.lastApplyMs }, `routes handed to ${this.daemonName}`);
      if (this.common.resyncMs && !this.stopped) {
        this.resyncTimer = setTimeout(() => {
          this.resyncTimer = undefined;
          void this.flush();
        }, this.common.resyncMs);
        this.resyncTimer.unref();
      }
    } catch (e) {
      this.h.failures++;
      const reason = (e as Error).message;
      if (this.h.ok || this.h.reason !== reason) this.log.error({ err: e }, `cannot hand the routes to ${this.daemonName}: ${reason}`);
      this.h.ok = false;
      this.h.reason = reason;
      if (!this.stopped) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          void this.flush();
        }, this.common.retryMs ?? 2000);
        this.retryTimer.unref();
      }
    }
  }

  // ---------------------------------------------------------------- the guard

  /** A guard of a previous run may still be withdrawing: let it finish first (bounded). */
  private async waitForOldGuard(): Promise<void> {
    let pid: number;
    try {
      pid = Number(readFileSync(guardPidFile(this.common.routesFile), 'utf8').trim());
    } catch {
      return;
    }
    if (!(pid > 0) || pid === process.pid) return;
    const until = Date.now() + 8000;
    while (pidAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    if (pidAlive(pid)) this.log.warn({ pid }, 'the BGP route guard of a previous run is still running');
  }

  private startGuard(): void {
    const args = JSON.stringify(this.guardArgs());
    let g: ChildProcess;
    try {
      g = spawn(process.execPath, [GUARD_JS, args], { detached: true, stdio: ['pipe', 'ignore', 'inherit'] });
    } catch (e) {
      this.log.error({ err: e }, 'cannot start the BGP route guard: routes would stay announced if tskeepalived died');
      return;
    }
    this.guard = g;
    g.stdin?.on('error', () => {});
    g.on('error', (e) => this.log.error({ err: e }, 'the BGP route guard failed'));
    g.on('exit', (code, signal) => {
      if (this.stopped || this.guard !== g) return;
      this.guard = undefined;
      this.log.error({ code, signal }, 'the BGP route guard exited: starting it again');
      // a guard that exits at once every time must not spin
      if (++this.guardRestarts > 20) {
        this.log.error('the BGP route guard keeps exiting: no more restarts');
        return;
      }
      setTimeout(() => {
        if (!this.stopped && !this.guard) this.startGuard();
      }, 1000).unref();
    });
    g.unref();
    this.log.info({ pid: g.pid }, 'BGP route guard started');
  }
}
