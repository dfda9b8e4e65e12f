// The route guard: a small process the BIRD driver starts (detached, in its own session) with a
// pipe on its stdin. When the pipe ends without "bye" (tskeepalived died, SIGKILL included: the
// kernel closes the pipe), it empties the routes file and asks BIRD to `configure`, so BIRD
// withdraws every route tskeepalived announced. It ignores SIGTERM/SIGINT/SIGHUP (a stop of the
// service must not race its own withdrawal) and writes its pid next to the routes file so that a
// new tskeepalived waits for it before announcing again.
// argv: JSON {controlSocket, routesFile, protocolName, commandTimeout}
import { rmSync } from 'node:fs';
import { birdConfigure } from './bird-control.js';
import { guardPidFile, renderBirdRoutes } from './bird-routes.js';
import { writeAtomic } from '../util/write-atomic.js';

interface GuardArgs {
  controlSocket: string;
  routesFile: string;
  protocolName: string;
  commandTimeout: number;
}

async function withdrawAll(a: GuardArgs): Promise<void> {
  writeAtomic(a.routesFile, renderBirdRoutes(a.protocolName, []));
  // BIRD may be busy or restarting: a few tries within about 5 s
  for (let i = 0; i < 5; i++) {
    try {
      await birdConfigure(a.controlSocket, a.commandTimeout);
      process.stderr.write(`tskeepalived bgp guard ${process.pid}: tskeepalived is gone, routes withdrawn\n`);
      return;
    } catch (e) {
      process.stderr.write(`tskeepalived bgp guard ${process.pid}: ${(e as Error).message}\n`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function main(): void {
  const a = JSON.parse(process.argv[2] ?? '{}') as GuardArgs;
  for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(s, () => {});
  const pidFile = guardPidFile(a.routesFile);
  writeAtomic(pidFile, `${process.pid}\n`);
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => {
    text += d;
    if (text.length > 64) text = text.slice(-64);
  });
  process.stdin.on('error', () => {});
  process.stdin.on('close', () => {
    const bye = text.includes('bye');
    const done = () => {
      rmSync(pidFile, { force: true });
      process.exit(0);
    };
    if (bye) done();
    else withdrawAll(a).finally(done);
  });
}

main();
