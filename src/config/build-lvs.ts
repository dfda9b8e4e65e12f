// virtual_server_group, virtual_server and real_server keyword tables.
import type { ConfNode } from '../parser/ast.js';
import type { BuildContext } from './context.js';
import { EMPTY, addOne, exactList } from './exact.js';
import { buildChecker, checkerTables, type CheckerKeyword } from './build-checkers.js';
import { arg, flagField, stringField } from './handlers.js';
import { packLoc } from '../parser/diagnostic.js';
import { shareString } from '../parser/intern.js';
import { parseAddress, parsePrefix } from '../util/inet.js';
import type { LbKind, Protocol, RawKeyword, RealServer, SourceLoc, VirtualServer, VirtualServerGroup } from './model.js';
import { readScript } from './scripts.js';
import { KeywordTable, toRaw, type Handler } from './table.js';
import { readInt, readTimerMs, readUnsigned, trueFalse } from './values.js';

const SCHEDULERS = new Set(['rr', 'wrr', 'lc', 'wlc', 'lblc', 'sh', 'mh', 'dh', 'fo', 'ovf', 'lblcr', 'sed', 'nq', 'twos']);
const METHODS = new Set(['NAT', 'DR', 'TUN']);

export interface VsDraft {
  vs: VirtualServer;
  raw?: RawKeyword[];
  protocolSet: boolean;
  schedSet: boolean;
  kindSet: boolean;
  trackFiles: Set<string>;
  bfds: Set<string>;
}

export interface RsDraft {
  rs: RealServer;
  /** the real server as keepalived prints it: [address]:protocol:port */
  address: string;
  port: number;
  raw?: RawKeyword[];
  kindSet: boolean;
  trackFiles: Set<string>;
  bfds: Set<string>;
  /** protocol of the virtual server when the real server was read, as keepalived prints it */
  protocol: string;
}

function lbKind(ctx: BuildContext, n: ConfNode, what: string): LbKind | undefined {
  const w = arg(ctx, n);
  if (w === undefined) return undefined;
  if (METHODS.has(w)) return w as LbKind;
  ctx.error(n, `PARSER : unknown [${w}] routing method for ${what} server.`);
  return undefined;
}

function timerSet<T>(set: (t: T, ms: number) => void, msg: string): Handler<T> {
  return (ctx, n, t) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const ms = readTimerMs(ctx, n, w, 0, 4294967295000000);
    if (ms === undefined) ctx.error(n, msg.replace('%s', w));
    else set(t, ms);
  };
}

function boolOpt<T>(set: (t: T, b: boolean) => void, msg: string): Handler<T> {
  return (ctx, n, t) => {
    const w = n.args[0];
    if (w === undefined) return set(t, true);
    const b = trueFalse(w);
    if (b === undefined) ctx.error(n, msg.replace('%s', w));
    else set(t, b);
  };
}

// ---------------------------------------------------------------- real_server

