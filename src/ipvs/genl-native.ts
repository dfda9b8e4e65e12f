// GenlTransport over the native socket layer: an AF_NETLINK / NETLINK_GENERIC socket.
// The kernel handles each request inside sendmsg() and queues the answer (dumps are refilled inside
// each recvmsg()), so answers are read right after sending, without waiting on the event loop.
import { AF_NETLINK, NETLINK_EXT_ACK, NETLINK_GENERIC, SOCK_RAW, SOL_NETLINK } from '../native/constants.js';
import { RawSocket } from '../native/raw-socket.js';
import { sockaddrNl } from '../native/sockaddr.js';
import { decodeError, decodeMessages, encodeMessage, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, type NetlinkMessage } from '../net/netlink-codec.js';
import type { GenlTransport } from './genl-transport.js';
import { NetlinkErrnoError } from './genl-transport.js';

const EAGAIN_TIMEOUT = 110; // ETIMEDOUT
const MAX_DATAGRAMS = 100_000;
/** requests per sendmsg in a batch */
const BATCH_CHUNK = 64;

class NativeGenlTransport implements GenlTransport {
  private seq = (Math.random() * 0x3fffffff) >>> 0;

  constructor(private readonly sock: RawSocket) {}

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  private errorOf(m: NetlinkMessage): { errno: number; message?: string } {
    const e = decodeError(m);
    return { errno: e.errno | 0, message: e.message };
  }

  async request(op: string, type: number, flags: number, payload: Buffer): Promise<NetlinkMessage[]> {
    const seq = this.nextSeq();
    const dump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    const msg = encodeMessage({ type, flags: flags | NLM_F_REQUEST | (dump ? 0 : NLM_F_ACK), seq, pid: 0, payload });
    const sent = this.sock.trySend(msg, sockaddrNl(0, 0));
    if (sent < 0) throw new NetlinkErrnoError(op, -sent);
    const replies: NetlinkMessage[] = [];
    for (let i = 0; i < MAX_DATAGRAMS; i++) {
      const r = this.sock.receive();
      if (!r) throw new NetlinkErrnoError(`${op}: no answer from the kernel`, EAGAIN_TIMEOUT);
      for (const m of decodeMessages(r.data)) {
        if (m.seq !== seq) continue;
        if (m.type === NLMSG_ERROR) {
          const e = this.errorOf(m);
          if (e.errno !== 0) throw new NetlinkErrnoError(op, e.errno, e.message ? `${e.message} (errno ${e.errno})` : undefined);
          return replies;
        }
        if (m.type === NLMSG_DONE) return replies;
        if (m.type === NLMSG_NOOP) continue;
        replies.push({ ...m, payload: Buffer.from(m.payload) });
      }
    }
    throw new NetlinkErrnoError(`${op}: answer too long`, 90);
  }

  async batch(type: number, payloads: Buffer[]): Promise<number[]> {
    const results: number[] = new Array(payloads.length).fill(-1);
    for (let start = 0; start < payloads.length; start += BATCH_CHUNK) {
      const chunk = payloads.slice(start, start + BATCH_CHUNK);
      const bySeq = new Map<number, number>();
      const msgs = chunk.map((payload, i) => {
        const seq = this.nextSeq();
        bySeq.set(seq, start + i);
        return encodeMessage({ type, flags: NLM_F_REQUEST | NLM_F_ACK, seq, pid: 0, payload });
      });
      const sent = this.sock.trySend(Buffer.concat(msgs), sockaddrNl(0, 0));
      if (sent < 0) {
        for (const idx of bySeq.values()) results[idx] = -sent;
        continue;
      }
      let pending = bySeq.size;
      for (let i = 0; i < MAX_DATAGRAMS && pending > 0; i++) {
        const r = this.sock.receive();
        if (!r) break;
        for (const m of decodeMessages(r.data)) {
          const idx = bySeq.get(m.seq);
          if (idx === undefined || m.type !== NLMSG_ERROR || results[idx] !== -1) continue;
          results[idx] = this.errorOf(m).errno;
          pending--;
        }
      }
      for (const idx of bySeq.values()) if (results[idx] === -1) results[idx] = EAGAIN_TIMEOUT;
    }
    return results;
  }

  close(): void {
    this.sock.close();
  }
}

/** Open a generic netlink socket (throws NativeUnavailableError when the addon is not built). */
export async function openGenlTransport(): Promise<GenlTransport> {
  const sock = RawSocket.open(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC, 'genl', { data: 256 * 1024, control: 0 });
  try {
    sock.bind(sockaddrNl(0, 0));
    try {
      sock.setOption(SOL_NETLINK, NETLINK_EXT_ACK, 1);
    } catch {
      // older kernels: errno only
    }
  } catch (e) {
    sock.close();
    throw e;
  }
  return new NativeGenlTransport(sock);
}
