// Runners feeding tracked statuses: vrrp_script (periodic, async, with rise/fall and timeout),
// vrrp_track_file (polled integer) and vrrp_track_process (the kernel's process events, else polled
// /proc). None ever blocks the event loop, except ProcessTracker's first scan at start (a few ms), so
// an instance starts with its real state.
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile, access, readdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { TrackFile, TrackProcess, VrrpScript } from '../config/model.js';
import { runScript } from '../util/run-script.js';
import { scriptSecurityProblem } from '../config/script-security.js';
import { realClock, type Clock } from '../util/clock.js';
import { RiseFall, parseTrackFileValue } from './tracking.js';
import type { ProcEvent } from '../net/proc-connector.js';

export class ScriptTracker {
  private timer: unknown;
  private running = false;
  private stopped = false;
  private readonly rf: RiseFall;
  private listeners: (() => void)[] = [];
  disabled: string | undefined;
  runs = 0;

  constructor(
    readonly def: VrrpScript,
    private readonly log: Logger,
    opts: { enableScriptSecurity: boolean; scriptUser?: string; scriptGroup?: string },
    private readonly clock: Clock = realClock,
  ) {
    this.rf = new RiseFall(def.rise, def.fall, !def.initFail);
    this.user = def.user ?? opts.scriptUser;
    this.group = def.group ?? opts.scriptGroup;
    if (!def.script) this.disabled = 'no script';
    else if (opts.enableScriptSecurity && (this.user === undefined || this.user === 'root')) {
      const problem = scriptSecurityProblem(def.script.argv[0]);
      if (problem) this.disabled = `unsafe script: ${problem}`;
    }
    if (this.disabled) log.warn({ script: def.name, reason: this.disabled }, 'vrrp_script disabled');
  }
  private readonly user: string | undefined;
  private readonly group: string | undefined;

