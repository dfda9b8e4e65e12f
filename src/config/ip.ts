// IP address and prefix parsing with keepalived's acceptance rules (inet_pton, /prefix).
import { createRequire } from 'node:module';
import type { Family, IpPrefix } from './model.js';

// node:net (its validators) is loaded on first need: most addresses are plain dotted quads, and
// loading it costs a config test about 1.5 ms
let net: typeof import('node:net') | undefined;
const netModule = (): typeof import('node:net') => (net ??= createRequire(import.meta.url)('node:net') as typeof import('node:net'));
const isIPv4 = (text: string): boolean => netModule().isIPv4(text);
const isIPv6 = (text: string): boolean => netModule().isIPv6(text);

/** dotted quad with no leading zeros problem checks beyond inet_pton's: 4 parts of 0..255 */
function fastIPv4(text: string): boolean {
  let parts = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || parts === 3) return false;
      parts++;
      digits = 0;
      value = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && value === 0) return false; // inet_pton rejects leading zeros
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return false;
    } else return false;
  }
  return parts === 3 && digits > 0;
}

export function addressFamily(text: string): Family | undefined {
  if (fastIPv4(text)) return 4;
  if (!text.includes(':')) return isIPv4(text) ? 4 : undefined;
  if (isIPv6(text) && !text.includes('%')) return 6;
  return undefined;
}

/** Canonical text of a valid address (IPv6 compressed, lower case). */
export function canonicalAddress(text: string, family: Family): string {
  if (family === 4) return text;
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/** Parse ADDR or ADDR/LEN; undefined when invalid. */
export function parsePrefix(text: string, defaultLen?: number): IpPrefix | undefined {
  const slash = text.indexOf('/');
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  const family = addressFamily(addr);
  if (family === undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  let prefixLen = defaultLen ?? max;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(lenText)) return undefined;
    prefixLen = Number(lenText);
    if (prefixLen > max) return undefined;
  }
  return { address: canonicalAddress(addr, family), prefixLen, family };
}

/** Parse a plain address (no prefix). */
export function parseAddress(text: string): { address: string; family: Family } | undefined {
  const family = addressFamily(text);
  if (family === undefined) return undefined;
  return { address: canonicalAddress(text, family), family };
}

export function isMulticast(address: string, family: Family): boolean {
  if (family === 4) {
    const first = Number(address.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return address.toLowerCase().startsWith('ff');
}
