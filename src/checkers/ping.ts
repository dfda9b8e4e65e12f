// PING_CHECK: one ICMP echo through the vrrpnet layer's ping(address, {timeoutMs}) in src/net/icmp.ts.
// Imported dynamically so this module builds and runs before that layer lands.
import type { PingCheck } from '../config/model.js';
import { type CheckResult, type CheckTarget, errorReason, fail, pass } from './types.js';

type PingFn = (address: string, opts: { timeoutMs: number; signal?: AbortSignal }) => Promise<unknown>;

let pingFn: PingFn | null | undefined;

export async function loadPing(): Promise<PingFn | null> {
  if (pingFn !== undefined) return pingFn;
  try {
    const modPath = '../net/icmp.js';
    const mod = (await import(modPath)) as { ping?: PingFn };
    pingFn = typeof mod.ping === 'function' ? mod.ping : null;
  } catch {
    pingFn = null;
  }
  return pingFn;
}

/** Interprets whatever the ping layer resolves with: boolean, number (rtt), or {ok|alive|reply}. */
export function pingSucceeded(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of ['ok', 'alive', 'reply', 'success']) if (typeof o[k] === 'boolean') return o[k] as boolean;
    return true;
  }
  return false;
}

export async function checkPing(target: CheckTarget, cfg: PingCheck, signal?: AbortSignal): Promise<CheckResult> {
  const started = process.hrtime.bigint();
  const ping = await loadPing();
  if (!ping) return fail('ICMP ping is not available (src/net/icmp.ts missing)', started);
  try {
    const r = await ping(target.address, { timeoutMs: cfg.connectTimeout, signal });
    return pingSucceeded(r) ? pass('echo reply', started) : fail(`no echo reply within ${cfg.connectTimeout} ms`, started);
  } catch (e) {
    return fail(errorReason(e), started);
  }
}
