// Netlink sockets over the native layer: synchronous request/ACK and dumps, and group monitoring.
//
// The kernel handles a netlink request inside sendmsg() and queues its answer before returning (dumps
// are refilled inside each recvmsg()), so a request is answered by reading until the ACK / DONE without
// waiting on the event loop. Monitoring sockets are read asynchronously through uv_poll readiness.
import {
  AF_NETLINK,
  NETLINK_ADD_MEMBERSHIP,
  NETLINK_DROP_MEMBERSHIP,
  NETLINK_EXT_ACK,
  NETLINK_ROUTE,
  SO_RCVBUF,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
} from '../native/constants.js';
import { Errno, SystemError } from '../native/errno.js';
import { RawSocket } from '../native/raw-socket.js';
import { sockaddrNl } from '../native/sockaddr.js';
import {
  decodeError,
  decodeMessages,
  encodeMessage,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  type NetlinkMessage,
} from './netlink-codec.js';

/** A failed netlink request: errno names the kernel's answer, op says what was asked. */
export class NetlinkRequestError extends SystemError {
  constructor(
    readonly op: string,
    errno: number,
    readonly kernelMessage?: string,
  ) {
    super('netlink', errno, kernelMessage ? `${op}: ${kernelMessage}` : op);
    this.name = 'NetlinkRequestError';
  }
}

/** Upper bound of datagrams read for one request (a dump of a very large table still fits). */
const MAX_REPLY_DATAGRAMS = 100_000;
/** acknowledged requests per sendmsg in a batch */
const BATCH_CHUNK = 64;

export class NetlinkSocket {
  private seq = Math.floor(Math.random() * 0x7fffffff);

  private constructor(readonly sock: RawSocket) {}

