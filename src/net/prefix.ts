// "a.b.c.d/len", "x::y/len", bare addresses and "default" as prefixes. Pure.
import { ipFamily, stripZone } from '../native/inet.js';

export interface Prefix {
  address: string;
  prefixLen: number;
  family: 4 | 6;
}

export class PrefixError extends Error {
  constructor(input: string, reason: string) {
    super(`invalid prefix "${input}": ${reason}`);
    this.name = 'PrefixError';
  }
}

/** Parse a prefix; "default"/"any"/"all" needs familyHint. A bare address is a host prefix. */
export function parsePrefix(text: string, familyHint?: 4 | 6): Prefix {
  const t = text.trim();
  if (t === 'default' || t === 'any' || t === 'all') {
    if (!familyHint) throw new PrefixError(text, 'family unknown for "default"');
    return { address: familyHint === 4 ? '0.0.0.0' : '::', prefixLen: 0, family: familyHint };
  }
  const slash = t.indexOf('/');
  const addr = stripZone(slash < 0 ? t : t.slice(0, slash));
  const fam = ipFamily(addr);
  if (!fam) throw new PrefixError(text, 'not an IP address');
  const max = fam === 4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const l = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(l) || Number(l) > max) throw new PrefixError(text, `prefix length must be 0..${max}`);
    len = Number(l);
  }
  if (familyHint && fam !== familyHint) throw new PrefixError(text, `expected an IPv${familyHint} prefix`);
  return { address: addr, prefixLen: len, family: fam };
}

export function formatPrefix(p: Prefix): string {
  if (p.prefixLen === 0) return 'default';
  return `${p.address}/${p.prefixLen}`;
}
