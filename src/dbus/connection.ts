// A D-Bus client connection on the bus socket: the address (DBUS_SYSTEM_BUS_ADDRESS's unix:path= /
// unix:abstract= forms), SASL EXTERNAL authentication (the kernel passes our uid), Hello, then
// messages both ways: our method calls with their replies (bounded in time), incoming method calls
// handed to `onCall`, signals sent. Nothing here blocks: writes are queued on the socket.
import { connect, type Socket } from 'node:net';
import { TskeepalivedError } from '../util/errors.js';
import { type DbusValue, DbusWireError, decodeMessage, encodeMessage, Flag, type Message, MessageType, messageLength } from './wire.js';

export class DbusError extends TskeepalivedError {
  constructor(
    message: string,
    /** the D-Bus error name of an error reply, when the bus answered one */
    readonly dbusName?: string,
  ) {
    super(message, 'TSK_ERR_DBUS');
    this.name = 'DbusError';
  }
}

/** The system bus when DBUS_SYSTEM_BUS_ADDRESS is not set (the specification's default). */
export const DEFAULT_SYSTEM_BUS = 'unix:path=/var/run/dbus/system_bus_socket';

/** The socket paths of a bus address (several, separated by ';', tried in turn); abstract names start with NUL. */
export function parseBusAddress(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(';')) {
    const t = part.trim();
    if (!t) continue;
    const colon = t.indexOf(':');
    if (colon < 0 || t.slice(0, colon) !== 'unix') continue;
    const kv = new Map<string, string>();
    for (const p of t.slice(colon + 1).split(',')) {
      const eq = p.indexOf('=');
      if (eq > 0) kv.set(p.slice(0, eq), decodeURIComponent(p.slice(eq + 1)));
    }
    const path = kv.get('path');
    const abs = kv.get('abstract');
    if (path) out.push(path);
    else if (abs) out.push(`\0${abs}`);
  }
  if (!out.length) throw new DbusError(`no usable unix: transport in the bus address ${JSON.stringify(text)}`);
  return out;
}

export interface IncomingCall {
  message: Message;
  /** send the method return (no-op when the caller asked for no reply) */
  reply(signature?: string, body?: DbusValue[]): void;
  /** send an error reply */
  error(name: string, text: string): void;
}

export interface BusConnectionOptions {
  /** socket paths from parseBusAddress */
  paths: string[];
  /** ms allowed to connect, authenticate and Hello; and to each call */
  timeoutMs?: number;
  onCall?: (call: IncomingCall) => void;
  onSignal?: (m: Message) => void;
  /** the socket closed or failed after the connection was up (not after close()) */
  onClose?: (err?: Error) => void;
}

const BUS = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' };
const MAX_AUTH_LINE = 16384;

export class BusConnection {
  private sock?: Socket;
  private serial = 0;
  private readonly pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private inbuf: Buffer = Buffer.alloc(0);
  private closed = false;
  /** our unique name (":1.42") once Hello answered */
  uniqueName?: string;

  constructor(private readonly opts: BusConnectionOptions) {}

  private get timeoutMs(): number {
    return this.opts.timeoutMs ?? 5000;
  }

  /** Connect (trying each path), authenticate, Hello. Rejects with a DbusError or the socket error. */
  async open(): Promise<void> {
    let last: Error | undefined;
    for (const p of this.opts.paths) {
      try {
        this.sock = await this.dial(p);
        break;
      } catch (e) {
        last = e as Error;
      }
    }
    const sock = this.sock;
    if (!sock) throw last ?? new DbusError('no bus address');
    try {
      await this.authenticate(sock);
    } catch (e) {
      sock.destroy();
      throw e;
    }
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', () => undefined);
    sock.on('close', () => this.lost(new DbusError('the bus closed the connection')));
    const r = await this.call({ ...BUS, member: 'Hello' });
    this.uniqueName = r.body[0] as string;
  }

