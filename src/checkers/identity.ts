// Identities used to match virtual servers, real servers and checkers across a reload.
import { createHash } from 'node:crypto';
import type { Checker, RealServer, VirtualServer } from '../config/model.js';

/** JSON of a value without its source locations (a moved line is not a changed setting). */
export function settingsKey(v: unknown): string {
  return JSON.stringify(v, (k, val) => {
    if (k === 'loc') return undefined;
    if (val && typeof val === 'object' && (val as { type?: string }).type === 'Buffer' && Array.isArray((val as { data?: unknown }).data))
      return Buffer.from((val as { data: number[] }).data).toString('hex');
    return val;
  });
}

export function virtualServerId(vs: VirtualServer): string {
  const k = vs.key;
  if (k.kind === 'addr') return `addr|${k.address}|${k.port}|${vs.protocol}`;
  if (k.kind === 'fwmark') return `fwmark|${k.fwmark}|${k.family}|${vs.protocol}`;
  return `group|${k.group}|${vs.protocol}`;
}

/**
 * A string built in one piece. Template literals longer than a few characters make V8 cons-string
 * trees (several heap objects per string); join() writes one flat string. Used for the strings the
 * engine keeps per real server (tens of thousands of them).
 */
export function flatString(...parts: (string | number)[]): string {
  return parts.join('');
}

export function realServerId(rs: RealServer): string {
  return flatString(rs.address, '|', rs.port);
}

/** Checkers of a real server are "unchanged" when their settings are the same, in order. */
export function checkersKey(cs: readonly Checker[]): string {
  return createHash('sha1').update(settingsKey(cs)).digest('base64');
}
