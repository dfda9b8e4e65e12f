// keepalived's checker connect options `fwmark` (SO_MARK) and `bind_if` (SO_BINDTODEVICE): Node
// cannot set them, so a checker that has one gets its socket from src/net/checker-socket.ts (the
// native layer), loaded on demand: configurations without them never open the addon.
import { Socket } from 'node:net';
import type { CheckTarget } from './types.js';
import { errorReason } from './types.js';

type CheckerSocketModule = typeof import('../net/checker-socket.js');
/** the native layer's connected UDP socket (RawSocket) */
export type NativeDatagram = ReturnType<CheckerSocketModule['openCheckerDatagram']>;

export interface NativeSocketOptions {
  fwmark?: number;
  bindIf?: string;
  bindto?: string;
  bindPort?: number;
}

/** Whether the checker needs a socket from the native layer. */
export function wantsNativeSocket(o: NativeSocketOptions): boolean {
  return o.fwmark !== undefined || o.bindIf !== undefined;
}

let loaded: Promise<CheckerSocketModule | string> | undefined;

function load(): Promise<CheckerSocketModule | string> {
  loaded ??= import('../net/checker-socket.js').catch((e: unknown) => `fwmark / bind_if need the native socket layer: ${errorReason(e)}`);
  return loaded;
}

function socketOptions(target: CheckTarget, o: NativeSocketOptions) {
  return { family: target.family, fwmark: o.fwmark, bindIf: o.bindIf, bindto: o.bindto, bindPort: o.bindPort };
}

/**
 * A not yet connected node:net Socket over an fd with the options set (bindto / bind_port bound
 * too: do not pass localAddress again), or the reason it cannot be made.
 */
export async function nativeStreamSocket(target: CheckTarget, o: NativeSocketOptions): Promise<Socket | string> {
  const mod = await load();
  if (typeof mod === 'string') return mod;
  try {
    return new Socket({ fd: mod.openCheckerStreamFd(socketOptions(target, o)) });
  } catch (e) {
    return errorReason(e);
  }
}

/** A UDP socket with the options set, connected to the target, or the reason it cannot be made. */
export async function nativeDatagramSocket(target: CheckTarget, o: NativeSocketOptions): Promise<NativeDatagram | string> {
  const mod = await load();
  if (typeof mod === 'string') return mod;
  try {
    return mod.openCheckerDatagram({ ...socketOptions(target, o), address: target.address, port: target.port });
  } catch (e) {
    return errorReason(e);
  }
}
