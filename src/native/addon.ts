// Locating and loading the compiled addon (build/Release/tskeepalived_native.node).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TskeepalivedError } from '../util/errors.js';

/** The raw syscall surface of src/native/rawsock.c. Every call returns >= 0 or -errno. */
export interface NativeAddon {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: number | Buffer): number;
  getsockopt(fd: number, level: number, name: number, buf: Buffer): number;
  bind(fd: number, sockaddr: Buffer): number;
  sendmsg(fd: number, data: Buffer, sockaddr: Buffer | null, cmsg: Buffer | null): number;
  recvmsg(fd: number, data: Buffer, name: Buffer | null, ctl: Buffer | null): number | [number, number, number, number];
  poll(fd: number, onReadable: (status: number) => void): number;
  pollStop(fd: number): number;
  pollRef(fd: number, keepAlive: boolean): number;
  close(fd: number): number;
  /** setns(2) of the calling thread (the main thread) */
  setns(fd: number, nstype: number): number;
  connect(fd: number, sockaddr: Buffer): number;
  /** a handler for each signal number that writes the number (one byte) to a pipe; returns its read end (one pipe per process) */
  signalPipe(signums: number[]): number;
  /** [SIGRTMIN, SIGRTMAX] of the C library the addon was built with */
  signalRange(): [number, number];
}

export const ADDON_FILE = 'tskeepalived_native.node';

export class NativeUnavailableError extends TskeepalivedError {
  constructor(
    readonly searched: string[],
    readonly causeText: string,
  ) {
    super(
      `native socket layer not built: run npm ci with python3, make and g++ available ` + `(looked for ${searched.join(', ')}; cause: ${causeText})`,
      'TSK_ERR_NATIVE_UNAVAILABLE',
    );
    this.name = 'NativeUnavailableError';
  }
}

/** Candidate addon paths: $TSKEEPALIVED_NATIVE_PATH, else build/Release in each ancestor directory. */
export function addonCandidates(fromDir = dirname(fileURLToPath(import.meta.url))): string[] {
  const override = process.env.TSKEEPALIVED_NATIVE_PATH;
  if (override) return [override];
  const out: string[] = [];
  let dir = fromDir;
  for (let i = 0; i < 6; i++) {
    out.push(join(dir, 'build', 'Release', ADDON_FILE));
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return out;
}

/** Load the addon from the first existing candidate; throws NativeUnavailableError. */
export function loadAddon(candidates = addonCandidates()): NativeAddon {
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new NativeUnavailableError(candidates, 'no compiled addon file found');
  try {
    const req = createRequire(import.meta.url);
    return req(found) as NativeAddon;
  } catch (err) {
    throw new NativeUnavailableError([found], err instanceof Error ? err.message : String(err));
  }
}

let cached: NativeAddon | undefined;

/** The process-wide addon, loaded on first use. */
export function native(): NativeAddon {
  cached ??= loadAddon();
  return cached;
}
