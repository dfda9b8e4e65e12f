// Address, route and rule lines (virtual_ipaddress, virtual_routes, virtual_rules, static_*).
import type { ConfNode } from '../parser/ast.js';
import type { BuildContext } from './context.js';
import { parsePrefix } from '../util/inet.js';
import type { VirtualAddress, VirtualRoute, VirtualRule } from './model.js';
import { readUnsigned } from './values.js';

/** Words of an address/route/rule line: the node's keyword is its first word. */
function lineWords(n: ConfNode): string[] {
  return [n.keyword, ...n.args];
}

const ADDR_FLAGS = new Set(['home', '-nodad', 'nodad', 'mngtmpaddr', 'noprefixroute', 'autojoin', 'no_track', 'use_vmac', 'use_ipvlan']);
const ADDR_OPTS = new Set(['brd', 'broadcast', 'dev', 'scope', 'label', 'peer', 'track_group', 'preferred_lft']);

/** One virtual_ipaddress / static_ipaddress line; undefined (after reporting) when invalid. */
export function parseAddressLine(ctx: BuildContext, n: ConfNode, defaultDev: string | undefined, isStatic: boolean): VirtualAddress | undefined {
  const w = lineWords(n);
  const prefix = parsePrefix(w[0]);
  if (!prefix) {
    ctx.error(n, `VRRP parsed invalid IP ${w[0]}. skipping IP...`);
    return undefined;
  }
  const va: VirtualAddress = { prefix, noTrack: false, loc: n.loc };
  if (defaultDev !== undefined) va.dev = defaultDev;
  for (let i = 1; i < w.length; i++) {
    const opt = w[i];
    if (ADDR_FLAGS.has(opt)) {
      if (opt === 'no_track') va.noTrack = true;
      if (opt === 'use_vmac') va.useVmac = true;
      continue;
    }
    if (!ADDR_OPTS.has(opt)) {
      ctx.error(n, `Unknown configuration entry '${opt}' for ip address - ignoring`);
      continue;
    }
    const v = w[i + 1];
    if (v === undefined) {
      ctx.error(n, `Missing value for ${opt} for ip address - ignoring`);
      break;
    }
    i++;
    if (opt === 'dev') {
      va.dev = v;
      if (!ctx.hasInterface(v)) ctx.error(n, `WARNING - interface ${v} for ip address ${w[0]} doesn't exist`);
    } else if (opt === 'brd' || opt === 'broadcast') va.brd = v;
    else if (opt === 'label') va.label = v;
    else if (opt === 'scope') va.scope = v;
    else if (opt === 'peer' && w[0].includes('/')) ctx.error(n, 'Cannot specify address prefix when specifying peer address - ignoring');
    else if (opt === 'track_group' && !ctx.trackGroups.has(v)) ctx.error(n, `track_group ${v} not found`);
  }
  if (isStatic && va.dev === undefined) {
    va.dev = 'eth0';
    if (!ctx.hasInterface('eth0')) ctx.fatal(n, `Static address ${w[0]} requires either an interface or default interface must exist`);
  }
  return va;
}

