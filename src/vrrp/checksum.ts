// The Internet checksum (RFC 1071) and the VRRPv3 pseudo-headers (RFC 5798 section 5.2.8).
import { ipToBytes } from './ip-address.js';

export const IPPROTO_VRRP = 112;

/** One's-complement sum of 16-bit words folded to 16 bits (not yet complemented). */
function sum16(bufs: Buffer[]): number {
  let sum = 0;
  for (const b of bufs) {
    const n = b.length;
    let i = 0;
    for (; i + 1 < n; i += 2) sum += (b[i] << 8) | b[i + 1];
    if (i < n) sum += b[i] << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Internet checksum over the concatenation of the buffers (each buffer must be of even length except the last). */
export function internetChecksum(...bufs: Buffer[]): number {
  return ~sum16(bufs) & 0xffff;
}

/** The IPv4 or IPv6 pseudo-header for upper-layer protocol `proto` and payload length. */
export function pseudoHeader(src: string, dst: string, length: number, proto = IPPROTO_VRRP): Buffer {
  const s = ipToBytes(src);
  const d = ipToBytes(dst);
  if (s.length === 4) {
    const b = Buffer.alloc(12);
    s.copy(b, 0);
    d.copy(b, 4);
    b[9] = proto;
    b.writeUInt16BE(length, 10);
    return b;
  }
  const b = Buffer.alloc(40);
  s.copy(b, 0);
  d.copy(b, 16);
  b.writeUInt32BE(length, 32);
  b[39] = proto;
  return b;
}
