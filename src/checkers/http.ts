// HTTP_GET / SSL_GET as keepalived 2.2.7 runs them (check_http.c, check_ssl.c, lib/html.c; genhash
// shares that code): a fresh TCP (or TLS) connection per url, the request written as keepalived's
// template, the response read until the server closes the connection, then the status code, the
// MD5 digest of the body and the regex are judged. Nothing is buffered: the body is digested as
// it arrives and the regex runs over a sliding window (keepalived matches each 4 KB read, keeping
// the tail of a partial match).
//
// On the wire, per http_protocol (absent = 1.0):
//   GET <path> HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: <host>\r\n\r\n                       1.0
//   GET <path> HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: <host>\r\n\r\n  1.0C
//   GET <path> HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: <host>\r\n\r\n  1.1
// <host> is the virtualhost (url > checker > real server > virtual server), else ADDR:PORT of the
// connection ([ADDR]:PORT for IPv6). SNI (SSL_GET with enable_sni) is the url's, the checker's or the
// virtual server's virtualhost: keepalived does not use the real server's there.
import { createHash, type Hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, createSecureContext, type SecureContext, connect as tlsConnect } from 'node:tls';
import { type HttpCheck, type HttpUrl, type SslSettings, unpackLoc } from '../config/model.js';
import { nativeStreamSocket, wantsNativeSocket } from './native-socket.js';
import { countOf, itemAt } from '../config/exact.js';
import { type CheckResult, type CheckTarget, errorReason, fail, pass } from './types.js';

export function statusAccepted(url: HttpUrl, status: number): boolean {
  if (url.statusCodes.length === 0) return status >= 200 && status <= 299;
  return url.statusCodes.some((r) => status >= r.from && status <= r.to);
}

/** The request keepalived 2.2.7 writes for one url (its request_template), as latin1 text. */
export function httpRequestText(path: string, protocol: HttpCheck['httpProtocol'], vhost: string | undefined, target: CheckTarget): string {
  const version = protocol === '1.1' ? '1.1' : '1.0';
  const connection = protocol === '1.0C' || protocol === '1.1' ? 'Connection: close\r\n' : '';
  const host = vhost ?? (target.family === 6 ? `[${target.address}]:${target.port}` : `${target.address}:${target.port}`);
  return `GET ${path} HTTP/${version}\r\nUser-Agent: KeepAliveClient\r\n${connection}Host: ${host}\r\n\r\n`;
}

/** keepalived reads the response into a 4,096-byte buffer: the header must end within it */
export const MAX_HEADER_BYTES = 4095;
const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
/** bytes kept between reads for the regex: a match up to this long is found across read boundaries */
export const REGEX_WINDOW = 4095;

/**
 * The status code as keepalived reads it (extract_status_code): the word after the first space of
 * the status line, exactly three digits followed by a space; anything else is 0 (a failure).
 */
export function parseStatusCode(head: string): number {
  let i = 0;
  while (i < head.length && head[i] !== ' ' && head[i] !== '\r') i++;
  if (head[i] !== ' ') return 0;
  i++;
  if (i + 3 >= head.length || head[i + 3] !== ' ') return 0;
  let code = 0;
  for (let k = i; k < i + 3; k++) {
    const d = head.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return 0;
    code = code * 10 + d;
  }
  return code;
}

/**
 * The body length announced by the header as keepalived reads it (extract_content_length): the
 * first "Content-Length:" (case as written), a decimal number ending the line; else -1 (read to the
 * end of the connection). The digest covers at most that many body bytes.
 */
export function parseContentLength(head: string): number {
  const at = head.indexOf('Content-Length:');
  if (at < 0) return -1;
  const m = /^[ \t]*(\d+)(?:\r|\n|$)/.exec(head.slice(at + 15, at + 15 + 40));
  return m ? Number(m[1]) : -1;
}

// ------------------------------------------------------------------ TLS context

/** One TLS client context per SSL block (keepalived's single SSL_CTX), built on the first SSL_GET. */
const tlsContexts = new WeakMap<SslSettings, SecureContext | Error>();
const NO_SSL_BLOCK: SslSettings = { loc: { file: '', line: 0 } };

