// Checker sockets with keepalived's connect options that Node cannot set: `fwmark` (SO_MARK) and
// `bind_if` (SO_BINDTODEVICE), set before the socket connects, with `bindto` / `bind_port` bound
// here too. TCP: the fd is handed to node:net (`new net.Socket({ fd })`, then `.connect()`: libuv
// connects the fd it was given; TLS runs over that socket). UDP: node:dgram cannot adopt an fd, so
// the datagram is exchanged on the native layer's own connected socket (ICMP errors then come back
// as ECONNREFUSED, as on a connected dgram socket).
import { AF_INET, AF_INET6, SO_BINDTODEVICE, SO_MARK, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET } from '../native/constants.js';
import { native } from '../native/addon.js';
import { SystemError } from '../native/errno.js';
import { RawSocket } from '../native/raw-socket.js';
import { sockaddrIn, sockaddrIn6 } from '../native/sockaddr.js';
import { ipFamily, isIPv6LinkLocal, stripZone } from '../util/inet.js';
import { ifIndex } from './rtnl-link.js';

export interface CheckerSocketOptions {
  family: 4 | 6;
  /** SO_MARK (keepalived's checker `fwmark`) */
  fwmark?: number;
  /** SO_BINDTODEVICE (keepalived's checker `bind_if`) */
  bindIf?: string;
  /** local address (`bindto`) */
  bindto?: string;
  /** local port (`bind_port`) */
  bindPort?: number;
}

function sockaddrFor(family: 4 | 6, address: string, port: number, bindIf: string | undefined): Buffer {
  if (family === 4) return sockaddrIn(address, port);
  const bare = stripZone(address);
  const scope = bindIf !== undefined && isIPv6LinkLocal(bare) ? ifIndex(bindIf) : 0;
  return sockaddrIn6(bare, port, scope);
}

/** setsockopt and bind on a fresh fd; throws SystemError (or Error for a bind address of the other family). */
function configure(fd: number, o: CheckerSocketOptions, label: string): void {
  const n = native();
  if (o.fwmark !== undefined) {
    const rc = n.setsockopt(fd, SOL_SOCKET, SO_MARK, o.fwmark | 0);
    if (rc < 0) throw new SystemError('setsockopt', rc, `${label}: fwmark ${o.fwmark} (SO_MARK needs CAP_NET_ADMIN)`);
  }
  if (o.bindIf !== undefined) {
    const rc = n.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, Buffer.from(`${o.bindIf}\0`));
    if (rc < 0) throw new SystemError('setsockopt', rc, `${label}: bind_if ${o.bindIf}`);
  }
  if (o.bindto !== undefined || o.bindPort !== undefined) {
    const local = o.bindto ?? (o.family === 4 ? '0.0.0.0' : '::');
    if (ipFamily(stripZone(local)) !== o.family) throw new Error(`${label}: bindto ${local} is not an IPv${o.family} address`);
    const rc = n.bind(fd, sockaddrFor(o.family, local, o.bindPort ?? 0, o.bindIf));
    if (rc < 0) throw new SystemError('bind', rc, `${label}: bind to ${local}${o.bindPort ? ` port ${o.bindPort}` : ''}`);
  }
}

/**
 * A TCP socket (non-blocking, close-on-exec, not connected) with the options set, for
 * `new net.Socket({ fd })`, which owns it from then on. Throws SystemError / NativeUnavailableError.
 */
export function openCheckerStreamFd(o: CheckerSocketOptions): number {
  const label = 'checker socket';
  const fd = native().socket(o.family === 4 ? AF_INET : AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) throw new SystemError('socket', fd, label);
  try {
    configure(fd, o, label);
  } catch (e) {
    native().close(fd);
    throw e;
  }
  return fd;
}

/**
 * A UDP socket with the options set, connected to address:port: `send(data)` / `onMessage` of
 * RawSocket; a port-unreachable reply surfaces as an ECONNREFUSED error on receive.
 * Throws SystemError / NativeUnavailableError.
 */
export function openCheckerDatagram(o: CheckerSocketOptions & { address: string; port: number }): RawSocket {
  const label = `checker socket to ${o.address}:${o.port}`;
  const sock = RawSocket.open(o.family === 4 ? AF_INET : AF_INET6, SOCK_DGRAM, 0, label, { data: 65536, control: 0 });
  try {
    configure(sock.fd, o, label);
    sock.connect(sockaddrFor(o.family, o.address, o.port, o.bindIf), `connect to ${o.address}:${o.port}`);
  } catch (e) {
    sock.close();
    throw e;
  }
  return sock;
}
