// Minimal IPv4 header parsing for raw sockets that deliver the header (AF_INET SOCK_RAW). Pure.
import { formatIPv4 } from '../util/inet.js';

export interface Ipv4Header {
  headerLength: number;
  totalLength: number;
  ttl: number;
  protocol: number;
  src: string;
  dst: string;
}

/** Parse the IPv4 header at the start of buf; undefined when it is not a well-formed IPv4 header. */
export function parseIpv4Header(buf: Buffer): Ipv4Header | undefined {
  if (buf.length < 20 || buf[0] >> 4 !== 4) return undefined;
  const headerLength = (buf[0] & 0x0f) * 4;
  const totalLength = buf.readUInt16BE(2);
  if (headerLength < 20 || headerLength > buf.length) return undefined;
  return {
    headerLength,
    // clamp to what arrived (a truncated read must not index past the buffer)
    totalLength: Math.min(Math.max(totalLength, headerLength), buf.length),
    ttl: buf[8],
    protocol: buf[9],
    src: formatIPv4(buf, 12),
    dst: formatIPv4(buf, 16),
  };
}
