// Signals Node cannot catch (process.on takes only the named ones, not SIGRTMIN+n): the addon's
// sigaction handler writes each signal's number as one byte to a non-blocking pipe (write() is
// async-signal safe), and the read end is an ordinary stream on Node's event loop.
import { Socket } from 'node:net';
import { native } from './addon.js';
import { SystemError } from './errno.js';

/** SIGRTMIN and SIGRTMAX of the C library the addon was built with (glibc: 34, 64). */
export function realtimeSignalRange(): { min: number; max: number } {
  const [min, max] = native().signalRange();
  return { min, max };
}

type Listener = (signum: number) => void;

let reader: Socket | undefined;
const listeners = new Map<number, Set<Listener>>();

function dispatch(bytes: Buffer): void {
  // several deliveries of one signal before the loop reads them coalesce, as keepalived's do
  for (const signum of new Set(bytes)) for (const l of [...(listeners.get(signum) ?? [])]) l(signum);
}

/**
 * Call onSignal each time one of `signums` is received. The handlers stay installed for the life
 * of the process (a signal nobody listens to any more is read and dropped, not the default
 * action). The pipe does not keep the process alive. Throws SystemError / NativeUnavailableError.
 * @returns a function that removes this listener
 */
export function watchSignals(signums: number[], onSignal: Listener): () => void {
  const fd = native().signalPipe(signums);
  if (fd < 0) throw new SystemError('sigaction', fd, `signals ${signums.join(', ')}`);
  if (!reader) {
    reader = new Socket({ fd, readable: true, writable: false });
    reader.unref();
    reader.on('data', dispatch);
    reader.on('error', () => {
      /* a pipe read error cannot happen short of a closed fd: nothing to do */
    });
  }
  for (const s of signums) {
    let set = listeners.get(s);
    if (!set) listeners.set(s, (set = new Set()));
    set.add(onSignal);
  }
  return () => {
    for (const s of signums) listeners.get(s)?.delete(onSignal);
  };
}
