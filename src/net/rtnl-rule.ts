// Policy routing rules: RTM_NEWRULE / RTM_DELRULE / RTM_GETRULE encoding, decoding and I/O.
import { AF_INET, AF_INET6 } from '../native/constants.js';
import { readU32, writeU32 } from '../native/host-order.js';
import { formatIP, parseIP, parseRoutePrefix } from '../util/inet.js';
import {
  attrMap,
  attrStr,
  attrString,
  attrU32,
  attrU8,
  encodeAttr,
  NetlinkDecodeError,
  NLM_F_CREATE,
  NLM_F_EXCL,
  readAttrU32,
  type NetlinkMessage,
} from './netlink-codec.js';
import { routeSocket, type NetlinkSocket } from './netlink.js';
import { RTM_DELRULE, RTM_GETRULE, RTM_NEWRULE } from './rtnl-constants.js';
import { RT_TABLE_MAIN, RT_TABLE_UNSPEC, RTPROT_KEEPALIVED } from './rtnl-route.js';
import { TskeepalivedError } from '../util/errors.js';

export const FRA_DST = 1;
export const FRA_SRC = 2;
export const FRA_IIFNAME = 3;
export const FRA_GOTO = 4;
export const FRA_PRIORITY = 6;
export const FRA_FWMARK = 10;
export const FRA_TABLE = 15;
export const FRA_FWMASK = 16;
export const FRA_OIFNAME = 17;
export const FRA_SUPPRESS_IFGROUP = 13;
export const FRA_SUPPRESS_PREFIXLEN = 14;
export const FRA_PROTOCOL = 21;

export const FIB_RULE_INVERT = 0x2;

export const RULE_ACTIONS: Record<string, number> = {
  table: 1,
  goto: 2,
  nop: 3,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
};

export interface RuleSpec {
  family: 4 | 6;
  from?: string;
  to?: string;
  table?: number;
  preference?: number;
  fwmark?: number;
  fwmask?: number;
  iif?: string;
  oif?: string;
  tos?: number;
  /** table (default), goto, nop, blackhole, unreachable, prohibit */
  action?: string;
  goto?: number;
  invert?: boolean;
  suppressPrefixLength?: number;
  suppressIfgroup?: number;
  /** RTPROT_* (default keepalived) */
  protocol?: number;
}

export interface RuleInfo {
  family: 4 | 6;
  from?: string;
  to?: string;
  table: number;
  preference?: number;
  fwmark?: number;
  fwmask?: number;
  iif?: string;
  oif?: string;
  action: string;
  invert: boolean;
}

export class RuleSpecError extends TskeepalivedError {
  constructor(what: string) {
    super(`rule: ${what}`, 'TSK_ERR_RULE_SPEC');
    this.name = 'RuleSpecError';
  }
}

const HDR_LEN = 12;

