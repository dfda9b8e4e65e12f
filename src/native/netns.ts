// Entering a network namespace, as keepalived's set_namespaces(): open /run/netns/NAME (what
// `ip netns add NAME` creates) and setns(fd, CLONE_NEWNET) on the calling thread. Called from
// JavaScript this is Node's main thread: every socket the project makes (native raw/netlink
// sockets, node:net, node:dgram, node:tls) is made on it, and every child process (notify and
// check scripts, nft, logger) is forked from it, so all of them live in the namespace. libuv's
// threadpool threads stay where they were: they only do file system work (paths, not
// namespaced, except /proc/sys/net: read and write those synchronously) and getaddrinfo
// (dns.lookup of a host name).
import { closeSync, openSync, readlinkSync } from 'node:fs';
import { native } from './addon.js';
import { describeErrno } from './errno.js';
import { TskeepalivedError } from '../util/errors.js';

/** CLONE_NEWNET of <sched.h> */
export const CLONE_NEWNET = 0x40000000;

/** Where `ip netns` (and keepalived) keep named network namespaces. */
export const NETNS_RUN_DIR = '/run/netns';

export class NetNamespaceError extends TskeepalivedError {
  constructor(
    readonly namespace: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, 'TSK_ERR_NETNS', options);
    this.name = 'NetNamespaceError';
  }
}

export function netNamespacePath(name: string, dir = NETNS_RUN_DIR): string {
  return `${dir}/${name}`;
}

/**
 * Move the calling (main) thread into the network namespace NAME; throws NetNamespaceError
 * ("Failed to open /run/netns/NAME: ..." or "setns() failed: ...").
 */
export function enterNetNamespace(name: string, dir = NETNS_RUN_DIR): void {
  if (name === '' || name.includes('/') || name === '.' || name === '..') throw new NetNamespaceError(name, `invalid network namespace name '${name}'`);
  const path = netNamespacePath(name, dir);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new NetNamespaceError(name, `Failed to open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  try {
    const rc = native().setns(fd, CLONE_NEWNET);
    if (rc < 0) throw new NetNamespaceError(name, `setns() on ${path} failed: ${describeErrno(-rc)}`);
  } finally {
    closeSync(fd);
  }
}

/** The calling thread's network namespace as the kernel names it (`net:[4026531840]`). */
export function threadNetNamespace(): string {
  return readlinkSync('/proc/thread-self/ns/net');
}
