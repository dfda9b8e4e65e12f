// The contract between the announcer (what should be announced, and why) and a BGP driver (how a
// BGP daemon is told). A driver owns the routes it was given: it announces exactly the last set.
import type { BgpAttributes, Family } from '../config/model.js';

/** One route to announce: a host prefix of a VIP with its BGP path attributes. */
export interface BgpRoute {
  /** canonical "ADDRESS/LEN" */
  prefix: string;
  family: Family;
  attrs: BgpAttributes;
}

export interface DriverHealth {
  /** the last hand-over to the BGP daemon succeeded */
  ok: boolean;
  /** why not, when not ok */
  reason?: string;
  /** epoch ms of the last successful hand-over */
  lastAppliedAt?: number;
  applies: number;
  failures: number;
  /** ms the last successful hand-over took */
  lastApplyMs?: number;
  /** pid of the process that withdraws the routes if the daemon dies (undefined: none running) */
  guardPid?: number;
}

export interface BgpDriver {
  readonly name: 'bird' | 'frr';
  /** Withdraw whatever a previous run left, then keep the BGP daemon in step (never throws for runtime problems). */
  start(): Promise<void>;
  /** Announce (or re-announce with new attributes) one prefix. Resolves once the BGP daemon has it, or the attempt failed (then retried). */
  announce(route: BgpRoute): Promise<void>;
  /** Withdraw one prefix (unknown prefixes are ignored). */
  withdraw(prefix: string): Promise<void>;
  /** Make the announced set exactly `routes`. */
  set(routes: BgpRoute[]): Promise<void>;
  /** The prefixes the BGP daemon holds from this driver, asked from the daemon itself. */
  announced(): Promise<string[]>;
  health(): DriverHealth;
  /** withdraw: take every route back (SIGTERM); false: leave them (not used by the daemon today). */
  stop(opts: { withdraw: boolean }): Promise<void>;
}
