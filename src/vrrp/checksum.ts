// The VRRPv3 pseudo-headers (RFC 5798 section 5.2.8) for the Internet checksum (src/util/internet-checksum.ts).
import { parseIP } from '../util/inet.js';

export const IPPROTO_VRRP = 112;

/** The IPv4 or IPv6 pseudo-header for upper-layer protocol `proto` and payload length. */
export function pseudoHeader(src: string, dst: string, length: number, proto = IPPROTO_VRRP): Buffer {
  const s = parseIP(src);
  const d = parseIP(dst);
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
