// A daemon's vty socket in FRR (what vtysh speaks, e.g. /run/frr/bgpd.vty): a Unix stream socket;
// the client sends one command line ended by a NUL byte, the daemon answers with the command's
// output followed by three NUL bytes and one status byte (0: success, 1: warning, 2..: errors such
// as an unknown or incomplete command). A new session starts in view mode: `enable` first.
import { connect, type Socket } from 'node:net';
import { TskeepalivedError } from '../util/errors.js';

export class FrrControlError extends TskeepalivedError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'TSK_ERR_FRR_CONTROL', options);
    this.name = 'FrrControlError';
  }
}

export interface VtyReply {
  status: number;
  output: string;
}

/** One vty session on a daemon's socket: `enable`d, commands in order, one at a time. */
export class FrrVtySession {
  private buf: Buffer = Buffer.alloc(0);
  private waiting?: { resolve: (r: VtyReply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };
  private failed?: Error;

  private constructor(
    private readonly sock: Socket,
    readonly socketPath: string,
    private readonly timeoutMs: number,
  ) {
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', (e) => this.fail(new FrrControlError(`cannot talk to FRR on ${socketPath}: ${e.message}`, { cause: e })));
    sock.on('close', () => this.fail(new FrrControlError(`FRR closed ${socketPath}`)));
  }

  /** Connect and `enable`. */
  static open(socketPath: string, timeoutMs = 5000): Promise<FrrVtySession> {
    return new Promise((resolve, reject) => {
      const sock = connect(socketPath);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new FrrControlError(`FRR did not accept a connection on ${socketPath} within ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(new FrrControlError(`cannot talk to FRR on ${socketPath}: ${e.message}`, { cause: e }));
      });
      sock.once('connect', () => {
        clearTimeout(timer);
        const s = new FrrVtySession(sock, socketPath, timeoutMs);
        s.run('enable').then(
          () => resolve(s),
          (e: Error) => {
            s.close();
            reject(e);
          },
        );
      });
    });
  }

  /** Run one command; rejects when FRR refuses it (status other than 0), with FRR's message. */
  async run(command: string): Promise<string> {
    const r = await this.send(command);
    if (r.status !== 0)
      throw new FrrControlError(`FRR refused '${command}' on ${this.socketPath}: ${r.output.trim().replace(/\s+/g, ' ') || `status ${r.status}`}`);
    return r.output;
  }

  /** Run one command and return its status and output whatever they are. */
  send(command: string): Promise<VtyReply> {
    if (this.failed) return Promise.reject(this.failed);
    if (/[\0\r\n]/.test(command)) return Promise.reject(new FrrControlError('an FRR command is one line'));
    if (this.waiting) return Promise.reject(new FrrControlError('one FRR command at a time'));
    return new Promise<VtyReply>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new FrrControlError(`FRR did not answer '${command}' on ${this.socketPath} within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      this.waiting = { resolve, reject, timer };
      this.sock.write(`${command}\0`);
    });
  }

  close(): void {
    this.failed ??= new FrrControlError('session closed');
    this.sock.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    const end = this.buf.indexOf('\0\0\0');
    if (end < 0 || this.buf.length < end + 4) return;
    const r: VtyReply = { status: this.buf[end + 3]!, output: this.buf.subarray(0, end).toString('utf8') };
    this.buf = this.buf.subarray(end + 4);
    const w = this.waiting;
    this.waiting = undefined;
    if (w) {
      clearTimeout(w.timer);
      w.resolve(r);
    }
  }

  private fail(e: Error): void {
    this.failed ??= e;
    this.sock.destroy();
    const w = this.waiting;
    this.waiting = undefined;
    if (w) {
      clearTimeout(w.timer);
      w.reject(e);
    }
  }
}

/** Open a session, run `fn`, close (also on failure). */
export async function withFrrVty<T>(socketPath: string, timeoutMs: number, fn: (s: FrrVtySession) => Promise<T>): Promise<T> {
  const s = await FrrVtySession.open(socketPath, timeoutMs);
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}