export function encodeRule(spec: RuleSpec, forDelete = false): Buffer {
  const action = spec.action ?? (spec.goto !== undefined ? 'goto' : 'table');
  const act = RULE_ACTIONS[action];
  if (act === undefined) throw new RuleSpecError(`unknown action "${action}"`);
  const h = Buffer.alloc(HDR_LEN);
  h[0] = spec.family === 4 ? AF_INET : AF_INET6;
  const parts: Buffer[] = [h];
  if (spec.from !== undefined) {
    const p = parseRoutePrefix(spec.from, spec.family);
    h[2] = p.prefixLen;
    if (p.prefixLen > 0) parts.push(encodeAttr(FRA_SRC, parseIP(p.address)));
  }
  if (spec.to !== undefined) {
    const p = parseRoutePrefix(spec.to, spec.family);
    h[1] = p.prefixLen;
    if (p.prefixLen > 0) parts.push(encodeAttr(FRA_DST, parseIP(p.address)));
  }
  h[3] = spec.tos ?? 0;
  const table = spec.table ?? (act === RULE_ACTIONS.table && !forDelete ? RT_TABLE_MAIN : undefined);
  h[4] = table !== undefined && table < 256 ? table : RT_TABLE_UNSPEC;
  h[7] = act;
  writeU32(h, spec.invert ? FIB_RULE_INVERT : 0, 8);
  if (table !== undefined) parts.push(attrU32(FRA_TABLE, table));
  if (spec.preference !== undefined) parts.push(attrU32(FRA_PRIORITY, spec.preference));
  if (spec.fwmark !== undefined) parts.push(attrU32(FRA_FWMARK, spec.fwmark));
  if (spec.fwmask !== undefined) parts.push(attrU32(FRA_FWMASK, spec.fwmask));
  if (spec.iif !== undefined) parts.push(attrStr(FRA_IIFNAME, spec.iif));
  if (spec.oif !== undefined) parts.push(attrStr(FRA_OIFNAME, spec.oif));
  if (spec.goto !== undefined) parts.push(attrU32(FRA_GOTO, spec.goto));
  if (spec.suppressPrefixLength !== undefined) parts.push(attrU32(FRA_SUPPRESS_PREFIXLEN, spec.suppressPrefixLength));
  if (spec.suppressIfgroup !== undefined) parts.push(attrU32(FRA_SUPPRESS_IFGROUP, spec.suppressIfgroup));
  if (!forDelete) parts.push(attrU8(FRA_PROTOCOL, spec.protocol ?? RTPROT_KEEPALIVED));
  return Buffer.concat(parts);
}

export function decodeRule(m: NetlinkMessage): RuleInfo {
  const p = m.payload;
  if (p.length < HDR_LEN) throw new NetlinkDecodeError('short fib_rule_hdr');
  const family: 4 | 6 = p[0] === AF_INET6 ? 6 : 4;
  const a = attrMap(p, HDR_LEN);
  const src = a.get(FRA_SRC);
  const dst = a.get(FRA_DST);
  const info: RuleInfo = {
    family,
    table: readAttrU32(a.get(FRA_TABLE)) ?? p[4],
    action: Object.entries(RULE_ACTIONS).find(([, v]) => v === p[7])?.[0] ?? String(p[7]),
    invert: (readU32(p, 8) & FIB_RULE_INVERT) !== 0,
  };
  if (src) info.from = `${formatIP(src)}/${p[2]}`;
  if (dst) info.to = `${formatIP(dst)}/${p[1]}`;
  const pref = readAttrU32(a.get(FRA_PRIORITY));
  if (pref !== undefined) info.preference = pref;
  const mark = readAttrU32(a.get(FRA_FWMARK));
  if (mark !== undefined) info.fwmark = mark;
  const mask = readAttrU32(a.get(FRA_FWMASK));
  if (mask !== undefined) info.fwmask = mask;
  const iif = a.get(FRA_IIFNAME);
  if (iif) info.iif = attrString(iif);
  const oif = a.get(FRA_OIFNAME);
  if (oif) info.oif = attrString(oif);
  return info;
}

function describe(s: RuleSpec): string {
  const w = [
    s.from && `from ${s.from}`,
    s.to && `to ${s.to}`,
    s.fwmark !== undefined && `fwmark ${s.fwmark}`,
    s.table !== undefined && `table ${s.table}`,
    s.preference !== undefined && `pref ${s.preference}`,
  ];
  return w.filter(Boolean).join(' ') || 'all';
}

export function addRule(spec: RuleSpec, nl: NetlinkSocket = routeSocket()): void {
  nl.request(`add rule ${describe(spec)}`, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, encodeRule(spec));
}

export function deleteRule(spec: RuleSpec, nl: NetlinkSocket = routeSocket()): void {
  nl.request(`delete rule ${describe(spec)}`, RTM_DELRULE, 0, encodeRule(spec, true));
}

export function listRules(family: 4 | 6, nl: NetlinkSocket = routeSocket()): RuleInfo[] {
  const h = Buffer.alloc(HDR_LEN);
  h[0] = family === 4 ? AF_INET : AF_INET6;
  return nl
    .dump('list rules', RTM_GETRULE, h)
    .filter((m) => m.type === RTM_NEWRULE)
    .map(decodeRule);
}
