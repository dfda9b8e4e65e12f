// TCP_CHECK: a TCP connection that completes within connect_timeout means the server is up.
import { connect } from 'node:net';
import type { TcpCheck } from '../config/model.js';
import { type CheckResult, type CheckTarget, errorReason, fail, pass } from './types.js';

export function checkTcp(target: CheckTarget, cfg: TcpCheck, signal?: AbortSignal): Promise<CheckResult> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    let settled = false;
    const sock = connect({
      host: target.address,
      port: target.port,
      family: target.family,
      ...(cfg.bindto ? { localAddress: cfg.bindto } : {}),
      ...(cfg.bindPort ? { localPort: cfg.bindPort } : {}),
    });
    const finish = (r: CheckResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish(fail(`connect timeout after ${cfg.connectTimeout} ms`, started)), cfg.connectTimeout);
    const onAbort = () => finish(fail('aborted', started));
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.once('connect', () => finish(pass('connected', started)));
    sock.once('error', (e) => finish(fail(errorReason(e), started)));
  });
}
