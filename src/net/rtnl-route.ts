// Routes: RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE encoding, decoding and I/O.
import { AF_INET, AF_INET6 } from '../native/constants.js';
import { formatIP, ipFamily, parseIP, parseRoutePrefix, type Prefix } from '../util/inet.js';
import {
  attrMap,
  attrU32,
  encodeAttr,
  NetlinkDecodeError,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  readAttrU32,
  type NetlinkMessage,
} from './netlink-codec.js';
import { routeSocket, type NetlinkSocket } from './netlink.js';
import { RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_NOWHERE, RT_SCOPE_UNIVERSE, RTM_DELROUTE, RTM_GETROUTE, RTM_NEWROUTE, SCOPES } from './rtnl-constants.js';
import { TskeepalivedError } from '../util/errors.js';

export const RTA_DST = 1;
export const RTA_SRC = 2;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_TABLE = 15;

export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;

export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;
/** keepalived's own route protocol number (rt_protos: 18 keepalived) */
export const RTPROT_KEEPALIVED = 18;

export const ROUTE_TYPES: Record<string, number> = {
  unicast: 1,
  local: 2,
  broadcast: 3,
  anycast: 4,
  multicast: 5,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
  throw: 9,
  nat: 10,
};

export function routeTypeName(n: number): string {
  return Object.entries(ROUTE_TYPES).find(([, v]) => v === n)?.[0] ?? String(n);
}

export interface RouteSpec {
  /** prefix or "default" */
  dst: string;
  /** needed only when dst is "default" and nothing else tells the family */
  family?: 4 | 6;
  gateway?: string;
  /** output interface index */
  oif?: number;
  /** preferred source address */
  src?: string;
  table?: number;
  metric?: number;
  scope?: number | string;
  /** unicast (default), blackhole, unreachable, prohibit, throw, local, ... */
  type?: number | string;
  /** RTPROT_*; default RTPROT_KEEPALIVED */
  protocol?: number;
}

export interface RouteInfo {
  family: 4 | 6;
  dst: Prefix;
  gateway?: string;
  oif?: number;
  src?: string;
  table: number;
  metric?: number;
  scope: number;
  type: string;
  protocol: number;
}

export class RouteSpecError extends TskeepalivedError {
  constructor(what: string) {
    super(`route: ${what}`, 'TSK_ERR_ROUTE_SPEC');
    this.name = 'RouteSpecError';
  }
}

const RTMSG_LEN = 12;

function routeType(t: number | string | undefined): number {
  if (t === undefined) return ROUTE_TYPES.unicast;
  if (typeof t === 'number') return t;
  const n = ROUTE_TYPES[t];
  if (n === undefined) throw new RouteSpecError(`unknown route type "${t}"`);
  return n;
}

function scopeOf(spec: RouteSpec, type: number): number {
  if (spec.scope !== undefined) {
    if (typeof spec.scope === 'number') return spec.scope;
    const s = SCOPES[spec.scope];
    if (s === undefined) throw new RouteSpecError(`unknown scope "${spec.scope}"`);
    return s;
  }
  // iproute2 defaults: local routes are host scope, gateway-less unicast routes link scope
  if (type === ROUTE_TYPES.local) return RT_SCOPE_HOST;
  if (type === ROUTE_TYPES.unicast && !spec.gateway && spec.oif !== undefined) return RT_SCOPE_LINK;
  return RT_SCOPE_UNIVERSE;
}

function familyOf(spec: RouteSpec): 4 | 6 {
  if (spec.family) return spec.family;
  for (const a of [spec.dst.split('/')[0], spec.gateway, spec.src]) {
    const f = a ? ipFamily(a) : 0;
    if (f) return f;
  }
  throw new RouteSpecError(`cannot tell the address family of route "${spec.dst}"`);
}

