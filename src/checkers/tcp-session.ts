// One checker TCP connection with its bounds: connect_timeout, abort, and a single verdict.
// TCP_CHECK and SMTP_CHECK share it; the socket is destroyed as soon as the verdict is known.
import { connect, type Socket } from 'node:net';
import { nativeStreamSocket, wantsNativeSocket } from './native-socket.js';
import type { CheckResult, CheckTarget } from './types.js';
import { errorReason, fail } from './types.js';

export interface TcpSessionOptions {
  connectTimeout: number;
  bindto?: string;
  bindPort?: number;
  fwmark?: number;
  bindIf?: string;
}

export interface TcpSession {
  sock: Socket;
  started: bigint;
  /** the first call settles the check; later calls are ignored */
  finish(r: CheckResult): void;
  readonly settled: boolean;
}

/**
 * `timeoutText` says what timed out (called when connect_timeout expires). `pre`: a socket made by
 * nativeStreamSocket (fwmark / bind_if, already bound), connected here.
 */
export function openTcpSession(
  target: CheckTarget,
  opts: TcpSessionOptions,
  signal: AbortSignal | undefined,
  resolve: (r: CheckResult) => void,
  timeoutText: () => string,
  started = process.hrtime.bigint(),
  pre?: Socket,
): TcpSession {
  const sock = pre
    ? pre.connect({ host: target.address, port: target.port })
    : connect({
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

/**
 * The socket of a check with fwmark / bind_if (undefined without them), or the failed result when
 * it cannot be made. `pre` of openTcpSession.
 */
export async function preparedSocket(target: CheckTarget, opts: TcpSessionOptions, started: bigint): Promise<Socket | CheckResult | undefined> {
  if (!wantsNativeSocket(opts)) return undefined;
  const s = await nativeStreamSocket(target, opts);
  return typeof s === 'string' ? fail(s, started) : s;
}
