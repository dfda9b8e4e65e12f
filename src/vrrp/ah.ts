// VRRPv2 over IPsec AH (RFC 2402), as keepalived 2.2.7 puts it on the wire for `auth_type AH`.
// Pure functions over Buffers.
//
// The datagram is IPv4 header (20 bytes, TOS 0xc0, TTL 255, protocol 51) + AH header (24 bytes) +
// the VRRPv2 packet (auth type 2, its 8 authentication bytes left zero). The AH header carries
// next header 112, payload length 4 (a 96-bit ICV), SPI = the sender's IPv4 address (the same four
// bytes as the IP source), a sequence number, and the ICV: the first 12 bytes of HMAC-MD5 keyed by
// auth_pass (NUL-padded / truncated to 8 bytes) over the whole datagram with the mutable IP fields
// zeroed: TOS, fragment offset/flags and header checksum always, the TTL too when the instance
// uses unicast peers; the identification and the multicast TTL are covered.
import { createHmac } from 'node:crypto';
import { IPPROTO_VRRP } from './checksum.js';
import { internetChecksum } from '../util/internet-checksum.js';
import { formatIP, parseIP } from '../util/inet.js';
import { passwordBytes } from './packet.js';

export const IPPROTO_AH = 51;
export const IPV4_HEADER_LEN = 20;
export const AH_HEADER_LEN = 24;
export const AH_ICV_LEN = 12;
/** AH payload length: header length in 32-bit words minus 2 (RFC 2402 section 2.2) */
export const AH_PAYLOAD_LEN = AH_HEADER_LEN / 4 - 2;
export const IP_TOS_NETWORK_CONTROL = 0xc0;
export const VRRP_IP_TTL = 255;
const AH_ICV_OFFSET = 12;

export interface AhDatagramToBuild {
  src: string;
  dst: string;
  /** IP identification (keepalived: a per-instance counter, 1, 2, ... skipping 0) */
  ipId: number;
  /** AH sequence number */
  seq: number;
  /** the VRRPv2 packet (encodeAdvert with the AH auth type) */
  vrrp: Buffer;
  /** auth_pass */
  pass: string;
  /** the instance sends to unicast peers: the TTL is left out of the ICV */
  unicast: boolean;
  ttl?: number;
}

/** The ICV key: auth_pass as keepalived stores it (8 bytes, NUL-padded). */
export function ahKey(pass: string): Buffer {
  return passwordBytes(pass);
}

/** HMAC-MD5-96 over the datagram with the mutable fields and the ICV zeroed. */
function computeIcv(datagram: Buffer, ihl: number, key: Buffer, unicast: boolean): Buffer {
  const copy = Buffer.from(datagram);
  copy[1] = 0; // TOS
  copy.writeUInt16BE(0, 6); // flags + fragment offset
  copy.writeUInt16BE(0, 10); // header checksum
  if (unicast) copy[8] = 0; // TTL
  copy.fill(0, ihl + AH_ICV_OFFSET, ihl + AH_ICV_OFFSET + AH_ICV_LEN);
  return createHmac('md5', key).update(copy).digest().subarray(0, AH_ICV_LEN);
}

/** Build the complete IPv4 datagram (for a socket with IP_HDRINCL), IP header checksum included. */
export function buildAhDatagram(d: AhDatagramToBuild): Buffer {
  const total = IPV4_HEADER_LEN + AH_HEADER_LEN + d.vrrp.length;
  const buf = Buffer.alloc(total);
  buf[0] = 0x45;
  buf[1] = IP_TOS_NETWORK_CONTROL;
  buf.writeUInt16BE(total, 2);
  buf.writeUInt16BE(d.ipId & 0xffff, 4);
  buf[8] = d.ttl ?? VRRP_IP_TTL;
  buf[9] = IPPROTO_AH;
  const src = parseIP(d.src);
  const dst = parseIP(d.dst);
  if (src.length !== 4 || dst.length !== 4) throw new Error(`AH authentication is IPv4 only (${d.src} -> ${d.dst})`);
  src.copy(buf, 12);
  dst.copy(buf, 16);
  const ah = IPV4_HEADER_LEN;
  buf[ah] = IPPROTO_VRRP;
  buf[ah + 1] = AH_PAYLOAD_LEN;
  src.copy(buf, ah + 4); // SPI = source address
  buf.writeUInt32BE(d.seq >>> 0, ah + 8);
  d.vrrp.copy(buf, ah + AH_HEADER_LEN);
  computeIcv(buf, IPV4_HEADER_LEN, ahKey(d.pass), d.unicast).copy(buf, ah + AH_ICV_OFFSET);
  buf.writeUInt16BE(internetChecksum(buf.subarray(0, IPV4_HEADER_LEN)), 10);
  return buf;
}

