// IPv4/IPv6 text <-> bytes, canonical text form (RFC 5952 for IPv6) and byte-wise comparison.
import { formatIP, ipFamily as inetFamily, parseIP } from '../native/inet.js';

export function ipFamily(text: string): 4 | 6 | undefined {
  return inetFamily(text) || undefined;
}

/** 4 bytes for IPv4, 16 for IPv6; throws AddressError on bad input. */
export const ipToBytes: (text: string) => Buffer = parseIP;

export function bytesToIp(buf: Buffer): string {
  return formatIP(buf);
}

export function canonicalIp(text: string): string {
  return bytesToIp(ipToBytes(text));
}

/** Compare two addresses of the same family as unsigned big-endian integers. */
export function compareIp(a: string, b: string): number {
  return Buffer.compare(ipToBytes(a), ipToBytes(b));
}
