// Per-interface and global network sysctls through /proc/sys (per network namespace).
import { readFileSync, writeFileSync } from 'node:fs';
import { TskeepalivedError } from '../util/errors.js';

export class SysctlError extends TskeepalivedError {
  constructor(
    readonly path: string,
    cause: Error,
  ) {
    super(`sysctl ${path}: ${cause.message}`, 'TSK_ERR_SYSCTL', { cause });
    this.name = 'SysctlError';
  }
}

/** /proc/sys/net/ipv4/conf/<ifname>/<param> (ifname may be 'all' or 'default'). */
export const ipv4ConfPath = (ifname: string, param: string): string => `/proc/sys/net/ipv4/conf/${ifname}/${param}`;
export const ipv6ConfPath = (ifname: string, param: string): string => `/proc/sys/net/ipv6/conf/${ifname}/${param}`;

/** The sysctl's integer value; undefined when it cannot be read (no such interface or parameter). */
export function readSysctl(path: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isNaN(n) ? undefined : n;
  } catch {
    return undefined;
  }
}

/** Write an integer sysctl; throws SysctlError. */
export function writeSysctl(path: string, value: number): void {
  try {
    writeFileSync(path, `${value}\n`);
  } catch (e) {
    throw new SysctlError(path, e as Error);
  }
}
