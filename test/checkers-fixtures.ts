// Shared fixtures of the checkers tests: hand-built configs, a recording LbBackend test double,
// controllable real servers on 127.0.0.x, and small waiting helpers.
import { execFileSync } from 'node:child_process';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Checker, GlobalDefs, HttpCheck, KeepalivedConfig, RealServer, ScriptSpec, TcpCheck, VirtualServer } from '../src/config/model.js';
import type { LbBackend, LbState } from '../src/lb/backend.js';
import pino from 'pino';
import { defaultGlobalDefs } from '../src/config/build-global.js';
import { emptyConfig } from '../src/config/build.js';
import { virtualServerDefaults } from '../src/config/build-lvs.js';

export const silentLogger = pino({ level: 'silent' });
export const loc = { file: 'test.conf', line: 1 };

export function globalDefs(over: Partial<GlobalDefs> = {}): GlobalDefs {
  return { ...defaultGlobalDefs(), routerId: 'test', ...over };
}

export function config(virtualServers: VirtualServer[], over: Partial<KeepalivedConfig> = {}): KeepalivedConfig {
  return { ...emptyConfig('/test.conf', 'test'), global: globalDefs(), virtualServers, ...over };
}

export function vs(realServers: RealServer[], over: Partial<VirtualServer> = {}): VirtualServer {
  return {
    ...virtualServerDefaults(loc),
    key: { kind: 'addr', address: '10.255.0.1', family: 4, port: 80 },
    delayLoop: 200,
    lbAlgo: 'rr',
    realServers,
    ...over,
  };
}

export function rs(address: string, port: number, checkers: Checker[], over: Partial<RealServer> = {}): RealServer {
  return { address, family: 4, port, weight: 1, inhibitOnFailure: false, checkers, loc, ...over };
}

export function httpCheck(over: Partial<HttpCheck> = {}): HttpCheck {
  return {
    type: 'HTTP_GET',
    urls: [{ path: '/', statusCodes: [], loc }],
    enableSni: false,
    connectTimeout: 300,
    retry: 1,
    delayBeforeRetry: 100,
    loc,
    ...over,
  };
}

export function tcpCheck(over: Partial<TcpCheck> = {}): TcpCheck {
  return { type: 'TCP_CHECK', connectTimeout: 300, retry: 0, delayBeforeRetry: 100, loc, ...over };
}

export function shScript(cmd: string): ScriptSpec {
  return { command: cmd, argv: ['/bin/sh', '-c', cmd], loc };
}

/** An LbBackend test double recording every applied state with its time. */
export class RecordingBackend implements LbBackend {
  readonly name = 'dry-run' as const;
  states: { at: number; state: LbState }[] = [];
  opened = false;
  closed = false;
  private last: LbState = { services: [] };
  async open(): Promise<void> {
    this.opened = true;
  }
  async apply(state: LbState): Promise<void> {
    this.last = structuredClone(state);
    this.states.push({ at: Date.now(), state: this.last });
  }
  current(): LbState {
    return this.last;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  /** destinations of the first service as "address:port=weight", sorted */
  dests(serviceIndex = 0): string[] {
    const s = this.last.services[serviceIndex];
    return s ? s.destinations.map((d) => `${d.address}:${d.port}=${d.weight}`).sort() : [];
  }
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs: number, stepMs = 10): Promise<number> {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return Date.now() - started;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type HttpMode = 'ok' | 'status500' | 'hang' | 'reset' | 'slow' | 'body2' | 'stall-body';

/** A controllable HTTP real server. */
export class TestHttpServer {
  mode: HttpMode = 'ok';
  body = 'hello from real server\n';
  requests = 0;
  connections = 0;
  slowMs = 1000;
  private server: Server;
  private sockets = new Set<Socket>();
  port = 0;
  constructor(readonly address: string) {
    this.server = createHttpServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s: Socket) => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }
  private handle(_req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    switch (this.mode) {
      case 'ok':
        res.end(this.body);
        return;
      case 'body2':
        res.end(this.body + 'changed');
        return;
      case 'status500':
        res.statusCode = 500;
        res.end('error');
        return;
      case 'hang':
        return;
      case 'stall-body':
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial');
        return;
      case 'slow':
        setTimeout(() => res.end(this.body), this.slowMs);
        return;
      case 'reset':
        res.socket?.resetAndDestroy();
        return;
    }
  }
  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.address, () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }
  /** stop listening and drop every connection: the server is dead */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
  get openSockets(): number {
    return this.sockets.size;
  }
}

/** A TCP server that accepts and holds connections (never answers). */
export async function holdingServer(address: string): Promise<{ server: NetServer; port: number; sockets: Set<Socket>; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createNetServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.resume(); // read (and drop) so that the peer's FIN is seen and the socket closes
  });
  await new Promise<void>((r) => server.listen(0, address, () => r()));
  return {
    server,
    port: (server.address() as { port: number }).port,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A port on `address` where nothing listens (bound then released). */
export async function closedPort(address: string): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, address, () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A self-signed RSA certificate made by openssl: writes KEY and CERT (PEM), valid `days`; `extra` goes to `openssl req`. */
export function selfSignedCert(key: string, cert: string, cn: string, opts: { days?: number; extra?: string[] } = {}): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      String(opts.days ?? 1),
      '-subj',
      `/CN=${cn}`,
      ...(opts.extra ?? []),
    ],
    { stdio: 'ignore', timeout: 60_000 },
  );
}
