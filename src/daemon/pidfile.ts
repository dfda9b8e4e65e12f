// keepalived's pid files: refuse to start while a live process holds one, write ours, remove on exit.
import { mkdirSync, readFileSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DaemonOptions } from './options.js';

export const DEFAULT_PID_FILE = '/run/keepalived.pid';
export const DEFAULT_VRRP_PID_FILE = '/run/keepalived_vrrp.pid';
export const DEFAULT_CHECKERS_PID_FILE = '/run/keepalived_checkers.pid';

/** keepalived's pid directory (use_pid_dir, instance, net_namespace) */
export const PID_DIR = '/run/keepalived';

/** What the configuration says about pid file names (net_namespace or -s, instance, use_pid_dir). */
export interface PidDirSettings {
  netNamespace?: string;
  instance?: string;
  usePidDir?: boolean;
}

/**
 * The pid files this run uses. tskeepalived is one process, so every file gets the same pid.
 * -r / -c default to keepalived's paths; when only -p is given they are derived from it
 * (/x/node1.pid -> /x/node1_vrrp.pid, /x/node1_checkers.pid) so that two daemons started
 * with different -p never share a file.
 * As keepalived 2.2.7, a network namespace, an instance name or use_pid_dir put the defaults in
 * /run/keepalived as keepalived.pid, vrrp.pid, checkers.pid (keepalived_NAME.pid, vrrp_NAME.pid,
 * checkers_NAME.pid with `instance NAME`); with a network namespace NS keepalived bind-mounts
 * /run/keepalived/NS on /run/keepalived in a mount namespace of its own, so from outside they
 * are /run/keepalived/NS/keepalived.pid ...: tskeepalived writes them there directly.
 */
export function pidFilesFor(o: DaemonOptions, runsVrrp: boolean, runsCheckers: boolean, dir: PidDirSettings = {}): string[] {
  const inPidDir = dir.netNamespace !== undefined || dir.instance !== undefined || dir.usePidDir === true;
  const inDir = (name: string) => {
    const base = dir.netNamespace !== undefined ? join(PID_DIR, dir.netNamespace) : PID_DIR;
    return join(base, `${name}${dir.instance !== undefined ? `_${dir.instance}` : ''}.pid`);
  };
  const main = o.pidFile ?? (inPidDir ? inDir('keepalived') : DEFAULT_PID_FILE);
  const derive = (suffix: string, dflt: string) => {
    if (!o.pidFile) return inPidDir ? inDir(suffix) : dflt;
    const base = basename(o.pidFile).replace(/\.pid$/, '');
    return join(dirname(o.pidFile), `${base}_${suffix}.pid`);
  };
  const files = [main];
  if (runsVrrp) files.push(o.vrrpPidFile ?? derive('vrrp', DEFAULT_VRRP_PID_FILE));
  if (runsCheckers) files.push(o.checkersPidFile ?? derive('checkers', DEFAULT_CHECKERS_PID_FILE));
  return [...new Set(files)];
}

export function readPid(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The first pid file held by another live process, with its pid. */
export function heldPidFile(files: string[], self = process.pid): { file: string; pid: number } | undefined {
  for (const file of files) {
    const pid = readPid(file);
    if (pid !== undefined && pid !== self && processAlive(pid)) return { file, pid };
  }
  return undefined;
}

export class PidFiles {
  private written: string[] = [];
  /** directories write() created, deepest first (removed on exit when empty, as keepalived) */
  private madeDirs: string[] = [];

  constructor(readonly files: string[]) {}

  /** Write our pid to every file; throws with a clear message when one cannot be written. */
  write(pid = process.pid): void {
    for (const f of this.files) {
      try {
        const dir = dirname(f);
        const first = mkdirSync(dir, { recursive: true, mode: 0o755 });
        if (first !== undefined) {
          const made: string[] = [];
          for (let d = dir; d.length >= first.length; d = dirname(d)) made.push(d);
          this.madeDirs.push(...made);
        }
        writeFileSync(f, `${pid}\n`, { mode: 0o644 });
        this.written.push(f);
      } catch (e) {
        throw new Error(`cannot write pid file ${f}: ${(e as Error).message}`);
      }
    }
  }

  /** Remove the files we wrote (only while they still hold our pid), then the directories we made if empty. */
  remove(pid = process.pid): void {
    for (const f of this.written.splice(0)) {
      if (readPid(f) !== pid) continue;
      try {
        unlinkSync(f);
      } catch {
        /* already gone */
      }
    }
    for (const d of this.madeDirs.splice(0)) {
      try {
        rmdirSync(d);
      } catch {
        /* not empty (another daemon's files) or gone */
      }
    }
  }
}
