// ICMP / ICMPv6 echo over raw sockets, for PING_CHECK.
import { randomInt } from 'node:crypto';
import { AF_INET, AF_INET6, IPPROTO_ICMP, IPPROTO_ICMPV6, SO_BINDTODEVICE, SO_MARK, SOCK_RAW, SOL_SOCKET } from '../native/constants.js';
import { SystemError } from '../native/errno.js';
import { ipFamily, isIPv6LinkLocal, isMulticast, stripZone } from '../util/inet.js';
import { RawSocket } from '../native/raw-socket.js';
import { decodeSockaddr, sockaddrIn, sockaddrIn6 } from '../native/sockaddr.js';
import { parseIpv4Header } from './ip-header.js';
import { internetChecksum } from '../util/internet-checksum.js';
import { ifIndex } from './rtnl-link.js';

export interface PingOptions {
  timeoutMs: number;
  /** send through this interface (SO_BINDTODEVICE; also the scope of a link-local target) */
  ifname?: string;
  srcAddress?: string;
  /** SO_MARK on the socket (PING_CHECK's fwmark) */
  mark?: number;
  /** payload bytes after the 8-byte header (default 56, like ping) */
  size?: number;
  /** abort the wait (resolves with ok false, error "aborted") */
  signal?: AbortSignal;
}

export interface PingResult {
  ok: boolean;
  rttMs: number;
  error?: string;
}

const ECHO_REQUEST_V4 = 8;
const ECHO_REPLY_V4 = 0;
const UNREACH_V4 = 3;
const TIME_EXCEEDED_V4 = 11;
const ECHO_REQUEST_V6 = 128;
const ECHO_REPLY_V6 = 129;
const UNREACH_V6 = 1;
const TIME_EXCEEDED_V6 = 3;

/** Echo request message; for IPv4 the checksum is filled, for IPv6 the kernel does it. */
export function buildEcho(family: 4 | 6, id: number, seq: number, size = 56): Buffer {
  const m = Buffer.alloc(8 + size);
  m[0] = family === 4 ? ECHO_REQUEST_V4 : ECHO_REQUEST_V6;
  m.writeUInt16BE(id, 4);
  m.writeUInt16BE(seq, 6);
  for (let i = 8; i < m.length; i++) m[i] = i & 0xff;
  if (family === 4) m.writeUInt16BE(internetChecksum(m), 2);
  return m;
}

export type EchoVerdict = { kind: 'reply' } | { kind: 'error'; text: string } | { kind: 'other' };

/** Classify an ICMP message (no IP header) against our id/seq. */
export function classifyIcmp(family: 4 | 6, msg: Buffer, id: number, seq: number): EchoVerdict {
  if (msg.length < 8) return { kind: 'other' };
  const type = msg[0];
  const reply = family === 4 ? ECHO_REPLY_V4 : ECHO_REPLY_V6;
  if (type === reply) {
    return msg.readUInt16BE(4) === id && msg.readUInt16BE(6) === seq ? { kind: 'reply' } : { kind: 'other' };
  }
  const unreach = family === 4 ? UNREACH_V4 : UNREACH_V6;
  const exceeded = family === 4 ? TIME_EXCEEDED_V4 : TIME_EXCEEDED_V6;
  if (type !== unreach && type !== exceeded) return { kind: 'other' };
  // the offending datagram follows the 8-byte error header: find our echo header in it
  let inner = msg.subarray(8);
  if (family === 4) {
    const h = parseIpv4Header(inner);
    if (!h) return { kind: 'other' };
    inner = inner.subarray(h.headerLength);
  } else {
    if (inner.length < 40 || inner[6] !== IPPROTO_ICMPV6) return { kind: 'other' };
    inner = inner.subarray(40);
  }
  if (inner.length < 8 || inner.readUInt16BE(4) !== id || inner.readUInt16BE(6) !== seq) return { kind: 'other' };
  const what = type === unreach ? 'destination unreachable' : 'time exceeded';
  return { kind: 'error', text: `${what} (ICMP${family === 6 ? 'v6' : ''} type ${type} code ${msg[1]})` };
}

