// Common shape of every health checker: one attempt against one target, the outcome as a value.
import type { Family, SslSettings } from '../config/model.js';

/** Where a check connects: the real server, or its connect_ip/connect_port overrides. */
export interface CheckTarget {
  address: string;
  port: number;
  family: Family;
}

export interface CheckResult {
  ok: boolean;
  /** human readable cause of a failure (or a short note on success) */
  reason: string;
  latencyMs: number;
  /**
   * Dynamic weight set by the checker (MISC_CHECK misc_dynamic, FILE_CHECK): the absolute weight the
   * real server should take. Absent = the configured weight.
   */
  weight?: number;
}

/** Context shared by checks: where scripts may run and under whom. */
export interface CheckContext {
  /** global_defs enable_script_security */
  enableScriptSecurity: boolean;
  /** global_defs script_user / script_group: default user for MISC_CHECK scripts */
  scriptUser?: string;
  scriptGroup?: string;
  /** the real server's configured weight (MISC_CHECK misc_dynamic, FILE_CHECK offsets) */
  configuredWeight: number;
  /** track_file definitions by name (FILE_CHECK) */
  trackFiles: Map<string, { file?: string; weight: number; weightReverse: boolean }>;
  /** the root SSL block (SSL_GET) */
  ssl?: SslSettings;
}

export function elapsed(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export function fail(reason: string, started: bigint): CheckResult {
  return { ok: false, reason, latencyMs: elapsed(started) };
}

export function pass(reason: string, started: bigint, weight?: number): CheckResult {
  return weight === undefined ? { ok: true, reason, latencyMs: elapsed(started) } : { ok: true, reason, latencyMs: elapsed(started), weight };
}

/** An error from a socket call, as a short reason. */
export function errorReason(e: unknown): string {
  if (e && typeof e === 'object') {
    const err = e as { code?: string; message?: string; cause?: unknown };
    if (err.code && err.message) return `${err.code}: ${err.message}`;
    if (err.message) return err.message;
  }
  return String(e);
}
