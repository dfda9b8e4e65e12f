// Gratuitous ARP: frame builder (pure) and sender over an AF_PACKET socket.
import { AF_PACKET, ETH_P_ARP, ETH_P_IP, SOCK_RAW, ARPHRD_ETHER } from '../native/constants.js';
import { parseIPv4, parseMac } from '../util/inet.js';
import { RawSocket } from '../native/raw-socket.js';
import { sockaddrLl } from '../native/sockaddr.js';
import { getLink } from './rtnl-link.js';
import { hasErrorCode, TskeepalivedError } from '../util/errors.js';

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
const BROADCAST = Buffer.alloc(6, 0xff);
/** Ethernet minimum frame size without FCS. */
const MIN_FRAME = 60;

export interface GarpOptions {
  /** sender MAC (the interface's, or a virtual MAC with use_vmac) */
  mac: Buffer | string;
  /** the (virtual) IPv4 address being announced */
  ip: string;
  /** ARP reply instead of request (some switches only learn from one kind) */
  reply?: boolean;
}

/**
 * Ethernet frame of a gratuitous ARP (RFC 5227 announcement): broadcast, sender = target = ip,
 * target hardware address zero, padded to 60 bytes.
 */
export function buildGratuitousArp(o: GarpOptions): Buffer {
  const mac = typeof o.mac === 'string' ? parseMac(o.mac) : o.mac;
  if (mac.length !== 6) throw new RangeError(`MAC must be 6 bytes, got ${mac.length}`);
  const ip = parseIPv4(o.ip);
  const f = Buffer.alloc(MIN_FRAME);
  BROADCAST.copy(f, 0);
  mac.copy(f, 6);
  f.writeUInt16BE(ETH_P_ARP, 12);
  f.writeUInt16BE(ARPHRD_ETHER, 14); // hardware type
  f.writeUInt16BE(ETH_P_IP, 16); // protocol type
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(o.reply ? ARP_REPLY : ARP_REQUEST, 20);
  mac.copy(f, 22); // sender hardware address
  ip.copy(f, 28); // sender protocol address
  // target hardware address (32..37) stays zero
  ip.copy(f, 38); // target protocol address
  return f;
}

export class GarpError extends TskeepalivedError {
  constructor(what: string) {
    super(`gratuitous ARP: ${what}`, 'TSK_ERR_GARP');
    this.name = 'GarpError';
  }
}

/** A send-only AF_PACKET socket for gratuitous ARPs on any interface. */
const LINK_CACHE_MS = 1000;

export class GarpSender {
  private sock?: RawSocket;

  // A GARP burst sends many frames on one interface: look the link up once per second, not per frame.
  private readonly links = new Map<string, { link: ReturnType<typeof getLink>; at: number }>();

  private link(ifname: string): ReturnType<typeof getLink> {
    const now = Date.now();
    const hit = this.links.get(ifname);
    if (hit && now - hit.at < LINK_CACHE_MS) return hit.link;
    const link = getLink(ifname);
    if (link) this.links.set(ifname, { link, at: now });
    else this.links.delete(ifname);
    return link;
  }

  private socket(): RawSocket {
    // protocol 0: the socket receives nothing, it only sends
    this.sock ??= RawSocket.open(AF_PACKET, SOCK_RAW, 0, 'garp', { data: 64, control: 0 });
    return this.sock;
  }

  /** Announce ip on ifname (MAC defaults to the interface's). Throws GarpError / SystemError. */
  send(ifname: string, ip: string, opts: { mac?: Buffer | string; reply?: boolean } = {}): void {
    try {
      this.sendOnce(ifname, ip, opts);
    } catch (e) {
      // the interface may have been re-created (a VMAC) under a new index since it was cached
      if (!hasErrorCode(e, 'ENXIO', 'ENODEV') || !this.links.delete(ifname)) throw e;
      this.sendOnce(ifname, ip, opts);
    }
  }

  private sendOnce(ifname: string, ip: string, opts: { mac?: Buffer | string; reply?: boolean }): void {
    const link = this.link(ifname);
    if (!link) throw new GarpError(`interface "${ifname}" does not exist`);
    const mac = opts.mac ?? link.mac;
    if (!mac) throw new GarpError(`interface "${ifname}" has no hardware address`);
    const frame = buildGratuitousArp({ mac, ip, reply: opts.reply });
    this.socket().send(frame, sockaddrLl({ ifindex: link.index, protocol: ETH_P_ARP, mac: BROADCAST }), null, `GARP for ${ip} on ${ifname}`);
  }

  close(): void {
    this.sock?.close();
    this.sock = undefined;
    this.links.clear();
  }
}
