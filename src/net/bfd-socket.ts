// BFD transport (RFC 5881, single hop): UDP sockets through the native layer, because Node's dgram
// cannot read a received datagram's TTL / hop limit (the GTSM check needs it).
// - listeners: one per family on port 3784 (IPv6 with IPV6_V6ONLY), IP_RECVTTL / IPV6_RECVHOPLIMIT
//   and the packet-info options on, so each datagram comes with its TTL and destination;
// - senders: one per session, bound to the source address (if any) and a source port in
//   49152..65535 (the same for every packet of the session), TTL / unicast hop limit set.
import {
  AF_INET,
  AF_INET6,
  IP_PKTINFO,
  IP_RECVTTL,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_UDP,
  IPV6_RECVHOPLIMIT,
  IPV6_RECVPKTINFO,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  SOCK_DGRAM,
} from '../native/constants.js';
import { decodePacketInfo } from '../native/cmsg.js';
import { Errno, SystemError } from '../native/errno.js';
import { RawSocket } from '../native/raw-socket.js';
import { decodeSockaddr, sockaddrIn, sockaddrIn6 } from '../native/sockaddr.js';

export const BFD_CONTROL_PORT = 3784;
export const BFD_SOURCE_PORT_MIN = 49152;
export const BFD_SOURCE_PORT_MAX = 65535;

export interface BfdDatagram {
  data: Buffer;
  family: 4 | 6;
  src: string;
  srcPort: number;
  dst?: string;
  /** received IPv4 TTL or IPv6 hop limit, when the kernel reported it */
  ttl?: number;
  ifindex?: number;
  truncated: boolean;
}

export interface BfdListenerHandle {
  close(): void;
}

export interface BfdSenderHandle {
  readonly localPort: number;
  /** sendmsg to the neighbour's port 3784; throws SystemError */
  send(data: Buffer): void;
  close(): void;
}

function sockaddrFor(family: 4 | 6, address: string, port: number): Buffer {
  if (family === 4) return sockaddrIn(address, port);
  const pct = address.indexOf('%');
  return sockaddrIn6(pct < 0 ? address : address.slice(0, pct), port);
}

/** Listen on [address]:port (default the wildcard, port 3784) for one family. Throws SystemError (EADDRINUSE...). */
export function openBfdListener(
  family: 4 | 6,
  onPacket: (p: BfdDatagram) => void,
  onError: (e: Error) => void,
  opts: { port?: number; address?: string } = {},
): BfdListenerHandle {
  const port = opts.port ?? BFD_CONTROL_PORT;
  const sock = RawSocket.open(family === 4 ? AF_INET : AF_INET6, SOCK_DGRAM, IPPROTO_UDP, `BFD listener (IPv${family} port ${port})`, {
    data: 512,
    control: 256,
  });
  try {
    // no SO_REUSEADDR: a second BFD daemon in the namespace must fail (EADDRINUSE), not share the port
    if (family === 4) {
      sock.setOption(IPPROTO_IP, IP_RECVTTL, 1, 'IP_RECVTTL');
      sock.setOption(IPPROTO_IP, IP_PKTINFO, 1, 'IP_PKTINFO');
    } else {
      sock.setOption(IPPROTO_IPV6, IPV6_V6ONLY, 1, 'IPV6_V6ONLY');
      sock.setOption(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, 'IPV6_RECVHOPLIMIT');
      sock.setOption(IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, 'IPV6_RECVPKTINFO');
    }
    sock.bind(sockaddrFor(family, opts.address ?? (family === 4 ? '0.0.0.0' : '::'), port), `bind port ${port}`);
    sock.onMessage(
      (m) => {
        const from = decodeSockaddr(m.name);
        if (from.family !== 'inet' && from.family !== 'inet6') return;
        const info = decodePacketInfo(m.cmsgs);
        onPacket({
          data: m.data,
          family,
          src: from.address,
          srcPort: from.port,
          dst: info.dst,
          ttl: info.hopLimit,
          ifindex: info.ifindex,
          truncated: m.truncated,
        });
      },
      onError,
      true,
    );
  } catch (e) {
    sock.close();
    throw e;
  }
  return { close: () => sock.close() };
}

/**
 * A session's sending socket: bound to `source` (or the wildcard) and a free port in
 * 49152..65535 starting at a random one (RFC 5881 4), TTL / hop limit `ttl`.
 */
export function openBfdSender(opts: { family: 4 | 6; neighbor: string; source?: string; ttl: number; port?: number; random?: () => number }): BfdSenderHandle {
  const { family } = opts;
  const sock = RawSocket.open(family === 4 ? AF_INET : AF_INET6, SOCK_DGRAM, IPPROTO_UDP, `BFD sender to ${opts.neighbor}`, { data: 64, control: 64 });
  let localPort = 0;
  try {
    if (family === 4) sock.setOption(IPPROTO_IP, IP_TTL, opts.ttl, 'IP_TTL');
    else {
      sock.setOption(IPPROTO_IPV6, IPV6_V6ONLY, 1, 'IPV6_V6ONLY');
      sock.setOption(IPPROTO_IPV6, IPV6_UNICAST_HOPS, opts.ttl, 'IPV6_UNICAST_HOPS');
    }
    const span = BFD_SOURCE_PORT_MAX - BFD_SOURCE_PORT_MIN + 1;
    const first = Math.floor((opts.random ?? Math.random)() * span);
    const bindAddr = opts.source ?? (family === 4 ? '0.0.0.0' : '::');
    for (let i = 0; i < span && !localPort; i++) {
      const port = BFD_SOURCE_PORT_MIN + ((first + i) % span);
      try {
        sock.bind(sockaddrFor(family, bindAddr, port), `bind ${bindAddr} port ${port}`);
        localPort = port;
      } catch (e) {
        if (!(e instanceof SystemError) || e.errno !== Errno.EADDRINUSE) throw e;
      }
    }
    if (!localPort) throw new SystemError('bind', Errno.EADDRINUSE, `no free BFD source port on ${bindAddr}`);
  } catch (e) {
    sock.close();
    throw e;
  }
  const dst = sockaddrFor(family, opts.neighbor, opts.port ?? BFD_CONTROL_PORT);
  return {
    localPort,
    send: (data) => {
      sock.send(data, dst, null, `send to ${opts.neighbor}`);
    },
    close: () => sock.close(),
  };
}