/** Payload of RTM_NEWROUTE / RTM_DELROUTE. forDelete uses scope "nowhere" (match any) by default. */
export function encodeRoute(spec: RouteSpec, forDelete = false): Buffer {
  const family = familyOf(spec);
  const dst = parseRoutePrefix(spec.dst, family);
  const type = routeType(spec.type);
  const table = spec.table ?? RT_TABLE_MAIN;
  if (!Number.isInteger(table) || table < 0 || table > 0xffffffff) throw new RouteSpecError(`bad table ${table}`);
  const h = Buffer.alloc(RTMSG_LEN);
  h[0] = family === 4 ? AF_INET : AF_INET6;
  h[1] = dst.prefixLen;
  h[4] = table < 256 ? table : RT_TABLE_UNSPEC;
  h[5] = spec.protocol ?? RTPROT_KEEPALIVED;
  h[6] = forDelete && spec.scope === undefined ? RT_SCOPE_NOWHERE : scopeOf(spec, type);
  h[7] = type;
  const parts: Buffer[] = [h];
  if (dst.prefixLen > 0) parts.push(encodeAttr(RTA_DST, parseIP(dst.address)));
  if (spec.gateway) {
    if (ipFamily(spec.gateway) !== family) throw new RouteSpecError(`gateway ${spec.gateway} is not IPv${family}`);
    parts.push(encodeAttr(RTA_GATEWAY, parseIP(spec.gateway)));
  }
  if (spec.src) {
    if (ipFamily(spec.src) !== family) throw new RouteSpecError(`src ${spec.src} is not IPv${family}`);
    parts.push(encodeAttr(RTA_PREFSRC, parseIP(spec.src)));
  }
  if (spec.oif !== undefined) parts.push(attrU32(RTA_OIF, spec.oif));
  if (spec.metric !== undefined) parts.push(attrU32(RTA_PRIORITY, spec.metric));
  parts.push(attrU32(RTA_TABLE, table));
  return Buffer.concat(parts);
}

export function decodeRoute(m: NetlinkMessage): RouteInfo {
  const p = m.payload;
  if (p.length < RTMSG_LEN) throw new NetlinkDecodeError('short rtmsg');
  const family: 4 | 6 = p[0] === AF_INET6 ? 6 : 4;
  const a = attrMap(p, RTMSG_LEN);
  const dstBytes = a.get(RTA_DST);
  const info: RouteInfo = {
    family,
    dst: dstBytes ? { address: formatIP(dstBytes), prefixLen: p[1], family } : parseRoutePrefix('default', family),
    table: readAttrU32(a.get(RTA_TABLE)) ?? p[4],
    scope: p[6],
    type: routeTypeName(p[7]),
    protocol: p[5],
  };
  const gw = a.get(RTA_GATEWAY);
  if (gw) info.gateway = formatIP(gw);
  const src = a.get(RTA_PREFSRC);
  if (src) info.src = formatIP(src);
  const oif = readAttrU32(a.get(RTA_OIF));
  if (oif !== undefined) info.oif = oif;
  const metric = readAttrU32(a.get(RTA_PRIORITY));
  if (metric !== undefined) info.metric = metric;
  return info;
}

function describe(spec: RouteSpec): string {
  return `${spec.type ?? ''} ${spec.dst}${spec.gateway ? ` via ${spec.gateway}` : ''}${spec.table ? ` table ${spec.table}` : ''}`.trim();
}

export function addRoute(spec: RouteSpec, opts: { replace?: boolean } = {}, nl: NetlinkSocket = routeSocket()): void {
  const flags = NLM_F_CREATE | (opts.replace ? NLM_F_REPLACE : NLM_F_EXCL);
  nl.request(`add route ${describe(spec)}`, RTM_NEWROUTE, flags, encodeRoute(spec));
}

export function deleteRoute(spec: RouteSpec, nl: NetlinkSocket = routeSocket()): void {
  nl.request(`delete route ${describe(spec)}`, RTM_DELROUTE, 0, encodeRoute(spec, true));
}

/** Routes of a family (all tables unless one is given). */
export function listRoutes(family: 4 | 6, table?: number, nl: NetlinkSocket = routeSocket()): RouteInfo[] {
  const h = Buffer.alloc(RTMSG_LEN);
  h[0] = family === 4 ? AF_INET : AF_INET6;
  return nl
    .dump('list routes', RTM_GETROUTE, h)
    .filter((m) => m.type === RTM_NEWROUTE)
    .map(decodeRoute)
    .filter((r) => table === undefined || r.table === table);
}
