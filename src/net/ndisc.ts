// Unsolicited IPv6 neighbour advertisements (RFC 4861 section 7.2.6): builder (pure) and sender.
import {
  AF_INET6,
  IPPROTO_ICMPV6,
  IPPROTO_IPV6,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_LOOP,
  IPV6_UNICAST_HOPS,
  SO_BINDTODEVICE,
  SOCK_RAW,
  SOL_SOCKET,
} from '../native/constants.js';
import { ipv6PktInfo } from '../native/cmsg.js';
import { parseIPv6, parseMac } from '../util/inet.js';
import { RawSocket } from '../native/raw-socket.js';
import { sockaddrIn6 } from '../native/sockaddr.js';
import { internetChecksum } from '../util/internet-checksum.js';
import { getLink } from './rtnl-link.js';
import { TskeepalivedError } from '../util/errors.js';

export const ND_NEIGHBOR_ADVERT = 136;
export const NA_FLAG_ROUTER = 0x80000000;
export const NA_FLAG_SOLICITED = 0x40000000;
export const NA_FLAG_OVERRIDE = 0x20000000;
const ND_OPT_TARGET_LL = 2;
export const ALL_NODES = 'ff02::1';

export interface NaOptions {
  target: string;
  mac: Buffer | string;
  /** R flag: set when this node is a router (forwarding enabled) */
  router?: boolean;
}

/**
 * ICMPv6 neighbour advertisement for target with the override flag and a target link-layer
 * address option. The checksum is left 0 (the kernel fills it on ICMPv6 raw sockets) unless
 * src/dst are given, in which case it is computed here.
 */
export function buildUnsolicitedNa(o: NaOptions, pseudo?: { src: string; dst: string }): Buffer {
  const mac = typeof o.mac === 'string' ? parseMac(o.mac) : o.mac;
  if (mac.length !== 6) throw new RangeError(`MAC must be 6 bytes, got ${mac.length}`);
  const m = Buffer.alloc(32);
  m[0] = ND_NEIGHBOR_ADVERT;
  m[1] = 0;
  m.writeUInt32BE((NA_FLAG_OVERRIDE | (o.router ? NA_FLAG_ROUTER : 0)) >>> 0, 4);
  parseIPv6(o.target).copy(m, 8);
  m[24] = ND_OPT_TARGET_LL;
  m[25] = 1; // length in units of 8 bytes
  mac.copy(m, 26);
  if (pseudo) m.writeUInt16BE(icmpv6Checksum(pseudo.src, pseudo.dst, m), 2);
  return m;
}

/** ICMPv6 checksum over the IPv6 pseudo-header and message (checksum field as given). */
export function icmpv6Checksum(src: string, dst: string, msg: Buffer): number {
  const ph = Buffer.alloc(40);
  parseIPv6(src).copy(ph, 0);
  parseIPv6(dst).copy(ph, 16);
  ph.writeUInt32BE(msg.length, 32);
  ph[39] = IPPROTO_ICMPV6;
  return internetChecksum(ph, msg);
}

export class NdiscError extends TskeepalivedError {
  constructor(what: string) {
    super(`neighbour advertisement: ${what}`, 'TSK_ERR_NDISC');
    this.name = 'NdiscError';
  }
}

/** Sends unsolicited NAs (hop limit 255, to ff02::1) on one interface. */
export class NaSender {
  private readonly sock: RawSocket;
  readonly ifindex: number;
  private readonly mac: string;

  constructor(readonly ifname: string) {
    const link = getLink(ifname);
    if (!link) throw new NdiscError(`interface "${ifname}" does not exist`);
    if (!link.mac) throw new NdiscError(`interface "${ifname}" has no hardware address`);
    this.ifindex = link.index;
    this.mac = link.mac;
    this.sock = RawSocket.open(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, `ndisc ${ifname}`, { data: 64, control: 0 });
    try {
      this.sock.setOption(SOL_SOCKET, SO_BINDTODEVICE, Buffer.from(`${ifname}\0`), `bind to device ${ifname}`);
      this.sock.setOption(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255);
      this.sock.setOption(IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255);
      this.sock.setOption(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
    } catch (e) {
      this.sock.close();
      throw e;
    }
  }

  /**
   * Advertise target (usually a VIP just added). The source is the target itself when the kernel
   * accepts it, else the interface's link-local address (kernel choice).
   */
  send(target: string, opts: { mac?: Buffer | string; router?: boolean } = {}): void {
    const msg = buildUnsolicitedNa({ target, mac: opts.mac ?? this.mac, router: opts.router });
    const dst = sockaddrIn6(ALL_NODES, 0, this.ifindex);
    const n = this.sock.trySend(msg, dst, [ipv6PktInfo(target, this.ifindex)]);
    if (n >= 0) return;
    this.sock.send(msg, dst, [ipv6PktInfo(undefined, this.ifindex)], `NA for ${target} on ${this.ifname}`);
  }

  close(): void {
    this.sock.close();
  }
}
