// notify_fifo / vrrp_notify_fifo / lvs_notify_fifo: keepalived's line protocol on a named pipe.
//   INSTANCE "VI_1" MASTER 100        GROUP "G1" BACKUP 0
//   RS [192.168.1.10]:tcp:80 [10.0.0.1]:tcp:80 UP        VS [10.0.0.1]:tcp:80 DOWN
// As keepalived does: create the FIFO if missing (mode 0644), start the fifo script with the
// FIFO path as its last argument, open the FIFO read-write and non-blocking (so a missing
// reader never blocks), drop a line when the pipe is full, remove the FIFO we created on close.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants as fsc, lstatSync, openSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import type { Logger } from 'pino';
import type { FifoSpec } from '../config/model.js';
import type { EngineEvent } from '../engine-api/types.js';
import { lookupGroup, lookupUser } from '../util/run-script.js';

/** The fifo line for an event (with trailing newline), or undefined for events keepalived does not report. */
export function fifoLine(ev: EngineEvent): string | undefined {
  switch (ev.kind) {
    case 'vrrp-instance':
      if (ev.state === 'INIT') return undefined;
      return `INSTANCE "${ev.name}" ${ev.state} ${ev.priority}\n`;
    case 'vrrp-group':
      return `GROUP "${ev.name}" ${ev.state} 0\n`;
    case 'real-server':
      return `RS ${ev.realServer} ${ev.virtualServer} ${ev.up ? 'UP' : 'DOWN'}\n`;
    case 'virtual-server-quorum':
      return `VS ${ev.virtualServer} ${ev.up ? 'UP' : 'DOWN'}\n`;
  }
}

export function isVrrpEvent(ev: EngineEvent): boolean {
  return ev.kind === 'vrrp-instance' || ev.kind === 'vrrp-group';
}

export class NotifyFifo {
  private fd = -1;
  private created = false;
  private script?: ChildProcess;
  dropped = 0;
  written = 0;

  constructor(
    readonly spec: FifoSpec,
    /** '', 'vrrp_' or 'lvs_' as in keepalived's messages */
    readonly kind: string,
    private readonly log: Logger,
  ) {}

  get isOpen(): boolean {
    return this.fd >= 0;
  }

  open(): boolean {
    const path = this.spec.path;
    let st: Stats | undefined;
    try {
      st = lstatSync(path);
    } catch {
      st = undefined;
    }
    if (st && !st.isFIFO()) {
      this.log.error({ fifo: path }, `Unable to create ${this.kind}notify fifo ${path}: it exists and is not a FIFO`);
      return false;
    }
    if (!st) {
      try {
        execFileSync('mkfifo', ['-m', '0644', path], { stdio: 'pipe' });
        this.created = true;
      } catch (e) {
        const err = e as { stderr?: Buffer; message: string };
        this.log.error({ fifo: path }, `Unable to create ${this.kind}notify fifo ${path}: ${err.stderr?.toString().trim() || err.message}`);
        return false;
      }
    }
    if (this.spec.script) this.startScript();
    try {
      this.fd = openSync(path, fsc.O_RDWR | fsc.O_NONBLOCK | fsc.O_NOFOLLOW);
    } catch (e) {
      this.log.error({ fifo: path }, `Unable to open ${this.kind}notify fifo ${path}: ${(e as Error).message}`);
      this.stopScript();
      this.removeIfCreated();
      return false;
    }
    this.log.info({ fifo: path }, `opened ${this.kind}notify fifo ${path}`);
    return true;
  }

  write(line: string): void {
    if (this.fd < 0) return;
    try {
      writeSync(this.fd, line);
      this.written++;
    } catch (e) {
      // EAGAIN: pipe full and nobody reading; keepalived drops the line too
      this.dropped++;
      this.log.debug({ fifo: this.spec.path, err: e }, 'notify fifo write dropped');
    }
  }

  close(): void {
    // unlink first so a script that reopens the fifo in a loop cannot reopen it
    this.removeIfCreated();
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        /* ignore */
      }
      this.fd = -1;
    }
    this.stopScript();
  }

  private removeIfCreated(): void {
    if (!this.created) return;
    try {
      unlinkSync(this.spec.path);
    } catch {
      /* gone */
    }
    this.created = false;
  }

  private startScript(): void {
    const s = this.spec.script!;
    if (s.argv.length === 0) return;
    let uid: number | undefined;
    let gid: number | undefined;
    if (s.user) {
      const u = lookupUser(s.user);
      if (!u) {
        this.log.error({ fifo: this.spec.path }, `${this.kind}notify fifo script: unknown user '${s.user}'`);
        return;
      }
      ({ uid, gid } = u);
    }
    if (s.group) gid = lookupGroup(s.group) ?? gid;
    try {
      const child = spawn(s.argv[0], [...s.argv.slice(1), this.spec.path], { stdio: 'ignore', detached: true, uid, gid });
      child.on('error', (e) => this.log.error({ fifo: this.spec.path, script: s.command }, `${this.kind}notify fifo script failed to start: ${e.message}`));
      child.on('exit', (code, signal) => {
        if (this.script === child) this.script = undefined;
        this.log.info({ fifo: this.spec.path, code, signal }, `${this.kind}notify fifo script exited`);
      });
      child.unref();
      this.script = child;
    } catch (e) {
      this.log.error({ fifo: this.spec.path }, `${this.kind}notify fifo script failed to start: ${(e as Error).message}`);
    }
  }

  private stopScript(): void {
    const child = this.script;
    this.script = undefined;
    if (!child?.pid) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
}

/** The three fifos of global_defs, routed as keepalived routes them. */
export class FifoSet {
  private readonly all: { fifo: NotifyFifo; accepts: (ev: EngineEvent) => boolean }[] = [];

  constructor(specs: { notify?: FifoSpec; vrrp?: FifoSpec; lvs?: FifoSpec }, log: Logger) {
    if (specs.notify) this.all.push({ fifo: new NotifyFifo(specs.notify, '', log), accepts: () => true });
    if (specs.vrrp) this.all.push({ fifo: new NotifyFifo(specs.vrrp, 'vrrp_', log), accepts: isVrrpEvent });
    if (specs.lvs) this.all.push({ fifo: new NotifyFifo(specs.lvs, 'lvs_', log), accepts: (ev) => !isVrrpEvent(ev) });
  }

  open(): void {
    for (const f of this.all) f.fifo.open();
  }

  handle(ev: EngineEvent): void {
    const line = fifoLine(ev);
    if (!line) return;
    for (const f of this.all) if (f.accepts(ev)) f.fifo.write(line);
  }

  close(): void {
    for (const f of this.all) f.fifo.close();
  }

  get fifos(): NotifyFifo[] {
    return this.all.map((f) => f.fifo);
  }
}
