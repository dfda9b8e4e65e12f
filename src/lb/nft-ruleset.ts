// Pure translation of an LbState into one nftables transaction (text for `nft -f -`).
//
// One table per family (`table ip tskeepalived`, `table ip6 tskeepalived`) with a `services` chain
// jumped to from nat chains on prerouting (forwarded traffic) and output (traffic from this host). Each service is one DNAT rule
// whose target comes from an anonymous map indexed by
//   - `numgen inc mod N`                       rr, wrr (weight-expanded, interleaved slots)
//   - `jhash ip saddr [. sport] mod 256 seed S`  sh, mh (sh-port / mh-port add the source port)
//   - `jhash ip daddr mod 256 seed S`            dh, lblc, lblcr (destination locality)
// Hash maps have 256 slots filled by weighted rendezvous hashing (weights.ts): a destination that
// goes away only moves the clients it had.
// Approximations (reported as notes): lc, wlc, sed, nq -> wrr by weight; fo, ovf -> the
// highest-weight destination; persistence -> source hashing on the masked client address;
// one-packet scheduling is ignored (conntrack keeps UDP flows sticky).
// Destinations with weight 0 get no slot. A service without destinations rejects new connections.
//
// lb_kind DR: `table netdev tskeepalived` with one ingress chain on the devices where client traffic
// arrives; each DR service is one `fwd ip to <real server> device <dev>` rule: the packet is sent
// unchanged (destination still the VIP) to the real server's MAC address, resolved by the kernel's
// neighbour table on the device that routes to the real servers. The ingress hook runs before
// conntrack, so the choice must be the same for every packet of a connection: rr, wrr, lc, wlc, sed, nq
// become weighted flow hashing (`jhash saddr . sport` over 256 rendezvous slots), sh / dh /
// persistence hash as for NAT (all reported as notes). TUN is not available (no encapsulation in nftables).
import type { Destination, LbState, Service } from './backend.js';
import { serviceKeyText } from './backend.js';
import { formatIP, maskPrefixLength } from '../util/inet.js';
import { schedFlagBits } from './sched-flags.js';
import { IP_VS_SVC_F_SCHED2 } from './sched-flags.js';
import { activeDestinations, HASH_SLOTS, rendezvousSlots, slotCounts, smoothSequence } from './weights.js';
import { destinationId } from './state.js';
import { TskeepalivedError } from '../util/errors.js';

export const NFT_TABLE = 'tskeepalived';

export interface NftRulesetOptions {
  table?: string;
  /** jhash seed: fixed for the life of the backend so re-applies keep clients on their server */
  seed: number;
  /** masquerade (SNAT to the outgoing address) the balanced connections; default false (IPVS NAT semantics) */
  masquerade?: boolean;
  /** maximum map slots per service for weight expansion */
  maxSlots?: number;
  /** lb_kind DR: devices whose ingress is hooked, and the device routing to each real server address */
  dr?: { ingressDevices: string[]; routeDevice: Record<string, string | undefined> };
}

export interface NftRuleset {
  /** the whole transaction, ready for `nft -f -` */
  script: string;
  /** approximations made, one line each (for the logs) */
  notes: string[];
}

export class NftUnsupportedError extends TskeepalivedError {
  constructor(readonly problems: string[]) {
    super(`the nftables LB backend cannot apply this state: ${problems.join('; ')}`, 'TSK_ERR_NFT_UNSUPPORTED');
    this.name = 'NftUnsupportedError';
  }
}

const HASH_SCHEDULERS = new Set(['sh', 'mh']);
const DEST_HASH_SCHEDULERS = new Set(['dh', 'lblc', 'lblcr']);
const WRR_APPROX = new Set(['lc', 'wlc', 'sed', 'nq']);
const FAILOVER = new Set(['fo', 'ovf']);
const KNOWN = new Set(['rr', 'wrr', ...HASH_SCHEDULERS, ...DEST_HASH_SCHEDULERS, ...WRR_APPROX, ...FAILOVER]);

