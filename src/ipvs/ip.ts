// IP address text <-> bytes, and canonical text (RFC 5952 for IPv6), for the LB backends.
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

/** The family of a textual address, or undefined when it is not an address. */
export function ipFamily(text: string): IpFamily | undefined {
  if (isIPv4(text)) return 4;
  if (isIPv6(text)) return 6;
  return undefined;
}

/** 4 bytes for IPv4, 16 for IPv6; throws a clear error on bad input. */
export function ipToBytes(text: string): Buffer {
  if (isIPv4(text)) return Buffer.from(text.split('.').map((p) => Number(p)));
  if (!isIPv6(text)) throw new Error(`not an IP address: "${text}"`);
  let body = text;
  const pct = body.indexOf('%');
  if (pct >= 0) body = body.slice(0, pct);
  // an embedded dotted quad becomes two hextets
  const lastColon = body.lastIndexOf(':');
  const tail = body.slice(lastColon + 1);
  if (tail.includes('.')) {
    const b = tail.split('.').map((p) => Number(p));
    body = `${body.slice(0, lastColon + 1)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = body.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  const groups = [...head, ...Array<string>(halves.length > 1 ? missing : 0).fill('0'), ...rest];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** Text for 4 or 16 bytes (IPv6 in RFC 5952 canonical form). */
export function bytesToIp(bytes: Uint8Array, family: IpFamily): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[i * 2]! << 8) | bytes[i * 2 + 1]!);
  // longest run of zero groups (length >= 2), first one on ties
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((g) => g.toString(16)).join(':');
  if (bestLen < 2) return hex(groups);
  const v4mapped = bestStart === 0 && bestLen === 5 && groups[5] === 0xffff;
  if (v4mapped) return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
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
