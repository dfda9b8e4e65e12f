// What the benches watch a namespace lab with: long-running watchers (tcpdump, ip monitor) as
// lines, their timestamps, and percentiles.
import { spawn, type ChildProcess } from 'node:child_process';

/** The p-th percentile (nearest rank); NaN for no values. */
export function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Lines of a long-running command, with a bounded lifetime. */
export class Tail {
  lines: string[] = [];
  private buf = '';
  constructor(readonly proc: ChildProcess) {
    proc.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      const parts = this.buf.split('\n');
      this.buf = parts.pop() ?? '';
      this.lines.push(...parts);
    });
  }
  stop() {
    this.proc.kill('SIGTERM');
  }
}

export function tcpdump(ns: string, filter: string): Tail {
  return new Tail(
    spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', 'eth0', '-n', '-tt', '-l', '--immediate-mode', filter], { stdio: ['ignore', 'pipe', 'ignore'] }),
  );
}

export function addrMonitor(ns: string): Tail {
  return new Tail(spawn('ip', ['-n', ns, '-ts', 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] }));
}

/** epoch ms of an `ip -ts monitor` line "[2026-11-22T00:02:22.781239] ..." (local time). */
export function monitorTime(line: string): number | undefined {
  const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d+)\]/.exec(line);
  if (!m) return undefined;
  return Date.parse(m[1]) + Number(`0.${m[2]}`) * 1000;
}

/** epoch ms of a tcpdump -tt line */
export function dumpTime(line: string): number | undefined {
  const m = /^(\d+\.\d+) /.exec(line);
  return m ? Number(m[1]) * 1000 : undefined;
}
