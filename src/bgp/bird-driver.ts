// The BIRD 2 driver: the announced set lives in an include file tskeepalived owns (two `protocol
// static`, see bird-routes.ts), written atomically; BIRD is told to re-read it with `configure` on
// its control socket. Serialising, coalescing, retries (BIRD down, restarting, socket missing: the
// file is already right, so a BIRD that starts later reads it) and the route guard (guard.ts:
// empties the file and reconfigures BIRD when this process dies) are guarded-driver.ts's.
import type { Logger } from 'pino';
import { BirdControlError, birdConfigure, birdHasProtocol, birdRoutesOf } from './bird-control.js';
import { renderBirdRoutes } from './bird-routes.js';
import { type GuardArgs, GuardedDriver } from './guarded-driver.js';
import type { BgpRoute } from './types.js';
import { writeAtomicIfChanged } from '../util/write-atomic.js';

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

export class BirdDriver extends GuardedDriver {
  readonly name = 'bird' as const;
  protected readonly daemonName = 'BIRD';

  constructor(
    private readonly opts: BirdDriverOptions,
    log: Logger,
  ) {
    super({ routesFile: opts.routesFile, retryMs: opts.retryMs, guard: opts.guard }, log);
  }

  async announced(): Promise<string[]> {
    const p = this.opts.protocolName;
    const [a, b] = await Promise.all([4, 6].map((f) => birdRoutesOf(this.opts.controlSocket, `${p}${f}`, this.opts.commandTimeout)));
    return [...a!, ...b!];
  }

  protected guardArgs(): GuardArgs {
    const { controlSocket, routesFile, protocolName, commandTimeout } = this.opts;
    return { driver: 'bird', controlSocket, routesFile, protocolName, commandTimeout };
  }

  protected async apply(routes: BgpRoute[]): Promise<void> {
    const text = renderBirdRoutes(this.opts.protocolName, routes);
    writeAtomicIfChanged(this.opts.routesFile, text);
    await birdConfigure(this.opts.controlSocket, this.opts.commandTimeout);
    // BIRD accepted its configuration: does it include ours?
    if (!(await birdHasProtocol(this.opts.controlSocket, `${this.opts.protocolName}4`, this.opts.commandTimeout)))
      throw new BirdControlError(`BIRD's configuration does not include ${this.opts.routesFile} (no protocol ${this.opts.protocolName}4)`);
  }
}
