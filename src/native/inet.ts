// Textual IP addresses <-> bytes. Pure; no DNS, no scope parsing beyond "%zone" splitting.
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

export class AddressError extends Error {
  constructor(readonly input: string, reason: string) {
    super(`invalid IP address "${input}": ${reason}`);
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
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
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
