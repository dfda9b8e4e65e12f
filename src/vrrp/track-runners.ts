// Runners feeding tracked statuses: vrrp_script (periodic, async, with rise/fall and timeout)
// and vrrp_track_file (polled integer). Neither ever blocks the event loop.
import { readFile, writeFile, access } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { TrackFile, VrrpScript } from '../config/model.js';
import { runScript } from '../util/run-script.js';
import { scriptSecurityProblem } from '../config/script-security.js';
import { realClock, type Clock } from '../util/clock.js';
import { RiseFall, parseTrackFileValue } from './tracking.js';

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
