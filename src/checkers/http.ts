// HTTP_GET / SSL_GET: GET every configured url on a fresh connection (never a kept-alive socket,
// so a dead server cannot hide behind an old connection), check the status code against the
// configured codes (default any 2xx, as keepalived), optionally the MD5 digest of the body (the
// genhash value) and a regex on the body.
import { createHash } from 'node:crypto';
import { Agent } from 'undici';
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
  const all = [...dispatchers.values()];
  dispatchers.clear();
  await Promise.all(all.map((d) => d.destroy().catch(() => undefined)));
}

async function getOne(
  cfg: HttpCheck,
  target: CheckTarget,
  url: HttpUrl,
  vhost: string | undefined,
  signal: AbortSignal | undefined,
): Promise<UrlOutcome> {
  const tls = cfg.type === 'SSL_GET';
  const origin = `${tls ? 'https' : 'http'}://${hostPort(target.address, target.family, target.port)}`;
  // One deadline for connect + request + body (undici's own per-phase timeouts use a coarse
  // 0.5-1 s clock, too imprecise for short connect_timeouts; they remain as a backstop).
  const deadline = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    deadline.abort();
  }, cfg.connectTimeout);
  const onAbort = () => deadline.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await dispatcherFor(cfg, tls, vhost).request({
      origin,
      method: 'GET',
      path: url.path,
      // keepalived's http_protocol variants only change the request line; we always close
      headers: { host: vhost ?? hostPort(target.address, target.family, target.port), 'user-agent': 'KeepAliveClient', connection: 'close' },
      reset: true,
      signal: deadline.signal,
    });
    // the whole body is read (as keepalived does) even when only the status matters: a server that
    // stalls in the body fails on the deadline
    const md5 = url.digest !== undefined ? createHash('md5') : undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) {
      if (md5) md5.update(chunk as Buffer);
      if (url.regex !== undefined) chunks.push(chunk as Buffer);
    }
    if (timedOut) throw new Error('deadline');
    if (!statusAccepted(url, res.statusCode)) return { ok: false, reason: `HTTP status code error to ${url.path}: ${res.statusCode}` };
    if (md5) {
      const got = md5.digest('hex');
      if (got !== url.digest!.toLowerCase()) return { ok: false, reason: `MD5 digest error to ${url.path}: got ${got}, expected ${url.digest}` };
    }
    if (url.regex !== undefined) {
      const matched = new RegExp(url.regex).test(Buffer.concat(chunks).toString('latin1'));
      if (matched === (url.regexNoMatch === true)) return { ok: false, reason: `regex ${url.regexNoMatch ? 'matched' : 'did not match'} on ${url.path}` };
    }
    return { ok: true, reason: `HTTP ${res.statusCode} on ${url.path}` };
  } catch (e) {
    if (timedOut) return { ok: false, reason: `timeout on ${url.path} after ${cfg.connectTimeout} ms` };
    if (signal?.aborted) return { ok: false, reason: 'aborted' };
    const code = (e as { code?: string }).code ?? '';
    if (TIMEOUT_CODES.has(code)) return { ok: false, reason: `timeout (${TIMEOUT_CODES.get(code)}) on ${url.path} after ${cfg.connectTimeout} ms` };
    return { ok: false, reason: `${errorReason(e)} on ${url.path}` };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

const TIMEOUT_CODES = new Map([
  ['UND_ERR_CONNECT_TIMEOUT', 'connect'],
  ['UND_ERR_HEADERS_TIMEOUT', 'headers'],
  ['UND_ERR_BODY_TIMEOUT', 'body'],
]);

export async function checkHttp(
  target: CheckTarget,
  cfg: HttpCheck,
  signal?: AbortSignal,
  defaultVirtualhost?: string,
): Promise<CheckResult> {
  const started = process.hrtime.bigint();
  if (cfg.urls.length === 0) return fail('no url configured', started);
  for (const url of cfg.urls) {
    const vhost = url.virtualhost ?? cfg.virtualhost ?? defaultVirtualhost;
    const r = await getOne(cfg, target, url, vhost, signal);
    if (!r.ok) return fail(r.reason, started);
  }
  return pass(`${cfg.urls.length} url(s) ok`, started);
}
