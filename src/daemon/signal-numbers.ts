// keepalived's signal functions and their numbers, as `keepalived --signum=FUNC` prints them
// (keepalived 2.2.7: JSON is SIGRTMIN+2, STATS_CLEAR SIGRTMAX-1; TDATA only in builds with
// thread dumps, which Debian's is not: "Unknown sigfunc TDATA"). One table for `--signum` and the
// daemon's handlers. No imports: the command line bundles it.

/** SIGRTMIN / SIGRTMAX of glibc on Linux, when the native layer cannot say (musl's SIGRTMIN is 35) */
export const GLIBC_REALTIME_RANGE = { min: 34, max: 64 };

export type SignalFunction = 'STOP' | 'RELOAD' | 'DATA' | 'STATS' | 'STATS_CLEAR' | 'JSON';

/** The signal number of one of keepalived's signal functions (names as keepalived's, upper case), or undefined. */
export function signalNumber(func: string, rt: { min: number; max: number } = GLIBC_REALTIME_RANGE): number | undefined {
  switch (func) {
    case 'STOP':
      return 15; // SIGTERM
    case 'RELOAD':
      return 1; // SIGHUP
    case 'DATA':
      return 10; // SIGUSR1
    case 'STATS':
      return 12; // SIGUSR2
    case 'STATS_CLEAR':
      return rt.max - 1;
    case 'JSON':
      return rt.min + 2;
    default:
      return undefined;
  }
}
