// One checker TCP connection with its bounds: connect_timeout, abort, and a single verdict.
// TCP_CHECK and SMTP_CHECK share it; the socket is destroyed as soon as the verdict is known.
import { connect, type Socket } from 'node:net';
import type { CheckResult, CheckTarget } from './types.js';
import { errorReason, fail } from './types.js';

export interface TcpSessionOptions {
  connectTimeout: number;
  bindto?: string;
  bindPort?: number;
}

export interface TcpSession {
  sock: Socket;
  started: bigint;
  /** the first call settles the check; later calls are ignored */
  finish(r: CheckResult): void;
  readonly settled: boolean;
}

/** `timeoutText` says what timed out (called when connect_timeout expires). */
export function openTcpSession(
  target: CheckTarget,
  opts: TcpSessionOptions,
  signal: AbortSignal | undefined,
  resolve: (r: CheckResult) => void,
  timeoutText: () => string,
): TcpSession {
  const started = process.hrtime.bigint();
  const sock = connect({
    host: target.address,
    port: target.port,
    family: target.family,
    ...(opts.bindto ? { localAddress: opts.bindto } : {}),
    ...(opts.bindPort ? { localPort: opts.bindPort } : {}),
  });
  let settled = false;
  const session: TcpSession = {
    sock,
    started,
    get settled() {
      return settled;
    },
    finish(r) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(r);
    },
  };
  const timer = setTimeout(() => session.finish(fail(timeoutText(), started)), opts.connectTimeout);
  const onAbort = () => session.finish(fail('aborted', started));
  signal?.addEventListener('abort', onAbort, { once: true });
  sock.once('error', (e) => session.finish(fail(errorReason(e), started)));
  return session;
}
