// Pure helpers over LbState: identities, canonical ordering, validation and the minimal change plan
// between two states. Every backend reconciles with these.
import type { Destination, LbState, Service, ServiceKey } from './backend.js';
import { canonicalIp, compareIp, ipFamily, maskPrefixLength, prefixToDottedMask } from '../util/inet.js';
import { schedFlagBits, schedFlagNames } from './sched-flags.js';
import { TskeepalivedError } from '../util/errors.js';

const PROTO_ORDER: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 };

/** A stable identity string for a service key. */
export function serviceId(k: ServiceKey): string {
  if (k.kind === 'fwmark') return `fwm/${k.family}/${k.fwmark}`;
  return `${k.protocol}/${k.family}/${canonicalIp(k.address ?? '')}/${k.port}`;
}

/** A stable identity string for a destination inside its service. */
export function destinationId(d: Destination): string {
  return `${d.family}/${canonicalIp(d.address)}/${d.port}`;
}

/** ipvsadm's ordering: address services before fwmark ones, then family, protocol, address, port. */
export function compareServices(a: Service, b: Service): number {
  const ka = a.key;
  const kb = b.key;
  const fa = ka.kind === 'fwmark' ? (ka.fwmark ?? 0) : 0;
  const fb = kb.kind === 'fwmark' ? (kb.fwmark ?? 0) : 0;
  if (fa !== fb) return fa - fb;
  if (ka.family !== kb.family) return ka.family - kb.family;
  if (ka.kind === 'fwmark' || kb.kind === 'fwmark') return 0;
  const pa = PROTO_ORDER[ka.protocol] ?? 255;
  const pb = PROTO_ORDER[kb.protocol] ?? 255;
  if (pa !== pb) return pa - pb;
  const c = compareIp(ka.address ?? '', kb.address ?? '');
  if (c !== 0) return c;
  return (ka.port ?? 0) - (kb.port ?? 0);
}

export function compareDestinations(a: Destination, b: Destination): number {
  if (a.family !== b.family) return a.family - b.family;
  const c = compareIp(a.address, b.address);
  if (c !== 0) return c;
  return a.port - b.port;
}

/** A problem in a desired state, with the service/destination it concerns. */
export class LbStateError extends TskeepalivedError {
  constructor(message: string) {
    super(message, 'TSK_ERR_LB_STATE');
    this.name = 'LbStateError';
  }
}

function checkPort(p: number | undefined, what: string): void {
  if (p === undefined || !Number.isInteger(p) || p < 0 || p > 65535) throw new LbStateError(`${what}: invalid port ${p}`);
}

/**
 * Validate and canonicalise a state: addresses in canonical text, services and destinations in
 * ipvsadm order, duplicate keys rejected. Returns a new object; the input is untouched.
 */
export function normalizeState(state: LbState): LbState {
  const seen = new Set<string>();
  const services = state.services.map((s) => {
    const k = s.key;
    let key: ServiceKey;
    if (k.kind === 'fwmark') {
      if (k.fwmark === undefined || !Number.isInteger(k.fwmark) || k.fwmark < 1 || k.fwmark > 0xffffffff)
        throw new LbStateError(`service FWM ${k.fwmark}: invalid firewall mark`);
      key = { kind: 'fwmark', family: k.family, protocol: k.protocol, fwmark: k.fwmark };
    } else {
      const fam = ipFamily(k.address ?? '');
      if (!fam) throw new LbStateError(`service ${k.address}: not an IP address`);
      if (fam !== k.family) throw new LbStateError(`service ${k.address}: family ${k.family} does not match the address`);
      checkPort(k.port, `service ${k.address}`);
      key = { kind: 'addr', family: fam, protocol: k.protocol, address: canonicalIp(k.address!), port: k.port! };
    }
    const sid = serviceId(key);
    if (seen.has(sid)) throw new LbStateError(`service ${sid} appears twice`);
    seen.add(sid);
    const dseen = new Set<string>();
    const destinations = s.destinations.map((d) => {
      const fam = ipFamily(d.address);
      if (!fam) throw new LbStateError(`service ${sid}: destination ${d.address} is not an IP address`);
      checkPort(d.port, `service ${sid}: destination ${d.address}`);
      if (!Number.isInteger(d.weight) || d.weight < 0 || d.weight > 0x7fffffff)
        throw new LbStateError(`service ${sid}: destination ${d.address}: invalid weight ${d.weight}`);
      const nd: Destination = { ...d, address: canonicalIp(d.address), family: fam };
      const did = destinationId(nd);
      if (dseen.has(did)) throw new LbStateError(`service ${sid}: destination ${did} appears twice`);
      dseen.add(did);
      return nd;
    });
    destinations.sort(compareDestinations);
    const ns: Service = { ...s, key, destinations };
    delete ns.schedFlags;
    delete ns.persistenceNetmask;
    if (ns.persistenceTimeout === undefined) delete ns.persistenceTimeout;
    if (s.schedFlags?.length) {
      const { bits, unknown } = schedFlagBits(s.schedFlags);
      if (unknown.length) throw new LbStateError(`service ${sid}: unknown scheduler flag(s) ${unknown.join(', ')}`);
      ns.schedFlags = schedFlagNames(s.scheduler, bits);
    }
    if (s.persistenceTimeout !== undefined) {
      if (!Number.isInteger(s.persistenceTimeout) || s.persistenceTimeout < 1)
        throw new LbStateError(`service ${sid}: invalid persistence timeout ${s.persistenceTimeout}`);
      if (s.persistenceNetmask !== undefined) {
        const len = maskPrefixLength(s.persistenceNetmask, key.family);
        if (len === undefined) throw new LbStateError(`service ${sid}: invalid persistence netmask "${s.persistenceNetmask}"`);
        if (key.family === 4 && len !== 32) ns.persistenceNetmask = prefixToDottedMask(len);
        if (key.family === 6 && len !== 128) ns.persistenceNetmask = String(len);
      }
    }
    return ns;
  });
  services.sort(compareServices);
  return { services };
}

