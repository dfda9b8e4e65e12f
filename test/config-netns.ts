// A throwaway network namespace whose only interfaces are lo and eth0 (one end of a veth pair),
// as keepalived's corpus expectations were recorded. Used by the config tests to run both
// keepalived and tskeepalived with the same view of interfaces.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const TSKEEPALIVED = resolve(REPO_ROOT, 'bin/tskeepalived');
export const KEEPALIVED = '/usr/sbin/keepalived';

let counter = 0;

export function canUseNamespaces(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (ip) is not installed';
  return undefined;
}

export function haveKeepalived(): boolean {
  return existsSync(KEEPALIVED);
}

export interface RunResult {
  status: number;
  /** the signal that ended it, when one did (status is then -1) */
  signal?: NodeJS.Signals;
  stdout: string;
  stderr: string;
}

export class TestNamespace {
  readonly name: string;
  private readonly peer: string;
  private created = false;

  constructor(tag: string) {
    const n = counter++;
    this.name = `tkc-${process.pid}-${tag}${n}`;
    this.peer = `tkc${process.pid % 1000000}${n}p`.slice(0, 15);
  }

  create(): void {
    this.destroy();
    const steps: string[][] = [
      ['netns', 'add', this.name],
      ['link', 'add', this.peer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.name],
      ['-n', this.name, 'link', 'set', 'lo', 'up'],
      ['-n', this.name, 'link', 'set', 'eth0', 'up'],
    ];
    for (const s of steps) {
      const r = spawnSync('ip', s, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ip ${s.join(' ')} failed: ${r.stderr}`);
    }
    this.created = true;
  }

  run(cmd: string, args: string[], cwd?: string, timeoutMs = 20000): RunResult {
    const r: SpawnSyncReturns<string> = spawnSync('ip', ['netns', 'exec', this.name, cmd, ...args], {
      encoding: 'utf8',
      cwd,
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: r.status ?? -1, signal: r.signal ?? undefined, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  destroy(): void {
    spawnSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
    spawnSync('ip', ['link', 'del', this.peer], { stdio: 'ignore' });
    this.created = false;
  }

  get exists(): boolean {
    return this.created;
  }
}

/** (file, line) pairs of keepalived-style messages; "(Line N)" belongs to `topFile`. */
export function messageLocations(text: string, topFile: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split(/\n|\|/)) {
    const m = /^\((?:(.*?): )?Line (\d+)\)/.exec(line);
    if (m) out.add(`${m[1] ?? topFile}:${m[2]}`);
  }
  return out;
}