export const realServerTable = new KeywordTable<RsDraft>('real_server')
  .model('weight', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readInt(ctx, n, w, -2147483648, 2147483647);
    if (v === undefined) return;
    if (v < 0 || v > 65535) ctx.error(n, `Real server weight ${w} is outside range 0-65535`);
    else d.rs.weight = v;
  })
  .model(['lvs_method', 'lb_kind'], (ctx, n, d) => {
    const k = lbKind(ctx, n, 'real');
    if (k) {
      d.rs.lbKind = k;
      d.kindSet = true;
    }
  })
  .model('uthreshold', (ctx, n, d) => {
    const w = arg(ctx, n);
    const v = w === undefined ? undefined : readUnsigned(ctx, n, w, 0, 4294967295);
    if (w !== undefined && v === undefined) ctx.error(n, `Invalid real_server uthreshold '${w}' - ignoring`);
    else if (v !== undefined) d.rs.uthreshold = v;
  })
  .model('lthreshold', (ctx, n, d) => {
    const w = arg(ctx, n);
    const v = w === undefined ? undefined : readUnsigned(ctx, n, w, 0, 4294967295);
    if (w !== undefined && v === undefined) ctx.error(n, `Invalid real_server lthreshold '${w}' - ignoring`);
    else if (v !== undefined) d.rs.lthreshold = v;
  })
  .model(
    'inhibit_on_failure',
    boolOpt((d, b) => (d.rs.inhibitOnFailure = b), 'Invalid inhibit_on_failure parameter %s'),
  )
  .model('notify_up', (ctx, n, d) => {
    if (d.rs.notifyUp) return ctx.error(n, `(${d.rs.address}) notify_up script already specified - ignoring ${n.args[0] ?? ''}`);
    d.rs.notifyUp = readScript(ctx, ctx.scripts, n);
  })
  .model('notify_down', (ctx, n, d) => {
    if (d.rs.notifyDown) return ctx.error(n, `(${d.rs.address}) notify_down script already specified - ignoring ${n.args[0] ?? ''}`);
    d.rs.notifyDown = readScript(ctx, ctx.scripts, n);
  })
  .model(
    'alpha',
    boolOpt((d, b) => (d.rs.alpha = b), 'Invalid alpha parameter %s'),
  )
  .model('retry', (ctx, n, d) => {
    const w = arg(ctx, n);
    const v = w === undefined ? undefined : readUnsigned(ctx, n, w, 0, 4294967295);
    if (w !== undefined && v === undefined) ctx.error(n, `retry value invalid - ${w}`);
    else if (v !== undefined) d.rs.retry = v;
  })
  .model(
    'delay_before_retry',
    timerSet((d, ms) => (d.rs.delayBeforeRetry = ms), "real server delay_before_retry '%s' invalid - ignoring"),
  )
  .model(
    'warmup',
    timerSet((d, ms) => (d.rs.warmup = ms), "real server warmup '%s' invalid - ignoring"),
  )
  .model(
    'connect_timeout',
    timerSet((d, ms) => (d.rs.connectTimeout = ms), 'real server connect_timeout %s invalid - ignoring'),
  )
  .model(
    'delay_loop',
    timerSet((d, ms) => (d.rs.delayLoop = ms), "real server delay_loop '%s' invalid - ignoring"),
  )
  .model(
    'smtp_alert',
    boolOpt((d, b) => (d.rs.smtpAlert = b), 'Invalid real_server smtp_alert parameter %s'),
  )
  .model('virtualhost', (ctx, n, d) => {
    if (n.args[0] === undefined) ctx.error(n, 'real server virtualhost missing');
    else d.rs.virtualhost = n.args[0];
  })
  .raw('snmp_name');

for (const type of Object.keys(checkerTables) as CheckerKeyword[]) {
  realServerTable.model(type, (ctx, n, d) => {
    const c = buildChecker(ctx, type, n, d.trackFiles, d.bfds, d);
    if (c) d.rs.checkers = addOne(d.rs.checkers, c);
  });
}

function buildRealServer(ctx: BuildContext, n: ConfNode, d: VsDraft): void {
  const args = n.args; // computed on access for fast-path nodes: read once
  const addrText = args[0];
  if (addrText === undefined) return void arg(ctx, n);
  const a = parseAddress(addrText);
  let port = 0;
  const portText = args[1];
  if (portText !== undefined) {
    const p = readUnsigned(ctx, n, portText, 0, 65535);
    if (p === undefined) {
      ctx.error(n, `Invalid real server ip address/port ${addrText}/${portText} - skipping`);
      return;
    }
    port = p;
  }
  if (!a) {
    ctx.error(n, `Invalid real server ip address/port ${addrText}/${portText ?? ''} - skipping`);
    return;
  }
  // lbKind, alpha and delayLoop, which validation always sets, are in the literal: added later, they
  // would give every real server a separate property store (about 40 bytes)
  const rs: RealServer = {
    address: shareString(a.address),
    family: a.family,
    port,
    weight: 1,
    inhibitOnFailure: d.vs.inhibitOnFailure,
    lbKind: undefined,
    alpha: undefined,
    delayLoop: undefined,
    checkers: EMPTY,
    loc: packLoc(n.loc),
  };
  const rd: RsDraft = {
    rs,
    address: rs.address,
    port,
    kindSet: false,
    trackFiles: d.trackFiles,
    bfds: d.bfds,
    protocol: d.protocolSet ? protocolName(d.vs.protocol) : 'none',
  };
  realServerTable.walk(ctx, n.children, rd);
  rs.checkers = exactList(rs.checkers);
  if (rd.raw) rs.raw = rd.raw;
  d.vs.realServers.push(rs);
}

