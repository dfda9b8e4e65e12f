// keepalived's "no accept" firewall. A MASTER that is not the address owner and runs without
// `accept` (the default under vrrp_strict, or with `no_accept`) must not accept packets addressed
// to its virtual addresses (RFC 3768 5.3.3 / RFC 5798 6.4.3). Like keepalived 2.2.7 built with
// nftables, the addresses go into sets of an nftables table ("keepalived", or the name given by
// the global `nftables` keyword) whose input and output chains drop them; IPv6 neighbour discovery
// stays allowed, and link-local VIPs are matched with their interface. Same layout as keepalived's
// table, so tools that look at it see the same thing.
//
// The script is built by pure functions; VipFilter keeps the union of what every instance asked
// for and replaces the tables atomically (`nft -f -`) only when that union changes.
import { runCommand } from '../util/run-command.js';
import { TskeepalivedError } from '../util/errors.js';
import { SerialQueue } from '../util/serial-queue.js';

export interface VipFilterEntry {
  address: string;
  family: 4 | 6;
  /** interface of the address (matters for IPv6 link-local addresses) */
  dev: string;
}

const isLinkLocal6 = (a: string): boolean => /^fe[89ab]/i.test(a);

function setBlock(type: string, addrs: string[]): string[] {
  const out = ['  set vips {', `    type ${type}`];
  if (addrs.length) out.push(`    elements = { ${addrs.join(', ')} }`);
  out.push('  }');
  return out;
}

/** The nft script that makes the tables hold exactly these entries (no table for an empty family). */
export function vipFilterScript(table: string, entries: readonly VipFilterEntry[]): string {
  const v4 = [...new Set(entries.filter((e) => e.family === 4).map((e) => e.address))].sort();
  const v6 = entries.filter((e) => e.family === 6);
  const global6 = [...new Set(v6.filter((e) => !isLinkLocal6(e.address)).map((e) => e.address))].sort();
  const link6 = [...new Map(v6.filter((e) => isLinkLocal6(e.address)).map((e) => [`${e.dev}/${e.address}`, e])).values()];
  // "add table" first so that "delete table" never fails on a table that is not there
  const out: string[] = [`add table ip ${table}`, `delete table ip ${table}`, `add table ip6 ${table}`, `delete table ip6 ${table}`];
  if (v4.length) {
    out.push(
      `table ip ${table} {`,
      ...setBlock('ipv4_addr', v4),
      '  chain out {',
      '    type filter hook output priority filter - 1; policy accept;',
      '    ip saddr @vips drop',
      '  }',
      '  chain in {',
      '    type filter hook input priority filter - 1; policy accept;',
      '    ip daddr @vips drop',
      '  }',
      '}',
    );
  }
  if (v6.length) {
    out.push(
      `table ip6 ${table} {`,
      ...setBlock('ipv6_addr', global6),
      '  set neighbor-discovery {',
      '    type icmpv6_type',
      '    flags constant',
      '    elements = { nd-neighbor-solicit, nd-neighbor-advert }',
      '  }',
    );
    // link-local addresses are only unique per interface: matched as (address, interface)
    if (link6.length)
      out.push(
        '  set vips_link_local {',
        '    type ipv6_addr . iface_index',
        `    elements = { ${link6.map((e) => `${e.address} . ${JSON.stringify(e.dev)}`).join(', ')} }`,
        '  }',
      );
    out.push(
      '  chain out {',
      '    type filter hook output priority filter - 1; policy accept;',
      '    icmpv6 type @neighbor-discovery accept',
      '    ip6 saddr fe80::/10 goto out_link_local',
      '    ip6 saddr @vips drop',
      '  }',
      '  chain in {',
      '    type filter hook input priority filter - 1; policy accept;',
      '    icmpv6 type @neighbor-discovery accept',
      '    ip6 daddr fe80::/10 goto in_link_local',
      '    ip6 daddr @vips drop',
      '  }',
      '  chain in_link_local {',
      ...(link6.length ? ['    ip6 daddr . iif @vips_link_local drop'] : []),
      '  }',
      '  chain out_link_local {',
      ...(link6.length ? ['    ip6 saddr . oif @vips_link_local drop'] : []),
      '  }',
      '}',
    );
  }
  return out.join('\n') + '\n';
}

export class VipFilterError extends TskeepalivedError {
  constructor(message: string) {
    super(message, 'TSK_ERR_VIP_FILTER');
    this.name = 'VipFilterError';
  }
}

/** The tables of one process: each owner (a VRRP instance) sets its entries; [] withdraws them. */
export class VipFilter {
  private readonly owners = new Map<string, VipFilterEntry[]>();
  private applied = '';
  private readonly queue = new SerialQueue();
  /** nft transactions run so far */
  transactions = 0;

  constructor(
    readonly table = 'keepalived',
    private readonly command: readonly string[] = ['nft'],
  ) {}

  /** Resolves once the tables reflect this call; rejects with a VipFilterError when nft fails. */
  set(owner: string, entries: readonly VipFilterEntry[]): Promise<void> {
    if (entries.length) this.owners.set(owner, [...entries]);
    else this.owners.delete(owner);
    const all = [...this.owners.values()].flat();
    const script = all.length ? vipFilterScript(this.table, all) : '';
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
