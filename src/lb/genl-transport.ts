// What the IPVS backend needs from a generic netlink socket. The native implementation lives in
// genl-native.ts; anything else that speaks netlink (another socket layer) can implement it.
import type { NetlinkMessage } from '../net/netlink-codec.js';

export interface GenlTransport {
  /**
   * One request (nlmsg type = family id, or GENL_ID_CTRL) with NLM_F_REQUEST added (and NLM_F_ACK unless a dump).
   * Resolves with the answer messages (all parts of a dump, without NLMSG_DONE);
   * rejects with NetlinkRequestError (src/net/netlink.ts; code = the errno's name) when the kernel answers with an error.
   */
  request(op: string, type: number, flags: number, payload: Buffer): Promise<NetlinkMessage[]>;
  /** Several acknowledged requests sent together; resolves with each one's positive errno (0 = done). */
  batch(type: number, payloads: Buffer[]): Promise<number[]>;
  close(): void;
}