// ---------------------------------------------------------------- virtual_server

export const virtualServerTable = new KeywordTable<VsDraft>('virtual_server')
  .model('ip_family', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w !== undefined && w !== 'inet' && w !== 'inet6') ctx.error(n, `unknown address family ${w}`);
    else if (w !== undefined && d.vs.key.kind === 'fwmark') d.vs.key.family = w === 'inet6' ? 6 : 4;
  })
  .model('retry', (ctx, n, d) => {
    const w = arg(ctx, n);
    const v = w === undefined ? undefined : readUnsigned(ctx, n, w, 0, 4294967295);
    if (w !== undefined && v === undefined) ctx.error(n, `retry value invalid - ${w}`);
    else if (v !== undefined) d.vs.retry = v;
  })
  .model(
    'delay_before_retry',
    timerSet((d, ms) => (d.vs.delayBeforeRetry = ms), "virtual server delay before retry '%s' invalid - ignoring"),
  )
  .model(
    'warmup',
    timerSet((d, ms) => (d.vs.warmup = ms), "virtual server warmup '%s' invalid - ignoring"),
  )
  .model(
    'connect_timeout',
    timerSet((d, ms) => (d.vs.connectTimeout = ms), 'virtual server connect_timeout %s invalid - ignoring'),
  )
  .model(
    'delay_loop',
    timerSet((d, ms) => (d.vs.delayLoop = ms), "virtual server delay loop '%s' invalid - ignoring"),
  )
  .model(
    'inhibit_on_failure',
    flagField((d) => (d.vs.inhibitOnFailure = true)),
  )
  .model(['lb_algo', 'lvs_sched'], (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    if (!SCHEDULERS.has(w)) ctx.error(n, `Invalid lvs_scheduler '${w}' - ignoring`);
    else {
      d.vs.lbAlgo = w;
      d.schedSet = true;
    }
  })
  .model(
    'ops',
    flagField((d) => (d.vs.ops = true)),
  )
  .model(['lb_kind', 'lvs_method'], (ctx, n, d) => {
    const k = lbKind(ctx, n, 'virtual');
    if (k) {
      d.vs.lbKind = k;
      d.kindSet = true;
    }
  })
  .model('persistence_timeout', (ctx, n, d) => {
    const w = n.args[0];
    if (w === undefined) return void (d.vs.persistenceTimeout = 360);
    const v = readUnsigned(ctx, n, w, 1, 2678400);
    if (v === undefined) ctx.error(n, 'persistence_timeout invalid');
    else d.vs.persistenceTimeout = v;
  })
  .model(
    'persistence_granularity',
    stringField((d, v) => (d.vs.persistenceGranularity = v)),
  )
  .model('protocol', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const p = w.toUpperCase();
    if (p === 'TCP' || p === 'UDP' || p === 'SCTP') {
      d.vs.protocol = p as Protocol;
      d.protocolSet = true;
    } else ctx.error(n, `Unknown protocol ${w} - ignoring`);
  })
  .model(
    'smtp_alert',
    boolOpt((d, b) => (d.vs.smtpAlert = b), 'Invalid virtual_server smtp_alert parameter %s'),
  )
  .model('virtualhost', (ctx, n, d) => {
    if (n.args[0] === undefined) ctx.error(n, 'virtual server virtualhost missing');
    else d.vs.virtualhost = n.args[0];
  })
  .model(
    'alpha',
    flagField((d) => (d.vs.alpha = true)),
  )
  .model(
    'omega',
    flagField((d) => (d.vs.omega = true)),
  )
  .model('quorum_up', (ctx, n, d) => (d.vs.quorumUp = readScript(ctx, ctx.scripts, n) ?? d.vs.quorumUp))
  .model('quorum_down', (ctx, n, d) => (d.vs.quorumDown = readScript(ctx, ctx.scripts, n) ?? d.vs.quorumDown))
  .model('quorum', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, 1, 4294967295);
    if (v === undefined) {
      ctx.error(n, `Quorum ${w} must be in [1, 4294967295]. Setting to 1.`);
      d.vs.quorum = 1;
    } else d.vs.quorum = v;
  })
  .model('hysteresis', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, 0, 4294967294);
    if (v === undefined) ctx.error(n, `Hysteresis ${w} must be in [0, 4294967294] - ignoring`);
    else d.vs.hysteresis = v;
  })
  .model('sorry_server', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const a = parseAddress(w);
    const port = n.args[1] !== undefined ? readUnsigned(ctx, n, n.args[1], 0, 65535) : 0;
    if (!a || port === undefined) return ctx.error(n, `Invalid sorry server IP address ${w} - skipping`);
    d.vs.sorryServer = { address: a.address, port, ...(d.vs.sorryServer?.lbKind ? { lbKind: d.vs.sorryServer.lbKind } : {}) };
  })
  .model('sorry_server_inhibit', (ctx, n, d) => {
    if (!d.vs.sorryServer) ctx.error(n, 'Ignoring sorry_server inhibit used before or without sorry_server');
    else d.vs.sorryServerInhibit = true;
  })
  .model(['sh-port', 'sh-fallback', 'mh-port', 'mh-fallback'], (ctx, n, d) => {
    const want = n.keyword.startsWith('sh') ? 'sh' : 'mh';
    if (d.vs.lbAlgo !== want || !d.schedSet) ctx.error(n, `${n.keyword} only applies to sh scheduler - ignoring`);
    else (d.raw ??= []).push(toRaw(n));
  })
  .model('sorry_server_lvs_method', (ctx, n, d) => {
    const k = lbKind(ctx, n, 'sorry');
    if (!k) return;
    if (!d.vs.sorryServer) ctx.error(n, 'sorry_server forwarding used without sorry_server');
    else d.vs.sorryServer.lbKind = k;
  })
  .model('real_server', (ctx, n, d) => buildRealServer(ctx, n, d))
  .raw('hashed', 'flag-1', 'flag-2', 'flag-3', 'persistence_engine', 'ha_suspend', 'snmp_name', 'weight');