export interface AhHeader {
  nextHeader: number;
  /** header length in bytes, from the payload length field */
  length: number;
  spi: number;
  seq: number;
  icv: Buffer;
}

/** Parse the AH header at `off`; undefined when it is truncated or not a 96-bit-ICV header. */
export function parseAhHeader(buf: Buffer, off: number): AhHeader | undefined {
  if (buf.length < off + AH_HEADER_LEN) return undefined;
  const length = (buf[off + 1] + 2) * 4;
  if (length !== AH_HEADER_LEN) return undefined;
  return {
    nextHeader: buf[off],
    length,
    spi: buf.readUInt32BE(off + 4),
    seq: buf.readUInt32BE(off + 8),
    icv: Buffer.from(buf.subarray(off + AH_ICV_OFFSET, off + AH_ICV_OFFSET + AH_ICV_LEN)),
  };
}

export type AhOpenError = 'malformed' | 'not-vrrp' | 'icv-mismatch' | 'spi-mismatch';

export type AhOpenResult = { ok: true; vrrp: Buffer; seq: number; src: string; dst: string; ttl: number } | { ok: false; reason: AhOpenError; detail: string };

/**
 * Verify a received AH datagram (IPv4 header included, as a raw socket delivers it) with the
 * instance's password: ICV, then SPI == source address. The sequence number is the caller's
 * (see AhCounter.accept). `unicast`: the receiving instance uses unicast peers (TTL not covered).
 */
export function openAhDatagram(datagram: Buffer, pass: string, unicast: boolean): AhOpenResult {
  if (datagram.length < IPV4_HEADER_LEN || datagram[0] >> 4 !== 4) return { ok: false, reason: 'malformed', detail: 'not an IPv4 datagram' };
  const ihl = (datagram[0] & 0x0f) * 4;
  if (ihl < IPV4_HEADER_LEN || datagram[9] !== IPPROTO_AH) return { ok: false, reason: 'malformed', detail: `protocol ${datagram[9]}` };
  const total = Math.min(datagram.readUInt16BE(2) || datagram.length, datagram.length);
  const whole = datagram.subarray(0, total);
  const ah = parseAhHeader(whole, ihl);
  if (!ah) return { ok: false, reason: 'malformed', detail: `${total} bytes, AH header truncated or not 24 bytes` };
  if (ah.nextHeader !== IPPROTO_VRRP) return { ok: false, reason: 'not-vrrp', detail: `next header ${ah.nextHeader}` };
  const expected = computeIcv(whole, ihl, ahKey(pass), unicast);
  if (!constantTimeEqual(expected, ah.icv))
    return { ok: false, reason: 'icv-mismatch', detail: 'invalid IPSEC HMAC-MD5 value (fields mutated or bad password)' };
  const srcWord = whole.readUInt32BE(12);
  if (ah.spi !== srcWord) return { ok: false, reason: 'spi-mismatch', detail: `SPI 0x${ah.spi.toString(16)} is not the source address` };
  return {
    ok: true,
    vrrp: whole.subarray(ihl + AH_HEADER_LEN),
    seq: ah.seq,
    src: formatIP(whole.subarray(12, 16)),
    dst: formatIP(whole.subarray(16, 20)),
    ttl: whole[8],
  };
}

function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
