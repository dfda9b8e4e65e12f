// HTTP_GET / SSL_GET: GET every configured url on a fresh connection (never a pooled keep-alive
// socket, so a dead server cannot hide behind an old connection), check the status code against the
// configured codes (default any 2xx, as keepalived), optionally the MD5 digest of the body (the
// genhash value) and a regex on the body.
import { createHash } from 'node:crypto';
import { Client } from 'undici';
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

async function getOne(
  cfg: HttpCheck,
  target: CheckTarget,
  url: HttpUrl,
  vhost: string | undefined,
  signal: AbortSignal | undefined,
): Promise<UrlOutcome> {
  const tls = cfg.type === 'SSL_GET';
  const origin = `${tls ? 'https' : 'http'}://${hostPort(target.address, target.family, target.port)}`;
  const client = new Client(origin, {
    pipelining: 1,
    keepAliveTimeout: 1,
    headersTimeout: cfg.connectTimeout,
    bodyTimeout: cfg.connectTimeout,
    ...(cfg.bindto ? { localAddress: cfg.bindto } : {}),
    connect: {
      timeout: cfg.connectTimeout,
      ...(cfg.bindPort ? { localPort: cfg.bindPort } : {}),
      ...(tls
        ? {
            rejectUnauthorized: cfg.verifyCert === true,
            ...(cfg.enableSni && vhost ? { servername: vhost } : {}),
          }
        : {}),
    },
  });
  // one deadline for connect + request + body, as keepalived's connect_timeout covers the whole read
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    client.destroy().catch(() => undefined);
  }, cfg.connectTimeout);
  const onAbort = () => client.destroy().catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const proto = cfg.httpProtocol ?? '1.0';
    const headers: Record<string, string> = {
      host: vhost ?? hostPort(target.address, target.family, target.port),
      'user-agent': 'KeepAliveClient',
    };
    // keepalived's "1.0", "1.0C" and "1.1" all close after the response; the K variants keep alive
    // on the wire, but we never reuse the connection either way.
    if (!proto.endsWith('K')) headers.connection = 'close';
    const res = await client.request({ method: 'GET', path: url.path, headers });
    const needBody = url.digest !== undefined || url.regex !== undefined;
    const md5 = url.digest !== undefined ? createHash('md5') : undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) {
      if (md5) md5.update(chunk as Buffer);
      if (url.regex !== undefined) chunks.push(chunk as Buffer);
    }
    if (!statusAccepted(url, res.statusCode)) return { ok: false, reason: `HTTP status code error to ${url.path}: ${res.statusCode}` };
    if (needBody) {
      if (md5) {
        const got = md5.digest('hex');
        if (got !== url.digest!.toLowerCase()) return { ok: false, reason: `MD5 digest error to ${url.path}: got ${got}, expected ${url.digest}` };
      }
      if (url.regex !== undefined) {
        const matched = new RegExp(url.regex).test(Buffer.concat(chunks).toString('latin1'));
        if (matched === (url.regexNoMatch === true)) return { ok: false, reason: `regex ${url.regexNoMatch ? 'matched' : 'did not match'} on ${url.path}` };
      }
    }
    return { ok: true, reason: `HTTP ${res.statusCode} on ${url.path}` };
  } catch (e) {
    if (timedOut) return { ok: false, reason: `timeout on ${url.path} after ${cfg.connectTimeout} ms` };
    if (signal?.aborted) return { ok: false, reason: 'aborted' };
    return { ok: false, reason: `${errorReason(e)} on ${url.path}` };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    client.destroy().catch(() => undefined);
  }
}

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
