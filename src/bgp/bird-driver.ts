// The BIRD 2 driver: the announced set lives in an include file tskeepalived owns (two `protocol
// static`, see bird-routes.ts), written atomically; BIRD is told to re-read it with `configure` on
// its control socket. Hand-overs are serialised and coalesced (the latest set wins); a failed one
// is retried every retryMs (BIRD down, restarting, socket missing: the file is already right, so a
// BIRD that starts later reads it). A guard process (guard.ts) empties the file and reconfigures
// BIRD when this process dies, however it dies.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { BirdControlError, birdConfigure, birdHasProtocol, birdRoutesOf } from './bird-control.js';
import { guardPidFile, renderBirdRoutes } from './bird-routes.js';
import type { BgpDriver, BgpRoute, DriverHealth } from './types.js';
import { writeAtomic } from '../util/write-atomic.js';

export interface BirdDriverOptions {
  controlSocket: string;
  routesFile: string;
  protocolName: string;
  /** ms allowed to one control-socket command */
  commandTimeout: number;
  /** ms between retries of a failed hand-over (default 2000) */
  retryMs?: number;
  /** start the guard process (default true) */
  guard?: boolean;
}

const GUARD_JS = fileURLToPath(new URL('./guard.js', import.meta.url));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class BirdDriver implements BgpDriver {
  readonly name = 'bird' as const;
  private readonly routes = new Map<string, BgpRoute>();
  private running: Promise<void> | undefined;
  private again = false;
  private retryTimer?: NodeJS.Timeout;
  private guard?: ChildProcess;
  private guardRestarts = 0;
  private stopped = false;
  private readonly h: DriverHealth = { ok: false, reason: 'not started', applies: 0, failures: 0 };

  constructor(
    private readonly opts: BirdDriverOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.waitForOldGuard();
    if (this.opts.guard !== false) this.startGuard();
    // whatever a previous run left in the file goes now
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

  async announced(): Promise<string[]> {
    const p = this.opts.protocolName;
    const [a, b] = await Promise.all([4, 6].map((f) => birdRoutesOf(this.opts.controlSocket, `${p}${f}`, this.opts.commandTimeout)));
    return [...a!, ...b!];
  }

  health(): DriverHealth {
    const h = { ...this.h };
    if (this.guard?.pid !== undefined && this.guard.exitCode === null) h.guardPid = this.guard.pid;
    return h;
  }

  async stop(opts: { withdraw: boolean }): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
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

  /** Coalesced: at most one hand-over runs; changes meanwhile make one more after it. */
  private flush(): Promise<void> {
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
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    const t0 = performance.now();
    try {
      const text = renderBirdRoutes(this.opts.protocolName, [...this.routes.values()]);
      let current: string | undefined;
      try {
        current = readFileSync(this.opts.routesFile, 'utf8');
      } catch {
        current = undefined;
      }
      if (current !== text) writeAtomic(this.opts.routesFile, text);
      await birdConfigure(this.opts.controlSocket, this.opts.commandTimeout);
      // BIRD accepted its configuration: does it include ours?
      if (!(await birdHasProtocol(this.opts.controlSocket, `${this.opts.protocolName}4`, this.opts.commandTimeout)))
        throw new BirdControlError(`BIRD's configuration does not include ${this.opts.routesFile} (no protocol ${this.opts.protocolName}4)`);
      this.h.applies++;
      this.h.ok = true;
      this.h.reason = undefined;
      this.h.lastAppliedAt = Date.now();
      this.h.lastApplyMs = performance.now() - t0;
      this.log.debug({ routes: [...this.routes.keys()], ms: this.h.lastApplyMs }, 'BIRD reconfigured');
    } catch (e) {
      this.h.failures++;
      const reason = (e as Error).message;
      if (this.h.ok || this.h.reason !== reason) this.log.error({ err: e }, `cannot hand the routes to BIRD: ${reason}`);
      this.h.ok = false;
      this.h.reason = reason;
      if (!this.stopped) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          void this.flush();
        }, this.opts.retryMs ?? 2000);
        this.retryTimer.unref();
      }
    }
  }

  // ---------------------------------------------------------------- the guard

  /** A guard of a previous run may still be withdrawing: let it finish first (bounded). */
  private async waitForOldGuard(): Promise<void> {
    let pid: number;
    try {
      pid = Number(readFileSync(guardPidFile(this.opts.routesFile), 'utf8').trim());
    } catch {
      return;
    }
    if (!(pid > 0) || pid === process.pid) return;
    const until = Date.now() + 8000;
    while (pidAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    if (pidAlive(pid)) this.log.warn({ pid }, 'the BGP route guard of a previous run is still running');
  }

  private startGuard(): void {
    const args = JSON.stringify({
      controlSocket: this.opts.controlSocket,
      routesFile: this.opts.routesFile,
      protocolName: this.opts.protocolName,
      commandTimeout: this.opts.commandTimeout,
    });
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