  private dial(path: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect({ path });
      const t = setTimeout(() => {
        s.destroy();
        reject(new DbusError(`connecting to ${path.replace('\0', '@')} timed out`));
      }, this.timeoutMs);
      s.once('connect', () => {
        clearTimeout(t);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  /** SASL: NUL, AUTH EXTERNAL <hex uid>, OK <guid>, BEGIN (the data after BEGIN is D-Bus). */
  private authenticate(sock: Socket): Promise<void> {
    return new Promise((resolve, reject) => {
      let text = '';
      const done = (e?: Error) => {
        clearTimeout(timer);
        sock.removeListener('data', onData);
        sock.removeListener('close', onClose);
        sock.removeListener('error', onClose);
        if (e) reject(e);
        else resolve();
      };
      const onClose = (e?: Error) => done(e instanceof Error ? e : new DbusError('the bus closed the connection during authentication'));
      const onData = (d: Buffer) => {
        text += d.toString('latin1');
        if (text.length > MAX_AUTH_LINE) {
          done(new DbusError('the bus sent an over-long authentication line'));
          return;
        }
        const nl = text.indexOf('\r\n');
        if (nl < 0) return;
        const line = text.slice(0, nl);
        if (line.startsWith('OK ')) {
          sock.write('BEGIN\r\n');
          done();
        } else done(new DbusError(`the bus refused EXTERNAL authentication: ${line}`));
      };
      const timer = setTimeout(() => done(new DbusError('the bus did not answer authentication in time')), this.timeoutMs);
      sock.on('data', onData);
      sock.on('close', onClose);
      sock.on('error', onClose);
      const uid = String(process.getuid?.() ?? 0);
      sock.write(Buffer.concat([Buffer.from([0]), Buffer.from(`AUTH EXTERNAL ${Buffer.from(uid).toString('hex')}\r\n`)]));
    });
  }

  private onData(d: Buffer): void {
    this.inbuf = this.inbuf.length ? Buffer.concat([this.inbuf, d]) : d;
    for (;;) {
      const len = messageLength(this.inbuf);
      if (len === undefined) return;
      if (len instanceof DbusWireError) {
        this.fail(len);
        return;
      }
      if (this.inbuf.length < len) return;
      const one = this.inbuf.subarray(0, len);
      this.inbuf = this.inbuf.subarray(len);
      const m = decodeMessage(Buffer.from(one));
      if (m instanceof DbusWireError) {
        this.fail(m);
        return;
      }
      this.dispatch(m);
    }
  }

  private fail(e: Error): void {
    this.sock?.destroy();
    this.lost(e);
  }

  private lost(e: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
    this.opts.onClose?.(e);
  }

  private dispatch(m: Message): void {
    if (m.type === MessageType.methodReturn || m.type === MessageType.error) {
      const p = m.replySerial !== undefined ? this.pending.get(m.replySerial) : undefined;
      if (!p) return;
      this.pending.delete(m.replySerial as number);
      clearTimeout(p.timer);
      if (m.type === MessageType.error) p.reject(new DbusError(`${m.errorName}: ${typeof m.body[0] === 'string' ? m.body[0] : ''}`, m.errorName));
      else p.resolve(m);
      return;
    }
    if (m.type === MessageType.signal) {
      this.opts.onSignal?.(m);
      return;
    }
    const wantsReply = (m.flags & Flag.noReplyExpected) === 0;
    const to = m.sender;
    this.opts.onCall?.({
      message: m,
      reply: (signature = '', body = []) => {
        if (wantsReply) this.send({ type: MessageType.methodReturn, flags: Flag.noReplyExpected, replySerial: m.serial, destination: to, signature, body });
      },
      error: (name, text) => {
        if (wantsReply)
          this.send({
            type: MessageType.error,
            flags: Flag.noReplyExpected,
            replySerial: m.serial,
            destination: to,
            errorName: name,
            signature: 's',
            body: [text],
          });
      },
    });
  }

  get connected(): boolean {
    return !this.closed && this.sock !== undefined && !this.sock.destroyed;
  }

  private send(m: Omit<Message, 'serial' | 'signature' | 'body'> & { signature?: string; body?: DbusValue[] }): number {
    const serial = (this.serial = (this.serial % 0xfffffffe) + 1);
    if (!this.connected) return serial;
    this.sock?.write(encodeMessage({ ...m, serial }));
    return serial;
  }

  /** A method call; resolves with the return, rejects with a DbusError (error reply, timeout, connection lost). */
  call(c: { destination: string; path: string; interface?: string; member: string; signature?: string; body?: DbusValue[] }): Promise<Message> {
    return new Promise((resolve, reject) => {
      if (!this.sock || this.closed) return reject(new DbusError('not connected to the bus'));
      const serial = this.send({ type: MessageType.methodCall, flags: 0, ...c });
      const timer = setTimeout(() => {
        this.pending.delete(serial);
        reject(new DbusError(`${c.interface ?? ''}.${c.member} got no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(serial, { resolve, reject, timer });
    });
  }

  /** A broadcast signal (no destination). */
  signal(path: string, iface: string, member: string, signature = '', body: DbusValue[] = []): void {
    this.send({ type: MessageType.signal, flags: Flag.noReplyExpected, path, interface: iface, member, signature, body });
  }

  /** org.freedesktop.DBus.RequestName: 1 primary owner, 2 queued, 3 exists, 4 already the owner. */
  async requestName(name: string, flags = 0): Promise<number> {
    const r = await this.call({ ...BUS, member: 'RequestName', signature: 'su', body: [name, flags] });
    return r.body[0] as number;
  }

  async releaseName(name: string): Promise<number> {
    const r = await this.call({ ...BUS, member: 'ReleaseName', signature: 's', body: [name] });
    return r.body[0] as number;
  }

  /** Close after what is queued is written (end), or at once after `graceMs`. */
  close(graceMs = 500): Promise<void> {
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new DbusError('connection closed'));
    }
    this.pending.clear();
    const s = this.sock;
    if (!s || s.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        s.destroy();
        resolve();
      }, graceMs);
      t.unref();
      s.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      s.end();
    });
  }
}
