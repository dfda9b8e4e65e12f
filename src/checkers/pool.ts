// Pure pool logic of a virtual server: quorum with hysteresis, sorry server, inhibit_on_failure,
// and the destinations the load balancer should hold. No I/O, no clocks.
import type { LbKind } from '../config/model.js';
import type { Destination } from '../lb/backend.js';

export interface RealServerHealth {
  address: string;
  family: 4 | 6;
  port: number;
  alive: boolean;
  /** effective weight (configured, moved by dynamic checkers), >= 0 */
  weight: number;
  inhibitOnFailure: boolean;
  lbKind: LbKind;
  uthreshold?: number;
  lthreshold?: number;
}

export interface PoolConfig {
  quorum: number;
  hysteresis: number;
  lbKind: LbKind;
  sorryServer?: { address: string; port: number; lbKind?: LbKind };
  sorryServerInhibit: boolean;
}

/** Sum of the weights of the alive real servers (keepalived's weigh_live_realservers). */
export function liveWeight(reals: readonly RealServerHealth[]): number {
  let sum = 0;
  for (const r of reals) if (r.alive) sum += r.weight;
  return sum;
}

/** Quorum at start: up when the live weight reaches quorum + hysteresis. */
export function initialQuorum(live: number, p: Pick<PoolConfig, 'quorum' | 'hysteresis'>): boolean {
  return live >= p.quorum + p.hysteresis;
}

/** Quorum after a change: gained at quorum + hysteresis, lost below quorum - hysteresis (or at 0). */
export function nextQuorum(up: boolean, live: number, p: Pick<PoolConfig, 'quorum' | 'hysteresis'>): boolean {
  if (!up) return live >= p.quorum + p.hysteresis;
  if (live === 0 || live < p.quorum - p.hysteresis) return false;
  return true;
}

function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

/**
 * The destinations of the pool:
 * - quorum up (or no sorry server): alive servers with their weight; dead ones with
 *   inhibit_on_failure stay at weight 0; a sorry server with sorry_server_inhibit sits at weight 0;
 * - quorum down with a sorry server: the sorry server (weight 1), real servers removed except the
 *   inhibit_on_failure ones, which stay at weight 0.
 * `sources`, when given, receives for each destination the index in `reals` it came from (-1: the
 * sorry server): with the weights, what tells two results of the same configuration apart.
 */
export function poolDestinations(p: PoolConfig, reals: readonly RealServerHealth[], quorumUp: boolean, sources?: number[]): Destination[] {
  const out = new Map<string, Destination>();
  /** index in `reals` of each destination kept (-1: the sorry server), when asked for */
  const from = sources ? new Map<string, number>() : undefined;
  let src = -1;
  const put = (d: Destination) => {
    const k = `${d.address}|${d.port}`;
    const prev = out.get(k);
    if (!prev || d.weight > prev.weight) {
      out.set(k, d);
      from?.set(k, src);
    }
  };
  const sorryActive = !quorumUp && p.sorryServer !== undefined;
  for (let i = 0; i < reals.length; i++) {
    const r = reals[i]!;
    const weight = !sorryActive && r.alive ? r.weight : r.inhibitOnFailure ? 0 : -1;
    if (weight < 0) continue;
    src = i;
    const d: Destination = { address: r.address, family: r.family, port: r.port, weight, lbKind: r.lbKind };
    if (r.uthreshold !== undefined) d.uthreshold = r.uthreshold;
    if (r.lthreshold !== undefined) d.lthreshold = r.lthreshold;
    put(d);
  }
  src = -1;
  if (p.sorryServer) {
    const s = p.sorryServer;
    const d: Destination = { address: s.address, family: familyOf(s.address), port: s.port, weight: 1, lbKind: s.lbKind ?? p.lbKind };
    if (sorryActive) put(d);
    else if (p.sorryServerInhibit) put({ ...d, weight: 0 });
  }
  if (sources && from) {
    sources.length = 0;
    for (const k of out.keys()) sources.push(from.get(k)!);
  }
  return [...out.values()];
}