function secureContextFor(ssl: SslSettings): SecureContext | Error {
  let c = tlsContexts.get(ssl);
  if (c === undefined) {
    try {
      const read = (f: string | undefined, what: string): Buffer | undefined => {
        if (f === undefined) return undefined;
        try {
          return readFileSync(f);
        } catch (e) {
          throw new Error(`SSL error: cannot load ${what} file ${f} (${(e as NodeJS.ErrnoException).code ?? errorReason(e)})`);
        }
      };
      const cert = read(ssl.certificate, 'certificate');
      const key = read(ssl.key, 'key');
      const ca = read(ssl.ca, 'CA');
      c = createSecureContext({
        ...(cert ? { cert } : {}),
        ...(key ? { key } : {}),
        ...(ssl.password !== undefined ? { passphrase: ssl.password } : {}),
        // the CA file counts only when verification is on (keepalived loads it and never verifies)
        ...(ca && ssl.verifyCert ? { ca } : {}),
      });
    } catch (e) {
      c = e instanceof Error && e.message.startsWith('SSL error') ? e : new Error(`SSL error: ${errorReason(e)}`);
    }
    tlsContexts.set(ssl, c);
  }
  return c;
}

// ------------------------------------------------------------------ one url

type ConnectOptions = ConnectionOptions & { localAddress?: string; localPort?: number };

/**
 * The url regexes, compiled once per distinct text and shared by every url that has it (a RegExp
 * without the g or y flag keeps no state between test() calls); the Error when it does not compile.
 * Nothing is kept per url or per real server: the request text and the connect options are built
 * on each check (a few hundred bytes of young garbage, cheap next to the connection itself).
 */
const regexes = new Map<string, RegExp | Error>();

function regexFor(text: string): RegExp | Error {
  let r = regexes.get(text);
  if (r === undefined) {
    try {
      r = new RegExp(text);
    } catch (e) {
      r = e instanceof Error ? e : new Error(String(e));
    }
    regexes.set(text, r);
  }
  return r;
}

/** net.connect / tls.connect options for one check, or why the check cannot be made */
function connectOptions(cfg: HttpCheck, target: CheckTarget, sni: string | undefined, ssl: SslSettings | undefined): ConnectOptions | string {
  const connect: ConnectOptions = { host: target.address, port: target.port };
  if (cfg.bindto) connect.localAddress = cfg.bindto;
  if (cfg.bindPort) connect.localPort = cfg.bindPort;
  if (cfg.type === 'SSL_GET') {
    const ctx = secureContextFor(ssl ?? NO_SSL_BLOCK);
    if (ctx instanceof Error) return ctx.message;
    connect.secureContext = ctx;
    // keepalived never verifies the server's certificate; verify_cert (extension) does, against
    // the SSL block's ca (or the system's CAs), for the SNI name or else the address
    connect.rejectUnauthorized = ssl?.verifyCert === true;
    if (sni !== undefined) connect.servername = sni;
  }
  return connect;
}

interface UrlOutcome {
  ok: boolean;
  reason: string;
}

const OK: UrlOutcome = { ok: true, reason: '' };

/** attempts in flight, so that the engine's stop can end them */
const live = new Set<UrlAttempt>();

/** End every HTTP check in flight (engine stop): each resolves as aborted. */
export async function abortHttpChecks(): Promise<void> {
  for (const a of [...live]) a.abort();
}

function onTimer(a: UrlAttempt): void {
  a.timeout();
}

/**
 * One GET on its own connection. Timeouts as keepalived's: connect (with the TLS handshake) within
 * connect_timeout; then the response: for HTTP each read within connect_timeout of the previous
 * one (a body that keeps flowing is read to its end), for HTTPS the whole response within
 * connect_timeout of the request (keepalived's SSL reader carries the remaining time over).
 */
class UrlAttempt {
  private sock: Socket | undefined;
  private readonly timer: NodeJS.Timeout;
  private connected = false;
  private finished = false;
  /** header bytes received so far while the header end is not seen */
  private pending: Buffer | undefined;
  private extracted = false;
  private status = 0;
  /** body bytes still to digest; -1 = to the end of the connection */
  private digestLeft = -1;
  private readonly md5: Hash | undefined;
  /** the regex's window: the last REGEX_WINDOW bytes seen, where a match may still begin */
  private regexTail: Buffer | undefined;
  private regexMatched = false;
  private readonly onAbortSignal: (() => void) | undefined;

  constructor(
    private readonly cfg: HttpCheck,
    private readonly url: HttpUrl,
    private readonly regex: RegExp | undefined,
    private readonly request: string,
    private readonly signal: AbortSignal | undefined,
    private readonly resolve: (o: UrlOutcome) => void,
  ) {
    this.md5 = url.digest !== undefined ? createHash('md5') : undefined;
    this.timer = setTimeout(onTimer, cfg.connectTimeout, this);
    if (signal) {
      this.onAbortSignal = () => this.abort();
      signal.addEventListener('abort', this.onAbortSignal, { once: true });
    }
  }

