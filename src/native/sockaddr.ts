// struct sockaddr_* encoders and decoders over Buffers (Linux layouts).
import { AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_UNIX } from './constants.js';
import { readI32, readU16, readU32, writeI32, writeU16, writeU32 } from './host-order.js';
import { formatIPv4, formatIPv6, formatMac, parseIPv4, parseIPv6 } from '../util/inet.js';

export const SOCKADDR_STORAGE_SIZE = 128;

export type SockAddr =
  | { family: 'inet'; address: string; port: number }
  | { family: 'inet6'; address: string; port: number; flowInfo: number; scopeId: number }
  | { family: 'packet'; protocol: number; ifindex: number; hatype: number; pktType: number; mac: string }
  | { family: 'netlink'; pid: number; groups: number }
  | { family: 'unix'; path: string }
  | { family: 'unknown'; sa_family: number };

/** struct sockaddr_in (16 bytes). */
export function sockaddrIn(address: string, port = 0): Buffer {
  const b = Buffer.alloc(16);
  writeU16(b, AF_INET, 0);
  b.writeUInt16BE(port, 2);
  parseIPv4(address).copy(b, 4);
  return b;
}

/** struct sockaddr_in6 (28 bytes); scopeId is the interface index for link-local addresses. */
export function sockaddrIn6(address: string, port = 0, scopeId = 0, flowInfo = 0): Buffer {
  const b = Buffer.alloc(28);
  writeU16(b, AF_INET6, 0);
  b.writeUInt16BE(port, 2);
  b.writeUInt32BE(flowInfo >>> 0, 4);
  parseIPv6(address).copy(b, 8);
  writeU32(b, scopeId, 24);
  return b;
}

/** struct sockaddr_ll (20 bytes). protocol is an ethertype (host value, stored big-endian). */
export function sockaddrLl(opts: { ifindex: number; protocol?: number; mac?: Buffer; hatype?: number; pktType?: number }): Buffer {
  const b = Buffer.alloc(20);
  writeU16(b, AF_PACKET, 0);
  b.writeUInt16BE(opts.protocol ?? 0, 2);
  writeI32(b, opts.ifindex, 4);
  writeU16(b, opts.hatype ?? 0, 8);
  b[10] = opts.pktType ?? 0;
  const mac = opts.mac ?? Buffer.alloc(0);
  b[11] = mac.length;
  mac.copy(b, 12, 0, Math.min(8, mac.length));
  return b;
}

/** struct sockaddr_nl (12 bytes). */
export function sockaddrNl(pid = 0, groups = 0): Buffer {
  const b = Buffer.alloc(12);
  writeU16(b, AF_NETLINK, 0);
  writeU32(b, pid, 4);
  writeU32(b, groups, 8);
  return b;
}

/** struct sockaddr_un, exactly as long as the name; a leading "@" means the abstract namespace. */
export function sockaddrUn(path: string): Buffer {
  const abstract = path.startsWith('@');
  const p = Buffer.from(abstract ? `\0${path.slice(1)}` : path);
  if (p.length > 107) throw new RangeError(`unix socket path too long (${p.length} > 107): ${path}`);
  const b = Buffer.alloc(2 + p.length + (abstract ? 0 : 1));
  writeU16(b, AF_UNIX, 0);
  p.copy(b, 2);
  return b;
}

/** Decode a sockaddr filled by the kernel (len = namelen from recvmsg). */
export function decodeSockaddr(b: Buffer, len = b.length): SockAddr {
  if (len < 2) return { family: 'unknown', sa_family: 0 };
  const fam = readU16(b, 0);
  switch (fam) {
    case AF_INET:
      return { family: 'inet', address: formatIPv4(b, 4), port: b.readUInt16BE(2) };
    case AF_INET6:
      return {
        family: 'inet6',
        address: formatIPv6(b, 8),
        port: b.readUInt16BE(2),
        flowInfo: b.readUInt32BE(4),
        scopeId: readU32(b, 24),
      };
    case AF_PACKET: {
      const halen = Math.min(b[11], 8);
      return {
        family: 'packet',
        protocol: b.readUInt16BE(2),
        ifindex: readI32(b, 4),
        hatype: readU16(b, 8),
        pktType: b[10],
        mac: formatMac(b.subarray(12, 12 + halen)),
      };
    }
    case AF_NETLINK:
      return { family: 'netlink', pid: readU32(b, 4), groups: readU32(b, 8) };
    case AF_UNIX: {
      const raw = b.subarray(2, len);
      if (raw.length > 0 && raw[0] === 0) return { family: 'unix', path: `@${raw.subarray(1).toString()}` };
      const nul = raw.indexOf(0);
      return { family: 'unix', path: raw.subarray(0, nul < 0 ? raw.length : nul).toString() };
    }
    default:
      return { family: 'unknown', sa_family: fam };
  }
}
