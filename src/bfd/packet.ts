// BFD Control packets (RFC 5880 section 4.1), without the optional authentication section:
// encode, decode, and the reception checks of RFC 5880 6.8.6 that need no session. Pure.

/** bfd.SessionState values as carried on the wire (2 bits). */
export const BfdStateCode = { AdminDown: 0, Down: 1, Init: 2, Up: 3 } as const;
export type BfdStateName = keyof typeof BfdStateCode;
export const STATE_NAMES: readonly BfdStateName[] = ['AdminDown', 'Down', 'Init', 'Up'];

/** Diagnostic codes (RFC 5880 4.1) and keepalived's texts for them. */
export const BfdDiag = {
  None: 0,
  ControlDetectionTimeExpired: 1,
  EchoFailed: 2,
  NeighborSignaledDown: 3,
  ForwardingPlaneReset: 4,
  PathDown: 5,
  ConcatenatedPathDown: 6,
  AdministrativelyDown: 7,
  ReverseConcatenatedPathDown: 8,
} as const;
export const DIAG_TEXT: readonly string[] = [
  'No Diagnostic',
  'Control Detection Time Expired',
  'Echo Function Failed',
  'Neighbor Signaled Session Down',
  'Forwarding Plane Reset',
  'Path Down',
  'Concatenated Path Down',
  'Administratively Down',
  'Reverse Concatenated Path Down',
];

/** The mandatory section's length; the only length this implementation sends. */
export const BFD_CONTROL_LENGTH = 24;

export interface BfdControl {
  version: number;
  diag: number;
  state: BfdStateName;
  poll: boolean;
  final: boolean;
  /** Control Plane Independent */
  cpi: boolean;
  /** Authentication Present */
  auth: boolean;
  demand: boolean;
  multipoint: boolean;
  detectMult: number;
  myDiscr: number;
  yourDiscr: number;
  /** microseconds */
  desiredMinTx: number;
  /** microseconds */
  requiredMinRx: number;
  /** microseconds */
  requiredMinEchoRx: number;
}

export type BfdDecodeError =
  | 'too-short' // fewer bytes than the mandatory section
  | 'bad-version'
  | 'bad-length' // Length field below 24 (26 with A), or above the datagram
  | 'zero-multiplier'
  | 'multipoint'
  | 'zero-my-discriminator'
  | 'zero-your-discriminator' // Your Discriminator 0 while State is neither Down nor AdminDown
  | 'poll-and-final'
  | 'bad-diag'
  | 'auth-not-configured'; // the A bit: no authentication is configured (as keepalived)

export type BfdDecodeResult = { ok: true; packet: BfdControl } | { ok: false; error: BfdDecodeError };

/** Encode the mandatory section (24 bytes); Length is always 24 (no authentication). */
export function encodeControl(p: Omit<BfdControl, 'version'> & { version?: number }): Buffer {
  const b = Buffer.alloc(BFD_CONTROL_LENGTH);
  b[0] = (((p.version ?? 1) & 0x7) << 5) | (p.diag & 0x1f);
  b[1] =
    (BfdStateCode[p.state] << 6) |
    (p.poll ? 0x20 : 0) |
    (p.final ? 0x10 : 0) |
    (p.cpi ? 0x08 : 0) |
    (p.auth ? 0x04 : 0) |
    (p.demand ? 0x02 : 0) |
    (p.multipoint ? 0x01 : 0);
  b[2] = p.detectMult & 0xff;
  b[3] = BFD_CONTROL_LENGTH;
  b.writeUInt32BE(p.myDiscr >>> 0, 4);
  b.writeUInt32BE(p.yourDiscr >>> 0, 8);
  b.writeUInt32BE(p.desiredMinTx >>> 0, 12);
  b.writeUInt32BE(p.requiredMinRx >>> 0, 16);
  b.writeUInt32BE(p.requiredMinEchoRx >>> 0, 20);
  return b;
}

/**
 * Decode one UDP payload and apply RFC 5880 6.8.6's checks that need no session (and keepalived's
 * two extra ones: Poll and Final together, a diagnostic above 8). Never throws.
 */
export function decodeControl(buf: Buffer): BfdDecodeResult {
  if (buf.length < BFD_CONTROL_LENGTH) return { ok: false, error: 'too-short' };
  const version = buf[0] >> 5;
  if (version !== 1) return { ok: false, error: 'bad-version' };
  const flags = buf[1];
  const auth = (flags & 0x04) !== 0;
  const length = buf[3];
  if (length < (auth ? 26 : BFD_CONTROL_LENGTH) || length > buf.length) return { ok: false, error: 'bad-length' };
  const packet: BfdControl = {
    version,
    diag: buf[0] & 0x1f,
    state: STATE_NAMES[flags >> 6],
    poll: (flags & 0x20) !== 0,
    final: (flags & 0x10) !== 0,
    cpi: (flags & 0x08) !== 0,
    auth,
    demand: (flags & 0x02) !== 0,
    multipoint: (flags & 0x01) !== 0,
    detectMult: buf[2],
    myDiscr: buf.readUInt32BE(4),
    yourDiscr: buf.readUInt32BE(8),
    desiredMinTx: buf.readUInt32BE(12),
    requiredMinRx: buf.readUInt32BE(16),
    requiredMinEchoRx: buf.readUInt32BE(20),
  };
  if (packet.detectMult === 0) return { ok: false, error: 'zero-multiplier' };
  if (packet.multipoint) return { ok: false, error: 'multipoint' };
  if (packet.myDiscr === 0) return { ok: false, error: 'zero-my-discriminator' };
  if (packet.yourDiscr === 0 && packet.state !== 'Down' && packet.state !== 'AdminDown') return { ok: false, error: 'zero-your-discriminator' };
  if (packet.poll && packet.final) return { ok: false, error: 'poll-and-final' };
  if (packet.diag > 8) return { ok: false, error: 'bad-diag' };
  if (packet.auth) return { ok: false, error: 'auth-not-configured' };
  return { ok: true, packet };
}

/**
 * The Generalized TTL Security Mechanism check (RFC 5881 5, RFC 5082) as keepalived extends it:
 * a packet is accepted when its received TTL / hop limit is at least `ttl - maxHops` (ttl being
 * what this session sends, 255 for IPv4 and 64 for IPv6 by default); maxHops -1 (or 255) disables
 * the check, as does an unknown received TTL.
 */
export function ttlAcceptable(received: number | undefined, ttl: number, maxHops: number): boolean {
  if (received === undefined || received === 0 || maxHops < 0 || maxHops >= 255) return true;
  return received + maxHops >= ttl;
}
