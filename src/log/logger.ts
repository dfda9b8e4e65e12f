// The daemon's pino logger and where its records go:
//  -l        human-readable single lines on stderr (the console)
//  (no -l)   JSON lines on stdout when stdout is not a TTY (containers, systemd with -n)
//  -g FILE   human-readable lines appended to FILE as well
//  not -G    syslog (facility LOG_DAEMON, or LOG_LOCALn with -S n); falls back to stderr, saying so
//  -D        detail: debug level
// Subsystems log through child loggers: logger.child({ subsystem: 'vrrp' }).
import { openSync, writeSync, closeSync } from 'node:fs';
import { pino, type Logger, type StreamEntry, type Level } from 'pino';
import { formatLine, formatRecord } from './format.js';
import { facilityFromCli, openSyslog, severityOf, type SyslogSink } from './syslog.js';

export type { Logger } from 'pino';

export interface LogOptions {
  console: boolean;
  detail: boolean;
  /** -S n: LOG_LOCALn */
  facility?: number;
  file?: string;
  noSyslog: boolean;
  /** JSON lines on stdout; default: when stdout is not a TTY and -l is not given */
  jsonStdout?: boolean;
  ident?: string;
  /** where syslog lives (tests) */
  syslogPath?: string;
}

/** The command line's log flags (-l, -D, -S, -g, -G); src/cli parses them. */
export interface LogFlags {
  logConsole: boolean; // -l
  logDetail: boolean; // -D
  logFacility?: number; // -S
  logFile?: string; // -g
  noSyslog: boolean; // -G
}

export function logOptionsFromCli(o: LogFlags): LogOptions {
  return {
    console: o.logConsole,
    detail: o.logDetail,
    facility: o.logFacility,
    file: o.logFile,
    noSyslog: o.noSyslog,
  };
}

export interface LoggerHandle {
  logger: Logger;
  /** what the setup could not do (e.g. syslog unavailable), already logged as warnings */
  notes: string[];
  syslogTransport?: 'native' | 'logger' | 'stderr';
  /** change the syslog ident (keepalived appends _NAMESPACE and _INSTANCE once the config is read); no-op without syslog */
  setSyslogIdent(ident: string): void;
  close(): void;
}

interface LineStream {
  write(line: string): void;
}

function humanStream(write: (text: string) => void): LineStream {
  return { write: (line) => write(formatLine(line) + '\n') };
}

function syslogStream(sink: SyslogSink): LineStream {
  return {
    write(line) {
      try {
        const rec = JSON.parse(line) as Record<string, unknown>;
        const text = formatRecord({ ...rec, time: undefined }).replace(/^\S+ \S+ \S+\s+/, '');
        sink.send(severityOf(String(rec.level)), text);
      } catch {
        /* never let logging take the daemon down */
      }
    },
  };
}

export async function createLogger(opts: LogOptions): Promise<LoggerHandle> {
  const level: Level = opts.detail ? 'debug' : 'info';
  const streams: StreamEntry[] = [];
  const notes: string[] = [];
  const closers: (() => void)[] = [];
  let syslogTransport: LoggerHandle['syslogTransport'];
  let syslogSink: SyslogSink | undefined;

  if (opts.console) streams.push({ level, stream: humanStream((t) => process.stderr.write(t)) });
  const jsonStdout = opts.jsonStdout ?? (!opts.console && !process.stdout.isTTY);
  if (jsonStdout) streams.push({ level, stream: { write: (line: string) => process.stdout.write(line) } });
  if (opts.file) {
    try {
      const fd = openSync(opts.file, 'a');
      closers.push(() => closeSync(fd));
      streams.push({ level, stream: humanStream((t) => writeSync(fd, t)) });
    } catch (e) {
      notes.push(`cannot open log file ${opts.file}: ${(e as Error).message}`);
    }
  }
  if (!opts.noSyslog) {
    const { sink, reason } = await openSyslog(facilityFromCli(opts.facility), opts.ident ?? 'Keepalived', opts.syslogPath);
    if (sink) {
      syslogSink = sink;
      syslogTransport = sink.transport;
      streams.push({ level, stream: syslogStream(sink) });
      closers.push(() => sink.close());
    } else {
      syslogTransport = 'stderr';
      notes.push(`syslog unavailable (${reason}); logging to stderr instead (use -G to silence, -l for the console)`);
      if (!opts.console) streams.push({ level, stream: humanStream((t) => process.stderr.write(t)) });
    }
  }
  if (streams.length === 0) streams.push({ level: 'fatal', stream: { write: () => {} } });

  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.epochTime,
      formatters: { level: (label) => ({ level: label }) },
      // errors are logged as { err }: type, message, code and stack (the human lines show the message)
      serializers: { err: pino.stdSerializers.err },
    },
    pino.multistream(streams, { dedupe: false }),
  );
  for (const n of notes) logger.warn(n);
  return {
    logger,
    notes,
    syslogTransport,
    setSyslogIdent(ident) {
      syslogSink?.setIdent(ident);
    },
    close() {
      for (const c of closers.splice(0)) {
        try {
          c();
        } catch {
          /* ignore */
        }
      }
    },
  };
}

/** A logger that discards everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
