// Ancillary data (struct cmsghdr sequences) encoding and decoding over Buffers.
import { IP_PKTINFO, IP_TTL_CMSG, IPPROTO_IP, IPPROTO_IPV6, IPV6_HOPLIMIT, IPV6_PKTINFO, SCM_TIMESTAMPNS, SOL_SOCKET } from './constants.js';
import { readI32, readU32, readWord, WORD, writeI32, writeU32, writeWord } from './host-order.js';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../util/inet.js';

export interface RawCmsg {
  level: number;
  type: number;
  data: Buffer;
}

const HDR = WORD + 8; // size_t len; int level; int type
const align = (n: number): number => (n + WORD - 1) & ~(WORD - 1);

/** CMSG_SPACE(n): room one message with n data bytes takes. */
export function cmsgSpace(n: number): number {
  return align(HDR) + align(n);
}

/** Split a control buffer (first ctllen bytes) into messages. Malformed tails are ignored. */
export function parseCmsgs(ctl: Buffer, ctllen = ctl.length): RawCmsg[] {
  const out: RawCmsg[] = [];
  let off = 0;
  while (off + HDR <= ctllen) {
    const len = readWord(ctl, off);
    if (len < HDR || off + len > ctllen) break;
    out.push({
      level: readI32(ctl, off + WORD),
      type: readI32(ctl, off + WORD + 4),
      data: Buffer.from(ctl.subarray(off + align(HDR), off + len)),
    });
    off += align(len);
  }
  return out;
}

/** Build a control buffer from messages. */
export function buildCmsgs(msgs: RawCmsg[]): Buffer {
  const total = msgs.reduce((s, m) => s + cmsgSpace(m.data.length), 0);
  const b = Buffer.alloc(total);
  let off = 0;
  for (const m of msgs) {
    writeWord(b, align(HDR) + m.data.length, off);
    writeI32(b, m.level, off + WORD);
    writeI32(b, m.type, off + WORD + 4);
    m.data.copy(b, off + align(HDR));
    off += cmsgSpace(m.data.length);
  }
  return b;
}

/** What tskeepalived reads from received ancillary data. */
export interface PacketInfo {
  /** IPv6 hop limit (IPV6_HOPLIMIT) or IPv4 TTL (IP_TTL cmsg) */
  hopLimit?: number;
  /** destination address of the packet (IP_PKTINFO ipi_addr / IPV6_PKTINFO) */
  dst?: string;
  /** incoming interface index */
  ifindex?: number;
  /** when the kernel received the packet (SO_TIMESTAMPNS): ms since the epoch, fractional */
  receivedAt?: number;
}

export function decodePacketInfo(msgs: RawCmsg[]): PacketInfo {
  const info: PacketInfo = {};
  for (const m of msgs) {
    if (m.level === IPPROTO_IPV6 && m.type === IPV6_HOPLIMIT && m.data.length >= 4) {
      info.hopLimit = readI32(m.data, 0);
    } else if (m.level === IPPROTO_IPV6 && m.type === IPV6_PKTINFO && m.data.length >= 20) {
      info.dst = formatIPv6(m.data, 0);
      info.ifindex = readU32(m.data, 16);
    } else if (m.level === IPPROTO_IP && m.type === IP_PKTINFO && m.data.length >= 12) {
      info.ifindex = readI32(m.data, 0);
      info.dst = formatIPv4(m.data, 8); // ipi_addr: header destination address
    } else if (m.level === IPPROTO_IP && m.type === IP_TTL_CMSG && m.data.length >= 4) {
      info.hopLimit = readI32(m.data, 0);
    } else if (m.level === SOL_SOCKET && m.type === SCM_TIMESTAMPNS && m.data.length >= 2 * WORD) {
      // struct timespec { time_t tv_sec; long tv_nsec; }
      info.receivedAt = readWord(m.data, 0) * 1000 + readWord(m.data, WORD) / 1e6;
    }
  }
  return info;
}

/** IPV6_PKTINFO message selecting the source address and/or outgoing interface. */
export function ipv6PktInfo(src: string | undefined, ifindex: number): RawCmsg {
  const d = Buffer.alloc(20);
  if (src) parseIPv6(src).copy(d, 0);
  writeU32(d, ifindex, 16);
  return { level: IPPROTO_IPV6, type: IPV6_PKTINFO, data: d };
}

/** IPV6_HOPLIMIT message setting the hop limit of one outgoing packet. */
export function ipv6HopLimit(hops: number): RawCmsg {
  const d = Buffer.alloc(4);
  writeI32(d, hops, 0);
  return { level: IPPROTO_IPV6, type: IPV6_HOPLIMIT, data: d };
}

/** IP_PKTINFO message selecting the source address (ipi_spec_dst) and/or outgoing interface. */
export function ipPktInfo(src: string | undefined, ifindex: number): RawCmsg {
  const d = Buffer.alloc(12);
  writeI32(d, ifindex, 0);
  if (src) parseIPv4(src).copy(d, 4);
  return { level: IPPROTO_IP, type: IP_PKTINFO, data: d };
}
