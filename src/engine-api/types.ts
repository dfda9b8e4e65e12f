// Contracts between the engines (VRRP, checkers, BFD) and the daemon around them.
import type { KeepalivedConfig } from '../config/model.js';

/** Events the engines publish; the daemon turns them into notify fifos, emails, logs and metrics. */
export type EngineEvent =
  | {
      kind: 'vrrp-instance';
      name: string;
      state: 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP' | 'DELETED';
      previous: 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP' | 'DELETED';
      priority: number;
      at: number; // epoch ms
    }
  | {
      kind: 'vrrp-group';
      name: string;
      state: 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';
      previous: 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';
      at: number;
    }
  | {
      kind: 'real-server';
      /** keepalived's text for the virtual server, e.g. "[10.0.0.1]:tcp:80" or "FWM 1" */
      virtualServer: string;
      /** e.g. "[192.168.1.10]:tcp:80" */
      realServer: string;
      up: boolean;
      weight: number;
      /** checker that caused the change, e.g. "HTTP_GET" */
      checker?: string;
      reason?: string;
      at: number;
    }
  | {
      /** a bfd_instance went Up or left Up (the BFD engine); the daemon hands it to the other engines */
      kind: 'bfd-session';
      name: string;
      up: boolean;
      at: number;
      /** a detection-time expiry: ms since the last packet received */
      silentMs?: number;
      /** the detection time in force, ms */
      detectMs?: number;
      /** keepalived's `vrrp` / `checker` keywords in the bfd_instance: only these engines hear it (absent: all) */
      only?: ('vrrp' | 'checkers')[];
    }
  | {
      kind: 'virtual-server-quorum';
      virtualServer: string;
      up: boolean;
      alive: number;
      quorum: number;
      at: number;
    };

export type EngineEventListener = (ev: EngineEvent) => void;

/**
 * An engine's listeners, the one home of `Engine.on` and of publishing an event: each listener is
 * called in order; one that throws is handed to `onError` (the engine logs it as `{ err }`) and the
 * others still run, so an engine never fails because a listener did.
 */
export class EngineListeners {
  private readonly list: EngineEventListener[] = [];
  constructor(private readonly onError: (err: unknown) => void) {}
  add(listener: EngineEventListener): void {
    this.list.push(listener);
  }
  emit(ev: EngineEvent): void {
    for (const l of this.list) {
      try {
        l(ev);
      } catch (err) {
        this.onError(err);
      }
    }
  }
}

/** A metric sample for the Prometheus endpoint. */
export interface MetricSample {
  name: string; // e.g. tskeepalived_vrrp_state
  help: string;
  type: 'gauge' | 'counter';
  labels: Record<string, string>;
  value: number;
}

/** One sample; every producer of /metrics builds its samples with this. */
export function metricSample(
  name: string,
  help: string,
  value: number,
  labels: Record<string, string> = {},
  type: MetricSample['type'] = 'gauge',
): MetricSample {
  return { name, help, type, labels, value };
}

/**
 * An engine runs one half of keepalived (VRRP or checkers) inside the daemon process.
 * start/reload/stop never throw for runtime problems: they log and keep running.
 */
export interface Engine {
  readonly name: 'vrrp' | 'checkers' | 'bfd';
  start(config: KeepalivedConfig): Promise<void>;
  /**
   * Apply a new, already validated config. Unchanged parts keep their state (no transition,
   * no GARP, no real server removed); changed ones are restarted; removed ones released.
   */
  reload(config: KeepalivedConfig): Promise<void>;
  /** release = false with -V / -I: leave addresses / IPVS state in place. */
  stop(opts: { release: boolean }): Promise<void>;
  /** JSON-serialisable state, used by the JSON dump and /status. */
  snapshot(): unknown;
  /** Text lines in the spirit of keepalived's /tmp/keepalived.data and .stats dumps. */
  dumpData(): string;
  dumpStats(): string;
  metrics(): MetricSample[];
  on(listener: EngineEventListener): void;
  /** A BFD session's state (track_bfd, BFD_CHECK); called by the daemon on every `bfd-session` event. */
  bfdState?(name: string, up: boolean): void;
  /** keepalived's own JSON dump document (VRRP: its `[{data, stats}]` array, written on SIGRTMIN+2) */
  keepalivedJson?(): unknown[];
  /** keepalived's STATS_CLEAR (SIGRTMAX-1): counters of the stats dump back to zero */
  clearStats?(): void;
}
