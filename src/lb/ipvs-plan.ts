// The IPVS commands (genl payloads) that carry out an LbPlan, in a safe order:
// removed services, changed services, new services, removed/changed/new destinations.
import type { LbPlan } from './state.js';
import { serviceKeyText } from './backend.js';
import { encodeDelDest, encodeDelService, encodeNewDest, encodeNewService, encodeSetDest, encodeSetService } from './ipvs-codec.js';

export interface IpvsOp {
  /** for logs and errors, e.g. "add service [10.0.0.1]:tcp:80" */
  what: string;
  kind: 'del-service' | 'set-service' | 'new-service' | 'del-dest' | 'set-dest' | 'new-dest';
  payload: Buffer;
}

function destText(d: { family: 4 | 6; address: string; port: number }): string {
  return d.family === 6 ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`;
}

export function planToIpvsOps(plan: LbPlan): IpvsOp[] {
  const ops: IpvsOp[] = [];
  for (const s of plan.delServices) ops.push({ kind: 'del-service', what: `remove service ${serviceKeyText(s.key)}`, payload: encodeDelService(s.key) });
  for (const s of plan.editServices) ops.push({ kind: 'set-service', what: `change service ${serviceKeyText(s.key)}`, payload: encodeSetService(s) });
  for (const s of plan.addServices) ops.push({ kind: 'new-service', what: `add service ${serviceKeyText(s.key)}`, payload: encodeNewService(s) });
  for (const { service: s, destination: d } of plan.delDests)
    ops.push({ kind: 'del-dest', what: `remove real server ${destText(d)} from ${serviceKeyText(s.key)}`, payload: encodeDelDest(s.key, d) });
  for (const { service: s, destination: d } of plan.editDests)
    ops.push({ kind: 'set-dest', what: `change real server ${destText(d)} of ${serviceKeyText(s.key)}`, payload: encodeSetDest(s.key, d) });
  for (const { service: s, destination: d } of plan.addDests)
    ops.push({ kind: 'new-dest', what: `add real server ${destText(d)} to ${serviceKeyText(s.key)}`, payload: encodeNewDest(s.key, d) });
  return ops;
}
