// Background operation without -n, as keepalived: the command re-spawns itself detached (own
// session, stdio closed) with a marker in its environment; the parent waits until the child
// reports it is running (pid files written) and exits 0, or relays the child's startup error
// and exit code.
import { spawn } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';

export const DAEMON_MARKER = 'TSKEEPALIVED_DAEMON_CHILD';

/** Command and argv that run this same program again. */
function selfCommand(args: string[]): { cmd: string; argv: string[] } {
  return { cmd: process.execPath, argv: [...process.execArgv, process.argv[1]!, ...args] };
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
export async function spawnDaemonChild(configFile: string, timeoutMs = 30000): Promise<number> {
  const { cmd, argv } = selfCommand(childArgs(process.argv.slice(2), configFile));
  const env: NodeJS.ProcessEnv = { ...process.env, [DAEMON_MARKER]: '1' };
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
