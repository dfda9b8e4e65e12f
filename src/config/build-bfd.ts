// bfd_instance keyword table.
import type { ConfNode } from '../parser/ast.js';
import { arg, flagField } from './handlers.js';
import { parseAddress } from '../util/inet.js';
import type { BfdInstance } from './model.js';
import { KeywordTable, type Handler } from './table.js';
import { readDecimal, readInt, readUnsigned } from './values.js';

function ms(set: (b: BfdInstance, v: number) => void, min: number, max: number): Handler<BfdInstance> {
  return (ctx, n, b) => {
    const w = arg(ctx, n);
    const us = w === undefined ? undefined : readDecimal(ctx, n, w, min * 1000, max * 1000, 3);
    if (us !== undefined) set(b, us / 1000);
  };
}

function address(set: (b: BfdInstance, a: string) => void, label: string): Handler<BfdInstance> {
  return (ctx, n, b) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const a = parseAddress(w);
    if (!a) ctx.error(n, `Configuration error: BFD instance ${b.name} has malformed ${label} address ${w}, ignoring instance`);
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
    ms((b, v) => (b.minRx = v), 1, 1000000),
  )
  .model(
    'min_tx',
    ms((b, v) => (b.minTx = v), 1, 1000000),
  )
  .model(
    'idle_tx',
    ms((b, v) => (b.idleTx = v), 1, 1000000),
  )
  .model('multiplier', (ctx, n, b) => {
    const w = arg(ctx, n);
    const v = w === undefined ? undefined : readUnsigned(ctx, n, w, 1, 255);
    if (v !== undefined) b.multiplier = v;
  })
  .model(
    'passive',
    flagField((b) => (b.passive = true)),
  )
  .model(['ttl', 'hoplimit'], (ctx, n, b) => {
    const w = arg(ctx, n);
    const v = w === undefined ? undefined : readUnsigned(ctx, n, w, 1, 255);
    if (v !== undefined) b.ttl = v;
  })
  .model('max_hops', (ctx, n, b) => {
    const w = arg(ctx, n);
    const v = w === undefined ? undefined : readUnsigned(ctx, n, w, 0, 255);
    if (v !== undefined) b.maxHops = v;
  })
  .model('weight', (ctx, n, b) => {
    const w = arg(ctx, n);
    const v = w === undefined ? undefined : readInt(ctx, n, w, -253, 253);
    if (v !== undefined) b.weight = v;
    if (n.args[1] === 'reverse') b.weightReverse = true;
    else if (n.args[1] !== undefined) ctx.error(n, `Configuration error: BFD instance ${b.name} unknown weight option ${n.args[1]}`);
  })
  .raw('vrrp', 'checker');

export function newBfdInstance(name: string, n: ConfNode): BfdInstance {
  return { name, minRx: 10, minTx: 10, idleTx: 1000, multiplier: 5, passive: false, loc: n.loc };
}
