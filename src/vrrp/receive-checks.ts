// Validation of a received advertisement for one instance, as keepalived does it.
// Each rejection is a named reason; counters and rate-limited logging live in ReceiveErrorCounters.
import {
  decodeAdvert,
  wireIntervalMs,
  verifyChecksum,
  passwordBytes,
  AUTH_AH,
  AUTH_NONE,
  AUTH_PASS,
  VRRP_TYPE_ADVERTISEMENT,
  type VrrpAdvert,
} from './packet.js';

export type RejectReason =
  | 'ttl'
  | 'too-short'
  | 'length-mismatch'
  | 'bad-version'
  | 'bad-type'
  | 'bad-checksum'
  | 'wrong-vrid'
  | 'auth-type-mismatch'
  | 'auth-pass-mismatch'
  | 'auth-failure'
  | 'ah-sequence'
  | 'interval-mismatch'
  | 'address-mismatch'
  | 'wrong-destination'
  | 'unknown-unicast-peer'
  | 'own-address';

export const REJECT_REASONS: RejectReason[] = [
  'ttl',
  'too-short',
  'length-mismatch',
  'bad-version',
  'bad-type',
  'bad-checksum',
  'wrong-vrid',
  'auth-type-mismatch',
  'auth-pass-mismatch',
  'auth-failure',
  'ah-sequence',
  'interval-mismatch',
  'address-mismatch',
  'wrong-destination',
  'unknown-unicast-peer',
  'own-address',
];

export interface ReceivedPacket {
  payload: Buffer;
  src: string;
  dst: string;
  /** TTL (IPv4) or hop limit (IPv6); undefined when the socket could not tell */
  ttl: number | undefined;
  family: 4 | 6;
  /**
   * auth_type AH: verifies the AH envelope (ICV, SPI, then the replay check) at the point where
   * keepalived does, after the VRRP auth type; returns the rejection, or undefined when valid.
   */
  authenticate?: () => { reason: 'auth-failure' | 'ah-sequence'; detail: string } | undefined;
}

export interface ReceiveExpectations {
  version: 2 | 3;
  vrid: number;
  advertIntMs: number;
  /** PASS password when auth_type PASS is configured */
  authPass?: string;
  /** auth_type AH (VRRP auth type 2; the packet must come with ReceivedPacket.authenticate) */
  ah?: boolean;
  /** virtual_ipaddress (canonical text), checked against the advert unless skipCheckAdvAddr */
  addresses: string[];
  skipCheckAdvAddr: boolean;
  /** unicast peers (canonical); when non-empty and checkUnicastSrc, the source must be one of them */
  unicastPeers: { address: string; minTtl?: number; maxTtl?: number }[];
  checkUnicastSrc: boolean;
}

export type CheckResult =
  | { ok: true; advert: VrrpAdvert }
  | { ok: false; reason: RejectReason; detail: string /** not ours: ignore without counting */; silent?: boolean };

function isMulticast(addr: string): boolean {
  if (addr.includes(':')) return addr.toLowerCase().startsWith('ff');
  const first = Number(addr.split('.')[0]);
  return first >= 224 && first <= 239;
}