let seqCounter = randomInt(0, 0x10000);

/** One echo request; resolves (never rejects) with ok/rtt or the reason it failed. */
export function ping(address: string, opts: PingOptions): Promise<PingResult> {
  const family = ipFamily(address);
  if (!family) return Promise.resolve({ ok: false, rttMs: 0, error: `"${address}" is not an IP address` });
  if (isMulticast(address)) return Promise.resolve({ ok: false, rttMs: 0, error: `refusing to ping multicast address ${address}` });
  const target = stripZone(address);
  let sock: RawSocket;
  try {
    sock = RawSocket.open(family === 4 ? AF_INET : AF_INET6, SOCK_RAW, family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, `ping ${target}`, {
      data: 2048,
      control: 0,
    });
  } catch (e) {
    return Promise.resolve({ ok: false, rttMs: 0, error: (e as Error).message });
  }
  const id = randomInt(1, 0x10000);
  seqCounter = (seqCounter + 1) & 0xffff;
  const seq = seqCounter;
  return new Promise<PingResult>((resolve) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const start = process.hrtime.bigint();
    const elapsed = (): number => Number(process.hrtime.bigint() - start) / 1e6;
    const onAbort = (): void => finish({ ok: false, rttMs: elapsed(), error: 'aborted' });
    const finish = (r: PingResult): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      sock.close();
      resolve(r);
    };
    if (opts.signal?.aborted) {
      onAbort();
      return;
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      let scope = 0;
      if (opts.mark !== undefined) sock.setOption(SOL_SOCKET, SO_MARK, opts.mark | 0, `fwmark ${opts.mark}`);
      if (opts.ifname) {
        sock.setOption(SOL_SOCKET, SO_BINDTODEVICE, Buffer.from(`${opts.ifname}\0`), `bind to device ${opts.ifname}`);
        if (family === 6 && isIPv6LinkLocal(target)) scope = ifIndex(opts.ifname);
      }
      if (opts.srcAddress) {
        if (ipFamily(opts.srcAddress) !== family) throw new Error(`source ${opts.srcAddress} is not an IPv${family} address`);
        sock.bind(family === 4 ? sockaddrIn(opts.srcAddress) : sockaddrIn6(stripZone(opts.srcAddress), 0, scope), `bind to ${opts.srcAddress}`);
      }
      sock.onMessage(
        (m) => {
          let msg = m.data;
          let from: string | undefined;
          if (family === 4) {
            const h = parseIpv4Header(msg);
            if (!h) return;
            from = h.src;
            msg = msg.subarray(h.headerLength, h.totalLength);
          } else {
            const sa = decodeSockaddr(m.name);
            from = sa.family === 'inet6' ? sa.address : undefined;
          }
          const v = classifyIcmp(family, msg, id, seq);
          if (v.kind === 'reply' && from === target) finish({ ok: true, rttMs: elapsed() });
          else if (v.kind === 'error') finish({ ok: false, rttMs: elapsed(), error: `${v.text} from ${from}` });
        },
        (e) => finish({ ok: false, rttMs: elapsed(), error: e.message }),
      );
      const dst = family === 4 ? sockaddrIn(target) : sockaddrIn6(target, 0, scope);
      sock.send(buildEcho(family, id, seq, opts.size ?? 56), dst, null, `echo request to ${target}`);
      timer = setTimeout(() => finish({ ok: false, rttMs: elapsed(), error: `no reply within ${opts.timeoutMs} ms` }), opts.timeoutMs);
    } catch (e) {
      finish({ ok: false, rttMs: elapsed(), error: e instanceof SystemError || e instanceof Error ? e.message : String(e) });
    }
  });
}