/** Problems that prevent the nftables backend from representing a state (empty = supported). */
export function nftUnsupported(state: LbState): string[] {
  const problems: string[] = [];
  for (const s of state.services) {
    const name = serviceKeyText(s.key);
    if (!KNOWN.has(s.scheduler)) problems.push(`${name}: unknown scheduler "${s.scheduler}"`);
    for (const d of s.destinations) {
      if (d.lbKind === 'TUN')
        problems.push(`${name}: real server ${destText(d)} uses lb_kind TUN; nftables cannot encapsulate (use --lb-backend=ipvs for TUN)`);
      if (d.family !== s.key.family) problems.push(`${name}: real server ${destText(d)} is not of the service's address family`);
    }
    if (isDr(s)) {
      if (s.destinations.some((d) => d.lbKind !== 'DR')) problems.push(`${name}: nftables cannot mix lb_kind DR and NAT real servers in one service`);
      if (s.key.kind === 'fwmark') problems.push(`${name}: lb_kind DR with nftables needs an address service (marks are not set yet at ingress)`);
      else if (s.key.protocol === 'SCTP') problems.push(`${name}: lb_kind DR with nftables supports TCP and UDP only`);
      for (const d of s.destinations)
        if (s.key.kind === 'addr' && d.port !== 0 && d.port !== s.key.port)
          problems.push(`${name}: DR real server ${destText(d)} must use the virtual port ${s.key.port} (DR cannot change ports)`);
    }
    if (s.key.kind === 'fwmark') {
      const withPort = s.destinations.filter((d) => d.port !== 0).length;
      if (withPort > 0 && withPort < s.destinations.length)
        problems.push(`${name}: real servers mix port 0 (keep the port) and explicit ports, which nftables cannot map in one rule`);
    }
  }
  return problems;
}

/** A service whose real servers are lb_kind DR (balanced by MAC forwarding at ingress, not by DNAT). */
export function isDr(s: Service): boolean {
  return s.destinations.some((d) => d.lbKind === 'DR');
}

