// Textual IP addresses and prefixes <-> bytes, canonical text, order, masks: the one home of IP text
// for every subsystem (config, vrrp, LB, net). Pure; no DNS, no scope parsing beyond "%zone" splitting.
import { createRequire } from 'node:module';
import { TskeepalivedError } from './errors.js';

export type Family = 4 | 6;

export interface Prefix {
  address: string;
  prefixLen: number;
  family: Family;
}

// node:net (its validators) is loaded on first need: most addresses are plain dotted quads, and
// loading it costs a config test about 1.5 ms
let net: typeof import('node:net') | undefined;
const netModule = (): typeof import('node:net') => (net ??= createRequire(import.meta.url)('node:net') as typeof import('node:net'));

/** dotted quad as inet_pton takes it: 4 parts of 0..255, no leading zeros */
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

const isIPv4 = (text: string): boolean => fastIPv4(text) || (!text.includes(':') && netModule().isIPv4(text));
const isIPv6 = (text: string): boolean => text.includes(':') && netModule().isIPv6(text);

export class AddressError extends TskeepalivedError {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`invalid IP address "${input}": ${reason}`, 'TSK_ERR_ADDRESS');
    this.name = 'AddressError';
  }
}

/** 4 or 6 for a literal address (an IPv6 "%zone" suffix is allowed), else 0. */
export function ipFamily(address: string): Family | 0 {
  if (isIPv4(address)) return 4;
  if (isIPv6(stripZone(address))) return 6;
  return 0;
}

export function stripZone(address: string): string {
  const i = address.indexOf('%');
  return i < 0 ? address : address.slice(0, i);
}

export function parseIPv4(address: string): Buffer {
  if (!isIPv4(address)) throw new AddressError(address, 'not a dotted-quad IPv4 address');
  return Buffer.from(address.split('.').map((p) => Number(p)));
}

export function parseIPv6(address: string): Buffer {
  const text = stripZone(address);
  if (!isIPv6(text)) throw new AddressError(address, 'not an IPv6 address');
  const out = Buffer.alloc(16);
  let groups: number[] = [];
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const toGroups = (part: string): number[] => {
    if (part === '') return [];
    const res: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = parseIPv4(g);
        res.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
      } else {
        res.push(parseInt(g, 16));
      }
    }
    return res;
  };
  const h = toGroups(head);
  if (tail === undefined) {
    groups = h;
  } else {
    const t = toGroups(tail);
    groups = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  }
  for (let i = 0; i < groups.length; i++) out.writeUInt16BE(groups[i]!, i * 2);
  return out;
}

/** Bytes of an IPv4 or IPv6 literal. */
export function parseIP(address: string): Buffer {
  const fam = ipFamily(address);
  if (fam === 4) return parseIPv4(address);
  if (fam === 6) return parseIPv6(address);
  throw new AddressError(address, 'neither IPv4 nor IPv6');
}

export function formatIPv4(b: Buffer, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

/** RFC 5952 text form (longest zero run compressed, lower case, v4-mapped as ::ffff:a.b.c.d). */
export function formatIPv6(b: Buffer, offset = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(offset + i * 2));
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return `::ffff:${formatIPv4(b, offset + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestLen < 2) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

export function formatIP(b: Buffer, offset = 0, length = b.length - offset): string {
  if (length === 4) return formatIPv4(b, offset);
  if (length === 16) return formatIPv6(b, offset);
  throw new AddressError(b.subarray(offset, offset + length).toString('hex'), `unexpected length ${length}`);
}

export function isIPv6LinkLocal(address: string): boolean {
  const b = parseIPv6(address);
  return b[0] === 0xfe && (b[1] & 0xc0) === 0x80;
}

// Parsed addresses, shared read-only by canonicalIp/compareIp (LB states and adverts repeat the same addresses a lot).
const parsed = new Map<string, { bytes: Buffer; canonical: string }>();
const PARSED_MAX = 50_000;

function parseCached(text: string): { bytes: Buffer; canonical: string } {
  let p = parsed.get(text);
  if (p) return p;
  const bytes = parseIP(text);
  p = { bytes, canonical: formatIP(bytes) };
  if (parsed.size >= PARSED_MAX) parsed.clear();
  parsed.set(text, p);
  return p;
}

/** Canonical text of an address (IPv6 as RFC 5952: lower case, compressed); throws AddressError. */
export function canonicalIp(text: string): string {
  return fastIPv4(text) ? text : parseCached(text).canonical;
}

/** Compare two addresses of the same family as unsigned big-endian numbers; throws AddressError. */
export function compareIp(a: string, b: string): number {
  return Buffer.compare(parseCached(a).bytes, parseCached(b).bytes);
}

/** A plain address as keepalived's inet_pton takes it (no "%zone"), in canonical text; undefined when invalid. */
export function parseAddress(text: string): { address: string; family: Family } | undefined {
  const family = ipFamily(text);
  if (family === 0 || (family === 6 && text.includes('%'))) return undefined;
  return { address: canonicalIp(text), family };
}

/** ADDR or ADDR/LEN as keepalived takes it (LEN 0..32 or 0..128; default the host length or defaultLen); undefined when invalid. */
export function parsePrefix(text: string, defaultLen?: number): Prefix | undefined {
  const slash = text.indexOf('/');
  const a = parseAddress(slash >= 0 ? text.slice(0, slash) : text);
  if (a === undefined) return undefined;
  const max = a.family === 4 ? 32 : 128;
  let prefixLen = defaultLen ?? max;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(lenText)) return undefined;
    prefixLen = Number(lenText);
    if (prefixLen > max) return undefined;
  }
  return { address: a.address, prefixLen, family: a.family };
}

export class PrefixError extends TskeepalivedError {
  constructor(input: string, reason: string) {
    super(`invalid prefix "${input}": ${reason}`, 'TSK_ERR_PREFIX');
    this.name = 'PrefixError';
  }
}

/** A route's or rule's prefix, where "default" (or "any", "all") is the whole family; throws PrefixError. */
export function parseRoutePrefix(text: string, family?: Family): Prefix {
  const t = text.trim();
  if (t === 'default' || t === 'any' || t === 'all') {
    if (!family) throw new PrefixError(text, 'family unknown for "default"');
    return { address: family === 4 ? '0.0.0.0' : '::', prefixLen: 0, family };
  }
  const p = parsePrefix(t);
  if (!p) throw new PrefixError(text, 'not an IP address, or a prefix length beyond the family');
  if (family && p.family !== family) throw new PrefixError(text, `expected an IPv${family} prefix`);
  return p;
}

/** Prefix length of a mask given as a length ("64", "/64") or dotted IPv4 mask; undefined if invalid. */
export function maskPrefixLength(mask: string, family: Family): number | undefined {
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

/** The dotted IPv4 mask of a prefix length. */
export function prefixToDottedMask(len: number): string {
  const v = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

export function isMulticast(address: string): boolean {
  const fam = ipFamily(address);
  if (fam === 4) return (parseIPv4(address)[0] & 0xf0) === 0xe0;
  if (fam === 6) return parseIPv6(address)[0] === 0xff;
  return false;
}

export function parseMac(mac: string): Buffer {
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new AddressError(mac, 'not a MAC address (expected xx:xx:xx:xx:xx:xx)');
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