/** True when the service-level attributes (not the destinations) differ. */
export function serviceAttrsDiffer(a: Service, b: Service): boolean {
  return (
    a.scheduler !== b.scheduler ||
    (a.persistenceTimeout ?? 0) !== (b.persistenceTimeout ?? 0) ||
    (a.persistenceNetmask ?? '') !== (b.persistenceNetmask ?? '') ||
    a.ops !== b.ops ||
    (a.schedFlags ?? []).join(',') !== (b.schedFlags ?? []).join(',')
  );
}

export function destinationAttrsDiffer(a: Destination, b: Destination): boolean {
  return a.weight !== b.weight || a.lbKind !== b.lbKind || (a.uthreshold ?? 0) !== (b.uthreshold ?? 0) || (a.lthreshold ?? 0) !== (b.lthreshold ?? 0);
}

export interface DestChange {
  service: Service;
  destination: Destination;
}

/** The minimal set of operations that turns `from` into `to`, in a safe order of application. */
export interface LbPlan {
  delServices: Service[];
  editServices: Service[];
  addServices: Service[];
  delDests: DestChange[];
  editDests: DestChange[];
  addDests: DestChange[];
}

export function planChanges(from: LbState, to: LbState): LbPlan {
  const plan: LbPlan = { delServices: [], editServices: [], addServices: [], delDests: [], editDests: [], addDests: [] };
  const old = new Map(from.services.map((s) => [serviceId(s.key), s]));
  const next = new Map(to.services.map((s) => [serviceId(s.key), s]));
  for (const [id, s] of old) if (!next.has(id)) plan.delServices.push(s);
  for (const [id, s] of next) {
    const prev = old.get(id);
    if (!prev) {
      plan.addServices.push(s);
      for (const d of s.destinations) plan.addDests.push({ service: s, destination: d });
      continue;
    }
    if (serviceAttrsDiffer(prev, s)) plan.editServices.push(s);
    const pd = new Map(prev.destinations.map((d) => [destinationId(d), d]));
    const nd = new Map(s.destinations.map((d) => [destinationId(d), d]));
    for (const [did, d] of pd) if (!nd.has(did)) plan.delDests.push({ service: s, destination: d });
    for (const [did, d] of nd) {
      const p = pd.get(did);
      if (!p) plan.addDests.push({ service: s, destination: d });
      else if (destinationAttrsDiffer(p, d)) plan.editDests.push({ service: s, destination: d });
    }
  }
  return plan;
}

export function planIsEmpty(p: LbPlan): boolean {
  return p.delServices.length + p.editServices.length + p.addServices.length + p.delDests.length + p.editDests.length + p.addDests.length === 0;
}

export function planSize(p: LbPlan): number {
  return p.delServices.length + p.editServices.length + p.addServices.length + p.delDests.length + p.editDests.length + p.addDests.length;
}

/** A deep copy, so callers cannot mutate a backend's record of what it applied. */
export function cloneState(s: LbState): LbState {
  return JSON.parse(JSON.stringify(s)) as LbState;
}

export function destinationCount(s: LbState): number {
  return s.services.reduce((n, svc) => n + svc.destinations.length, 0);
}
