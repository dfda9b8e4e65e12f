// The Internet checksum (RFC 1071): the one's-complement sum of 16-bit big-endian words, complemented.
// Pure; used by the VRRP codec, AH, ICMP echo and IPv6 neighbour advertisements.

/**
 * Checksum over the concatenation of the buffers. A buffer of odd length carries its last byte into
 * the next buffer's first word; the whole data, when odd, ends with a zero pad byte (RFC 1071 4.1).
 */
export function internetChecksum(...parts: Buffer[]): number {
  let sum = 0;
  let carry = -1; // the high byte of a word begun at the end of the previous buffer
  for (const b of parts) {
    const n = b.length;
    let i = 0;
    if (carry >= 0 && n > 0) {
      sum += (carry << 8) | b[0];
      carry = -1;
      i = 1;
    }
    for (; i + 1 < n; i += 2) sum += (b[i] << 8) | b[i + 1];
    if (i < n) carry = b[i];
  }
  if (carry >= 0) sum += carry << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
