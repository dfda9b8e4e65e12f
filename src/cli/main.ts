// Entry point: parse keepalived's options and hand over to the config test or the daemon.
// Modules are loaded lazily so that `--config-test` does not pay for the engines.
import { parseArgs, USAGE, type CliOptions } from './options.js';
import { hasErrorCode } from '../util/errors.js';
import { VERSION } from '../util/version.js';
import { GLIBC_REALTIME_RANGE, signalNumber } from '../daemon/signal-numbers.js';

/** --signum=FUNC as keepalived's: the number on stdout (exit 0), or "Unknown sigfunc FUNC" (exit 1). */
async function printSignum(func: string): Promise<number> {
  let range = GLIBC_REALTIME_RANGE;
  if (func === 'JSON' || func === 'STATS_CLEAR') {
    try {
      const { realtimeSignalRange } = await import('../native/signals.js');
      range = realtimeSignalRange();
    } catch {
      /* no addon: glibc's SIGRTMIN / SIGRTMAX */
    }
  }
  const n = signalNumber(func, range);
  if (n === undefined) {
    process.stderr.write(`Unknown sigfunc ${func}\n`);
    return 1;
  }
  process.stdout.write(`${n}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<void> {
  let opts: CliOptions;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    if (hasErrorCode(e, 'TSK_ERR_CLI')) {
      process.stderr.write(`tskeepalived: ${e.message}\n${USAGE}`);
      process.exitCode = 4;
      return;
    }
    throw e;
  }
  for (const w of opts.warnings) process.stderr.write(`tskeepalived: warning: ${w}\n`);
  if (opts.signum !== undefined) {
    process.exitCode = await printSignum(opts.signum);
    return;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (opts.version) {
    process.stdout.write(`tskeepalived v${VERSION} (keepalived 2.2.7 compatible)\n`);
    return;
  }
  if (opts.configTest || opts.dumpConf) {
    const { runCheckConfig } = await import('./check-config.js');
    process.exitCode = await runCheckConfig(opts);
    return;
  }
  const { runDaemon } = await import('../daemon/run.js');
  await runDaemon(opts);
}
