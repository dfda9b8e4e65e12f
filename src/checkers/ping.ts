// PING_CHECK: one ICMP echo through the vrrpnet layer's ping() (src/net/icmp.ts, raw sockets).
// Loaded on demand, so the native layer is only opened by configurations that ping.
import type { PingCheck } from '../config/model.js';
import type { PingOptions, PingResult } from '../net/icmp.js';
import { type CheckResult, type CheckTarget, errorReason, fail, pass } from './types.js';

type PingFn = (address: string, opts: PingOptions) => Promise<PingResult>;

let pingFn: PingFn | null | undefined;

export async function loadPing(): Promise<PingFn | null> {
  if (pingFn !== undefined) return pingFn;
  try {
    const mod = await import('../net/icmp.js');
    pingFn = typeof mod.ping === 'function' ? mod.ping : null;
  } catch {
    pingFn = null;
  }
  return pingFn;
}

export async function checkPing(target: CheckTarget, cfg: PingCheck, signal?: AbortSignal): Promise<CheckResult> {
  const started = process.hrtime.bigint();
  const ping = await loadPing();
  if (!ping) return fail('ICMP ping is not available (src/net/icmp.ts could not be loaded)', started);
  try {
    const r = await ping(target.address, {
      timeoutMs: cfg.connectTimeout,
      ...(cfg.bindto ? { srcAddress: cfg.bindto } : {}),
      ...(cfg.bindIf ? { ifname: cfg.bindIf } : {}),
      ...(cfg.fwmark !== undefined ? { mark: cfg.fwmark } : {}),
      ...(signal ? { signal } : {}),
    });
    return r.ok ? pass(`echo reply in ${r.rttMs.toFixed(1)} ms`, started) : fail(r.error ?? `no echo reply within ${cfg.connectTimeout} ms`, started);
  } catch (e) {
    return fail(errorReason(e), started);
  }
}
