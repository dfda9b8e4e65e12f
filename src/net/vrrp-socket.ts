// VRRP transport: raw IP protocol-112 sockets per interface and family, shared by every instance on it.
// auth_type AH (IPv4 only): a separate raw protocol-51 socket with IP_HDRINCL; the caller builds
// the whole datagram (src/vrrp/ah.ts), received datagrams are handed over whole with the VRRP part.
//
// IPv4: the kernel builds the IP header (TTL 255 through IP_MULTICAST_TTL / IP_TTL); received packets
// include the IPv4 header, so TTL, source and destination are read from it.
// IPv6: the kernel computes the VRRPv3 checksum (IPV6_CHECKSUM offset 6) and verifies it on receive;
// the hop limit and destination come from IPV6_RECVHOPLIMIT / IPV6_RECVPKTINFO ancillary data.
import {
  AF_INET,
  AF_INET6,
  IP_ADD_MEMBERSHIP,
  IP_HDRINCL,
  IP_MULTICAST_ALL,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_PKTINFO,
  IP_TTL,
  IPPROTO_AH,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_VRRP,
  IPV6_CHECKSUM,
  IPV6_JOIN_GROUP,
  IPV6_MULTICAST_ALL,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_RECVHOPLIMIT,
  IPV6_RECVPKTINFO,
  IPV6_UNICAST_HOPS,
  SO_BINDTODEVICE,
  SO_TIMESTAMPNS,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOCK_RAW,
  SOL_SOCKET,
} from '../native/constants.js';
import { decodePacketInfo, ipPktInfo, ipv6HopLimit, ipv6PktInfo, type RawCmsg } from '../native/cmsg.js';
import { SystemError } from '../native/errno.js';
import { writeI32, writeU32 } from '../native/host-order.js';
import { ipFamily, isIPv6LinkLocal, isMulticast, parseIPv4, parseIPv6, stripZone } from '../util/inet.js';
import { RawSocket, type ReceivedMessage } from '../native/raw-socket.js';
import { decodeSockaddr, sockaddrIn, sockaddrIn6 } from '../native/sockaddr.js';
import { parseIpv4Header } from './ip-header.js';
import { listAddresses } from './rtnl-addr.js';
import type { NetlinkMonitor } from './netlink.js';
import { ifIndex, watchLinks } from './rtnl-link.js';
import { TskeepalivedError } from '../util/errors.js';

/** Why the socket dropped a datagram before it could be dispatched to an instance. */
export type SocketDropReason = 'truncated' | 'malformed';

export const VRRP_GROUP_V4 = '224.0.0.18';
export const VRRP_GROUP_V6 = 'ff02::12';
export const VRRP_TTL = 255;
const RECEIVE_BUFFER_BYTES = 1024 * 1024;

export interface VrrpSocketOptions {
  ifname: string;
  family: 4 | 6;
  /** multicast group (default 224.0.0.18 / ff02::12) */
  group?: string;
  /** source address of sent adverts (default: kernel choice, i.e. the interface's primary / link-local) */
  srcAddress?: string;
  /** unicast mode: no group membership; send() goes to each unicast peer given as dst */
  unicast?: boolean;
  /** IPsec AH: protocol 51, IP_HDRINCL; send() takes the complete IPv4 datagram (IPv4 only) */
  ah?: boolean;
}

export interface VrrpPacket {
  /** the VRRP part only (no IP header) */
  payload: Buffer;
  src: string;
  dst: string;
  /** IPv4 TTL or IPv6 hop limit as received (RFC 5798 requires 255) */
  ttl: number;
  ifindex: number;
  /** AH sockets: the whole IPv4 datagram (header + AH + VRRP), for the ICV check */
  datagram?: Buffer;
  /** when the kernel received it (ms since the epoch, fractional), if it said */
  receivedAt?: number;
}

export interface SendOptions {
  /** override the hop limit / TTL of this packet (tests of the TTL check) */
  hopLimit?: number;
}

