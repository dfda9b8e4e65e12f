// Opt-in HTTP status endpoint (--status-listen=HOST:PORT or global_defs status_listen):
//   GET /metrics  Prometheus text     GET /status  the JSON dump     GET /healthz  liveness
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricSample } from '../engine-api/types.js';
import { renderPrometheus } from './prometheus.js';
import { TskeepalivedError } from '../util/errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export class ListenParseError extends TskeepalivedError {
  constructor(message: string) {
    super(message, 'TSK_ERR_LISTEN_PARSE');
    this.name = 'ListenParseError';
  }
}

/** "PORT", "HOST:PORT", "[V6]:PORT" -> host/port; host defaults to 127.0.0.1. */
export function parseListen(text: string): ListenAddress {
  const t = text.trim();
  let host = '127.0.0.1';
  let portText = t;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(t);
  if (v6) {
    host = v6[1];
    portText = v6[2];
  } else if (t.includes(':')) {
    const i = t.lastIndexOf(':');
    host = t.slice(0, i) || host;
    portText = t.slice(i + 1);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 0 || port > 65535) throw new ListenParseError(`invalid status listen address '${text}' (expected PORT or HOST:PORT)`);
  return { host, port };
}

export interface StatusSources {
  metrics(): MetricSample[];
  status(): unknown;
  /** undefined = healthy; otherwise the reason */
  health(): string | undefined;
}

export class StatusServer {
  private server?: Server;

  constructor(private readonly sources: StatusSources) {}

  async listen(addr: ListenAddress): Promise<AddressInfo> {
    const server = createServer((req, res) => {
      try {
        const path = (req.url ?? '/').split('?')[0];
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.writeHead(405, { Allow: 'GET, HEAD' }).end();
          return;
        }
        if (path === '/metrics') {
          const body = renderPrometheus(this.sources.metrics());
          res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
        } else if (path === '/status') {
          res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(this.sources.status(), null, 2) + '\n');
        } else if (path === '/healthz') {
          const problem = this.sources.health();
          res.writeHead(problem ? 503 : 200, { 'Content-Type': 'text/plain' }).end(problem ? `unhealthy: ${problem}\n` : 'ok\n');
        } else {
          res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics, /status or /healthz\n');
        }
      } catch (e) {
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`error: ${(e as Error).message}\n`);
      }
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.unref();
    this.server = server;
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
