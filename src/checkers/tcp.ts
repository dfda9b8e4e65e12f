// TCP_CHECK: a TCP connection that completes within connect_timeout means the server is up.
import { Socket } from 'node:net';
import type { TcpCheck } from '../config/model.js';
import { wantsNativeSocket } from './native-socket.js';
import { openTcpSession, preparedSocket } from './tcp-session.js';
import { type CheckResult, type CheckTarget, pass } from './types.js';

function run(target: CheckTarget, cfg: TcpCheck, signal: AbortSignal | undefined, started: bigint, pre?: Socket): Promise<CheckResult> {
  return new Promise((resolve) => {
    const s = openTcpSession(target, cfg, signal, resolve, () => `connect timeout after ${cfg.connectTimeout} ms`, started, pre);
    s.sock.once('connect', () => s.finish(pass('connected', s.started)));
  });
}

export function checkTcp(target: CheckTarget, cfg: TcpCheck, signal?: AbortSignal): Promise<CheckResult> {
  const started = process.hrtime.bigint();
  if (!wantsNativeSocket(cfg)) return run(target, cfg, signal, started);
  return preparedSocket(target, cfg, started).then((pre) => (pre instanceof Socket ? run(target, cfg, signal, started, pre) : pre!));
}
