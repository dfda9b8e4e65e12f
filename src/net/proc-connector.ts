// The kernel's process events (the proc connector: NETLINK_CONNECTOR, CN_IDX_PROC): fork, exec, comm
// and exit of every process, as they happen. Decodes only the events; what a process is, the caller
// reads from /proc. The kernel serves them in the initial network namespace only: elsewhere the
// subscription is refused (ECONNREFUSED, as keepalived 2.2.7 logs "Failed to set/clear process event
// listen - errno 111"), and watchProcessEvents throws so that the caller can fall back to polling.
// A netlink socket stays in the network namespace it was made in: openProcConnector(), called before
// the daemon enters net_namespace (setns), keeps one socket of the initial namespace for the process,
// on which watchProcessEvents then subscribes from inside the namespace too.
import { NETLINK_CONNECTOR } from '../native/constants.js';
import { readI32, readU32, writeU16, writeU32 } from '../native/host-order.js';
import type { RawSocket } from '../native/raw-socket.js';
import { NLMSG_DONE, encodeMessage, type NetlinkMessage } from './netlink-codec.js';
import { NetlinkMonitor, openMonitorSocket } from './netlink.js';

const CN_IDX_PROC = 1;
const CN_VAL_PROC = 1;
const PROC_CN_MCAST_LISTEN = 1;
const PROC_CN_MCAST_IGNORE = 2;
/** struct cn_msg: id {idx, val}, seq, ack, len (u16), flags (u16) */
const CN_MSG_LEN = 20;

const PROC_EVENT_FORK = 0x1;
const PROC_EVENT_EXEC = 0x2;
const PROC_EVENT_COMM = 0x200;
const PROC_EVENT_EXIT = 0x80000000;

/** One process event; pids are thread ids, tgids process ids (a thread has pid !== tgid). */
export type ProcEvent =
  | { kind: 'fork'; parentTgid: number; childPid: number; childTgid: number }
  | { kind: 'exec'; pid: number; tgid: number }
  | { kind: 'comm'; pid: number; tgid: number }
  | { kind: 'exit'; pid: number; tgid: number }
  /** the socket's buffer overflowed (ENOBUFS): events were lost, re-read /proc */
  | { kind: 'lost' };

/** The subscribe / unsubscribe request (pure). */
export function encodeProcListen(listen: boolean): Buffer {
  const b = Buffer.alloc(CN_MSG_LEN + 4);
  writeU32(b, CN_IDX_PROC, 0);
  writeU32(b, CN_VAL_PROC, 4);
  writeU16(b, 4, 16);
  writeU32(b, listen ? PROC_CN_MCAST_LISTEN : PROC_CN_MCAST_IGNORE, CN_MSG_LEN);
  return encodeMessage({ type: NLMSG_DONE, flags: 0, payload: b });
}

/** A connector message's process event, or undefined for others (acks, other connectors, events we do not use). Pure. */
export function decodeProcEvent(m: NetlinkMessage): ProcEvent | undefined {
  const p = m.payload;
  if (p.length < CN_MSG_LEN + 16 || readU32(p, 0) !== CN_IDX_PROC || readU32(p, 4) !== CN_VAL_PROC) return undefined;
  const ev = CN_MSG_LEN; // struct proc_event: what, cpu, timestamp_ns (u64), then the event's data
  const what = readU32(p, ev);
  const d = ev + 16;
  const need = (n: number): boolean => p.length >= d + 4 * n;
  switch (what) {
    case PROC_EVENT_FORK:
      return need(4) ? { kind: 'fork', parentTgid: readI32(p, d + 4), childPid: readI32(p, d + 8), childTgid: readI32(p, d + 12) } : undefined;
    case PROC_EVENT_EXEC:
      return need(2) ? { kind: 'exec', pid: readI32(p, d), tgid: readI32(p, d + 4) } : undefined;
    case PROC_EVENT_COMM:
      return need(2) ? { kind: 'comm', pid: readI32(p, d), tgid: readI32(p, d + 4) } : undefined;
    case PROC_EVENT_EXIT:
      return need(2) ? { kind: 'exit', pid: readI32(p, d), tgid: readI32(p, d + 4) } : undefined;
    default:
      return undefined;
  }
}

/** the process's pre-opened connector socket (openProcConnector) */
let early: RawSocket | undefined;
/** the watchers on it, and the one subscription they share (undefined while none watches) */
const onEarly = new Set<(ev: ProcEvent) => void>();
let earlyStop: (() => void) | undefined;

/**
 * Open the process's NETLINK_CONNECTOR socket now, in the calling thread's network namespace: called
 * before a setns into another one, it keeps reaching the kernel's proc connector of the initial
 * namespace. Idle (no group, no subscription) until watchProcessEvents uses it. Idempotent; throws
 * SystemError (no AF_NETLINK, out of descriptors...): the caller then goes on without it.
 */
export function openProcConnector(): void {
  if (!early || early.isClosed) early = openMonitorSocket(NETLINK_CONNECTOR, 'proc-connector');
}

/** Whether openProcConnector() holds a socket (for the daemon's log). */
export function hasProcConnector(): boolean {
  return early !== undefined && !early.isClosed;
}

/** Close the pre-opened socket (tests); watchProcessEvents then opens sockets of its own again. */
export function closeProcConnector(): void {
  earlyStop?.();
  earlyStop = undefined;
  onEarly.clear();
  early?.close();
  early = undefined;
}

/** one subscription on a socket (a new one, or the pre-opened one borrowed); returns its end */
function subscribe(cb: (ev: ProcEvent) => void, socket?: RawSocket): () => void {
  const mon = new NetlinkMonitor(
    { protocol: NETLINK_CONNECTOR, groups: CN_IDX_PROC, keepAlive: false, label: 'proc-connector', socket },
    (msgs) => {
      for (const m of msgs) {
        const ev = decodeProcEvent(m);
        if (ev) cb(ev);
      }
    },
    () => cb({ kind: 'lost' }),
  );
  try {
    mon.send(encodeProcListen(true), 'subscribe to process events');
  } catch (e) {
    mon.close();
    throw e;
  }
  return () => {
    try {
      mon.send(encodeProcListen(false), 'unsubscribe from process events');
    } catch {
      // closing (or leaving the group) drops the subscription anyway
    }
    mon.close();
  };
}

/**
 * Subscribe to the process events; returns the function that ends the subscription. Throws
 * SystemError when the kernel refuses (outside the initial network namespace: ECONNREFUSED; no
 * CAP_NET_ADMIN: EPERM). The socket does not keep the process alive. With a pre-opened socket
 * (openProcConnector) the watchers share it and its one subscription (made with the first, ended with
 * the last); else each has a socket of its own, made now.
 */
export function watchProcessEvents(cb: (ev: ProcEvent) => void): () => void {
  if (!early || early.isClosed) return subscribe(cb);
  if (!earlyStop) {
    earlyStop = subscribe((ev) => {
      for (const w of [...onEarly]) w(ev);
    }, early);
  }
  const mine = (ev: ProcEvent) => cb(ev);
  onEarly.add(mine);
  return () => {
    if (!onEarly.delete(mine) || onEarly.size > 0) return;
    earlyStop?.();
    earlyStop = undefined;
  };
}
