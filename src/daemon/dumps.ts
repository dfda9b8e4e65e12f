// The signal dumps: SIGUSR1 -> $TMPDIR/keepalived.data, SIGUSR2 -> $TMPDIR/keepalived.stats,
// JSON (--json-dump, or keepalived's document on SIGRTMIN+2) -> $TMPDIR/keepalived.json (default /tmp). Written to a temporary name then renamed,
// so a reader never sees half a file.
import { join } from 'node:path';
import type { Engine } from '../engine-api/types.js';
import { writeAtomic } from '../util/write-atomic.js';

export function dumpDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TMPDIR && env.TMPDIR.length > 0 ? env.TMPDIR : '/tmp';
}

export const dumpPaths = (dir = dumpDir()) => ({
  data: join(dir, 'keepalived.data'),
  stats: join(dir, 'keepalived.stats'),
  json: join(dir, 'keepalived.json'),
});

function section(title: string, body: string): string {
  return `------< ${title} >------\n${body.endsWith('\n') || body === '' ? body : body + '\n'}`;
}

export interface DumpHeader {
  routerId: string;
  configFile: string;
  startedAt: number;
}

function headerText(h: DumpHeader): string {
  return section(
    'Global definitions',
    ` Router ID = ${h.routerId}\n Config file = ${h.configFile}\n Started = ${new Date(h.startedAt).toISOString()}\n Pid = ${process.pid}\n`,
  );
}

function safe(fn: () => string, what: string): string {
  try {
    return fn();
  } catch (e) {
    return ` (${what} failed: ${(e as Error).message})\n`;
  }
}

export function dataDumpText(h: DumpHeader, engines: Engine[]): string {
  return (
    headerText(h) +
    engines
      .map((e) =>
        section(
          `${e.name === 'vrrp' ? 'VRRP' : 'Checkers'} data`,
          safe(() => e.dumpData(), 'dump'),
        ),
      )
      .join('')
  );
}

export function statsDumpText(engines: Engine[]): string {
  return engines
    .map((e) =>
      section(
        `${e.name === 'vrrp' ? 'VRRP' : 'Checkers'} statistics`,
        safe(() => e.dumpStats(), 'dump'),
      ),
    )
    .join('');
}

export function writeDataDump(path: string, h: DumpHeader, engines: Engine[]): void {
  writeAtomic(path, dataDumpText(h, engines));
}

export function writeStatsDump(path: string, engines: Engine[]): void {
  writeAtomic(path, statsDumpText(engines));
}

export function writeJsonDump(path: string, status: unknown): void {
  writeAtomic(path, JSON.stringify(status, null, 2) + '\n');
}

/** keepalived's JSON dump: one line, readable by its owner only (keepalived creates it 0600). */
export function writeKeepalivedJson(path: string, doc: unknown[]): void {
  writeAtomic(path, JSON.stringify(doc), 0o600);
}
