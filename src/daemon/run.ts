// `tskeepalived` without --config-test: the daemon an operator runs.
//  - without -n: re-spawn detached, the parent exits 0 once the child runs (pid files written);
//  - load the config (diagnostics printed; fatal -> exit 4);
//  - refuse to start while another live instance holds a pid file (exit 1);
//  - signals: HUP reload, TERM/INT stop (exit 0), USR1 data dump, USR2 stats dump, and keepalived's
//    real-time ones, which Node cannot catch, through the native layer's signal pipe
//    (src/native/signals.ts): SIGRTMIN+2 JSON dump, SIGRTMAX-1 stats dump and clear.
import type { DaemonOptions } from './options.js';
import type { Diagnostic } from '../config/model.js';
import { createLogger, logOptionsFromCli, type Logger, type LoggerHandle } from '../log/logger.js';
import { formatDiagnostic, loadConfiguration } from './config-source.js';
import { Daemon, type DaemonDeps } from './daemon.js';
import { isDaemonChild, reportToParent, spawnDaemonChild } from './daemonize.js';
import { threadNetNamespace } from '../native/netns.js';
import { hasProcConnector, openProcConnector } from '../net/proc-connector.js';
import { wantedEngines, type EngineFactory } from './engines.js';
import { heldPidFile, PidFiles, pidFilesFor } from './pidfile.js';
import { signalNumber } from './signal-numbers.js';
import { tuneHeapForCheckers, tuneHeapForVrrp } from '../checkers/heap-tuning.js';

export interface RunDeps {
  engines?: EngineFactory;
}

function fail(code: number, message: string, log?: Logger, loggedToConsole = false): void {
  log?.fatal(message);
  if (isDaemonChild()) reportToParent({ type: 'failed', code, message: `tskeepalived: ${message}` });
  else if (!loggedToConsole) process.stderr.write(`tskeepalived: ${message}\n`);
  process.exitCode = code;
}

function printDiagnostics(diags: Diagnostic[], log: Logger): string {
  const lines: string[] = [];
  for (const d of diags) {
    if (d.severity === 'info') continue;
    const text = formatDiagnostic(d);
    lines.push(text);
    if (d.severity === 'fatal' || d.severity === 'error') log.error({ diagnostic: d }, text);
    else log.warn({ diagnostic: d }, text);
  }
  return lines.join('\n');
}

function installProcessGuards(daemon: Daemon | undefined, log: Logger): () => void {
  const onError = (kind: string) => (err: unknown) => {
    if (daemon) daemon.counters.uncaught++;
    const e = err instanceof Error ? err : new Error(String(err));
    log.error({ err: e }, `${kind} (kept running): ${e.message}`);
  };
  const ue = onError('uncaught exception');
  const ur = onError('unhandled promise rejection');
  process.on('uncaughtException', ue);
  process.on('unhandledRejection', ur);
  return () => {
    process.off('uncaughtException', ue);
    process.off('unhandledRejection', ur);
  };
}

/**
 * SIGRTMIN+2 (JSON dump) and SIGRTMAX-1 (stats dump and clear) through the native layer; without
 * the addon they are not caught (their default action ends the process, as for a keepalived
 * built without them), which is logged once.
 */
async function watchRealtimeSignals(daemon: Daemon, log: Logger): Promise<() => void> {
  try {
    const { realtimeSignalRange, watchSignals } = await import('../native/signals.js');
    const range = realtimeSignalRange();
    const json = signalNumber('JSON', range)!;
    const statsClear = signalNumber('STATS_CLEAR', range)!;
    return watchSignals([json, statsClear], (signum) => {
      try {
        if (signum === json) daemon.dumpKeepalivedJson();
        else daemon.dumpAndClearStats();
      } catch (e) {
        log.error({ err: e }, `dump on signal ${signum} failed`);
      }
    });
  } catch (e) {
    log.warn({ err: e }, `keepalived's real-time signals (JSON dump, stats clear) are not available: ${(e as Error).message}`);
    return () => {};
  }
}