export interface VrrpSocket {
  readonly ifname: string;
  readonly ifindex: number;
  readonly family: 4 | 6;
  readonly group: string;
  readonly unicast: boolean;
  /** Send one VRRP payload to dst (default: the group). Throws SystemError (e.g. ENETDOWN). */
  send(payload: Buffer, dst?: string, opts?: SendOptions): void;
  /** Register the receiver; every packet that arrives on the shared socket is delivered. */
  onPacket(cb: (p: VrrpPacket) => void): void;
  /** Register a receiver of socket errors (default: ignored). */
  onError(cb: (e: Error) => void): void;
  /** Register a receiver of datagrams dropped before delivery (truncated, malformed); default: ignored. */
  onDrop(cb: (reason: SocketDropReason, detail: string) => void): void;
  /** The source address adverts leave with (srcAddress, else the interface's primary IPv4 / link-local IPv6). */
  sourceAddress(): string | undefined;
  close(): void;
}

export class VrrpSocketError extends TskeepalivedError {
  constructor(what: string) {
    super(`vrrp socket: ${what}`, 'TSK_ERR_VRRP_SOCKET');
    this.name = 'VrrpSocketError';
  }
}

interface Shared {
  key: string;
  ifname: string;
  family: 4 | 6;
  group: string;
  unicast: boolean;
  ah: boolean;
  sock: RawSocket;
  ifindex: number;
  handles: Set<Handle>;
}

const registry = new Map<string, Shared>();

/** Number of open shared sockets (for tests and the status dump). */
export function openVrrpSocketCount(): number {
  return registry.size;
}

function ifnameBuffer(ifname: string): Buffer {
  if (ifname.length === 0 || ifname.length > 15) throw new VrrpSocketError(`invalid interface name "${ifname}"`);
  return Buffer.from(`${ifname}\0`);
}

/** Room for bursts of adverts (many instances on one interface): 1 MiB, best effort. */
function growReceiveBuffer(sock: RawSocket): void {
  for (const opt of [SO_RCVBUFFORCE, SO_RCVBUF]) {
    try {
      sock.setOption(SOL_SOCKET, opt, RECEIVE_BUFFER_BYTES);
      return;
    } catch {
      // SO_RCVBUFFORCE needs CAP_NET_ADMIN; SO_RCVBUF is capped by net.core.rmem_max
    }
  }
}

function ipMreqn(group: string | undefined, ifindex: number): Buffer {
  const b = Buffer.alloc(12);
  if (group) parseIPv4(group).copy(b, 0);
  writeI32(b, ifindex, 8);
  return b;
}

function ipv6Mreq(group: string, ifindex: number): Buffer {
  const b = Buffer.alloc(20);
  parseIPv6(group).copy(b, 0);
  writeU32(b, ifindex, 16);
  return b;
}

