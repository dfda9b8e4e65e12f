// Shared helpers for the daemon tests: hand-built configs, a recording engine, an SMTP sink.
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import type { GlobalDefs, KeepalivedConfig } from '../src/config/model.js';
import type { Engine, EngineEvent, EngineEventListener, MetricSample } from '../src/engine-api/types.js';
import { defaultGlobalDefs } from '../src/config/build-global.js';
import { emptyConfig } from '../src/config/build.js';
import { virtualServerDefaults } from '../src/config/build-lvs.js';
import { newInstance } from '../src/config/build-vrrp.js';

export function makeGlobal(g: Partial<GlobalDefs> = {}): GlobalDefs {
  return { ...defaultGlobalDefs(), routerId: 'lb1', ...g };
}

export function makeConfig(c: Partial<KeepalivedConfig> = {}, g: Partial<GlobalDefs> = {}): KeepalivedConfig {
  return { ...emptyConfig('/etc/keepalived/keepalived.conf', 'keepalived'), global: makeGlobal(g), ...c };
}

const loc = { file: 'test.conf', line: 1 };

export function makeInstance(name: string, extra: Record<string, unknown> = {}): KeepalivedConfig['vrrpInstances'][number] {
  return { ...newInstance(name, loc, defaultGlobalDefs()), virtualRouterId: 51, ...extra };
}

export function makeVirtualServer(
  addr: string,
  port: number,
  reals: { address: string; port: number; smtpAlert?: boolean }[],
  extra: Record<string, unknown> = {},
): KeepalivedConfig['virtualServers'][number] {
  return {
    ...virtualServerDefaults(loc),
    key: { kind: 'addr', address: addr, family: 4, port },
    delayLoop: 6000,
    lbAlgo: 'rr',
    realServers: reals.map((r) => ({
      address: r.address,
      family: 4,
      port: r.port,
      weight: 1,
      inhibitOnFailure: false,
      smtpAlert: r.smtpAlert,
      checkers: [],
      loc,
    })),
    ...extra,
  };
}

/** A test double: an Engine that records the calls it gets and emits events on demand. */
export class RecordingEngine implements Engine {
  readonly calls: string[] = [];
  readonly configs: KeepalivedConfig[] = [];
  private listeners: EngineEventListener[] = [];
  state: Record<string, string> = {};
  failOn?: 'start' | 'reload' | 'stop';

  constructor(readonly name: 'vrrp' | 'checkers' | 'bfd') {}

  async start(config: KeepalivedConfig): Promise<void> {
    this.calls.push('start');
    this.configs.push(config);
    if (this.failOn === 'start') throw new Error('boom at start');
    for (const i of config.vrrpInstances) this.state[i.name] = 'BACKUP';
  }
  async reload(config: KeepalivedConfig): Promise<void> {
    this.calls.push('reload');
    this.configs.push(config);
    if (this.failOn === 'reload') throw new Error('boom at reload');
  }
  async stop(opts: { release: boolean }): Promise<void> {
    this.calls.push(`stop:${opts.release}`);
    if (this.failOn === 'stop') throw new Error('boom at stop');
  }
  snapshot(): unknown {
    return { engine: this.name, instances: Object.entries(this.state).map(([name, state]) => ({ name, state })) };
  }
  dumpData(): string {
    return Object.entries(this.state)
      .map(([n, s]) => ` VRRP Instance = ${n}\n   State = ${s}\n`)
      .join('');
  }
  dumpStats(): string {
    return Object.keys(this.state)
      .map((n) => `VRRP Instance: ${n}\n  Advertisements:\n    Received: 0\n    Sent: 0\n`)
      .join('');
  }
  metrics(): MetricSample[] {
    return Object.entries(this.state).map(([name, s]) => ({
      name: 'tskeepalived_vrrp_state',
      help: 'VRRP instance state (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT).',
      type: 'gauge' as const,
      labels: { instance: name },
      value: ({ INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3 } as Record<string, number>)[s] ?? -1,
    }));
  }
  on(listener: EngineEventListener): void {
    this.listeners.push(listener);
  }
  emit(ev: EngineEvent): void {
    if (ev.kind === 'vrrp-instance') this.state[ev.name] = ev.state;
    for (const l of this.listeners) l(ev);
  }
  /** track_bfd / BFD_CHECK input, as the daemon delivers it */
  readonly bfd: [string, boolean][] = [];
  bfdState(name: string, up: boolean): void {
    this.bfd.push([name, up]);
  }
}

export interface ReceivedMail {
  from: string;
  to: string[];
  helo: string;
  raw: string;
  subject: string;
  body: string;
  headers: Record<string, string>;
}

/** A real SMTP server on loopback collecting what it receives. */
export async function startSmtpSink(opts: { rejectWith?: { code: number; message: string } } = {}): Promise<{
  port: number;
  mails: ReceivedMail[];
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    disableReverseLookup: true,
    onMailFrom(_address, _session, cb) {
      if (opts.rejectWith) {
        const err = new Error(opts.rejectWith.message) as Error & { responseCode: number };
        err.responseCode = opts.rejectWith.code;
        cb(err);
        return;
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const [head, ...rest] = raw.split('\r\n\r\n');
        const headers: Record<string, string> = {};
        for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
          const i = line.indexOf(':');
          if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
        }
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          helo: session.hostNameAppearsAs,
          raw,
          subject: headers.subject ?? '',
          body: rest.join('\r\n\r\n').trim(),
          headers,
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    async waitFor(n, timeoutMs = 10000) {
      const until = Date.now() + timeoutMs;
      while (mails.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      return mails;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pino-compatible logger that records records (level, msg, fields). */
export async function recordingLogger(): Promise<{ logger: import('pino').Logger; records: Record<string, unknown>[] }> {
  const { pino } = await import('pino');
  const records: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug', formatters: { level: (label) => ({ level: label }) } }, { write: (line: string) => records.push(JSON.parse(line)) });
  return { logger, records };
}
