// What tskeepalived keeps in FRR's bgpd (runtime configuration, never written to frr.conf by
// tskeepalived): one `network PREFIX route-map NAME_xxxxxxxx` per announced VIP under `router bgp`
// (address-family ipv4 / ipv6 unicast), and one route-map `NAME_xxxxxxxx permit 10` per distinct
// attribute set (`set metric`, `set local-preference`, `set community`, `set large-community`),
// named by a hash of the set. Ownership is that name: a network statement whose route-map matches
// NAME_ + 8 hex digits is ours, every other line of bgpd's configuration is left alone.
// frrSync() reads bgpd's running configuration and sends only the difference, so it is
// idempotent (an unchanged set sends nothing) and also withdraws what a previous run left.
import { createHash } from 'node:crypto';
import type { BgpAttributes } from '../config/model.js';
import { FrrControlError, withFrrVty } from './frr-vty.js';
import type { BgpRoute } from './types.js';

export interface FrrTarget {
  /** bgpd's vty socket */
  controlSocket: string;
  /** route-maps are named NAME_ + 8 hex digits */
  protocolName: string;
  /** the `router bgp ASN` instance; absent: the default instance, whatever its ASN */
  asn?: number;
  commandTimeout: number;
}

/** What of bgpd's running configuration is ours. */
export interface FrrOwned {
  /** the ASN of the `router bgp` instance found (undefined: none, or not the configured one) */
  instanceAsn?: number;
  /** `no bgp network import-check` is set in that instance */
  importCheckOff: boolean;
  /** prefix -> route-map of our network statements */
  networks: Map<string, { routeMap: string; family: 4 | 6 }>;
  /** our route-maps -> the number of their `set` lines */
  routeMaps: Map<string, number>;
}

