// GenlTransport over src/net's netlink socket (NETLINK_GENERIC): the request/ACK loop, batches and
// the error type (NetlinkRequestError, code = the errno's name) are net's; this only adapts them to
// the asynchronous seam the IPVS backend takes.
import { openGenlSocket } from '../net/genetlink.js';
import type { NetlinkSocket } from '../net/netlink.js';
import type { NetlinkMessage } from '../net/netlink-codec.js';
import type { GenlTransport } from './genl-transport.js';

class NativeGenlTransport implements GenlTransport {
  constructor(private readonly nl: NetlinkSocket) {}

  async request(op: string, type: number, flags: number, payload: Buffer): Promise<NetlinkMessage[]> {
    return this.nl.request(op, type, flags, payload);
  }

  async batch(type: number, payloads: Buffer[]): Promise<number[]> {
    return this.nl.batch(type, payloads);
  }

  close(): void {
    this.nl.close();
  }
}

/** Open a generic netlink socket (throws NativeUnavailableError when the addon is not built). */
export async function openGenlTransport(): Promise<GenlTransport> {
  return new NativeGenlTransport(openGenlSocket('genl'));
}
