// The nftables backend: the LB state as one nat table per family, replaced atomically with
// `nft -f -` on every change (existing connections keep their conntrack NAT binding).
import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { LbBackend, LbState } from './backend.js';
import { LbUnavailableError } from './backend.js';
import type { LbLogger } from './logger.js';
import { silentLogger } from './logger.js';
import { buildNftRuleset, NFT_TABLE, nftRemoveScript } from './nft-ruleset.js';
import { runCommand } from '../util/run-command.js';
import { cloneState, destinationCount, normalizeState } from './state.js';
import { TskeepalivedError } from '../util/errors.js';

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
  private queue: Promise<void> = Promise.resolve();
  private readonly log: LbLogger;
  private readonly command: string[];
  private readonly table: string;
  private readonly seed: number;
  private readonly masquerade: boolean;
  /** number of nft transactions run by apply() */
  transactions = 0;

  constructor(opts: NftablesOptions = {}) {
    this.log = opts.logger ?? silentLogger;
    this.command = opts.command ?? ['nft'];
    this.table = opts.table ?? NFT_TABLE;
    this.seed = opts.seed ?? randomInt(1, 0x7fffffff);
    this.masquerade = opts.masquerade ?? false;
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
      const fwd = await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8').catch(() => '');
      if (fwd.trim() === '0') this.log.warn({ backend: this.name }, 'net.ipv4.ip_forward is 0: NAT load balancing of forwarded traffic needs it set to 1');
    }
    this.log.info({ backend: this.name, table: this.table }, 'LB backend nftables ready');
  }

  apply(desired: LbState): Promise<void> {
    const run = this.queue.then(() => this.applyNow(desired));
    this.queue = run.catch(() => {});
    return run;
  }

  private async applyNow(desired: LbState): Promise<void> {
    const norm = normalizeState(desired);
    const { script, notes } = buildNftRuleset(norm, { seed: this.seed, table: this.table, masquerade: this.masquerade });
    if (script === this.lastScript) {
      this.state = cloneState(norm);
      return;
    }
    await this.nft(script, 'applying the LB ruleset');
    this.transactions++;
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
    await this.queue;
    if (opts.release) {
      await this.nft(nftRemoveScript(this.table), 'removing the LB tables');
      this.state = { services: [] };
      this.lastScript = undefined;
    }
  }
}
