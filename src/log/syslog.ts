// Syslog output (RFC 3164 style datagrams to /dev/log), as keepalived logs unless -G.
//
// Node has no AF_UNIX datagram sockets. Two transports, in order of preference:
//  1. the project's native socket layer (src/native, socket(AF_UNIX, SOCK_DGRAM) + sendmsg);
//  2. one long-lived `logger --prio-prefix` process fed through a pipe (util-linux);
// and when neither works (no /dev/log, e.g. in a container) the caller falls back to stderr.
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { native, type NativeAddon } from '../native/addon.js';

export const LOG_DAEMON = 3;
/** LOG_LOCAL0..7 are facilities 16..23 */
export const facilityFromCli = (local?: number): number => (local === undefined ? LOG_DAEMON : 16 + local);

/** syslog severities for pino levels */
export function severityOf(level: string): number {
  switch (level) {
    case 'fatal':
      return 2; // LOG_CRIT
    case 'error':
      return 3;
    case 'warn':
      return 4;
    case 'info':
      return 6;
    default:
      return 7; // debug, trace
  }
}

export interface SyslogSink {
  readonly transport: 'native' | 'logger';
  send(severity: number, text: string): void;
  /** the ident of the messages from now on (keepalived: Keepalived_NAMESPACE_INSTANCE) */
  setIdent(ident: string): void;
  close(): void;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An RFC 3164 message: <PRI>Mmm dd hh:mm:ss IDENT[PID]: TEXT */
export function formatSyslog(facility: number, severity: number, ident: string, pid: number, text: string, at = new Date()): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  const stamp = `${MONTHS[at.getMonth()]} ${String(at.getDate()).padStart(2, ' ')} ${p2(at.getHours())}:${p2(at.getMinutes())}:${p2(at.getSeconds())}`;
  return `<${facility * 8 + severity}>${stamp} ${ident}[${pid}]: ${text}`;
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

async function tryNative(path: string, facility: number, firstIdent: string): Promise<SyslogSink | undefined> {
  let ident = firstIdent;
  let addon: NativeAddon;
  try {
    addon = native();
  } catch {
    return undefined;
  }
  const AF_UNIX = 1;
  const SOCK_DGRAM = 2;
  const SOCK_CLOEXEC = 0o2000000;
  const SOCK_NONBLOCK = 0o4000;
  const fd = addon.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return undefined;
  // struct sockaddr_un: sa_family_t (host order u16) + path, NUL-terminated
  const addr = Buffer.alloc(2 + Buffer.byteLength(path) + 1);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) addr.writeUInt16LE(AF_UNIX, 0);
  else addr.writeUInt16BE(AF_UNIX, 0);
  addr.write(path, 2);
  const probe = addon.sendmsg(fd, Buffer.from(formatSyslog(facility, 7, ident, process.pid, 'syslog connected')), addr, null);
  if (probe < 0) {
    addon.close(fd);
    return undefined;
  }
  return {
    transport: 'native',
    send(severity, text) {
      addon.sendmsg(fd, Buffer.from(formatSyslog(facility, severity, ident, process.pid, text)), addr, null);
    },
    setIdent(next) {
      ident = next;
    },
    close() {
      addon.close(fd);
    },
  };
}

/** One `logger` process with its ident; undefined when it cannot be started. */
function loggerProcess(path: string, ident: string): { child: ChildProcess; alive: () => boolean } | undefined {
  let child: ChildProcess;
  try {
    child = spawn('logger', ['--prio-prefix', '--socket-errors=off', '-u', path, '-t', ident, `--id=${process.pid}`], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
  } catch {
    return undefined;
  }
  let alive = true;
  child.on('error', () => (alive = false));
  child.on('exit', () => (alive = false));
  child.stdin?.on('error', () => (alive = false));
  child.unref();
  (child.stdin as unknown as { unref?: () => void })?.unref?.();
  return { child, alive: () => alive };
}

function tryLoggerProcess(path: string, facility: number, ident: string): SyslogSink | undefined {
  let proc = loggerProcess(path, ident);
  if (!proc) return undefined;
  let closed = false;
  return {
    transport: 'logger',
    send(severity, text) {
      if (!closed && proc?.alive()) proc.child.stdin?.write(`<${facility * 8 + severity}>${text.replace(/\n/g, ' ')}\n`);
    },
    setIdent(next) {
      // logger(1) takes its tag once: the next process gets the new one
      if (closed) return;
      proc?.child.stdin?.end();
      proc = loggerProcess(path, next);
    },
    close() {
      closed = true;
      proc?.child.stdin?.end();
    },
  };
}

/** Open syslog; undefined (with the reason) when no transport works here. */
export async function openSyslog(facility: number, ident = 'Keepalived', path = '/dev/log'): Promise<{ sink?: SyslogSink; reason?: string }> {
  if (!isSocket(path)) return { reason: `${path} is not a syslog socket (no syslog daemon here)` };
  const native = await tryNative(path, facility, ident);
  if (native) return { sink: native };
  const viaLogger = tryLoggerProcess(path, facility, ident);
  if (viaLogger) return { sink: viaLogger };
  return { reason: 'neither the native socket layer nor the logger(1) program is available' };
}