function destText(d: Destination): string {
  return d.family === 6 ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`;
}

function l4(s: Service): string {
  return s.key.protocol === 'TCP' ? 'tcp' : s.key.protocol === 'UDP' ? 'udp' : 'sctp';
}

/** The match part of a service's rule. */
function serviceMatch(s: Service): string {
  const k = s.key;
  if (k.kind === 'fwmark') return `meta mark ${k.fwmark}`;
  return `${k.family === 6 ? 'ip6' : 'ip'} daddr ${k.address} ${l4(s)} dport ${k.port}`;
}

/** The address part of a persistence mask: "255.255.255.0" / "ffff:ffff:ffff:ffff::" or undefined for a host mask. */
function persistenceMask(s: Service): string | undefined {
  if (s.persistenceNetmask === undefined) return undefined;
  const fam = s.key.family;
  const len = maskPrefixLength(s.persistenceNetmask, fam);
  if (len === undefined || len === (fam === 4 ? 32 : 128)) return undefined;
  const bytes = Buffer.alloc(fam === 4 ? 4 : 16);
  for (let i = 0; i < len; i++) bytes[i >> 3]! |= 0x80 >> (i & 7);
  return formatIP(bytes);
}

interface Selector {
  /** expression producing the slot index, without "mod N" */
  expr: string;
  /** whether the expression needs the seed */
  hashed: boolean;
}

function selectorFor(s: Service, notes: string[]): Selector {
  const name = serviceKeyText(s.key);
  const ip = s.key.family === 6 ? 'ip6' : 'ip';
  const port = s.key.kind === 'addr' && schedFlagBits(s.schedFlags).bits & IP_VS_SVC_F_SCHED2 ? ` . ${l4(s)} sport` : '';
  if (s.persistenceTimeout !== undefined) {
    const mask = persistenceMask(s);
    notes.push(
      `${name}: persistence ${s.persistenceTimeout}s approximated by source hashing${mask ? ` on ${ip} saddr & ${mask}` : ''} (no timeout: a client keeps its server while the server set is unchanged)`,
    );
    return { expr: `jhash ${ip} saddr${mask ? ` & ${mask}` : ''}`, hashed: true };
  }
  if (s.ops) notes.push(`${name}: one-packet scheduling is not available with nftables (conntrack keeps flows)`);
  if (HASH_SCHEDULERS.has(s.scheduler)) return { expr: `jhash ${ip} saddr${port}`, hashed: true };
  if (DEST_HASH_SCHEDULERS.has(s.scheduler)) {
    if (s.scheduler !== 'dh')
      notes.push(`${name}: scheduler ${s.scheduler} approximated by destination hashing (dh): one server per destination address, no overload move`);
    return { expr: `jhash ${ip} daddr`, hashed: true };
  }
  if (WRR_APPROX.has(s.scheduler))
    notes.push(`${name}: scheduler ${s.scheduler} needs connection counts, which nftables does not keep: approximated by weighted round robin (wrr)`);
  return { expr: 'numgen inc', hashed: false };
}

function target(s: Service, d: Destination): string {
  const port = d.port !== 0 ? d.port : s.key.kind === 'addr' ? s.key.port : 0;
  if (!port) return d.address;
  return `${d.address} . ${port}`;
}

function singleTarget(s: Service, d: Destination): string {
  const port = d.port !== 0 ? d.port : s.key.kind === 'addr' ? s.key.port : 0;
  if (!port) return d.address;
  return d.family === 6 ? `[${d.address}]:${port}` : `${d.address}:${port}`;
}

/** The DNAT statement (with any l4 match fwmark services need), or undefined when nothing can receive. */
function dnatStatement(s: Service, opts: NftRulesetOptions, notes: string[]): string | undefined {
  let active = activeDestinations(s.destinations);
  if (active.length === 0) return undefined;
  const usesPort = active.some((d) => d.port !== 0) || s.key.kind === 'addr';
  const l4match = s.key.kind === 'fwmark' && usesPort ? 'meta l4proto { tcp, udp, sctp } ' : '';
  if (FAILOVER.has(s.scheduler)) {
    const top = active.reduce((best, d) => (d.weight > best.weight ? d : best), active[0]!);
    if (s.scheduler === 'ovf') notes.push(`${serviceKeyText(s.key)}: scheduler ovf approximated by fo (no connection counts in nftables)`);
    active = [top];
  }
  const sel = selectorFor(s, notes);
  if (active.length === 1) return `${l4match}dnat to ${singleTarget(s, active[0]!)}`;
  let seq: number[];
  if (sel.hashed)
    seq = rendezvousSlots(
      active.map((d) => ({ id: destinationId(d), weight: d.weight })),
      HASH_SLOTS,
    );
  else {
    const rrOnly = s.scheduler === 'rr';
    seq = smoothSequence(
      rrOnly
        ? active.map(() => 1)
        : slotCounts(
            active.map((d) => d.weight),
            opts.maxSlots ?? 1024,
          ),
    );
  }
  const entries = seq.map((di, slot) => `${slot} : ${target(s, active[di]!)}`).join(', ');
  const seed = sel.hashed ? ` seed 0x${(opts.seed >>> 0).toString(16)}` : '';
  return `${l4match}dnat to ${sel.expr} mod ${seq.length}${seed} map { ${entries} }`;
}

function familyTable(services: Service[], family: 4 | 6, opts: NftRulesetOptions, notes: string[]): string[] {
  const fam = family === 6 ? 'ip6' : 'ip';
  const table = opts.table ?? NFT_TABLE;
  const nat: string[] = [];
  const reject: string[] = [];
  const masq: string[] = [];
  for (const s of services) {
    if (isDr(s)) continue;
    const match = serviceMatch(s);
    const stmt = dnatStatement(s, opts, notes);
    if (stmt) nat.push(`${match} ${stmt}`);
    else reject.push(`${match} reject`);
    if (opts.masquerade && stmt) {
      if (s.key.kind === 'addr') masq.push(`ct status dnat ct original ${fam} daddr ${s.key.address} masquerade`);
      else {
        const addrs = [...new Set(activeDestinations(s.destinations).map((d) => d.address))].join(', ');
        masq.push(`ct status dnat ${fam} daddr { ${addrs} } masquerade`);
      }
    }
  }
  const out: string[] = [`table ${fam} ${table}`, `delete table ${fam} ${table}`, `table ${fam} ${table} {`];
  const chain = (name: string, head: string, rules: string[]) => {
    out.push(`  chain ${name} {`, `    ${head}`, ...rules.map((r) => `    ${r}`), '  }');
  };
  out.push('  chain services {', ...nat.map((r) => `    ${r}`), '  }');
  chain('prerouting', 'type nat hook prerouting priority dstnat; policy accept;', ['jump services']);
  chain('output', 'type nat hook output priority -100; policy accept;', ['jump services']);
  if (masq.length) chain('postrouting', 'type nat hook postrouting priority srcnat; policy accept;', [...new Set(masq)]);
  if (reject.length) {
    chain('input', 'type filter hook input priority 0; policy accept;', reject);
    chain('forward', 'type filter hook forward priority 0; policy accept;', reject);
  }
  out.push('}');
  return out;
}

/** The DR rule of one service (undefined: no destination can receive, the packets go to the local stack). */
function drRule(s: Service, opts: NftRulesetOptions, notes: string[], problems: string[]): string | undefined {
  const name = serviceKeyText(s.key);
  let active = activeDestinations(s.destinations);
  if (active.length === 0) return undefined;
  const ip = s.key.family === 6 ? 'ip6' : 'ip';
  const devs = new Set(active.map((d) => opts.dr?.routeDevice[d.address]));
  const dev = [...devs][0];
  if (devs.size !== 1 || !dev) {
    problems.push(
      devs.size > 1
        ? `${name}: DR real servers are reached through different devices (${[...devs].join(', ')}); nftables needs one`
        : `${name}: no direct route to the DR real servers (DR needs them on a connected network)`,
    );
    return undefined;
  }
  if (FAILOVER.has(s.scheduler)) {
    if (s.scheduler === 'ovf') notes.push(`${name}: scheduler ovf approximated by fo (no connection counts in nftables)`);
    active = [active.reduce((best, d) => (d.weight > best.weight ? d : best), active[0]!)];
  }
  const match = `${serviceMatch(s)} `;
  if (active.length === 1) return `${match}fwd ${ip} to ${active[0]!.address} device "${dev}"`;
  let expr: string;
  if (s.persistenceTimeout !== undefined || HASH_SCHEDULERS.has(s.scheduler) || DEST_HASH_SCHEDULERS.has(s.scheduler)) expr = selectorFor(s, notes).expr;
  else {
    expr = `jhash ${ip} saddr . ${l4(s)} sport`;
    if (s.ops) notes.push(`${name}: one-packet scheduling is not available with nftables DR (flows are hashed)`);
    notes.push(`${name}: DR at ingress has no connection state: scheduler ${s.scheduler} approximated by weighted flow hashing (${ip} saddr . sport)`);
  }
  const seq = rendezvousSlots(
    active.map((d) => ({ id: destinationId(d), weight: d.weight })),
    HASH_SLOTS,
  );
  const entries = seq.map((di, slot) => `${slot} : ${active[di]!.address}`).join(', ');
  return `${match}fwd ${ip} to ${expr} mod ${seq.length} seed 0x${(opts.seed >>> 0).toString(16)} map { ${entries} } device "${dev}"`;
}

/** `table netdev T`: the ingress chain of the DR services. */
function drTable(services: Service[], opts: NftRulesetOptions, notes: string[]): string[] {
  const table = opts.table ?? NFT_TABLE;
  const problems: string[] = [];
  const rules: string[] = [];
  for (const s of services) {
    const r = drRule(s, opts, notes, problems);
    if (r) rules.push(r);
  }
  const devices = opts.dr?.ingressDevices ?? [];
  if (!devices.length) problems.push('lb_kind DR: no network device to hook for the ingress traffic');
  if (problems.length) throw new NftUnsupportedError(problems);
  const devList = devices.map((d) => `"${d}"`).join(', ');
  return [
    `table netdev ${table}`,
    `delete table netdev ${table}`,
    `table netdev ${table} {`,
    '  chain dr {',
    `    type filter hook ingress devices = { ${devList} } priority 0; policy accept;`,
    ...rules.map((r) => `    ${r}`),
    '  }',
    '}',
  ];
}

/** The whole transaction: each family's table is replaced atomically (or removed when unused). */
export function buildNftRuleset(state: LbState, opts: NftRulesetOptions): NftRuleset {
  const problems = nftUnsupported(state);
  if (problems.length) throw new NftUnsupportedError(problems);
  const notes: string[] = [];
  const table = opts.table ?? NFT_TABLE;
  const lines: string[] = [];
  const dr = state.services.filter(isDr);
  if (dr.length) lines.push(...drTable(dr, opts, notes));
  for (const family of [4, 6] as const) {
    const services = state.services.filter((s) => s.key.family === family && !isDr(s));
    const fam = family === 6 ? 'ip6' : 'ip';
    if (services.length) lines.push(...familyTable(services, family, opts, notes));
    else lines.push(`table ${fam} ${table}`, `delete table ${fam} ${table}`);
  }
  return { script: lines.join('\n') + '\n', notes };
}

/** The transaction that removes our tables (whether or not they exist); withDr: also the netdev (DR) table. */
export function nftRemoveScript(table = NFT_TABLE, withDr = false): string {
  const fams = withDr ? ['ip', 'ip6', 'netdev'] : ['ip', 'ip6'];
  return fams.flatMap((f) => [`table ${f} ${table}`, `delete table ${f} ${table}`]).join('\n') + '\n';
}
