// TCP_CHECK: a TCP connection that completes within connect_timeout means the server is up.
import type { TcpCheck } from '../config/model.js';
import { openTcpSession } from './tcp-session.js';
import { type CheckResult, type CheckTarget, pass } from './types.js';

export function checkTcp(target: CheckTarget, cfg: TcpCheck, signal?: AbortSignal): Promise<CheckResult> {
  return new Promise((resolve) => {
    const s = openTcpSession(target, cfg, signal, resolve, () => `connect timeout after ${cfg.connectTimeout} ms`);
    s.sock.once('connect', () => s.finish(pass('connected', s.started)));
  });
}
