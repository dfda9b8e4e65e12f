// HTTP_GET / SSL_GET: GET every configured url on a fresh connection (never a kept-alive socket,
// so a dead server cannot hide behind an old connection), check the status code against the
// configured codes (default any 2xx, as keepalived), optionally the MD5 digest of the body (the
// genhash value) and a regex on the body.
import { createHash, type Hash } from 'node:crypto';
import { Agent, type Dispatcher } from 'undici';
import type { HttpCheck, HttpUrl } from '../config/model.js';
import { type CheckResult, type CheckTarget, errorReason, fail, pass } from './types.js';

export function statusAccepted(url: HttpUrl, status: number): boolean {
  if (url.statusCodes.length === 0) return status >= 200 && status <= 299;
  return url.statusCodes.some((r) => status >= r.from && status <= r.to);
}

function hostPort(address: string, family: number, port: number): string {
  return family === 6 || address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

interface UrlOutcome {
  ok: boolean;
  reason: string;
}

/**
 * Dispatchers shared by checks with the same connection settings. Every request is sent with
 * "Connection: close" and reset, so undici opens a new connection for each check and closes it after
 * the response: no keep-alive socket can make a dead server look alive, while the dispatcher objects
 * (and their connector) are built once, not per check.
 */
const dispatchers = new Map<string, Agent>();
/** bumped when the dispatchers are closed: per-checker cached entries of an older generation are stale */
let generation = 0;

function dispatcherFor(cfg: HttpCheck, tls: boolean, vhost: string | undefined): Agent {
  const servername = tls && cfg.enableSni && vhost ? vhost : undefined;
  const key = JSON.stringify([tls, cfg.bindto, cfg.bindPort, cfg.connectTimeout, tls && cfg.verifyCert === true, servername]);
  let d = dispatchers.get(key);
  if (!d) {
    d = new Agent({
      pipelining: 1,
      keepAliveTimeout: 1,
      headersTimeout: cfg.connectTimeout,
      bodyTimeout: cfg.connectTimeout,
      ...(cfg.bindto ? { localAddress: cfg.bindto } : {}),
      connect: {
        timeout: cfg.connectTimeout,
        ...(cfg.bindPort ? { localPort: cfg.bindPort } : {}),
        ...(tls ? { rejectUnauthorized: cfg.verifyCert === true, ...(servername ? { servername } : {}) } : {}),
      },
    });
    dispatchers.set(key, d);
  }
  return d;
}

/** Close the shared dispatchers (engine stop); they are rebuilt on the next check. */
export async function closeHttpDispatchers(): Promise<void> {
  generation++;
  const all = [...dispatchers.values()];
  dispatchers.clear();
  await Promise.all(all.map((d) => d.destroy().catch(() => undefined)));
}

/**
 * What one url of one checker needs on every check, computed on its first check and kept (the hot
 * path then allocates no strings, no headers and no dispatcher key): the dispatcher, the origin and
 * the request options. Recomputed when the target, virtual host or dispatcher generation differ.
 */
interface RequestPlan {
  /** the checker the plan was made for (a url object normally belongs to one checker) */
  cfg: HttpCheck;
  generation: number;
  address: string;
  port: number;
  vhost: string | undefined;
  dispatcher: Agent;
  opts: Dispatcher.DispatchOptions;
}

const plans = new WeakMap<HttpUrl, RequestPlan>();

function planFor(cfg: HttpCheck, target: CheckTarget, url: HttpUrl, vhost: string | undefined): RequestPlan {
  let p = plans.get(url);
  if (p && p.cfg === cfg && p.generation === generation && p.address === target.address && p.port === target.port && p.vhost === vhost) return p;
  const tls = cfg.type === 'SSL_GET';
  const hp = hostPort(target.address, target.family, target.port);
  p = {
    cfg,
    generation,
    address: target.address,
    port: target.port,
    vhost,
    dispatcher: dispatcherFor(cfg, tls, vhost),
    opts: {
      origin: `${tls ? 'https' : 'http'}://${hp}`,
      method: 'GET',
      path: url.path,
      // keepalived's http_protocol variants only change the request line; we always close
      headers: ['host', vhost ?? hp, 'user-agent', 'KeepAliveClient', 'connection', 'close'],
      reset: true,
    },
  };
  plans.set(url, p);
  return p;
}

function onDeadline(a: UrlAttempt): void {
  a.deadlineReached();
}

/**
 * One GET, driven through undici's dispatch handler interface: the response body is consumed as
 * it arrives (digest / regex when configured) with no stream, iterator or promise per chunk. One
 * deadline covers connect + request + body (undici's own per-phase timeouts use a coarse 0.5-1 s
 * clock, too imprecise for short connect_timeouts; they remain as a backstop).
 */
class UrlAttempt implements Dispatcher.DispatchHandler {
  private status = 0;
  private abortFn: ((err: Error) => void) | undefined;
  private timedOut = false;
  private externallyAborted = false;
  private finished = false;
  private readonly timer: NodeJS.Timeout;
  private readonly md5: Hash | undefined;
  private readonly chunks: Buffer[] | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort: (() => void) | undefined;

  constructor(
    private readonly cfg: HttpCheck,
    private readonly url: HttpUrl,
    signal: AbortSignal | undefined,
    private readonly resolve: (o: UrlOutcome) => void,
  ) {
    this.md5 = url.digest !== undefined ? createHash('md5') : undefined;
    this.chunks = url.regex !== undefined ? [] : undefined;
    this.timer = setTimeout(onDeadline, cfg.connectTimeout, this);
    if (signal) {
      this.signal = signal;
      this.onAbort = () => {
        this.externallyAborted = true;
        this.abortFn?.(new Error('aborted'));
      };
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  deadlineReached(): void {
    if (this.finished) return;
    this.timedOut = true;
    if (this.abortFn) this.abortFn(new Error('deadline'));
    // not connected yet (SYNs unanswered): undici hands out the abort only once connected, and its
    // own connect timer runs on a coarse clock (up to a second late), so the verdict is given now;
    // undici's connect timeout still closes the pending socket, and onConnect aborts the request if
    // the connection completes after all
    else this.finish(new Error('deadline'));
  }

  // ---- undici DispatchHandler (legacy callbacks, which undici runs without a wrapper)

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.timedOut) abort(new Error('deadline'));
    else if (this.externallyAborted || this.signal?.aborted) {
      this.externallyAborted = true;
      abort(new Error('aborted'));
    }
  }

  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }

  onData(chunk: Buffer): boolean {
    // the whole body is read (as keepalived does) even when only the status matters: a server that
    // stalls in the body fails on the deadline
    this.md5?.update(chunk);
    this.chunks?.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.timedOut) this.finish(new Error('deadline'));
    else this.finish(undefined);
  }

  onError(err: Error): void {
    this.finish(err);
  }

  private finish(err: Error | undefined): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    if (this.onAbort) this.signal!.removeEventListener('abort', this.onAbort);
    this.resolve(err === undefined ? this.verdict() : this.failure(err));
  }

  private verdict(): UrlOutcome {
    const url = this.url;
    if (!statusAccepted(url, this.status)) return { ok: false, reason: `HTTP status code error to ${url.path}: ${this.status}` };
    if (this.md5) {
      const got = this.md5.digest('hex');
      if (got !== url.digest!.toLowerCase()) return { ok: false, reason: `MD5 digest error to ${url.path}: got ${got}, expected ${url.digest}` };
    }
    if (this.chunks) {
      const matched = new RegExp(url.regex!).test(Buffer.concat(this.chunks).toString('latin1'));
      if (matched === (url.regexNoMatch === true)) return { ok: false, reason: `regex ${url.regexNoMatch ? 'matched' : 'did not match'} on ${url.path}` };
    }
    return OK;
  }

  private failure(e: Error): UrlOutcome {
    const path = this.url.path;
    if (this.timedOut) return { ok: false, reason: `timeout on ${path} after ${this.cfg.connectTimeout} ms` };
    if (this.externallyAborted || this.signal?.aborted) return { ok: false, reason: 'aborted' };
    const code = (e as { code?: string }).code ?? '';
    if (TIMEOUT_CODES.has(code)) return { ok: false, reason: `timeout (${TIMEOUT_CODES.get(code)}) on ${path} after ${this.cfg.connectTimeout} ms` };
    return { ok: false, reason: `${errorReason(e)} on ${path}` };
  }
}

