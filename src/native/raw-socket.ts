// RawSocket: a non-blocking socket over the addon with event-loop readability callbacks.
import { native } from './addon.js';
import { buildCmsgs, parseCmsgs, type RawCmsg } from './cmsg.js';
import { MSG_CTRUNC, MSG_TRUNC } from './constants.js';
import { Errno, SystemError } from './errno.js';
import { readI32 } from './host-order.js';
import { SOCKADDR_STORAGE_SIZE } from './sockaddr.js';

export interface ReceivedMessage {
  data: Buffer;
  /** raw sockaddr of the sender (decode with decodeSockaddr) */
  name: Buffer;
  cmsgs: RawCmsg[];
  flags: number;
  truncated: boolean;
}

export interface ReceiveSizes {
  data?: number;
  name?: number;
  control?: number;
}

/** Upper bound of messages read per readability event (keeps the loop fair). */
const MAX_DRAIN = 64;

export class RawSocket {
  private closed = false;
  private watching = false;
  private readonly dataBuf: Buffer;
  private readonly nameBuf: Buffer;
  private readonly ctlBuf: Buffer;

  private constructor(
    readonly fd: number,
    readonly label: string,
    sizes: ReceiveSizes,
  ) {
    this.dataBuf = Buffer.alloc(sizes.data ?? 65536);
    this.nameBuf = Buffer.alloc(sizes.name ?? SOCKADDR_STORAGE_SIZE);
    this.ctlBuf = Buffer.alloc(sizes.control ?? 512);
  }

  /** socket(2), always non-blocking and close-on-exec. Throws SystemError / NativeUnavailableError. */
  static open(domain: number, type: number, protocol: number, label = 'socket', sizes: ReceiveSizes = {}): RawSocket {
    const fd = native().socket(domain, type, protocol);
    if (fd < 0) {
      const denied = fd === -Errno.EPERM || fd === -Errno.EACCES;
      throw new SystemError('socket', fd, denied ? `${label}; raw sockets need root or CAP_NET_RAW` : label);
    }
    return new RawSocket(fd, label, sizes);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private ensureOpen(op: string): void {
    if (this.closed) throw new SystemError(op, Errno.EBADF, `${this.label} is closed`);
  }

  setOption(level: number, name: number, value: number | Buffer, what = `option ${level}/${name}`): void {
    this.ensureOpen('setsockopt');
    const rc = native().setsockopt(this.fd, level, name, value);
    if (rc < 0) throw new SystemError('setsockopt', rc, `${this.label}: ${what}`);
  }

  getOption(level: number, name: number, size: number): Buffer {
    this.ensureOpen('getsockopt');
    const buf = Buffer.alloc(size);
    const rc = native().getsockopt(this.fd, level, name, buf);
    if (rc < 0) throw new SystemError('getsockopt', rc, `${this.label}: option ${level}/${name}`);
    return buf.subarray(0, rc);
  }

  getIntOption(level: number, name: number): number {
    return readI32(this.getOption(level, name, 4), 0);
  }

  bind(sockaddr: Buffer, what = 'bind'): void {
    this.ensureOpen('bind');
    const rc = native().bind(this.fd, sockaddr);
    if (rc < 0) throw new SystemError('bind', rc, `${this.label}: ${what}`);
  }

  /** connect(2): a datagram socket then sends to and receives from that peer only (ICMP errors come back as ECONNREFUSED) */
  connect(sockaddr: Buffer, what = 'connect'): void {
    this.ensureOpen('connect');
    const rc = native().connect(this.fd, sockaddr);
    if (rc < 0) throw new SystemError('connect', rc, `${this.label}: ${what}`);
  }

  /** sendmsg(2); returns bytes sent or -errno (EAGAIN etc. are for the caller to judge). */
  trySend(data: Buffer, sockaddr?: Buffer | null, cmsgs?: RawCmsg[] | Buffer | null): number {
    if (this.closed) return -Errno.EBADF;
    const ctl = cmsgs == null ? null : Buffer.isBuffer(cmsgs) ? cmsgs : cmsgs.length ? buildCmsgs(cmsgs) : null;
    return native().sendmsg(this.fd, data, sockaddr ?? null, ctl);
  }

  /** sendmsg(2); throws SystemError on failure. */
  send(data: Buffer, sockaddr?: Buffer | null, cmsgs?: RawCmsg[] | Buffer | null, what = 'send'): number {
    const n = this.trySend(data, sockaddr, cmsgs);
    if (n < 0) throw new SystemError('sendmsg', n, `${this.label}: ${what}`);
    return n;
  }

  /** One recvmsg(2); null when nothing is queued (EAGAIN). Throws SystemError on other errors. */
  receive(): ReceivedMessage | null {
    this.ensureOpen('recvmsg');
    const r = native().recvmsg(this.fd, this.dataBuf, this.nameBuf, this.ctlBuf);
    if (typeof r === 'number') {
      if (r === -Errno.EAGAIN || r === -Errno.EWOULDBLOCK || r === -Errno.EINTR) return null;
      throw new SystemError('recvmsg', r, this.label);
    }
    const [n, namelen, ctllen, flags] = r;
    return {
      data: Buffer.from(this.dataBuf.subarray(0, Math.min(n, this.dataBuf.length))),
      name: Buffer.from(this.nameBuf.subarray(0, Math.min(namelen, this.nameBuf.length))),
      cmsgs: parseCmsgs(this.ctlBuf, Math.min(ctllen, this.ctlBuf.length)),
      flags,
      truncated: (flags & (MSG_TRUNC | MSG_CTRUNC)) !== 0,
    };
  }

  /** Call onReadable whenever the socket has data (level-triggered). */
  onReadable(cb: (status: number) => void, keepAlive = true): void {
    this.ensureOpen('poll');
    if (this.watching) native().pollStop(this.fd);
    const rc = native().poll(this.fd, cb);
    if (rc < 0) throw new SystemError('poll', rc, this.label);
    this.watching = true;
    if (!keepAlive) native().pollRef(this.fd, false);
  }

  /** Deliver every received message; errors go to onError (the watcher keeps running). */
  onMessage(cb: (m: ReceivedMessage) => void, onError: (e: Error) => void = () => {}, keepAlive = true): void {
    this.onReadable((status) => {
      if (status < 0) {
        onError(new SystemError('poll', status, this.label));
        return;
      }
      for (let i = 0; i < MAX_DRAIN && !this.closed; i++) {
        let m: ReceivedMessage | null;
        try {
          m = this.receive();
        } catch (e) {
          onError(e as Error);
          return;
        }
        if (!m) return;
        cb(m);
      }
    }, keepAlive);
  }

  /** Whether a readability watcher keeps the process alive. */
  setKeepAlive(keepAlive: boolean): void {
    if (this.watching && !this.closed) native().pollRef(this.fd, keepAlive);
  }

  stopReading(): void {
    if (this.watching && !this.closed) native().pollStop(this.fd);
    this.watching = false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watching = false;
    native().close(this.fd); // also stops the watcher
  }
}
