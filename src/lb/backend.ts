// The load-balancer backend contract. The checker engine declares desired state;
// a backend reconciles the system (kernel IPVS, nftables, a userspace proxy, or a dry-run printer).
import type { LbKind, Protocol } from '../config/model.js';
import { TskeepalivedError } from '../util/errors.js';

export interface ServiceKey {
  /** 'addr' services have address+port+protocol; 'fwmark' services a mark */
  kind: 'addr' | 'fwmark';
  family: 4 | 6;
  protocol: Protocol;
  address?: string;
  port?: number;
  fwmark?: number;
}

export interface Destination {
  address: string;
  family: 4 | 6;
  port: number;
  /** 0 = inhibited (kept but no new connections) */
  weight: number;
  lbKind: LbKind;
  uthreshold?: number;
  lthreshold?: number;
}

export interface Service {
  key: ServiceKey;
  /** scheduler: rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh */
  scheduler: string;
  /** persistence timeout in seconds; absent = not persistent */
  persistenceTimeout?: number;
  persistenceNetmask?: string;
  ops: boolean;
  /** scheduler flags such as sh-port, sh-fallback, mh-port, mh-fallback */
  schedFlags?: string[];
  destinations: Destination[];
}

/** The whole desired state: every service with its current destinations. */
export interface LbState {
  services: Service[];
}

export interface LbBackend {
  readonly name: 'ipvs' | 'nftables' | 'userspace' | 'dry-run';
  /** Check availability and read/prepare initial state. Rejects with a clear message (LbUnavailableError). */
  open(): Promise<void>;
  /** Reconcile the system to exactly this state (idempotent; batched where the backend allows). */
  apply(state: LbState): Promise<void>;
  /** The state as the backend last applied it. */
  current(): LbState;
  /** Remove everything this backend installed (unless told to keep it) and release resources. */
  close(opts: { release: boolean }): Promise<void>;
}

export class LbUnavailableError extends TskeepalivedError {
  constructor(message: string) {
    super(message, 'TSK_ERR_LB_UNAVAILABLE');
    this.name = 'LbUnavailableError';
  }
}

/** keepalived's text for a service key, e.g. "[10.0.0.1]:tcp:80", "FWM 1". */
export function serviceKeyText(k: ServiceKey): string {
  if (k.kind === 'fwmark') return `FWM ${k.fwmark}`;
  const addr = k.family === 6 ? `[${k.address}]` : `[${k.address}]`;
  return `${addr}:${k.protocol.toLowerCase()}:${k.port}`;
}
