// The dry-run backend: changes nothing on the system, prints the desired state as
// `ipvsadm -S -n` lines whenever it changes (and returns it from current()/text()).
import { createHash } from 'node:crypto';
import type { LbBackend, LbState } from './backend.js';
import { formatNormalizedState } from './ipvsadm-format.js';
import type { LbLogger, TextSink } from './logger.js';
import { silentLogger } from './logger.js';
import { cloneState, destinationCount, normalizeState } from './state.js';

export interface DryRunOptions {
  /** where the ipvsadm lines go; default process.stdout */
  out?: TextSink;
  logger?: LbLogger;
  /** a header line written before each dump (e.g. a comment for humans); default none */
  header?: (state: LbState) => string | undefined;
}

export class DryRunBackend implements LbBackend {
  readonly name = 'dry-run' as const;
  private state: LbState = { services: [] };
  /**
   * SHA-1 of the last printed text, not the text: that is formatted again from `state` when asked
   * for (text()), so a large state is not kept twice (about 50 bytes per destination)
   */
  private lastDigest: string | undefined;
  /** the last printed text once closed (state emptied) */
  private closedText: string | undefined;
  private readonly out: TextSink;
  private readonly log: LbLogger;
  private readonly header?: (state: LbState) => string | undefined;
  /** number of dumps written (one per distinct state) */
  dumps = 0;

  constructor(opts: DryRunOptions = {}) {
    this.out = opts.out ?? process.stdout;
    this.log = opts.logger ?? silentLogger;
    this.header = opts.header;
  }

  async open(): Promise<void> {
    this.log.info({ backend: this.name }, 'LB backend dry-run: the system is not changed, desired state is printed as ipvsadm -S lines');
  }

  async apply(desired: LbState): Promise<void> {
    const norm = normalizeState(desired);
    const lines = formatNormalizedState(norm);
    const text = lines.length ? lines.join('\n') + '\n' : '';
    this.state = cloneState(norm);
    this.closedText = undefined;
    const digest = createHash('sha1').update(text).digest('base64');
    if (digest === this.lastDigest) return;
    this.lastDigest = digest;
    this.dumps++;
    const head = this.header?.(norm);
    this.out.write((head !== undefined ? head + '\n' : '') + text);
    this.log.info({ backend: this.name, services: norm.services.length, destinations: destinationCount(norm) }, 'LB desired state changed');
  }

  current(): LbState {
    return cloneState(this.state);
  }

  /** The last printed ipvsadm -S text. */
  text(): string {
    if (this.closedText !== undefined) return this.closedText;
    if (this.lastDigest === undefined) return '';
    const lines = formatNormalizedState(this.state);
    return lines.length ? lines.join('\n') + '\n' : '';
  }

  async close(_opts: { release: boolean }): Promise<void> {
    this.closedText = this.text();
    this.state = { services: [] };
  }
}