  /** `pre`: a socket with fwmark / bind_if set (nativeStreamSocket), connected here */
  start(connect: ConnectOptions, pre?: Socket): void {
    live.add(this);
    const tls = this.cfg.type === 'SSL_GET';
    let s: Socket;
    if (pre) {
      const to = { host: connect.host!, port: connect.port! };
      if (tls) {
        pre.connect(to);
        s = tlsConnect({ ...connect, socket: pre }, () => this.onConnected());
      } else s = pre.connect(to, () => this.onConnected());
    } else s = tls ? tlsConnect(connect, () => this.onConnected()) : netConnect(connect as Parameters<typeof netConnect>[0], () => this.onConnected());
    this.sock = s;
    s.on('data', (d: Buffer) => this.onData(d));
    s.on('end', () => this.onEnd());
    s.on('error', (e: Error) => this.onError(e));
    s.on('close', () => {
      // normally after 'end' or 'error' (finished): no Error is built then
      if (!this.finished) this.onError(new Error('connection closed'));
    });
  }

  abort(): void {
    this.finish({ ok: false, reason: 'aborted' });
  }

  timeout(): void {
    const ms = this.cfg.connectTimeout;
    const path = this.url.path;
    this.finish({
      ok: false,
      reason: this.connected ? `timeout reading the response to ${path} after ${ms} ms` : `timeout connecting for ${path} after ${ms} ms`,
    });
  }

  private onConnected(): void {
    if (this.finished) return;
    this.connected = true;
    this.timer.refresh();
    this.sock!.write(this.request, 'latin1');
  }

  private onData(d: Buffer): void {
    if (this.finished) return;
    if (this.cfg.type === 'HTTP_GET') this.timer.refresh();
    if (this.extracted) {
      this.body(d);
      return;
    }
    // the header: keepalived looks for its end in the first 4,095 bytes only
    const buf = this.pending ? Buffer.concat([this.pending, d]) : d;
    const end = buf.indexOf(HEADER_END);
    if (end < 0 || end + 4 > MAX_HEADER_BYTES) {
      if (buf.length >= MAX_HEADER_BYTES) {
        this.finish({ ok: false, reason: `no response header end within ${MAX_HEADER_BYTES} bytes from ${this.url.path}` });
        return;
      }
      this.pending = buf === d ? Buffer.from(d) : buf;
      return;
    }
    this.pending = undefined;
    this.extracted = true;
    const head = buf.toString('latin1', 0, end + 2);
    this.status = parseStatusCode(head);
    this.digestLeft = parseContentLength(head);
    // keepalived's first regex subject is its first buffer, the header included
    if (this.regex) this.match(buf);
    if (end + 4 < buf.length) this.digest(buf.subarray(end + 4));
  }

  private body(d: Buffer): void {
    this.digest(d);
    if (this.regex) this.match(d);
  }

  private digest(d: Buffer): void {
    if (this.md5 && this.digestLeft !== 0) {
      if (this.digestLeft < 0) this.md5.update(d);
      else {
        const n = Math.min(this.digestLeft, d.length);
        this.md5.update(n === d.length ? d : d.subarray(0, n));
        this.digestLeft -= n;
      }
    }
  }

  /** the regex over the window (the previous tail + this data); a match ends the matching */
  private match(d: Buffer): void {
    if (this.regexMatched) return;
    const subject = this.regexTail ? Buffer.concat([this.regexTail, d]) : d;
    if (this.regex!.test(subject.toString('latin1'))) {
      this.regexMatched = true;
      this.regexTail = undefined;
      return;
    }
    // a copy: the tail must not keep the whole read buffer alive
    this.regexTail = Buffer.from(subject.subarray(Math.max(0, subject.length - REGEX_WINDOW)));
  }

  /** the server closed the connection: the response is complete */
  private onEnd(): void {
    if (this.finished) return;
    this.finish(this.verdict());
  }

  private onError(e: Error): void {
    if (this.finished) return;
    const path = this.url.path;
    if (!this.connected) {
      const what = this.cfg.type === 'SSL_GET' ? ' (connect/SSL handshake)' : '';
      this.finish({ ok: false, reason: `${errorReason(e)}${what} on ${path}` });
      return;
    }
    // keepalived's SSL reader judges what it has on any read error; its HTTP reader fails
    if (this.cfg.type === 'SSL_GET' && this.extracted) this.finish(this.verdict());
    else this.finish({ ok: false, reason: `read error: ${errorReason(e)} on ${path}` });
  }