export async function runDaemon(opts: DaemonOptions, deps: RunDeps = {}): Promise<void> {
  if (!opts.dontFork && !isDaemonChild()) {
    process.exitCode = await spawnDaemonChild(opts.useFile);
    return;
  }

  let handle: LoggerHandle;
  try {
    handle = await createLogger(logOptionsFromCli(opts));
  } catch (e) {
    fail(4, `cannot set up logging: ${(e as Error).message}`);
    return;
  }
  const log = handle.logger.child({ subsystem: 'main' });
  log.info({ config: opts.useFile }, 'Starting tskeepalived');

  // before the configuration is read: its allocations would grow the young generation for good
  if (!opts.vrrpOnly) tuneHeapForCheckers();
  else tuneHeapForVrrp();
  // as keepalived: read the configuration, enter its network namespace (net_namespace or -s) before
  // any socket is opened, then the pid files (their names depend on the namespace and instance).
  // Only the proc connector socket is made before, where VRRP may run (track_process, also after a
  // reload): the kernel gives process events to sockets of the initial network namespace only
  let procConnectorFailure: Error | undefined;
  const beforeEnter = () => {
    try {
      openProcConnector();
    } catch (e) {
      procConnectorFailure = e as Error;
    }
  };
  const vrrpMayRun = !opts.checkOnly || opts.vrrpOnly;
  const loaded = await loadConfiguration(opts.useFile, opts.configId, {
    namespace: opts.namespace,
    enter: true,
    beforeEnter: vrrpMayRun ? beforeEnter : undefined,
  });
  const diagText = printDiagnostics(loaded.diagnostics, log);
  if (diagText && !opts.logConsole && !isDaemonChild()) process.stderr.write(diagText + '\n');
  if (!loaded.config || loaded.refused) {
    fail(4, `cannot use configuration ${opts.useFile}: ${loaded.refused}`, log, opts.logConsole);
    handle.close();
    return;
  }
  const config = loaded.config;
  const root = config.root;
  if (root?.netNamespace !== undefined || root?.instance !== undefined) {
    // as keepalived: syslog entries carry the namespace and instance names
    const ident = ['Keepalived', root.netNamespace, root.instance].filter((w) => w !== undefined).join('_');
    log.info(`Changing syslog ident to ${ident}`);
    handle.setSyslogIdent(ident);
  }
  if (root?.netNamespace !== undefined)
    log.info({ netns: root.netNamespace, thread: threadNetNamespace() }, `running in network namespace ${root.netNamespace}`);
  if (procConnectorFailure)
    log.warn(
      { err: procConnectorFailure },
      `no proc connector socket opened before entering the network namespace: track_process reads /proc (${procConnectorFailure.message})`,
    );
  else if (hasProcConnector()) log.debug('proc connector socket opened in the initial network namespace (track_process events)');

  const pidFiles = new PidFiles(pidFilesFor(opts, !opts.checkOnly || opts.vrrpOnly, !opts.vrrpOnly || opts.checkOnly, root));
  const held = heldPidFile(pidFiles.files);
  if (held) {
    fail(1, `another instance is already running (pid ${held.pid} holds ${held.file}); not starting`, log, opts.logConsole);
    handle.close();
    return;
  }

  const wanted = wantedEngines(opts, config);
  try {
    pidFiles.write();
  } catch (e) {
    fail(1, (e as Error).message, log);
    handle.close();
    return;
  }

  const daemonDeps: DaemonDeps = { logger: handle.logger, engines: deps.engines };
  const daemon = new Daemon(opts, daemonDeps);
  const removeGuards = installProcessGuards(daemon, log);
  log.debug({ wanted }, 'subsystems');

  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string) => {
    if (stopping) return;
    log.info({ signal }, `received ${signal}, stopping`);
    stopping = (async () => {
      try {
        await daemon.stop();
      } catch (e) {
        log.error({ err: e }, 'error while stopping');
      }
      pidFiles.remove();
      removeSignals();
      removeGuards();
      log.info('exiting');
      handle.close();
      await new Promise<void>((r) => process.stdout.write('', () => r()));
      process.exit(0);
    })();
  };
  const onHup = () => {
    void daemon.reload();
  };
  const onUsr1 = () => {
    try {
      daemon.dumpData();
    } catch (e) {
      log.error({ err: e }, 'data dump failed');
    }
  };
  const onUsr2 = () => {
    try {
      daemon.dumpStats();
    } catch (e) {
      log.error({ err: e }, 'stats dump failed');
    }
  };
  const removeRealtime = await watchRealtimeSignals(daemon, log);
  const onTerm = () => shutdown('SIGTERM');
  const onInt = () => shutdown('SIGINT');
  process.on('SIGHUP', onHup);
  process.on('SIGUSR1', onUsr1);
  process.on('SIGUSR2', onUsr2);
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  const removeSignals = () => {
    removeRealtime();
    process.off('SIGHUP', onHup);
    process.off('SIGUSR1', onUsr1);
    process.off('SIGUSR2', onUsr2);
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  };

  try {
    await daemon.start(config);
  } catch (e) {
    log.error({ err: e }, `startup error (continuing with what started): ${(e as Error).message}`);
  }
  // Nothing usable started (e.g. -C with the default ipvs backend on a kernel without IPVS):
  // stop with the reason instead of idling, as keepalived's checker process exits.
  if (daemon.failedEngines.size > 0 && daemon.runningEngines.length === daemon.failedEngines.size) {
    const reasons = [...daemon.failedEngines].map(([k, m]) => `${k}: ${m}`).join('; ');
    try {
      await daemon.stop();
    } catch {
      /* already reported */
    }
    pidFiles.remove();
    removeSignals();
    removeGuards();
    fail(4, `no subsystem could start (${reasons})`, log, opts.logConsole);
    handle.close();
    return;
  }
  if (isDaemonChild()) reportToParent({ type: 'ready', pid: process.pid });
  // keep the event loop alive until a signal stops us
  const keepAlive = setInterval(() => {}, 1 << 30);
  void stopping;
  process.once('exit', () => clearInterval(keepAlive));
}
