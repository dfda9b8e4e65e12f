// bfd_instance keyword table.
import type { ConfNode } from '../parser/ast.js';
import { arg, flagField } from './handlers.js';
import { ipFamily, parseAddress } from '../util/inet.js';
import type { BuildContext } from './context.js';
import type { BfdInstance } from './model.js';
import { KeywordTable, type Handler } from './table.js';
import { readDecimal, readInt, readUnsigned } from './values.js';

/** keepalived's BFD_*_MAX: UINT32_MAX / 1000 ms */
const MS_MAX = 4294967;

function ms(set: (b: BfdInstance, v: number) => void, what: string, min: number): Handler<BfdInstance> {
  return (ctx, n, b) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const us = readDecimal(ctx, n, w, min * 1000, MS_MAX * 1000, 3);
    if (us !== undefined) set(b, us / 1000);
    else ctx.error(n, `Configuration error: BFD instance ${b.name} ${what} value ${w} is not valid (must be in range [${min}-${MS_MAX}]), ignoring`);
  };
}

/** instances keepalived has already dropped (a malformed neighbour): no end-of-block check */
const dropped = new WeakSet<BfdInstance>();

function address(set: (b: BfdInstance, a: string) => void, label: 'neighbor' | 'source'): Handler<BfdInstance> {
  return (ctx, n, b) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const a = parseAddress(w);
    if (!a && label === 'neighbor') {
      ctx.error(n, `Configuration error: BFD instance ${b.name} has malformed neighbor address ${w}, ignoring instance`);
      dropped.add(b);
    } else if (!a) ctx.error(n, `Configuration error: BFD instance ${b.name} has malformed source address ${w}, ignoring`);
    else set(b, a.address);
  };
}

export const bfdInstanceTable = new KeywordTable<BfdInstance>('bfd_instance')
  .model(
    ['neighbor_ip', 'neighbour_ip'],
    address((b, a) => (b.neighborIp = a), 'neighbor'),
  )
  .model(
    'source_ip',
    address((b, a) => (b.sourceIp = a), 'source'),
  )
  .model(
    'min_rx',
    ms((b, v) => (b.minRx = v), 'min_rx', 1),
  )
  .model(
    'min_tx',
    ms((b, v) => (b.minTx = v), 'min_tx', 1),
  )
  .model(
    'idle_tx',
    // RFC 5880 6.8.3: at least one second while the session is not Up
    ms((b, v) => (b.idleTx = v), 'idle_tx', 1000),
  )
  .model('multiplier', (ctx, n, b) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, 1, 255);
    if (v !== undefined) b.multiplier = v;
    else ctx.error(n, `Configuration error: BFD instance ${b.name} multiplier value ${w} not valid (must be in range [1-255]), ignoring`);
  })
  .model(
    'passive',
    flagField((b) => (b.passive = true)),
  )
  .model(['ttl', 'hoplimit'], (ctx, n, b) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, 1, 255);
    if (v !== undefined) b.ttl = v;
    else ctx.error(n, `Configuration error: BFD instance ${b.name} ttl/hoplimit value ${w} not valid (must be in range [1-255]), ignoring`);
  })
  .model('max_hops', (ctx, n, b) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readInt(ctx, n, w, -1, 255);
    if (v !== undefined) b.maxHops = v;
    else ctx.error(n, `Configuration error: BFD instance ${b.name} max_hops value ${w} not valid (must be in range [-1-255]), ignoring`);
  })
  .model('weight', (ctx, n, b) => {
    const w = arg(ctx, n);
    const v = w === undefined ? undefined : readInt(ctx, n, w, -253, 253);
    if (v !== undefined) b.weight = v;
    if (n.args[1] === 'reverse') b.weightReverse = true;
    else if (n.args[1] !== undefined) ctx.error(n, `Configuration error: BFD instance ${b.name} unknown weight option ${n.args[1]}`);
  })
  .raw('vrrp', 'checker');

/**
 * keepalived's end-of-block checks (bfd_end_handler): a neighbour, the same family for source and
 * neighbour, no second session to the same neighbour (and source), max_hops within the TTL.
 * Returns false when the instance is dropped. `kept` are the instances kept so far.
 */
export function finishBfdInstance(ctx: BuildContext, n: ConfNode, b: BfdInstance, kept: BfdInstance[]): boolean {
  if (dropped.has(b)) return false;
  const at = n.endLoc ?? n;
  const pre = `Configuration error: BFD instance ${b.name}`;
  if (!b.neighborIp) {
    ctx.error(at, `${pre} has no neighbor address set, disabling instance`);
    return false;
  }
  const family = ipFamily(b.neighborIp);
  if (b.sourceIp && ipFamily(b.sourceIp) !== family) {
    ctx.error(at, `${pre} source address ${b.sourceIp} and neighbor address ${b.neighborIp} are not of the same family, disabling instance`);
    return false;
  }
  const dup = kept.find((k) => k.neighborIp === b.neighborIp && (!k.sourceIp || !b.sourceIp || k.sourceIp === b.sourceIp));
  if (dup) {
    if (b.sourceIp) ctx.error(at, `${pre} has duplicate source/neighbor address ${b.sourceIp}/${b.neighborIp}, ignoring instance`);
    else ctx.error(at, `${pre} has duplicate neighbor address ${b.neighborIp}, ignoring instance`);
    return false;
  }
  const ttl = b.ttl ?? (family === 6 ? 64 : 255);
  if ((b.maxHops ?? 0) > ttl) {
    ctx.error(at, `BFD instance ${b.name}: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit`);
    b.maxHops = ttl;
  }
  return true;
}

export function newBfdInstance(name: string, n: ConfNode): BfdInstance {
  return { name, minRx: 10, minTx: 10, idleTx: 1000, multiplier: 5, passive: false, loc: n.loc };
}