/** A configured protocol-112 (or, for AH, protocol-51) socket bound to one interface (ifindex) and family. */
function openSocket(ifname: string, ifindex: number, family: 4 | 6, group: string, unicast: boolean, ah: boolean): RawSocket {
  const label = `vrrp${ah ? ' AH' : ''} ${ifname} IPv${family}${unicast ? ' unicast' : ` ${group}`}`;
  const sock = RawSocket.open(family === 4 ? AF_INET : AF_INET6, SOCK_RAW, ah ? IPPROTO_AH : IPPROTO_VRRP, label, { data: 4096, control: 256 });
  try {
    sock.setOption(SOL_SOCKET, SO_BINDTODEVICE, ifnameBuffer(ifname), `bind to device ${ifname}`);
    growReceiveBuffer(sock);
    sock.setOption(SOL_SOCKET, SO_TIMESTAMPNS, 1, 'SO_TIMESTAMPNS');
    if (family === 4) {
      sock.setOption(IPPROTO_IP, IP_MULTICAST_ALL, 0, 'IP_MULTICAST_ALL');
      sock.setOption(IPPROTO_IP, IP_PKTINFO, 1, 'IP_PKTINFO');
      if (ah) sock.setOption(IPPROTO_IP, IP_HDRINCL, 1, 'IP_HDRINCL');
      sock.setOption(IPPROTO_IP, IP_TTL, VRRP_TTL, 'IP_TTL');
      sock.setOption(IPPROTO_IP, IP_MULTICAST_TTL, VRRP_TTL, 'IP_MULTICAST_TTL');
      sock.setOption(IPPROTO_IP, IP_MULTICAST_LOOP, 0, 'IP_MULTICAST_LOOP');
      sock.setOption(IPPROTO_IP, IP_MULTICAST_IF, ipMreqn(undefined, ifindex), 'IP_MULTICAST_IF');
      if (!unicast) sock.setOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, ipMreqn(group, ifindex), `join ${group}`);
    } else {
      sock.setOption(IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0, 'IPV6_MULTICAST_ALL');
      sock.setOption(IPPROTO_IPV6, IPV6_CHECKSUM, 6, 'IPV6_CHECKSUM');
      sock.setOption(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, 'IPV6_RECVHOPLIMIT');
      sock.setOption(IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, 'IPV6_RECVPKTINFO');
      sock.setOption(IPPROTO_IPV6, IPV6_UNICAST_HOPS, VRRP_TTL, 'IPV6_UNICAST_HOPS');
      sock.setOption(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, VRRP_TTL, 'IPV6_MULTICAST_HOPS');
      sock.setOption(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0, 'IPV6_MULTICAST_LOOP');
      sock.setOption(IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex, 'IPV6_MULTICAST_IF');
      if (!unicast) sock.setOption(IPPROTO_IPV6, IPV6_JOIN_GROUP, ipv6Mreq(group, ifindex), `join ${group}`);
    }
    return sock;
  } catch (e) {
    sock.close();
    throw e;
  }
}

function attachReceiver(shared: Shared): void {
  const { sock, family, ifindex, ah } = shared;
  const drop = (reason: SocketDropReason, detail: string): void => {
    for (const h of [...shared.handles]) h.drop(reason, detail);
  };
  sock.onMessage(
    (m) => {
      // keepalived drops what did not fit its buffer rather than read a cut packet
      if (m.truncated) return drop('truncated', `datagram larger than ${m.data.length} bytes`);
      const p = family === 4 ? (ah ? decodeAhV4(m, ifindex) : decodeV4(m, ifindex)) : decodeV6(m, ifindex);
      if (!p) return drop('malformed', ah ? 'not AH around VRRP (next header, AH length)' : 'no VRRP payload');
      for (const h of [...shared.handles]) h.deliver(p);
    },
    (e) => {
      for (const h of [...shared.handles]) h.fail(e);
    },
  );
}

function openShared(key: string, ifname: string, ifindex: number, family: 4 | 6, group: string, unicast: boolean, ah: boolean): Shared {
  const sock = openSocket(ifname, ifindex, family, group, unicast, ah);
  const shared: Shared = { key, ifname, family, group, unicast, ah, sock, ifindex, handles: new Set() };
  attachReceiver(shared);
  return shared;
}

/** The interface was re-created under the same name: rebind the shared socket to the new ifindex. */
function reopenShared(shared: Shared, ifindex: number): void {
  let sock: RawSocket;
  try {
    sock = openSocket(shared.ifname, ifindex, shared.family, shared.group, shared.unicast, shared.ah);
  } catch (e) {
    for (const h of [...shared.handles]) h.fail(e as Error);
    return;
  }
  shared.sock.close();
  shared.sock = sock;
  shared.ifindex = ifindex;
  attachReceiver(shared);
}

let linkWatch: NetlinkMonitor | undefined;

/** One process-wide link watcher (unref'd) while any VRRP socket is open. */
function watchRecreatedInterfaces(): void {
  if (linkWatch) return;
  try {
    linkWatch = watchLinks(
      (ev) => {
        if (ev.kind !== 'new') return;
        for (const shared of registry.values()) {
          if (shared.ifname === ev.link.name && shared.ifindex !== ev.link.index) reopenShared(shared, ev.link.index);
        }
      },
      () => {},
      false,
    );
  } catch {
    // without the watcher a re-created interface needs the socket reopened by the caller
  }
}