  private finish(o: UrlOutcome): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    live.delete(this);
    if (this.onAbortSignal) this.signal!.removeEventListener('abort', this.onAbortSignal);
    this.sock?.destroy();
    this.resolve(o);
  }

  private verdict(): UrlOutcome {
    const url = this.url;
    if (!this.extracted) return { ok: false, reason: `no data received from ${url.path}` };
    if (!statusAccepted(url, this.status)) return { ok: false, reason: `HTTP status code error to ${url.path}: ${this.status}` };
    if (this.md5) {
      const got = this.md5.digest('hex');
      if (got !== url.digest) return { ok: false, reason: `MD5 digest error to ${url.path}: got ${got}, expected ${url.digest}` };
    }
    if (this.regex) {
      if (this.regexMatched === (url.regexNoMatch === true))
        return { ok: false, reason: `regex ${url.regexNoMatch ? 'matched' : 'did not match'} on ${url.path}` };
    }
    return OK;
  }
}

function getOne(
  cfg: HttpCheck,
  target: CheckTarget,
  url: HttpUrl,
  vhost: string | undefined,
  sni: string | undefined,
  ssl: SslSettings | undefined,
  signal: AbortSignal | undefined,
): Promise<UrlOutcome> {
  if (signal?.aborted) return Promise.resolve({ ok: false, reason: 'aborted' });
  let regex: RegExp | undefined;
  if (url.regex !== undefined) {
    const r = regexFor(url.regex);
    if (r instanceof Error) {
      const at = unpackLoc(url.loc);
      return Promise.resolve({ ok: false, reason: `regex ${url.regex} (${at.file}:${at.line}) cannot be used: ${errorReason(r)}` });
    }
    regex = r;
  }
  const connect = connectOptions(cfg, target, sni, ssl);
  if (typeof connect === 'string') return Promise.resolve({ ok: false, reason: connect });
  const request = httpRequestText(url.path, cfg.httpProtocol, vhost, target);
  if (wantsNativeSocket(cfg)) {
    // fwmark / bind_if: the socket comes from the native layer, already bound (bindto, bind_port)
    delete connect.localAddress;
    delete connect.localPort;
    return nativeStreamSocket(target, cfg).then((pre) =>
      typeof pre === 'string' ? { ok: false, reason: `${pre} on ${url.path}` } : attempt(cfg, url, regex, request, signal, connect, pre),
    );
  }
  return attempt(cfg, url, regex, request, signal, connect);
}

function attempt(
  cfg: HttpCheck,
  url: HttpUrl,
  regex: RegExp | undefined,
  request: string,
  signal: AbortSignal | undefined,
  connect: ConnectOptions,
  pre?: Socket,
): Promise<UrlOutcome> {
  return new Promise<UrlOutcome>((resolve) => {
    const a = new UrlAttempt(cfg, url, regex, request, signal, resolve);
    try {
      a.start(connect, pre);
    } catch (e) {
      // invalid options (e.g. a bind address of the wrong family)
      a.abort();
      pre?.destroy();
      resolve({ ok: false, reason: `${errorReason(e)} on ${url.path}` });
    }
  });
}

const PASS_REASONS = ['0 url(s) ok', '1 url(s) ok', '2 url(s) ok', '3 url(s) ok', '4 url(s) ok'];

/**
 * Every url of the checker, one after the other, each on its own connection.
 * @param vsVirtualhost the virtual server's virtualhost
 * @param rsVirtualhost the real server's virtualhost (Host header only, as keepalived)
 * @param ssl the root SSL block (SSL_GET's client certificate, verify_cert)
 */
export async function checkHttp(
  target: CheckTarget,
  cfg: HttpCheck,
  signal?: AbortSignal,
  vsVirtualhost?: string,
  rsVirtualhost?: string,
  ssl?: SslSettings,
): Promise<CheckResult> {
  const started = process.hrtime.bigint();
  const urls = cfg.urls;
  const n = countOf(urls);
  if (n === 0) return fail('no url configured', started);
  for (let i = 0; i < n; i++) {
    const url = itemAt(urls, i);
    const vhost = url.virtualhost ?? cfg.virtualhost ?? rsVirtualhost ?? vsVirtualhost;
    const sni = cfg.type === 'SSL_GET' && cfg.enableSni ? (url.virtualhost ?? cfg.virtualhost ?? vsVirtualhost) : undefined;
    const r = await getOne(cfg, target, url, vhost, sni, ssl, signal);
    if (!r.ok) return fail(r.reason, started);
  }
  return pass(PASS_REASONS[n] ?? `${n} url(s) ok`, started);
}
