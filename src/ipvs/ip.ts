// IP address text <-> bytes, and canonical text (RFC 5952 for IPv6), for the LB backends.
import { formatIPv4, formatIPv6, ipFamily as inetFamily, parseIP } from '../native/inet.js';

export type IpFamily = 4 | 6;

/** The family of a textual address, or undefined when it is not an address. */
export function ipFamily(text: string): IpFamily | undefined {
  return inetFamily(text) || undefined;
}

/** 4 bytes for IPv4, 16 for IPv6; throws a clear error (AddressError) on bad input. */
export const ipToBytes: (text: string) => Buffer = parseIP;

/** Text for 4 or 16 bytes (IPv6 in RFC 5952 canonical form). */
export function bytesToIp(bytes: Uint8Array, family: IpFamily): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return family === 4 ? formatIPv4(b) : formatIPv6(b);
}

// Parsed addresses, shared read-only by canonicalIp/compareIp (states repeat the same addresses a lot).
const parsed = new Map<string, { bytes: Buffer; canonical: string }>();
const PARSED_MAX = 50_000;

function parse(text: string): { bytes: Buffer; canonical: string } {
  let p = parsed.get(text);
  if (p) return p;
  const fam = ipFamily(text);
  if (fam === undefined) throw new Error(`not an IP address: "${text}"`);
  const bytes = ipToBytes(text);
  p = { bytes, canonical: bytesToIp(bytes, fam) };
  if (parsed.size >= PARSED_MAX) parsed.clear();
  parsed.set(text, p);
  return p;
}

/** Canonical text of an address (IPv6 lower-case, compressed). */
export function canonicalIp(text: string): string {
  return parse(text).canonical;
}

/** Compare two addresses of the same family numerically (byte order). */
export function compareIp(a: string, b: string): number {
  return Buffer.compare(parse(a).bytes, parse(b).bytes);
}

/** Prefix length of a mask given as a length ("64", "/64") or dotted IPv4 mask; undefined if invalid. */
export function maskPrefixLength(mask: string, family: 4 | 6): number | undefined {
  const t = mask.startsWith('/') ? mask.slice(1) : mask;
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return n <= (family === 4 ? 32 : 128) ? n : undefined;
  }
  if (family !== 4) return undefined;
  const parts = t.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  const v = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  const len = 32 - Math.log2((~v >>> 0) + 1);
  return Number.isInteger(len) ? len : undefined;
}

export function prefixToDottedMask(len: number): string {
  const v = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}