function stopWatchingInterfaces(): void {
  if (registry.size > 0) return;
  linkWatch?.close();
  linkWatch = undefined;
}

/** Received IPv4 datagram (header included) -> VrrpPacket; undefined for non-VRRP or malformed data. */
export function decodeV4(m: ReceivedMessage, fallbackIfindex: number): VrrpPacket | undefined {
  const h = parseIpv4Header(m.data);
  if (!h || h.protocol !== IPPROTO_VRRP) return undefined;
  const info = decodePacketInfo(m.cmsgs);
  return {
    payload: m.data.subarray(h.headerLength, h.totalLength),
    src: h.src,
    dst: h.dst,
    ttl: h.ttl,
    ifindex: info.ifindex ?? fallbackIfindex,
    ...(info.receivedAt !== undefined ? { receivedAt: info.receivedAt } : {}),
  };
}

/**
 * Received IPv4 datagram of protocol 51 -> VrrpPacket with the VRRP part after the AH header as
 * payload and the whole datagram; undefined when it is not AH around VRRP (next header 112).
 */
export function decodeAhV4(m: ReceivedMessage, fallbackIfindex: number): VrrpPacket | undefined {
  const h = parseIpv4Header(m.data);
  if (!h || h.protocol !== IPPROTO_AH) return undefined;
  const ahAt = h.headerLength;
  if (h.totalLength < ahAt + 12 || m.data[ahAt] !== IPPROTO_VRRP) return undefined;
  const ahLength = (m.data[ahAt + 1] + 2) * 4;
  if (h.totalLength < ahAt + ahLength) return undefined;
  const info = decodePacketInfo(m.cmsgs);
  return {
    payload: m.data.subarray(ahAt + ahLength, h.totalLength),
    src: h.src,
    dst: h.dst,
    ttl: h.ttl,
    ifindex: info.ifindex ?? fallbackIfindex,
    ...(info.receivedAt !== undefined ? { receivedAt: info.receivedAt } : {}),
    datagram: m.data.subarray(0, h.totalLength),
  };
}

/** Received IPv6 payload + ancillary data -> VrrpPacket; hop limit -1 when the kernel gave none. */
export function decodeV6(m: ReceivedMessage, fallbackIfindex: number): VrrpPacket | undefined {
  const from = decodeSockaddr(m.name);
  if (from.family !== 'inet6') return undefined;
  const info = decodePacketInfo(m.cmsgs);
  return {
    payload: m.data,
    src: from.address,
    dst: info.dst ?? '',
    ttl: info.hopLimit ?? -1,
    ifindex: info.ifindex ?? fallbackIfindex,
    ...(info.receivedAt !== undefined ? { receivedAt: info.receivedAt } : {}),
  };
}

class Handle implements VrrpSocket {
  private receiver?: (p: VrrpPacket) => void;
  private errorReceiver?: (e: Error) => void;
  private dropReceiver?: (reason: SocketDropReason, detail: string) => void;
  private closed = false;

  constructor(
    private readonly shared: Shared,
    readonly ifname: string,
    readonly family: 4 | 6,
    readonly group: string,
    readonly unicast: boolean,
    private readonly srcAddress: string | undefined,
  ) {}

  get ifindex(): number {
    return this.shared.ifindex;
  }