const ROUTE_TYPES = new Set(['unicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'local', 'broadcast', 'anycast', 'multicast', 'nat']);
const ROUTE_FLAGS = new Set(['onlink', 'no_track', 'inet6', 'inet', 'add', 'append', 'pervasive']);

/** One virtual_routes / static_routes line. */
export function parseRouteLine(ctx: BuildContext, n: ConfNode): VirtualRoute | undefined {
  const w = lineWords(n);
  const route: VirtualRoute = { dst: { address: '0.0.0.0', prefixLen: 0, family: 4 }, noTrack: false, options: {}, loc: n.loc };
  let i = 0;
  let haveDst = false;
  let forceV6 = false;
  for (; i < w.length; i++) {
    const word = w[i];
    if (ROUTE_TYPES.has(word) && !haveDst) {
      route.type = word;
      continue;
    }
    if (word === 'to') continue;
    if (word === 'inet6') {
      forceV6 = true;
      continue;
    }
    if (word === 'src') {
      route.src = w[++i];
      continue;
    }
    if (!haveDst) {
      if (word === 'default') {
        route.dst = forceV6 ? { address: '::', prefixLen: 0, family: 6 } : { address: '0.0.0.0', prefixLen: 0, family: 4 };
      } else {
        const p = parsePrefix(word);
        if (!p) {
          ctx.error(n, `Invalid route destination ${word}`);
          return undefined;
        }
        route.dst = p;
      }
      haveDst = true;
      continue;
    }
    if (ROUTE_FLAGS.has(word)) {
      if (word === 'no_track') route.noTrack = true;
      route.options[word] = '';
      continue;
    }
    if (word === 'nexthop') {
      // nexthop via ADDR dev IF [weight N] [onlink] ...: check the interface of each hop
      for (let j = i + 1; j < w.length; j++) {
        if (w[j] === 'dev' && w[j + 1] !== undefined) {
          if (!ctx.hasInterface(w[j + 1])) ctx.error(n, `WARNING - interface ${w[j + 1]} for VROUTE nexthop doesn't exist`);
          j++;
        }
      }
      route.options.nexthop = w.slice(i + 1).join(' ');
      break;
    }
    const v = w[i + 1];
    i++;
    if (v === undefined) {
      ctx.error(n, `Missing value for route option ${word}`);
      break;
    }
    route.options[word] = v;
    if (word === 'gw') ctx.error(n, '"gw" for routes is deprecated. Please use "via"');
    else if (word === 'or') ctx.error(n, '"or" for routes is deprecated. Please use "nexthop"');
    else if (word === 'track_group' && !ctx.trackGroups.has(v)) ctx.error(n, `track_group ${v} not found`);
    if (word === 'via' || word === 'gw') route.via = v;
    else if (word === 'dev' || word === 'oif') {
      route.dev = v;
      if (!ctx.hasInterface(v)) ctx.error(n, `WARNING - interface ${v} for VROUTE nexthop doesn't exist`);
    } else if (word === 'table') {
      const t = /^[0-9]+$/.test(v) ? Number(v) : v === 'main' ? 254 : v === 'local' ? 255 : v === 'default' ? 253 : undefined;
      if (t !== undefined) route.table = t;
    } else if (word === 'metric' || word === 'priority' || word === 'preference') {
      const m = readUnsigned(ctx, n, v, 0, 4294967295);
      if (m !== undefined) route.metric = m;
    } else if (word === 'scope') route.scope = v;
    else if (word === 'protocol' || word === 'proto') route.protocol = v;
    else if (
      ['mtu', 'hoplimit', 'advmss', 'rtt', 'rttvar', 'reordering', 'window', 'cwnd', 'ssthresh', 'rto_min', 'initcwnd', 'initrwnd'].includes(word) &&
      v === 'lock'
    ) {
      route.options[word] = `lock ${w[++i] ?? ''}`;
    }
  }
  if (!haveDst) {
    ctx.error(n, 'Route must have a destination');
    return undefined;
  }
  if (!route.noTrack) {
    if (route.protocol !== undefined && route.protocol !== 'keepalived' && route.protocol !== '18')
      ctx.error(n, 'Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol');
    if (route.dev === undefined) {
      ctx.error(n, `Warning - cannot track route ${w.find((x) => x === 'default' || parsePrefix(x)) ?? ''} with no interface specified, not tracking`);
      route.noTrack = true;
    }
  }
  return route;
}

// ip_proto is documented but keepalived 2.2.7 rejects it ("Unknown rule option ip_proto")
const RULE_VALUE_OPTS = new Set([
  'table',
  'lookup',
  'preference',
  'pref',
  'priority',
  'iif',
  'oif',
  'tos',
  'dsfield',
  'fwmark',
  'realms',
  'goto',
  'uidrange',
  'protocol',
  'sport',
  'dport',
  'track_group',
  'suppress_prefixlength',
  'suppress_ifgroup',
  'tun_id',
  'type',
]);
const RULE_FLAGS = new Set(['l3mdev', 'no_track', 'inet', 'inet6', 'not']);

/** One virtual_rules / static_rules line. */
export function parseRuleLine(ctx: BuildContext, n: ConfNode): VirtualRule | undefined {
  const w = lineWords(n);
  const rule: VirtualRule = { options: {}, family: 4, loc: n.loc };
  let hasPref = false;
  for (let i = 0; i < w.length; i++) {
    const word = w[i];
    if (word === 'from' || word === 'to') {
      const v = w[++i];
      if (v === undefined) break;
      if (v === 'all') continue;
      const p = parsePrefix(v);
      if (!p) {
        ctx.error(n, `VRRP parsed invalid IP ${v}. skipping IP...`);
        ctx.error(n, `Invalid rule ${word} address ${v}`);
        return undefined;
      }
      rule[word] = p;
      rule.family = p.family;
      continue;
    }
    if (RULE_FLAGS.has(word)) {
      if (word === 'inet6') rule.family = 6;
      rule.options[word] = '';
      continue;
    }
    if (RULE_VALUE_OPTS.has(word)) {
      const v = w[++i];
      if (v === undefined) {
        ctx.error(n, `Missing value for rule option ${word}`);
        break;
      }
      rule.options[word] = v;
      if (word === 'table' || word === 'lookup') {
        const t = /^[0-9]+$/.test(v) ? Number(v) : v === 'main' ? 254 : v === 'local' ? 255 : v === 'default' ? 253 : undefined;
        if (t !== undefined) rule.table = t;
      } else if (word === 'preference' || word === 'pref' || word === 'priority') {
        const p = readUnsigned(ctx, n, v, 0, 4294967295);
        if (p !== undefined) {
          rule.preference = p;
          hasPref = true;
        }
      } else if ((word === 'iif' || word === 'oif') && !ctx.hasInterface(v)) {
        ctx.error(n, `WARNING - interface ${v} for rule doesn't exist`);
      } else if (word === 'track_group' && !ctx.trackGroups.has(v)) ctx.error(n, `track_group ${v} not found`);
      continue;
    }
    ctx.error(n, `Unknown rule option ${word}`);
  }
  if ('l3mdev' in rule.options && (rule.table !== undefined || 'goto' in rule.options)) ctx.error(n, 'Cannot specify l3mdev with other action');
  if (!hasPref) {
    ctx.error(n, 'Rule has no preference specified - setting to 16384. This is probably not what you want.');
    rule.preference = 16384;
  }
  if (!('no_track' in rule.options) && rule.options.protocol !== undefined && rule.options.protocol !== '18' && rule.options.protocol !== 'keepalived')
    ctx.error(n, 'Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol');
  return rule;
}
