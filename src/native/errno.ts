// errno numbers returned by the addon, named through os.constants.errno (portable: glibc and musl).
import { constants } from 'node:os';
import { TskeepalivedError, type ErrnoCode } from '../util/errors.js';

const names = new Map<number, ErrnoCode>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!names.has(value)) names.set(value, name as ErrnoCode);
}

/** "EEXIST" for 17; "E<n>" when unknown. Accepts -errno too. */
export function errnoName(errno: number): ErrnoCode {
  const n = Math.abs(errno);
  return names.get(n) ?? `E${n}`;
}

export const Errno = constants.errno;

const messages: Record<string, string> = {
  EPERM: 'operation not permitted',
  EACCES: 'permission denied',
  ENOENT: 'no such file or directory',
  ESRCH: 'no such process',
  ENODEV: 'no such device',
  ENXIO: 'no such device or address',
  EEXIST: 'file exists',
  EINVAL: 'invalid argument',
  EAGAIN: 'resource temporarily unavailable',
  EADDRNOTAVAIL: 'cannot assign requested address',
  EADDRINUSE: 'address already in use',
  ENETUNREACH: 'network is unreachable',
  EHOSTUNREACH: 'no route to host',
  ENETDOWN: 'network is down',
  EAFNOSUPPORT: 'address family not supported by protocol',
  EPROTONOSUPPORT: 'protocol not supported',
  ENOBUFS: 'no buffer space available',
  EMSGSIZE: 'message too long',
  EOPNOTSUPP: 'operation not supported',
  ENOTSUP: 'operation not supported',
  EBADF: 'bad file descriptor',
  ENOPROTOOPT: 'protocol not available',
};

/** A short human text for an errno ("EEXIST (file exists)"). */
export function describeErrno(errno: number): string {
  const name = errnoName(errno);
  const msg = messages[name];
  return msg ? `${name} (${msg})` : name;
}

/** A failed system call: errno is positive, code is its name. */
export class SystemError extends TskeepalivedError {
  readonly errno: number;
  constructor(
    readonly syscall: string,
    errno: number,
    context?: string,
  ) {
    const n = Math.abs(errno);
    super(`${syscall}${context ? ` (${context})` : ''} failed: ${describeErrno(n)}`, errnoName(n));
    this.name = 'SystemError';
    this.errno = n;
  }
}