/** tcp, udp or sctp: as keepalived prints it (a constant string: no new one per real server) */
export function protocolName(p: Protocol): string {
  return p === 'TCP' ? 'tcp' : p === 'UDP' ? 'udp' : 'sctp';
}

/** keepalived's FMT_VS */
export function formatVs(vs: VirtualServer, protocolSet: boolean): string {
  const k = vs.key;
  if (k.kind === 'group') return `[${k.group}]:0`;
  if (k.kind === 'fwmark') return `FWM ${k.fwmark}`;
  const addr = k.family === 6 ? `[${k.address}]` : `[${k.address}]`;
  return `${addr}:${protocolSet ? protocolName(vs.protocol) : 'none'}:${k.port}`;
}

/** Parse the virtual_server header: IP [PORT] | fwmark N | group NAME. */
/** Everything of a virtual_server but its key, with keepalived's defaults. */
export function virtualServerDefaults(loc: SourceLoc): Omit<VirtualServer, 'key'> {
  return {
    delayLoop: 60000,
    lbAlgo: 'wlc',
    lbKind: 'NAT',
    protocol: 'TCP',
    ops: false,
    alpha: false,
    omega: false,
    quorum: 1,
    hysteresis: 0,
    inhibitOnFailure: false,
    sorryServerInhibit: false,
    realServers: [],
    loc,
  };
}