export function checkAdvert(pkt: ReceivedPacket, exp: ReceiveExpectations): CheckResult {
  const dec = decodeAdvert(pkt.payload, pkt.family);
  if (!dec.ok) {
    if (dec.reason === 'bad-version') return { ok: false, reason: 'bad-version', detail: dec.detail };
    return { ok: false, reason: dec.reason, detail: dec.detail };
  }
  const a = dec.advert;
  if (a.vrid !== exp.vrid) return { ok: false, reason: 'wrong-vrid', detail: `vrid ${a.vrid}`, silent: true };
  const multicast = isMulticast(pkt.dst);
  if (multicast) {
    if (pkt.ttl !== undefined && pkt.ttl !== 255) return { ok: false, reason: 'ttl', detail: `TTL/hop limit ${pkt.ttl} != 255` };
  } else {
    const peer = exp.unicastPeers.find((p) => p.address === pkt.src);
    if (!peer && exp.checkUnicastSrc && exp.unicastPeers.length > 0)
      return { ok: false, reason: 'unknown-unicast-peer', detail: `source ${pkt.src} is not a unicast_peer` };
    if (peer && pkt.ttl !== undefined) {
      if ((peer.minTtl !== undefined && pkt.ttl < peer.minTtl) || (peer.maxTtl !== undefined && pkt.ttl > peer.maxTtl))
        return { ok: false, reason: 'ttl', detail: `TTL ${pkt.ttl} outside [${peer.minTtl ?? 0}, ${peer.maxTtl ?? 255}]` };
    }
  }
  if (a.version !== exp.version) return { ok: false, reason: 'bad-version', detail: `version ${a.version}, expected ${exp.version}` };
  if (a.type !== VRRP_TYPE_ADVERTISEMENT) return { ok: false, reason: 'bad-type', detail: `type ${a.type}` };
  const alen = pkt.family === 4 ? 4 : 16;
  const expectedLen = 8 + a.addresses.length * alen + (a.version === 2 && pkt.family === 4 ? 8 : 0);
  if (pkt.payload.length !== expectedLen) return { ok: false, reason: 'length-mismatch', detail: `length ${pkt.payload.length}, expected ${expectedLen}` };
  if (!verifyChecksum(pkt.payload, a.version, pkt.src, pkt.dst)) return { ok: false, reason: 'bad-checksum', detail: `checksum 0x${a.checksum.toString(16)}` };
  // keepalived: a multicast instance takes only multicast adverts, a unicast one only unicast
  // (an empty destination: the socket could not tell)
  if (pkt.dst !== '' && multicast !== (exp.unicastPeers.length === 0))
    return {
      ok: false,
      reason: 'wrong-destination',
      detail: `expected ${multicast ? 'unicast' : 'multicast'} but received ${multicast ? 'multicast' : 'unicast'} (to ${pkt.dst})`,
    };
  if (a.version === 2) {
    const wantType = exp.ah ? AUTH_AH : exp.authPass !== undefined ? AUTH_PASS : AUTH_NONE;
    if (a.authType !== wantType) return { ok: false, reason: 'auth-type-mismatch', detail: `auth type ${a.authType}, expected ${wantType}` };
    if (wantType === AUTH_AH) {
      const failed = pkt.authenticate ? pkt.authenticate() : { reason: 'auth-failure' as const, detail: 'no AH header' };
      if (failed) return { ok: false, ...failed };
    }
    if (wantType === AUTH_PASS && !a.authData.equals(passwordBytes(exp.authPass)))
      return { ok: false, reason: 'auth-pass-mismatch', detail: 'password does not match' };
    if (a.advertIntMs !== wireIntervalMs(2, exp.advertIntMs))
      return { ok: false, reason: 'interval-mismatch', detail: `advert interval ${a.advertIntMs / 1000}s, ours ${exp.advertIntMs / 1000}s` };
  }
  if (!exp.skipCheckAdvAddr && a.priority !== 0) {
    const want = new Set(exp.addresses);
    const got = new Set(a.addresses);
    const same = want.size === got.size && [...want].every((x) => got.has(x));
    if (!same) return { ok: false, reason: 'address-mismatch', detail: `advert carries [${a.addresses.join(', ')}], ours [${exp.addresses.join(', ')}]` };
  }
  return { ok: true, advert: a };
}

/**
 * Rejection counters with rate-limited logging (first occurrence, then at most once a minute per
 * reason): per instance (RejectReason) and per socket (SocketDropReason, socket-pool.ts).
 */
export class ReceiveErrorCounters<K extends string = RejectReason> {
  readonly counts = new Map<K, number>();
  private lastLogged = new Map<K, number>();

  constructor(private readonly logIntervalMs = 60_000) {}

  /** Count a rejection; returns true when it should be logged now. */
  record(reason: K, now: number): boolean {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    const last = this.lastLogged.get(reason);
    if (last === undefined || now - last >= this.logIntervalMs) {
      this.lastLogged.set(reason, now);
      return true;
    }
    return false;
  }

  get(reason: K): number {
    return this.counts.get(reason) ?? 0;
  }
}
