// Background operation without -n, as keepalived: the command re-spawns itself detached (own
// session, stdio closed) with a marker in its environment; the parent waits until the child
// reports it is running (pid files written) and exits 0, or relays the child's startup error
// and exit code.
import { spawn } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { signalNumber } from './signal-numbers.js';

export const DAEMON_MARKER = 'TSKEEPALIVED_DAEMON_CHILD';
/** set to the namespace name once the process runs inside the -s namespace */
export const NETNS_MARKER = 'TSKEEPALIVED_NETNS';

/** -s NAME: the process still has to enter the namespace (through `ip netns exec`). */
export function needsNamespace(ns: string | undefined): ns is string {
  return ns !== undefined && process.env[NETNS_MARKER] !== ns;
}

/** Command and argv that run this same program again (inside namespace `ns` when given). */
function selfCommand(args: string[], ns?: string): { cmd: string; argv: string[] } {
  const self = [...process.execArgv, process.argv[1], ...args];
  if (ns) return { cmd: 'ip', argv: ['netns', 'exec', ns, process.execPath, ...self] };
  return { cmd: process.execPath, argv: self };
}

/**
 * -n with -s NAME: run the daemon inside the namespace as a child, relaying signals to it and
 * exiting with its status. (Node cannot setns(2) itself.)
 */
export async function runInNamespaceForeground(ns: string): Promise<number> {
  const { cmd, argv } = selfCommand(process.argv.slice(2), ns);
  const child = spawn(cmd, argv, { stdio: 'inherit', env: { ...process.env, [NETNS_MARKER]: ns } });
  const relay = (sig: NodeJS.Signals) => () => {
    try {
      child.kill(sig);
    } catch {
      /* gone */
    }
  };
  const sigs: NodeJS.Signals[] = ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGUSR1', 'SIGUSR2'];
  const handlers = sigs.map((s) => [s, relay(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const stopRealtime = await relayRealtimeSignals((signum) => {
    try {
      // child.kill() takes only the named signals; process.kill() any number
      if (child.pid !== undefined) process.kill(child.pid, signum);
    } catch {
      /* gone */
    }
  });
  return new Promise<number>((resolveCode) => {
    child.on('error', (e) => {
      process.stderr.write(`tskeepalived: cannot enter network namespace ${ns}: ${e.message}\n`);
      resolveCode(4);
    });
    child.on('exit', (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      stopRealtime();
      resolveCode(code ?? (signal ? 128 : 1));
    });
  });
}

/** keepalived's real-time signals (JSON dump, stats clear) to `relay`; a no-op without the native layer. */
async function relayRealtimeSignals(relay: (signum: number) => void): Promise<() => void> {
  try {
    const { realtimeSignalRange, watchSignals } = await import('../native/signals.js');
    const range = realtimeSignalRange();
    return watchSignals([signalNumber('JSON', range)!, signalNumber('STATS_CLEAR', range)!], relay);
  } catch {
    return () => {};
  }
}

export type ChildReport = { type: 'ready'; pid: number } | { type: 'failed'; code: number; message: string };

export function isDaemonChild(): boolean {
  return process.env[DAEMON_MARKER] === '1';
}

/** argv for the child: the same arguments, with -f made absolute (the child keeps no tty). */
function childArgs(argv: string[], configFile: string): string[] {
  const abs = isAbsolute(configFile) ? configFile : resolve(configFile);
  return [...argv, '-f', abs];
}

/**
 * In the parent: start the detached child and wait for its report.
 * Resolves to the exit code the parent should use.
 */
export async function spawnDaemonChild(configFile: string, namespace?: string, timeoutMs = 30000): Promise<number> {
  const { cmd, argv } = selfCommand(childArgs(process.argv.slice(2), configFile), namespace);
  const env: NodeJS.ProcessEnv = { ...process.env, [DAEMON_MARKER]: '1' };
  if (namespace) env[NETNS_MARKER] = namespace;
  const child = spawn(cmd, argv, {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env,
  });
  return new Promise<number>((resolveCode) => {
    let settled = false;
    const done = (code: number, text?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (text) process.stderr.write(text.endsWith('\n') ? text : text + '\n');
      try {
        child.disconnect();
      } catch {
        /* already */
      }
      child.unref();
      resolveCode(code);
    };
    const timer = setTimeout(() => done(1, `tskeepalived: the daemon (pid ${child.pid}) did not report ready within ${timeoutMs} ms`), timeoutMs);
    child.on('message', (m: ChildReport) => {
      if (m?.type === 'ready') done(0);
      else if (m?.type === 'failed') done(m.code, m.message);
    });
    child.on('error', (e) => done(4, `tskeepalived: cannot start the daemon: ${e.message}`));
    child.on('exit', (code, signal) => done(code ?? 1, `tskeepalived: the daemon exited during startup (${signal ?? `exit code ${code}`})`));
  });
}

/** In the child: tell the waiting parent how startup went, then drop the channel. */
export function reportToParent(report: ChildReport): void {
  if (!process.send) return;
  try {
    process.send(report, () => {
      try {
        process.disconnect?.();
      } catch {
        /* already */
      }
    });
  } catch {
    /* parent gone */
  }
}
