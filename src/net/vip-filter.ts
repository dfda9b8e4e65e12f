// keepalived's nftables tables. Two concerns share them, as in keepalived 2.2.7 built with nftables:
//
// - "no accept": a MASTER that is not the address owner and runs without `accept` (the default under
//   vrrp_strict, or with `no_accept`) must not accept packets addressed to its virtual addresses
//   (RFC 3768 5.3.3 / RFC 5798 6.4.3). The addresses go into the sets `vips` (and `vips_link_local`,
//   matched with their interface) whose input and output chains drop them; IPv6 neighbour discovery
//   stays allowed.
// - VMACs (use_vmac): the kernel sends IGMP / MLDv2 reports and IPv6 router solicitations from a
//   macvlan with the virtual MAC as source, also on a BACKUP, where they would teach the switches that
//   the virtual MAC sits behind the BACKUP's port. The map `vmac_map` (VMAC ifindex -> base ifindex)
//   duplicates each report onto the base interface (its own MAC) and drops the original; the set
//   `vmac_set` drops router solicitations from IPv6 VMACs.
//
// The table is "keepalived" (or the name of the global `nftables` keyword), its chains have the
// priority of `nftables_priority` (-1) and a counter in each rule with `nftables_counters`: the same
// layout, names and rules as keepalived's, so tools that look at them see the same thing. A family's
// structures, once made, stay until the process stops (`clear()`), as keepalived's: a BACKUP that was
// MASTER keeps an empty `vips` set, and a reload that removes every no-accept instance keeps the tables.
//
// IPv6 link-local VIPs are only unique per interface: they are matched with it, by index (set
// `vips_link_local`, `iif` / `oif`) or, as keepalived 2.2.7 does for an instance with
// `dont_track_primary` unless `nftables_ifindex` is set, by name (set `vips_link_local_name`,
// `iifname` / `oifname`); the two sets come in the order they were first needed.
//
// The script is built by pure functions; VipFilter keeps the union of what every instance asked
// for and replaces the tables atomically (`nft -f -`) only when that union changes.
import { isIPv6LinkLocal } from '../util/inet.js';
import { runCommand } from '../util/run-command.js';
import { TskeepalivedError } from '../util/errors.js';
import { SerialQueue } from '../util/serial-queue.js';

export interface VipFilterEntry {
  address: string;
  family: 4 | 6;
  /** interface of the address (matters for IPv6 link-local addresses) */
  dev: string;
  /** an IPv6 link-local address matched by interface name (`vips_link_local_name`) rather than index */
  byName?: boolean;
}

/** One VMAC in the tables: its ifindex, its base interface's, and the families whose tables list it. */
export interface VmacFilterEntry {
  vmac: number;
  base: number;
  /** the instance's family, and the other one when eVIPs of that family live on the VMAC */
  families: (4 | 6)[];
}

/** The tables' name and settings (global_defs `nftables`, `nftables_priority`, `nftables_counters`). */
export interface FilterTable {
  name: string;
  priority: number;
  counters: boolean;
}

export const DEFAULT_FILTER_TABLE: FilterTable = { name: 'keepalived', priority: -1, counters: false };

/**
 * A structure of the tables, as keepalived makes them: a family's VMAC map (and IPv6 `vmac_set`) with
 * its rules, its `vips` set with its chains and rules, an IPv6 link-local set (by index, by name) with
 * its rules. keepalived makes each once, when first needed, appending its rules to the chains, and
 * deletes them at stop: a list of them in the order made says what the tables hold and in which order.
 */
export type FilterStructure = 'vmac4' | 'vips4' | 'vmac6' | 'vips6' | 'll-index' | 'll-name';

/** keepalived's two link-local sets: by interface index, by interface name */
export type LinkLocalSet = 'index' | 'name';

/** The link-local sets these entries need, in the order of the entries. */
export function linkLocalSets(entries: readonly VipFilterEntry[]): LinkLocalSet[] {
  const kinds = entries.filter((e) => e.family === 6 && isIPv6LinkLocal(e.address)).map((e): LinkLocalSet => (e.byName ? 'name' : 'index'));
  return [...new Set(kinds)];
}

const LINK_LOCAL = {
  index: { set: 'vips_link_local', type: 'iface_index', iif: 'iif', oif: 'oif' },
  name: { set: 'vips_link_local_name', type: 'ifname', iif: 'iifname', oif: 'oifname' },
} as const;

function setBlock(type: string, addrs: string[]): string[] {
  const out = ['  set vips {', `    type ${type}`];
  if (addrs.length) out.push(`    elements = { ${addrs.join(', ')} }`);
  out.push('  }');
  return out;
}

function vmacBlocks(family: 4 | 6, vmacs: readonly VmacFilterEntry[]): string[] {
  const mine = [...new Map(vmacs.filter((v) => v.families.includes(family)).map((v) => [v.vmac, v])).values()].sort((a, b) => a.vmac - b.vmac);
  const map = ['  map vmac_map {', '    type iface_index : iface_index'];
  if (mine.length) map.push(`    elements = { ${mine.map((v) => `${v.vmac} : ${v.base}`).join(', ')} }`);
  map.push('  }');
  if (family === 4) return map;
  const set = ['  set vmac_set {', '    type iface_index'];
  if (mine.length) set.push(`    elements = { ${mine.map((v) => v.vmac).join(', ')} }`);
  set.push('  }');
  return [...map, ...set];
}

