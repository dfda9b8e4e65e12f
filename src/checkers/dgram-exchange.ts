// One datagram exchange on a connected UDP socket: send, then wait for a reply the caller accepts,
// an ICMP error (surfaced by the kernel as ECONNREFUSED on a connected socket), or the deadline.
import { createSocket } from 'node:dgram';
import { type NativeDatagram, nativeDatagramSocket, wantsNativeSocket } from './native-socket.js';
import type { CheckTarget } from './types.js';
import { errorReason } from './types.js';

export type ExchangeOutcome = { kind: 'reply'; data: Buffer } | { kind: 'timeout' } | { kind: 'error'; reason: string };

export interface ExchangeOptions {
  payload: Buffer;
  timeoutMs: number;
  bindto?: string;
  bindPort?: number;
  fwmark?: number;
  bindIf?: string;
  /** return true to accept a datagram; others are ignored (e.g. a DNS reply with a wrong id) */
  accept?: (data: Buffer) => boolean;
  signal?: AbortSignal;
}

export function exchange(target: CheckTarget, o: ExchangeOptions): Promise<ExchangeOutcome> {
  if (wantsNativeSocket(o)) return nativeExchange(target, o);
  return new Promise((resolve) => {
    const sock = createSocket(target.family === 6 ? 'udp6' : 'udp4');
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (r: ExchangeOutcome) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      try {
        sock.close();
      } catch {
        /* already closed */
      }
      resolve(r);
    };
    const onAbort = () => finish({ kind: 'error', reason: 'aborted' });
    o.signal?.addEventListener('abort', onAbort, { once: true });
    sock.on('error', (e) => finish({ kind: 'error', reason: errorReason(e) }));
    sock.on('message', (data) => {
      if (!o.accept || o.accept(data)) finish({ kind: 'reply', data });
    });
    timer = setTimeout(() => finish({ kind: 'timeout' }), o.timeoutMs);
    const start = () =>
      sock.connect(target.port, target.address, () => {
        if (settled) return;
        sock.send(o.payload, (err) => {
          if (err) finish({ kind: 'error', reason: errorReason(err) });
        });
      });
    if (o.bindto || o.bindPort) sock.bind({ address: o.bindto, port: o.bindPort ?? 0 }, start);
    else start();
  });
}

/** The same exchange on the native layer's connected UDP socket (fwmark / bind_if: node:dgram cannot adopt an fd). */
async function nativeExchange(target: CheckTarget, o: ExchangeOptions): Promise<ExchangeOutcome> {
  if (o.signal?.aborted) return { kind: 'error', reason: 'aborted' };
  const sock = await nativeDatagramSocket(target, o);
  if (typeof sock === 'string') return { kind: 'error', reason: sock };
  return new Promise((resolve) => runNative(sock, o, resolve));
}

function runNative(sock: NativeDatagram, o: ExchangeOptions, resolve: (r: ExchangeOutcome) => void): void {
  let settled = false;
  const finish = (r: ExchangeOutcome) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
    sock.close();
    resolve(r);
  };
  const onAbort = () => finish({ kind: 'error', reason: 'aborted' });
  const timer = setTimeout(() => finish({ kind: 'timeout' }), o.timeoutMs);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    sock.onMessage(
      (m) => {
        if (!o.accept || o.accept(m.data)) finish({ kind: 'reply', data: m.data });
      },
      (e) => finish({ kind: 'error', reason: errorReason(pendingError(sock) ?? e) }),
    );
    sock.send(o.payload, null, null, 'send the check datagram');
  } catch (e) {
    finish({ kind: 'error', reason: errorReason(e) });
  }
}

/**
 * libuv reports a socket error (an ICMP port unreachable on a connected socket) to a poll watcher
 * as EBADF: the socket's own error is what a receive returns then (ECONNREFUSED).
 */
function pendingError(sock: NativeDatagram): unknown {
  try {
    sock.receive();
    return undefined;
  } catch (e) {
    return e;
  }
}
