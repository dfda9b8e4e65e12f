// From a virtual_server (address:port, fwmark, or group) to the load-balancer services it stands
// for, with virtual_server_group address ranges and fwmark entries expanded (keepalived's text for
// a virtual or real server: src/config/server-text.ts).
import type { KeepalivedConfig, VirtualServer } from '../config/model.js';
import type { ServiceKey } from '../lb/backend.js';
import { TskeepalivedError } from '../util/errors.js';

export class ServiceExpansionError extends TskeepalivedError {
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
  ) {
    super(`${file}:${line}: ${message}`, 'TSK_ERR_SERVICE_EXPANSION');
    this.name = 'ServiceExpansionError';
  }
}

function expandIpv6Last(address: string, end: string): string[] {
  const full = expandIpv6(address);
  const last = parseInt(full[7], 16);
  const stop = parseInt(end, 16);
  const out: string[] = [];
  for (let v = last; v <= stop; v++) out.push(compressIpv6([...full.slice(0, 7), v.toString(16)]));
  return out;
}

function expandIpv6(a: string): string[] {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  return [...h, ...zeros, ...t].map((x) => parseInt(x || '0', 16).toString(16));
}

function compressIpv6(parts: string[]): string {
  // longest run of zeros (length >= 2) becomes ::
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return parts.join(':');
  return `${parts.slice(0, best).join(':')}::${parts.slice(best + bestLen).join(':')}`;
}

/** Every address of "a.b.c.d" .. "a.b.c.<end>" (or the IPv6 last-hextet form). */
export function expandRange(address: string, rangeEnd: string | undefined, family: 4 | 6): string[] {
  if (rangeEnd === undefined) return [address];
  if (family === 6) return expandIpv6Last(address, rangeEnd);
  const octets = address.split('.');
  const first = Number(octets[3]);
  const last = Number(rangeEnd);
  const out: string[] = [];
  for (let v = first; v <= last; v++) out.push(`${octets.slice(0, 3).join('.')}.${v}`);
  return out;
}

function vsFamily(vs: VirtualServer): 4 | 6 {
  if (vs.key.kind !== 'group') return vs.key.family;
  return vs.realServers[0]?.family ?? 4;
}

export function serviceKeysOf(vs: VirtualServer, cfg: Pick<KeepalivedConfig, 'virtualServerGroups'>): ServiceKey[] {
  const k = vs.key;
  if (k.kind === 'addr') return [{ kind: 'addr', family: k.family, protocol: vs.protocol, address: k.address, port: k.port }];
  if (k.kind === 'fwmark') return [{ kind: 'fwmark', family: k.family, protocol: vs.protocol, fwmark: k.fwmark }];
  const g = cfg.virtualServerGroups.find((x) => x.name === k.group);
  if (!g) throw new ServiceExpansionError(`virtual_server_group '${k.group}' is not defined`, vs.loc.file, vs.loc.line);
  const out: ServiceKey[] = [];
  for (const e of g.entries) {
    if (e.kind === 'fwmark') out.push({ kind: 'fwmark', family: vsFamily(vs), protocol: vs.protocol, fwmark: e.fwmark });
    else
      for (const address of expandRange(e.address, e.rangeEnd, e.family))
        out.push({ kind: 'addr', family: e.family, protocol: vs.protocol, address, port: e.port });
  }
  return out;
}