/**
 * The structures `made` earlier (they stay), then those these entries need that are not made yet, in
 * the order keepalived makes them when they are needed at once (the VMAC's before the VIPs': a VMAC
 * exists before its instance is MASTER; a VIP's link-local set after the `vips` set).
 */
export function structureOrder(
  entries: readonly VipFilterEntry[],
  vmacs: readonly VmacFilterEntry[],
  made: readonly FilterStructure[] = [],
): FilterStructure[] {
  const order = [...made];
  const need = (id: FilterStructure, needed: boolean) => {
    if (needed && !order.includes(id)) order.push(id);
  };
  for (const f of [4, 6] as const) {
    need(
      `vmac${f}`,
      vmacs.some((v) => v.families.includes(f)),
    );
    need(
      `vips${f}`,
      entries.some((e) => e.family === f),
    );
  }
  for (const k of linkLocalSets(entries)) need(`ll-${k}`, true);
  return order;
}

/**
 * The nft script that makes the tables hold exactly these entries (no table for a family without
 * any); `made` lists the structures made earlier, in the order made: they stay, empty or not, and
 * the new ones come after them (their rules too, appended to the chains as keepalived does).
 */
export function vipFilterScript(
  table: FilterTable | string,
  entries: readonly VipFilterEntry[],
  vmacs: readonly VmacFilterEntry[] = [],
  made: readonly FilterStructure[] = [],
): string {
  const t = typeof table === 'string' ? { ...DEFAULT_FILTER_TABLE, name: table } : table;
  const name = t.name;
  const hook = (h: 'input' | 'output') => `    type filter hook ${h} priority ${t.priority}; policy accept;`;
  const verdict = (v: string) => (t.counters ? `counter ${v}` : v);
  const v4 = [...new Set(entries.filter((e) => e.family === 4).map((e) => e.address))].sort();
  const v6 = entries.filter((e) => e.family === 6);
  const global6 = [...new Set(v6.filter((e) => !isIPv6LinkLocal(e.address)).map((e) => e.address))].sort();
  const link6 = [...new Map(v6.filter((e) => isIPv6LinkLocal(e.address)).map((e) => [`${e.dev}/${e.address}/${!!e.byName}`, e])).values()];
  const llElements = (kind: LinkLocalSet) => link6.filter((e) => (kind === 'name') === !!e.byName);
  const order = structureOrder(entries, vmacs, made);
  const ids4 = order.filter((id) => id === 'vmac4' || id === 'vips4');
  // a link-local set is made with (after) the vips set
  const ids6 = order.filter((id) => id === 'vmac6' || id === 'vips6' || (id.startsWith('ll-') && order.includes('vips6')));
  const llSets = ids6.filter((id) => id.startsWith('ll-')).map((id) => id.slice(3) as LinkLocalSet);
  const vips4 = ids4.includes('vips4');
  const vips6 = ids6.includes('vips6');
  // "add table" first so that "delete table" never fails on a table that is not there
  const out: string[] = [`add table ip ${name}`, `delete table ip ${name}`, `add table ip6 ${name}`, `delete table ip6 ${name}`];
  if (ids4.length) {
    out.push(`table ip ${name} {`);
    for (const id of ids4) out.push(...(id === 'vmac4' ? vmacBlocks(4, vmacs) : setBlock('ipv4_addr', v4)));
    out.push('  chain out {', hook('output'));
    for (const id of ids4)
      out.push(
        id === 'vmac4'
          ? `    ip protocol igmp meta oifkind "macvlan" dup to ip daddr device oif map @vmac_map ${verdict('drop')}`
          : `    ip saddr @vips ${verdict('drop')}`,
      );
    out.push('  }');
    if (vips4) out.push('  chain in {', hook('input'), `    ip daddr @vips ${verdict('drop')}`, '  }');
    out.push('}');
  }
  if (ids6.length) {
    out.push(`table ip6 ${name} {`);
    for (const id of ids6) {
      if (id === 'vmac6') out.push(...vmacBlocks(6, vmacs));
      else if (id === 'vips6')
        out.push(
          ...setBlock('ipv6_addr', global6),
          '  set neighbor-discovery {',
          '    type icmpv6_type',
          '    flags constant',
          '    elements = { nd-neighbor-solicit, nd-neighbor-advert }',
          '  }',
        );
      else {
        // link-local addresses are only unique per interface: matched as (address, interface)
        const kind = id.slice(3) as LinkLocalSet;
        const els = llElements(kind);
        out.push(`  set ${LINK_LOCAL[kind].set} {`, `    type ipv6_addr . ${LINK_LOCAL[kind].type}`);
        if (els.length) out.push(`    elements = { ${els.map((e) => `${e.address} . ${JSON.stringify(e.dev)}`).join(', ')} }`);
        out.push('  }');
      }
    }
    out.push('  chain out {', hook('output'));
    for (const id of ids6) {
      if (id === 'vmac6')
        out.push(
          `    icmpv6 type mld2-listener-report meta oifkind "macvlan" dup to ip6 daddr device oif map @vmac_map ${verdict('drop')}`,
          `    icmpv6 type nd-router-solicit meta oifkind "macvlan" oif @vmac_set ${verdict('drop')}`,
        );
      else if (id === 'vips6')
        out.push(
          `    icmpv6 type @neighbor-discovery ${verdict('accept')}`,
          `    ip6 saddr fe80::/10 ${verdict('goto out_link_local')}`,
          `    ip6 saddr @vips ${verdict('drop')}`,
        );
    }
    out.push('  }');
    if (vips6)
      out.push(
        '  chain in {',
        hook('input'),
        `    icmpv6 type @neighbor-discovery ${verdict('accept')}`,
        `    ip6 daddr fe80::/10 ${verdict('goto in_link_local')}`,
        `    ip6 daddr @vips ${verdict('drop')}`,
        '  }',
        '  chain in_link_local {',
        ...llSets.map((k) => `    ip6 daddr . ${LINK_LOCAL[k].iif} @${LINK_LOCAL[k].set} ${verdict('drop')}`),
        '  }',
        '  chain out_link_local {',
        ...llSets.map((k) => `    ip6 saddr . ${LINK_LOCAL[k].oif} @${LINK_LOCAL[k].set} ${verdict('drop')}`),
        '  }',
      );
    out.push('}');
  }
  return out.join('\n') + '\n';
}

