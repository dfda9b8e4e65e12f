// Test harness (test/checkers-standalone.test.ts): the checkers alone, apart from the full daemon:
// load the config, create the load-balancer backend (--lb-backend > lb_backend > ipvs), start the
// engine, reload on SIGHUP, stop on SIGTERM/SIGINT (releasing the LB state unless -I).
import pino from 'pino';
import type { CliOptions } from '../../src/cli/options.js';
import { loadConfig } from '../../src/config/load.js';
import type { Diagnostic } from '../../src/config/model.js';
import type { LbBackend } from '../../src/lb/backend.js';
import { CheckersEngine, createBackendFor } from '../../src/checkers/engine.js';

function formatDiag(d: Diagnostic): string {
  const where = d.file ? `${d.file}${d.line !== undefined ? `:${d.line}` : ''}: ` : '';
  return `${where}${d.severity}: ${d.message}`;
}

export interface StandaloneHandle {
  engine: CheckersEngine;
  backend: LbBackend;
  /** stop as on SIGTERM */
  stop(): Promise<void>;
  /** resolves once stopped */
  done: Promise<void>;
}

/** Starts the checkers; resolves with a handle once running (rejects with a clear message when it cannot start). */
export async function startCheckersStandalone(
  opts: CliOptions,
  // logs on stderr: stdout is the dry-run backend's ipvsadm lines
  log = pino({ name: 'tskeepalived-checkers' }, pino.destination(2)),
): Promise<StandaloneHandle> {
  const load = () => {
    const { config, diagnostics } = loadConfig(opts.useFile, { configId: opts.configId });
    for (const d of diagnostics) if (d.severity !== 'info') log.warn(formatDiag(d));
    const fatal = diagnostics.find((d) => d.severity === 'fatal');
    if (fatal) throw new Error(formatDiag(fatal));
    return config;
  };
  const config = load();
  const backend = await createBackendFor(opts.lbBackend, config, log);
  const engine = new CheckersEngine({ backend, logger: log });
  engine.on((ev) => log.info(ev, ev.kind));
  await engine.start(config);
  log.info({ file: opts.useFile, backend: backend.name, virtualServers: config.virtualServers.length }, 'checkers started');

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let stopping = false;
  const stop = async () => {
    if (stopping) return done;
    stopping = true;
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onTerm);
    process.off('SIGHUP', onHup);
    await engine.stop({ release: !opts.dontReleaseIpvs });
    log.info('checkers stopped');
    resolveDone();
  };
  const onTerm = () => void stop();
  const onHup = () => {
    try {
      const next = load();
      void engine.reload(next).then(() => log.info('configuration reloaded'));
    } catch (e) {
      log.error({ err: e }, 'reload refused: configuration has errors, keeping the running one');
    }
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onTerm);
  process.on('SIGHUP', onHup);
  return { engine, backend, stop, done };
}

/** CLI entry: runs until SIGTERM/SIGINT. Errors are reported on stderr with exit code 4. */
export async function runCheckersStandalone(opts: CliOptions): Promise<void> {
  let h: StandaloneHandle;
  try {
    h = await startCheckersStandalone(opts);
  } catch (e) {
    process.stderr.write(`tskeepalived: ${(e as Error).message}\n`);
    process.exitCode = 4;
    return;
  }
  await h.done;
}
