// The nftables backend: the LB state as one nat table per family, replaced atomically with
// `nft -f -` on every change (existing connections keep their conntrack NAT binding). lb_kind DR
// services go to a netdev ingress table (MAC forwarding with `fwd ip to ... device`); the devices come
// from `ip route get <real server>` and the interfaces that are up (see nft-ruleset.ts).
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { LbBackend, LbState } from './backend.js';
import { LbUnavailableError } from './backend.js';
import type { LbLogger } from './logger.js';
import { silentLogger } from './logger.js';
import { buildNftRuleset, isDr, NFT_TABLE, nftRemoveScript } from './nft-ruleset.js';
import type { NftRulesetOptions } from './nft-ruleset.js';
import { runCommand } from '../util/run-command.js';
import { cloneState, destinationCount, normalizeState } from './state.js';
import { TskeepalivedError } from '../util/errors.js';
import { SerialQueue } from '../util/serial-queue.js';

export interface NftablesOptions {
  logger?: LbLogger;
  /** the nft command; default ['nft'] (e.g. ['ip', 'netns', 'exec', 'ns1', 'nft']) */
  command?: string[];
  /** table name in both families; default "tskeepalived" */
  table?: string;
  /** SNAT balanced connections to the outgoing address (real servers not routing back via us) */
  masquerade?: boolean;
  /** jhash seed; default random per backend instance */
  seed?: number;
  /** the ip command for DR route/device lookups; default: `command` with its last word nft -> ip */
  ipCommand?: string[];
  /** DR: devices whose ingress traffic is balanced; default every device that is up, not lo, not enslaved */
  drIngressDevices?: string[];
}

export class NftError extends TskeepalivedError {
  constructor(message: string) {
    super(message, 'TSK_ERR_NFT');
    this.name = 'NftError';
  }
}

export class NftablesBackend implements LbBackend {
  readonly name = 'nftables' as const;
  private state: LbState = { services: [] };
  private lastScript: string | undefined;
  private lastNotes = '';
  private readonly queue = new SerialQueue();
  private readonly log: LbLogger;
  private readonly command: string[];
  private readonly table: string;
  private readonly seed: number;
  private readonly masquerade: boolean;
  private readonly ipCommand: string[];
  private readonly drIngressDevices?: string[];
  /** whether our netdev (DR) table may exist */
  private drInstalled = false;
  /** number of nft transactions run by apply() */
  transactions = 0;

  constructor(opts: NftablesOptions = {}) {
    this.log = opts.logger ?? silentLogger;
    this.command = opts.command ?? ['nft'];
    this.table = opts.table ?? NFT_TABLE;
    this.seed = opts.seed ?? randomInt(1, 0x7fffffff);
    this.masquerade = opts.masquerade ?? false;
    this.ipCommand = opts.ipCommand ?? (this.command.at(-1) === 'nft' ? [...this.command.slice(0, -1), 'ip'] : ['ip']);
    this.drIngressDevices = opts.drIngressDevices;
  }

  private async ipJson(args: string[]): Promise<unknown[]> {
    const r = await runCommand([...this.ipCommand, '-j', ...args], '');
    if (r.error || r.code !== 0) return [];
    try {
      return JSON.parse(r.stdout) as unknown[];
    } catch {
      return [];
    }
  }

  /** DR topology: the device routing to each DR real server and the ingress devices. */
  private async drTopology(services: LbState['services']): Promise<NftRulesetOptions['dr']> {
    const dr = services.filter(isDr);
    if (!dr.length) return undefined;
    const routeDevice: Record<string, string | undefined> = {};
    for (const s of dr)
      for (const d of s.destinations) {
        if (d.address in routeDevice) continue;
        const [route] = (await this.ipJson(['route', 'get', d.address])) as { dev?: string; type?: string; gateway?: string }[];
        // DR needs the real server on a connected network (its MAC is resolved on the device)
        routeDevice[d.address] = route?.type === 'local' || route?.gateway ? undefined : route?.dev;
      }
    let ingressDevices = this.drIngressDevices;
    if (!ingressDevices) {
      const links = (await this.ipJson(['link', 'show', 'up'])) as { ifname?: string; master?: string; link_type?: string }[];
      ingressDevices = links.filter((l) => l.ifname && l.link_type !== 'loopback' && !l.master).map((l) => l.ifname!.split('@')[0]!);
    }
    return { ingressDevices, routeDevice };
  }

  private async nft(script: string, what: string): Promise<void> {
    const r = await runCommand([...this.command, '-f', '-'], script);
    if (r.error) throw new LbUnavailableError(`nftables: cannot run ${this.command.join(' ')}: ${r.error.message}`);
    if (r.code !== 0) throw new NftError(`nftables: ${what} failed: ${r.stderr.trim() || `exit code ${r.code}`}`);
  }

  async open(): Promise<void> {
    const r = await runCommand([...this.command, 'list', 'tables'], '');
    if (r.error) throw new LbUnavailableError(`nftables is not available: cannot run ${this.command.join(' ')} (${r.error.message})`);
    if (r.code !== 0) throw new LbUnavailableError(`nftables is not available: ${r.stderr.trim() || `nft exited with ${r.code}`}`);
    if (this.command.length === 1) {
      // synchronously: /proc/sys/net is the calling thread's namespace, and libuv's threadpool
      // threads stay in the initial one when the daemon entered a net_namespace
      let fwd = '';
      try {
        fwd = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
      } catch {
        /* unknown */
      }
      if (fwd.trim() === '0') this.log.warn({ backend: this.name }, 'net.ipv4.ip_forward is 0: NAT load balancing of forwarded traffic needs it set to 1');
    }
    this.log.info({ backend: this.name, table: this.table }, 'LB backend nftables ready');
  }

  apply(desired: LbState): Promise<void> {
    return this.queue.run(() => this.applyNow(desired));
  }

  private async applyNow(desired: LbState): Promise<void> {
    const norm = normalizeState(desired);
    const dr = await this.drTopology(norm.services);
    const built = buildNftRuleset(norm, { seed: this.seed, table: this.table, masquerade: this.masquerade, dr });
    const notes = built.notes;
    let script = built.script;
    if (!dr && this.drInstalled) script += `table netdev ${this.table}\ndelete table netdev ${this.table}\n`;
    if (script === this.lastScript) {
      this.state = cloneState(norm);
      return;
    }
    await this.nft(script, 'applying the LB ruleset');
    this.transactions++;
    this.drInstalled = !!dr;
    this.lastScript = script;
    this.state = cloneState(norm);
    const noteText = notes.join('\n');
    if (noteText !== this.lastNotes) for (const n of notes) this.log.warn({ backend: this.name }, n);
    this.lastNotes = noteText;
    this.log.info({ backend: this.name, services: norm.services.length, destinations: destinationCount(norm) }, 'LB state applied');
  }

  current(): LbState {
    return cloneState(this.state);
  }

  async close(opts: { release: boolean }): Promise<void> {
    await this.queue.idle();
    if (opts.release) {
      await this.nft(nftRemoveScript(this.table, this.drInstalled), 'removing the LB tables');
      this.drInstalled = false;
      this.state = { services: [] };
      this.lastScript = undefined;
    }
  }
}