const OK: UrlOutcome = { ok: true, reason: '' };

function getOne(cfg: HttpCheck, target: CheckTarget, url: HttpUrl, vhost: string | undefined, signal: AbortSignal | undefined): Promise<UrlOutcome> {
  return new Promise<UrlOutcome>((resolve) => {
    const attempt = new UrlAttempt(cfg, url, signal, resolve);
    try {
      const plan = planFor(cfg, target, url, vhost);
      plan.dispatcher.dispatch(plan.opts, attempt);
    } catch (e) {
      // invalid options (e.g. a path undici refuses) or a destroyed dispatcher
      attempt.onError(e as Error);
    }
  });
}

const TIMEOUT_CODES = new Map([
  ['UND_ERR_CONNECT_TIMEOUT', 'connect'],
  ['UND_ERR_HEADERS_TIMEOUT', 'headers'],
  ['UND_ERR_BODY_TIMEOUT', 'body'],
]);

const PASS_REASONS = ['0 url(s) ok', '1 url(s) ok', '2 url(s) ok', '3 url(s) ok', '4 url(s) ok'];

export async function checkHttp(target: CheckTarget, cfg: HttpCheck, signal?: AbortSignal, defaultVirtualhost?: string): Promise<CheckResult> {
  const started = process.hrtime.bigint();
  const urls = cfg.urls;
  if (urls.length === 0) return fail('no url configured', started);
  for (let i = 0; i < urls.length; i++) {
    const url = urls[i];
    const vhost = url.virtualhost ?? cfg.virtualhost ?? defaultVirtualhost;
    const r = await getOne(cfg, target, url, vhost, signal);
    if (!r.ok) return fail(r.reason, started);
  }
  return pass(PASS_REASONS[urls.length] ?? `${urls.length} url(s) ok`, started);
}