function byNumbers(a: string, b: string): number {
  const x = a.split(':').map(Number);
  const y = b.split(':').map(Number);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** The route-map's `set` lines for these attributes (communities in the order FRR prints them). */
export function frrSetLines(a: BgpAttributes): string[] {
  const s: string[] = [];
  if (a.med !== undefined) s.push(`set metric ${a.med}`);
  if (a.localPref !== undefined) s.push(`set local-preference ${a.localPref}`);
  if (a.communities.length) s.push(`set community ${[...new Set(a.communities)].sort(byNumbers).join(' ')}`);
  if (a.largeCommunities.length) s.push(`set large-community ${[...new Set(a.largeCommunities)].sort(byNumbers).join(' ')}`);
  return s;
}

/** NAME_ + 8 hex digits of the set lines: equal attributes share one route-map. */
export function frrRouteMapName(protocolName: string, a: BgpAttributes): string {
  return `${protocolName}_${createHash('sha256').update(frrSetLines(a).join('\n')).digest('hex').slice(0, 8)}`;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Our part of bgpd's `show running-config`. */
export function parseFrrRunning(text: string, protocolName: string, asn?: number): FrrOwned {
  const ours = new RegExp(`^${escapeRe(protocolName)}_[0-9a-f]{8}$`);
  const out: FrrOwned = { importCheckOff: false, networks: new Map(), routeMaps: new Map() };
  let inInstance = false;
  let family: 4 | 6 | undefined;
  let routeMap: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (!line.startsWith(' ')) {
      // a top-level line ends whatever block was open
      inInstance = false;
      family = undefined;
      routeMap = undefined;
      const rb = /^router bgp (\d+)$/.exec(line);
      if (rb && (asn === undefined || Number(rb[1]) === asn) && out.instanceAsn === undefined) {
        inInstance = true;
        out.instanceAsn = Number(rb[1]);
        continue;
      }
      const rm = /^route-map (\S+) (?:permit|deny) \d+$/.exec(line);
      if (rm && ours.test(rm[1]!)) {
        routeMap = rm[1];
        out.routeMaps.set(routeMap!, out.routeMaps.get(routeMap!) ?? 0);
      }
      continue;
    }
    if (routeMap) {
      if (/^ set /.test(line)) out.routeMaps.set(routeMap, out.routeMaps.get(routeMap)! + 1);
      continue;
    }
    if (!inInstance) continue;
    const t = line.trim();
    if (t === 'no bgp network import-check') out.importCheckOff = true;
    const af = /^address-family (ipv4|ipv6) unicast$/.exec(t);
    if (af) family = af[1] === 'ipv4' ? 4 : 6;
    else if (t === 'exit-address-family') family = undefined;
    else if (family !== undefined) {
      const n = /^network (\S+) route-map (\S+)$/.exec(t);
      if (n && ours.test(n[2]!)) out.networks.set(n[1]!, { routeMap: n[2]!, family });
    }
  }
  return out;
}

/** The configuration commands that turn `owned` into `routes` (empty: nothing to do). */
export function frrPlan(owned: FrrOwned, routes: readonly BgpRoute[], protocolName: string): string[] {
  const wanted = new Map<string, { route: BgpRoute; routeMap: string; sets: string[] }>();
  for (const r of routes) wanted.set(r.prefix, { route: r, routeMap: frrRouteMapName(protocolName, r.attrs), sets: frrSetLines(r.attrs) });
  const cmds: string[] = [];
  // route-maps first (missing, or left incomplete by an interrupted session)
  const made = new Set<string>();
  for (const w of wanted.values()) {
    if (made.has(w.routeMap)) continue;
    made.add(w.routeMap);
    const have = owned.routeMaps.get(w.routeMap);
    if (have !== undefined && have >= w.sets.length) continue;
    cmds.push(`route-map ${w.routeMap} permit 10`, ...w.sets, 'exit');
  }
  const af: string[] = [];
  for (const fam of [4, 6] as const) {
    const lines: string[] = [];
    for (const [prefix, n] of owned.networks) if (n.family === fam && !wanted.has(prefix)) lines.push(`no network ${prefix}`);
    for (const [prefix, w] of [...wanted].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (w.route.family !== fam) continue;
      if (owned.networks.get(prefix)?.routeMap !== w.routeMap) lines.push(`network ${prefix} route-map ${w.routeMap}`);
    }
    if (lines.length) af.push(`address-family ipv${fam} unicast`, ...lines, 'exit-address-family');
  }
  if (af.length) {
    if (owned.instanceAsn === undefined) throw new FrrControlError('FRR has no such router bgp instance');
    cmds.push(`router bgp ${owned.instanceAsn}`, ...af, 'exit');
  }
  const used = new Set([...wanted.values()].map((w) => w.routeMap));
  for (const rm of owned.routeMaps.keys()) if (!used.has(rm)) cmds.push(`no route-map ${rm}`);
  return cmds;
}

export interface FrrSyncResult {
  /** configuration commands sent (0: FRR had it already) */
  commands: number;
  owned: FrrOwned;
}

/** Make bgpd's announced set from tskeepalived exactly `routes` (one vty session). */
export async function frrSync(t: FrrTarget, routes: readonly BgpRoute[]): Promise<FrrSyncResult> {
  return withFrrVty(t.controlSocket, t.commandTimeout, async (s) => {
    const owned = parseFrrRunning(await s.run('show running-config'), t.protocolName, t.asn);
    if (owned.instanceAsn === undefined && (routes.length > 0 || owned.networks.size > 0))
      throw new FrrControlError(`FRR's bgpd on ${t.controlSocket} has no 'router bgp${t.asn === undefined ? '' : ` ${t.asn}`}'`);
    let cmds: string[];
    try {
      cmds = frrPlan(owned, routes, t.protocolName);
    } catch (e) {
      throw new FrrControlError(`FRR's bgpd on ${t.controlSocket}: ${(e as Error).message}`, { cause: e });
    }
    if (cmds.length) {
      await s.run('configure terminal');
      for (const c of cmds) await s.run(c);
      await s.run('end');
    }
    return { commands: cmds.length, owned };
  });
}

/** The prefixes bgpd has from tskeepalived (our network statements). */
export async function frrAnnounced(t: FrrTarget): Promise<string[]> {
  return withFrrVty(t.controlSocket, t.commandTimeout, async (s) => [
    ...parseFrrRunning(await s.run('show running-config'), t.protocolName, t.asn).networks.keys(),
  ]);
}

/** The record file of what was handed to FRR (FRR does not read it; the guard's pid file sits beside it). */
export function renderFrrRecord(protocolName: string, routes: readonly BgpRoute[]): string {
  const sorted = [...routes].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  const out = [
    '! Managed by tskeepalived: what it has handed to FRR (bgpd runtime configuration, through the vty socket).',
    '! FRR does not read this file; it is a record for the operator.',
  ];
  const maps = new Map<string, string[]>();
  for (const r of sorted) maps.set(frrRouteMapName(protocolName, r.attrs), frrSetLines(r.attrs));
  for (const [name, sets] of [...maps].sort()) out.push(`route-map ${name} permit 10`, ...sets.map((s) => ` ${s}`), 'exit');
  for (const fam of [4, 6] as const) {
    const nets = sorted.filter((r) => r.family === fam);
    if (!nets.length) continue;
    out.push(` address-family ipv${fam} unicast`);
    for (const r of nets) out.push(`  network ${r.prefix} route-map ${frrRouteMapName(protocolName, r.attrs)}`);
    out.push(' exit-address-family');
  }
  return `${out.join('\n')}\n`;
}