  get ok(): boolean {
    return this.rf.ok;
  }

  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  start(): void {
    if (this.disabled || this.timer || this.stopped) return;
    const tick = () => {
      if (this.stopped) return;
      this.timer = this.clock.setTimeout(tick, Math.max(10, this.def.interval));
      if (this.running) return; // previous run still going: skip this slot
      this.running = true;
      runScript(this.def.script!, { timeoutMs: this.def.timeout || this.def.interval, user: this.user, group: this.group }).then((r) => {
        this.running = false;
        this.runs++;
        if (this.stopped) return;
        const success = r.code === 0 && !r.timedOut;
        if (r.error) this.log.warn({ script: this.def.name, err: r.error }, 'vrrp_script could not run');
        if (this.rf.push(success)) {
          this.log.info({ script: this.def.name }, `VRRP_Script(${this.def.name}) ${this.rf.ok ? 'succeeded' : 'failed'}`);
          for (const l of this.listeners) l();
        }
      });
    };
    tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export class FileTracker {
  private timer: unknown;
  private listeners: (() => void)[] = [];
  value = 0;
  private stopped = false;

  constructor(
    readonly def: TrackFile,
    private readonly log: Logger,
    private readonly pollMs = 200,
    private readonly clock: Clock = realClock,
  ) {}

  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  async start(): Promise<void> {
    const path = this.def.file;
    if (!path) return;
    if (this.def.initFile) {
      let exists = true;
      try {
        await access(path);
      } catch {
        exists = false;
      }
      if (!exists || this.def.initFile.overwrite) {
        try {
          await writeFile(path, `${this.def.initFile.value}\n`);
        } catch (e) {
          this.log.warn({ file: path, err: e }, 'cannot initialise track file');
        }
      }
    }
    this.value = await this.read();
    const poll = async () => {
      if (this.stopped) return;
      const v = await this.read();
      if (v !== this.value) {
        this.value = v;
        this.log.info({ trackFile: this.def.name, value: v }, 'track file value changed');
        for (const l of this.listeners) l();
      }
      if (!this.stopped) this.timer = this.clock.setTimeout(poll, this.pollMs);
    };
    this.timer = this.clock.setTimeout(poll, this.pollMs);
  }

  private async read(): Promise<number> {
    try {
      return parseTrackFileValue(await readFile(this.def.file!, 'utf8'));
    } catch {
      return 0;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
  }
}

/** The kernel's process name (comm) is at most 15 characters. */
const COMM_LEN = 15;

/**
 * Whether one process matches a vrrp_track_process: `process NAME [PARAM...]`. NAME is compared
 * with the process name (comm, truncated to 15 characters as the kernel does) or, with `full_command`,
 * with argv[0]. With parameters: exact (default) = the same parameters, `param_match initial` = the
 * given ones are the first ones, `param_match partial` = the given ones, joined by spaces, start the
 * process's parameters joined by spaces (the last word may be cut).
 */
export function processMatches(def: TrackProcess, comm: string, argv: string[]): boolean {
  const [name, ...params] = def.process;
  if (name === undefined) return false;
  if (def.fullCommand) {
    if (argv[0] !== name) return false;
  } else if (comm !== name.slice(0, COMM_LEN)) return false;
  if (!params.length && def.paramMatch === undefined) return true;
  const args = argv.slice(1);
  if (def.paramMatch === 'partial') return args.join(' ').startsWith(params.join(' '));
  if (def.paramMatch === 'initial') return params.length <= args.length && params.every((p, i) => args[i] === p);
  return params.length === args.length && params.every((p, i) => args[i] === p);
}

/** quorum <= count <= quorum_max */
export function processQuorumUp(def: TrackProcess, count: number): boolean {
  return count >= def.quorum && (def.quorumMax === undefined || count <= def.quorumMax);
}

function parseProc(stat: string, cmdline: string): { comm: string; argv: string[] } | undefined {
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const argv = cmdline.split('\0');
  if (argv.length && argv[argv.length - 1] === '') argv.pop();
  return { comm: stat.slice(open + 1, close), argv };
}

/**
 * vrrp_track_process by polling /proc (keepalived uses the netlink proc connector): every `pollMs`
 * it counts the matching processes (threads are not counted, kernel threads have no argv). The
 * up/down state (quorum) changes after `fork_delay` / `terminate_delay` if it still holds then.
 */
/** Subscribes to the kernel's process events; throws when they are unavailable (VrrpNetIo.watchProcessEvents). */
export type WatchProcessEvents = (cb: (ev: ProcEvent) => void) => () => void;

/**
 * One subscription to the kernel's process events shared by the process trackers of an engine
 * (keepalived too has one proc connector socket): opened with the first subscriber, closed with the
 * last. When the kernel refuses it (outside the initial network namespace), subscribe() returns
 * undefined from then on and the reason is logged once: the trackers poll /proc.
 */
export class ProcEventHub {
  private readonly subscribers = new Set<(ev: ProcEvent) => void>();
  private close: (() => void) | undefined;
  private unavailable: string | undefined;

  constructor(
    private readonly watch: WatchProcessEvents | undefined,
    private readonly log: Logger,
  ) {
    if (!watch) this.unavailable = 'no process event source';
  }

  /** undefined: no events here, poll */
  subscribe(cb: (ev: ProcEvent) => void): (() => void) | undefined {
    if (this.unavailable !== undefined) return undefined;
    if (!this.close) {
      try {
        this.close = this.watch!((ev) => {
          for (const s of [...this.subscribers]) s(ev);
        });
        this.log.info('track_process: process events from the kernel (proc connector)');
      } catch (e) {
        const code = (e as { code?: string }).code ?? String(e);
        this.unavailable = code;
        this.log.info(
          { reason: code },
          `track_process: no process events from the kernel (${code}${code === 'ECONNREFUSED' ? ': it serves the initial network namespace only' : ''}): reading /proc every 500 ms`,
        );
        return undefined;
      }
    }
    this.subscribers.add(cb);
    return () => {
      this.subscribers.delete(cb);
      if (this.subscribers.size === 0 && this.close) {
        this.close();
        this.close = undefined;
      }
    };
  }
}

/**
 * vrrp_track_process: counts the processes matching the definition. With the kernel's process events
 * (a ProcEventHub that has them) the count follows fork / exec / comm / exit at once, only the
 * process concerned being read from /proc, plus a full re-read every `resyncMs` and after lost events;
 * without them /proc is read every `pollMs`.
 */
export class ProcessTracker {
  private timer: unknown;
  private delayTimer: unknown;
  private listeners: (() => void)[] = [];
  private stopped = false;
  private unsubscribe: (() => void) | undefined;
  /** the matching processes (tgids) */
  private pids = new Set<number>();
  /** bumped by every event: a full re-read started before one is stale */
  private generation = 0;
  private rescanQueued = false;
  count = 0;
  /** the state the instances see */
  up = false;

  constructor(
    readonly def: TrackProcess,
    private readonly log: Logger,
    private readonly pollMs = 500,
    private readonly clock: Clock = realClock,
    private readonly procDir = '/proc',
    private readonly events?: ProcEventHub,
    private readonly resyncMs = 10_000,
  ) {}

  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  /** 'events' while the kernel's process events drive the count, else 'poll' */
  get source(): 'events' | 'poll' {
    return this.unsubscribe ? 'events' : 'poll';
  }

  start(): void {
    this.unsubscribe = this.procDir === '/proc' ? this.events?.subscribe((ev) => this.onEvent(ev)) : undefined;
    this.pids = this.scanSync();
    this.count = this.pids.size;
    this.up = processQuorumUp(this.def, this.count);
    this.log.info({ trackProcess: this.def.name, count: this.count }, `Track process ${this.def.name} is ${this.up ? 'UP' : 'DOWN'}`);
    const period = this.unsubscribe ? this.resyncMs : this.pollMs;
    const poll = async () => {
      if (this.stopped) return;
      await this.rescan();
      if (this.stopped) return;
      this.timer = this.clock.setTimeout(poll, period);
    };
    this.timer = this.clock.setTimeout(poll, period);
  }

  /** a full re-read of /proc; dropped if an event came meanwhile (the events are newer) */
  private async rescan(): Promise<void> {
    const g = this.generation;
    const pids = await this.scan();
    if (this.stopped || g !== this.generation) return;
    this.pids = pids;
    if (pids.size !== this.count) this.onCount(pids.size);
  }

  private onEvent(ev: ProcEvent): void {
    if (this.stopped) return;
    this.generation++;
    let changed = false;
    switch (ev.kind) {
      case 'exit':
        if (ev.pid === ev.tgid) changed = this.pids.delete(ev.tgid);
        break;
      case 'fork':
        // a new process starts as a copy of its parent: same name, same command line
        if (ev.childPid === ev.childTgid && this.pids.has(ev.parentTgid)) {
          this.pids.add(ev.childTgid);
          changed = true;
        }
        break;
      case 'exec':
      case 'comm':
        if (ev.pid === ev.tgid) changed = this.check(ev.tgid);
        break;
      case 'lost':
        if (!this.rescanQueued) {
          this.rescanQueued = true;
          this.clock.setTimeout(() => {
            this.rescanQueued = false;
            void this.rescan();
          }, 0);
        }
        return;
    }
    if (changed && this.pids.size !== this.count) this.onCount(this.pids.size);
  }

  /** re-read one process; true when its membership changed */
  private check(tgid: number): boolean {
    let match = false;
    try {
      match = this.matches(readFileSync(`${this.procDir}/${tgid}/stat`, 'utf8'), readFileSync(`${this.procDir}/${tgid}/cmdline`, 'utf8'));
    } catch {
      /* gone meanwhile */
    }
    if (match === this.pids.has(tgid)) return false;
    if (match) this.pids.add(tgid);
    else this.pids.delete(tgid);
    return true;
  }

  private onCount(n: number): void {
    const grew = n > this.count;
    this.count = n;
    const want = processQuorumUp(this.def, n);
    if (this.delayTimer !== undefined) {
      this.clock.clearTimeout(this.delayTimer);
      this.delayTimer = undefined;
    }
    if (want === this.up) return;
    const delay = (grew ? this.def.forkDelay : this.def.terminateDelay) ?? 0;
    if (delay > 0) this.delayTimer = this.clock.setTimeout(() => ((this.delayTimer = undefined), this.set(want)), delay);
    else this.set(want);
  }

  private set(up: boolean): void {
    if (up === this.up || this.stopped) return;
    this.up = up;
    this.log.info({ trackProcess: this.def.name, count: this.count }, `Track process ${this.def.name} is ${up ? 'UP' : 'DOWN'}`);
    for (const l of this.listeners) l();
  }

  /** kernel threads (no argv) never match */
  private matches(stat: string, cmdline: string): boolean {
    const p = parseProc(stat, cmdline);
    return !!p?.argv.length && processMatches(this.def, p.comm, p.argv);
  }

  private scanSync(): Set<number> {
    const out = new Set<number>();
    let pids: string[] = [];
    try {
      pids = readdirSync(this.procDir);
    } catch {
      return out;
    }
    for (const pid of pids) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        if (this.matches(readFileSync(`${this.procDir}/${pid}/stat`, 'utf8'), readFileSync(`${this.procDir}/${pid}/cmdline`, 'utf8'))) out.add(Number(pid));
      } catch {
        /* gone meanwhile */
      }
    }
    return out;
  }

  private async scan(): Promise<Set<number>> {
    const out = new Set<number>();
    let pids: string[] = [];
    try {
      pids = await readdir(this.procDir);
    } catch {
      return out;
    }
    for (const pid of pids) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const [stat, cmdline] = await Promise.all([readFile(`${this.procDir}/${pid}/stat`, 'utf8'), readFile(`${this.procDir}/${pid}/cmdline`, 'utf8')]);
        if (this.matches(stat, cmdline)) out.add(Number(pid));
      } catch {
        /* gone meanwhile */
      }
    }
    return out;
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    if (this.delayTimer !== undefined) this.clock.clearTimeout(this.delayTimer);
  }
}