export function newVirtualServer(ctx: BuildContext, n: ConfNode): VirtualServer | undefined {
  const a0 = n.args[0];
  const base = virtualServerDefaults(n.loc);
  if (a0 === undefined) {
    arg(ctx, n);
    return undefined;
  }
  if (a0 === 'group') {
    const g = n.args[1];
    if (g === undefined) return void arg(ctx, n, 1);
    return { key: { kind: 'group', group: g }, ...base };
  }
  if (a0 === 'fwmark') {
    const w = n.args[1];
    if (w === undefined) return void arg(ctx, n, 1);
    const v = readUnsigned(ctx, n, w, 1, 4294967295);
    if (v === undefined) {
      ctx.error(n, `virtual server fwmark '${w}' must be in [0, 4294967295] - ignoring`);
      return undefined;
    }
    return { key: { kind: 'fwmark', fwmark: v, family: 4 }, ...base };
  }
  const a = parseAddress(a0);
  let port = 0;
  if (n.args[1] !== undefined) {
    const p = readUnsigned(ctx, n, n.args[1], 0, 65535);
    if (p === undefined) return void ctx.error(n, `Invalid virtual server IP address/port ${a0}/${n.args[1]} - skipping`);
    port = p;
  }
  if (!a) {
    ctx.error(
      n,
      `Invalid virtual server IP address${n.args[1] !== undefined ? '/port' : ''} ${a0}${n.args[1] !== undefined ? '/' + n.args[1] : ''} - skipping`,
    );
    return undefined;
  }
  return { key: { kind: 'addr', address: a.address, family: a.family, port }, ...base };
}

// ---------------------------------------------------------------- virtual_server_group

export function buildVirtualServerGroup(ctx: BuildContext, n: ConfNode, name: string): VirtualServerGroup {
  const g: VirtualServerGroup = { name, entries: [], loc: n.loc };
  for (const c of n.children ?? []) {
    if (c.keyword === 'fwmark') {
      const w = c.args[0];
      const v = w === undefined ? undefined : readUnsigned(ctx, c, w, 0, 4294967295);
      if (v === undefined) ctx.error(c, `(${name}): fwmark '${w ?? ''}' must be in [0, 4294967295] - ignoring`);
      else g.entries.push({ kind: 'fwmark', fwmark: v, loc: c.loc });
      continue;
    }
    const text = c.keyword;
    const portText = c.args[0];
    let port = 0;
    if (portText !== undefined) {
      const p = readUnsigned(ctx, c, portText, 0, 65535);
      if (p === undefined) {
        ctx.error(c, `Invalid virtual server group IP address ${text}/port/${portText} - skipping`);
        continue;
      }
      port = p;
    }
    const dash = text.indexOf('-');
    const start = dash >= 0 ? text.slice(0, dash) : text;
    const a = start.includes('/') ? parsePrefix(start) : parseAddress(start);
    if (!a) {
      ctx.error(c, `Invalid virtual server group IP address ${text}${portText !== undefined ? '/port/' + portText : ''} - skipping`);
      continue;
    }
    const e: VirtualServerGroup['entries'][number] = { kind: 'addr', address: a.address, family: a.family, port, loc: c.loc };
    if (dash >= 0) e.rangeEnd = text.slice(dash + 1);
    g.entries.push(e);
  }
  if (g.entries.length === 0) ctx.error(n.endLoc ?? n, `virtual server group ${name} has no entries - removing`);
  return g;
}
