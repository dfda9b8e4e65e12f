// The route guard: a small process a BGP driver starts (detached, in its own session) with a pipe
// on its stdin. When the pipe ends without "bye" (tskeepalived died, SIGKILL included: the kernel
// closes the pipe), it withdraws every route tskeepalived announced: BIRD: empties the routes file
// and asks BIRD to `configure`; FRR: removes tskeepalived's network statements and route-maps from
// bgpd over its vty socket. It ignores SIGTERM/SIGINT/SIGHUP (a stop of the service must not race
// its own withdrawal) and writes its pid next to the routes file so that a new tskeepalived waits
// for it before announcing again.
// argv: JSON GuardArgs (guarded-driver.ts)
import { rmSync } from 'node:fs';
import { birdConfigure } from './bird-control.js';
import { renderBirdRoutes } from './bird-routes.js';
import { frrSync, renderFrrRecord } from './frr-routes.js';
import { type GuardArgs, guardPidFile } from './guarded-driver.js';
import { writeAtomic } from '../util/write-atomic.js';

async function withdrawOnce(a: GuardArgs): Promise<void> {
  if (a.driver === 'frr') {
    await frrSync(a, []);
    try {
      writeAtomic(a.routesFile, renderFrrRecord(a.protocolName, []));
    } catch {
      /* a record only */
    }
  } else await birdConfigure(a.controlSocket, a.commandTimeout);
}

async function withdrawAll(a: GuardArgs): Promise<void> {
  if (a.driver !== 'frr') writeAtomic(a.routesFile, renderBirdRoutes(a.protocolName, []));
  // the BGP daemon may be busy or restarting: a few tries within about 5 s
  for (let i = 0; i < 5; i++) {
    try {
      await withdrawOnce(a);
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