export class VipFilterError extends TskeepalivedError {
  constructor(message: string) {
    super(message, 'TSK_ERR_VIP_FILTER');
    this.name = 'VipFilterError';
  }
}

/**
 * The tables of one process: each owner (a VRRP instance) sets its VIP entries (while MASTER) and its
 * VMACs (while they exist); [] withdraws them. The structures made stay, empty, until `clear()` (the
 * process stops), as keepalived's.
 */
export class VipFilter {
  private readonly owners = new Map<string, VipFilterEntry[]>();
  private readonly vmacOwners = new Map<string, VmacFilterEntry[]>();
  /** the structures made so far, in the order made */
  private made: FilterStructure[] = [];
  private table: FilterTable;
  private applied = '';
  private readonly queue = new SerialQueue();
  /** nft transactions run so far */
  transactions = 0;

  constructor(
    table: FilterTable | string = DEFAULT_FILTER_TABLE,
    private readonly command: readonly string[] = ['nft'],
  ) {
    this.table = typeof table === 'string' ? { ...DEFAULT_FILTER_TABLE, name: table } : { ...table };
  }

  /**
   * The chains' priority and counters of a reloaded config: taken while nothing is made yet (else
   * applied with the next set); once the tables exist they keep the settings they were made with
   * until `clear()`, as keepalived 2.2.7's chains do across a reload (measured).
   */
  configure(table: FilterTable): void {
    if (!this.made.length) this.table = { ...table, name: this.table.name };
  }

  /** Resolves once the tables reflect this call; rejects with a VipFilterError when nft fails. */
  set(owner: string, entries: readonly VipFilterEntry[]): Promise<void> {
    if (entries.length) this.owners.set(owner, [...entries]);
    else this.owners.delete(owner);
    return this.update();
  }

  /** The owner's VMACs (use_vmac interfaces), [] when they are gone. */
  setVmacs(owner: string, vmacs: readonly VmacFilterEntry[]): Promise<void> {
    if (vmacs.length)
      this.vmacOwners.set(
        owner,
        vmacs.map((v) => ({ ...v, families: [...v.families] })),
      );
    else this.vmacOwners.delete(owner);
    return this.update();
  }

  /** Stopping: every entry withdrawn and the tables deleted (keepalived deletes them at stop, `-V` too). */
  clear(): Promise<void> {
    this.owners.clear();
    this.vmacOwners.clear();
    this.made = [];
    return this.queue.run(() => this.apply(''));
  }

  private update(): Promise<void> {
    const all = [...this.owners.values()].flat();
    const vmacs = [...this.vmacOwners.values()].flat();
    const script = all.length || vmacs.length || this.made.length ? vipFilterScript(this.table, all, vmacs, this.made) : '';
    this.made = structureOrder(all, vmacs, this.made);
    return this.queue.run(() => this.apply(script));
  }

  private async apply(script: string): Promise<void> {
    if (script === this.applied) return;
    const text = script || vipFilterScript(this.table, []);
    this.transactions++;
    const r = await runCommand([...this.command, '-f', '-'], text);
    if (r.error) throw new VipFilterError(`cannot run ${this.command.join(' ')}: ${r.error.message}`);
    if (r.code !== 0) throw new VipFilterError(`${this.command.join(' ')} failed: ${r.stderr.trim() || `exit code ${r.code}`}`);
    this.applied = script;
  }
}