  static open(protocol = NETLINK_ROUTE, label = 'netlink'): NetlinkSocket {
    const sock = RawSocket.open(AF_NETLINK, SOCK_RAW, protocol, label, { data: 256 * 1024, control: 0 });
    try {
      sock.bind(sockaddrNl(0, 0));
      try {
        sock.setOption(SOL_NETLINK, NETLINK_EXT_ACK, 1);
      } catch {
        // older kernels: plain errno only
      }
      return new NetlinkSocket(sock);
    } catch (e) {
      sock.close();
      throw e;
    }
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  /** Send one message and collect the answer. Non-dump requests always ask for an ACK. */
  request(op: string, type: number, flags: number, payload: Buffer): NetlinkMessage[] {
    const seq = this.nextSeq();
    const isDump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    const msg = encodeMessage({ type, flags: flags | NLM_F_REQUEST | (isDump ? 0 : NLM_F_ACK), seq, payload });
    const sent = this.sock.trySend(msg, sockaddrNl(0, 0));
    if (sent < 0) throw new NetlinkRequestError(op, -sent);
    const replies: NetlinkMessage[] = [];
    for (let i = 0; i < MAX_REPLY_DATAGRAMS; i++) {
      const r = this.sock.receive();
      if (!r) throw new NetlinkRequestError(`${op}: no answer from the kernel`, Errno.ETIMEDOUT);
      for (const m of decodeMessages(r.data)) {
        if (m.seq !== seq) continue; // stale answer to an abandoned request
        if (m.type === NLMSG_ERROR) {
          const e = decodeError(m);
          if (e.errno !== 0) throw new NetlinkRequestError(op, e.errno, e.message);
          return replies; // ACK
        }
        if (m.type === NLMSG_DONE) return replies;
        if (m.type === NLMSG_NOOP) continue;
        replies.push({ ...m, payload: Buffer.from(m.payload) });
        if (!isDump && !(m.flags & NLM_F_MULTI) && !(flags & NLM_F_ACK)) return replies;
      }
    }
    throw new NetlinkRequestError(`${op}: answer too long`, Errno.EMSGSIZE);
  }

  /**
   * Several acknowledged requests of one type, sent BATCH_CHUNK per sendmsg: each one's errno
   * (0 = done; ETIMEDOUT when the kernel did not answer it). Failures are results, not exceptions.
   */
  batch(type: number, payloads: Buffer[]): number[] {
    const results: number[] = new Array(payloads.length).fill(-1);
    for (let start = 0; start < payloads.length; start += BATCH_CHUNK) {
      const bySeq = new Map<number, number>();
      const msgs = payloads.slice(start, start + BATCH_CHUNK).map((payload, i) => {
        const seq = this.nextSeq();
        bySeq.set(seq, start + i);
        return encodeMessage({ type, flags: NLM_F_REQUEST | NLM_F_ACK, seq, payload });
      });
      const sent = this.sock.trySend(Buffer.concat(msgs), sockaddrNl(0, 0));
      if (sent < 0) {
        for (const idx of bySeq.values()) results[idx] = -sent;
        continue;
      }
      let pending = bySeq.size;
      for (let i = 0; i < MAX_REPLY_DATAGRAMS && pending > 0; i++) {
        const r = this.sock.receive();
        if (!r) break;
        for (const m of decodeMessages(r.data)) {
          const idx = bySeq.get(m.seq);
          if (idx === undefined || m.type !== NLMSG_ERROR || results[idx] !== -1) continue;
          results[idx] = decodeError(m).errno | 0; // | 0: an ACK decodes as -0
          pending--;
        }
      }
      for (const idx of bySeq.values()) if (results[idx] === -1) results[idx] = Errno.ETIMEDOUT;
    }
    return results;
  }

  /** NLM_F_DUMP request: every object of a kind. */
  dump(op: string, type: number, payload: Buffer): NetlinkMessage[] {
    return this.request(op, type, NLM_F_DUMP, payload);
  }

  close(): void {
    this.sock.close();
  }
}

let shared: NetlinkSocket | undefined;

/** A process-wide NETLINK_ROUTE request socket (opened on first use). */
export function routeSocket(): NetlinkSocket {
  if (!shared || shared.sock.isClosed) shared = NetlinkSocket.open(NETLINK_ROUTE, 'rtnetlink');
  return shared;
}

/** Close the shared request socket (tests, daemon shutdown). */
export function closeRouteSocket(): void {
  shared?.close();
  shared = undefined;
}

export interface MonitorOptions {
  protocol?: number;
  /** RTMGRP_* bit mask */
  groups: number;
  /** keep the process alive while monitoring (default true) */
  keepAlive?: boolean;
  label?: string;
  /**
   * monitor on this open netlink socket (of opts.protocol, made earlier, e.g. before a setns: a
   * netlink socket stays in the network namespace it was made in) instead of a new one: the groups are
   * joined with NETLINK_ADD_MEMBERSHIP, and close() leaves them and stops reading, the socket stays open
   */
  socket?: RawSocket;
}

/** A socket made for NetlinkMonitor({socket}): unbound, the receive buffer of a monitor. Throws SystemError. */
export function openMonitorSocket(protocol: number, label: string): RawSocket {
  const sock = RawSocket.open(AF_NETLINK, SOCK_RAW, protocol, label, { data: 256 * 1024, control: 0 });
  try {
    sock.setOption(SOL_SOCKET, SO_RCVBUF, 1024 * 1024);
  } catch {
    // best effort
  }
  return sock;
}

/** the group numbers (1-based, for NETLINK_ADD_MEMBERSHIP) of a bind() group mask */
function groupNumbers(mask: number): number[] {
  const out: number[] = [];
  for (let bit = 0; bit < 32; bit++) if ((mask >>> bit) & 1) out.push(bit + 1);
  return out;
}

/**
 * A socket subscribed to netlink multicast groups. onMessages gets each datagram's messages;
 * onError gets ENOBUFS (events were lost: resynchronise with a dump) and other failures.
 */
export class NetlinkMonitor {
  private readonly sock: RawSocket;
  /** the groups joined on a borrowed socket (opts.socket) */
  private readonly joined: number[] = [];

  constructor(
    private readonly opts: MonitorOptions,
    onMessages: (msgs: NetlinkMessage[]) => void,
    onError: (e: Error) => void = () => {},
  ) {
    this.sock = opts.socket ?? openMonitorSocket(opts.protocol ?? NETLINK_ROUTE, opts.label ?? 'netlink-monitor');
    try {
      if (opts.socket) {
        for (const g of groupNumbers(opts.groups)) {
          this.sock.setOption(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, g, `join group ${g}`);
          this.joined.push(g);
        }
      } else {
        this.sock.bind(sockaddrNl(0, opts.groups), `subscribe to groups 0x${opts.groups.toString(16)}`);
      }
      this.sock.onMessage(
        (m) => {
          let msgs: NetlinkMessage[];
          try {
            msgs = decodeMessages(m.data);
          } catch (e) {
            onError(e as Error);
            return;
          }
          onMessages(msgs);
        },
        onError,
        opts.keepAlive ?? true,
      );
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** send one datagram to the kernel (e.g. a subscription request); throws SystemError */
  send(data: Buffer, what = 'send'): void {
    this.sock.send(data, null, null, what);
  }

  /** stop monitoring: close the socket, or, borrowed (opts.socket), leave the groups and stop reading it */
  close(): void {
    if (!this.opts.socket) {
      this.sock.close();
      return;
    }
    if (this.sock.isClosed) return;
    this.sock.stopReading();
    for (const g of this.joined.splice(0)) {
      try {
        this.sock.setOption(SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, g, `leave group ${g}`);
      } catch {
        // the socket is going anyway
      }
    }
  }
}