  send(payload: Buffer, dst: string = this.group, opts: SendOptions = {}): void {
    if (this.closed) throw new VrrpSocketError(`send on closed socket (${this.ifname})`);
    const fam = ipFamily(dst);
    if (fam !== this.family) throw new VrrpSocketError(`destination "${dst}" is not an IPv${this.family} address`);
    const cmsgs: RawCmsg[] = [];
    let addr: Buffer;
    if (this.shared.ah) {
      // the datagram carries its own header (TTL, source): nothing to add
      addr = sockaddrIn(dst);
    } else if (this.family === 4) {
      addr = sockaddrIn(dst);
      if (this.srcAddress) cmsgs.push(ipPktInfo(this.srcAddress, this.shared.ifindex));
      if (opts.hopLimit !== undefined) this.shared.sock.setOption(IPPROTO_IP, isMulticast(dst) ? IP_MULTICAST_TTL : IP_TTL, opts.hopLimit);
    } else {
      const scoped = isMulticast(dst) || isIPv6LinkLocal(dst);
      addr = sockaddrIn6(stripZone(dst), 0, scoped ? this.shared.ifindex : 0);
      if (this.srcAddress) cmsgs.push(ipv6PktInfo(this.srcAddress, this.shared.ifindex));
      if (opts.hopLimit !== undefined) cmsgs.push(ipv6HopLimit(opts.hopLimit));
    }
    try {
      this.shared.sock.send(payload, addr, cmsgs, `advert to ${dst}`);
    } finally {
      if (this.family === 4 && !this.shared.ah && opts.hopLimit !== undefined) {
        this.shared.sock.setOption(IPPROTO_IP, isMulticast(dst) ? IP_MULTICAST_TTL : IP_TTL, VRRP_TTL);
      }
    }
  }

  onPacket(cb: (p: VrrpPacket) => void): void {
    this.receiver = cb;
  }

  onError(cb: (e: Error) => void): void {
    this.errorReceiver = cb;
  }

  onDrop(cb: (reason: SocketDropReason, detail: string) => void): void {
    this.dropReceiver = cb;
  }

  drop(reason: SocketDropReason, detail: string): void {
    this.dropReceiver?.(reason, detail);
  }

  deliver(p: VrrpPacket): void {
    this.receiver?.(p);
  }

  fail(e: Error): void {
    this.errorReceiver?.(e);
  }

  sourceAddress(): string | undefined {
    if (this.srcAddress) return this.srcAddress;
    const addrs = listAddresses({ family: this.family, ifindex: this.shared.ifindex });
    if (this.family === 4) return (addrs.find((a) => (a.flags & 0x01) === 0) ?? addrs[0])?.address;
    return addrs.find((a) => isIPv6LinkLocal(a.address))?.address;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.shared.handles.delete(this);
    if (this.shared.handles.size === 0) {
      registry.delete(this.shared.key);
      this.shared.sock.close();
      stopWatchingInterfaces();
    }
  }
}

/**
 * Open (or share) the VRRP socket for an interface and family. Throws VrrpSocketError for bad
 * options, SystemError for system failures (ENODEV: no such interface, EPERM: not root / no CAP_NET_RAW).
 */
export function openVrrpSocket(opts: VrrpSocketOptions): VrrpSocket {
  const family = opts.family;
  if (family !== 4 && family !== 6) throw new VrrpSocketError(`family must be 4 or 6, got ${String(family)}`);
  const group = opts.group ?? (family === 4 ? VRRP_GROUP_V4 : VRRP_GROUP_V6);
  if (ipFamily(group) !== family || !isMulticast(group)) {
    throw new VrrpSocketError(`group "${group}" is not an IPv${family} multicast address`);
  }
  if (opts.srcAddress !== undefined && ipFamily(opts.srcAddress) !== family) {
    throw new VrrpSocketError(`source address "${opts.srcAddress}" is not an IPv${family} address`);
  }
  const unicast = opts.unicast ?? false;
  const ah = opts.ah ?? false;
  if (ah && family !== 4) throw new VrrpSocketError('AH authentication is IPv4 only');
  const key = `${opts.ifname}|${family}|${unicast ? 'unicast' : group}${ah ? '|ah' : ''}`;
  let shared = registry.get(key);
  if (!shared) {
    ifnameBuffer(opts.ifname);
    let ifindex: number;
    try {
      ifindex = ifIndex(opts.ifname);
    } catch (e) {
      if (e instanceof SystemError) throw new VrrpSocketError(`interface "${opts.ifname}" not found (${e.code})`);
      throw e;
    }
    shared = openShared(key, opts.ifname, ifindex, family, group, unicast, ah);
    registry.set(key, shared);
    watchRecreatedInterfaces();
  }
  const h = new Handle(shared, opts.ifname, family, group, unicast, opts.srcAddress ? stripZone(opts.srcAddress) : undefined);
  shared.handles.add(h);
  return h;
}
