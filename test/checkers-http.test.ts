// HTTP_GET / SSL_GET against real servers on loopback.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkHttp, statusAccepted } from '../src/checkers/http.js';
import { TestHttpServer, closedPort, httpCheck, loc, selfSignedCert } from './checkers-fixtures.js';

const target = (s: { address: string; port: number }) => ({ address: s.address, port: s.port, family: 4 as const });

describe('HTTP_GET', () => {
  let srv: TestHttpServer;
  before(async () => {
    srv = await new TestHttpServer('127.0.0.2').listen();
  });
  after(async () => {
    await srv.stop();
  });

  it('default status codes are 2xx, as keepalived', () => {
    const url = { path: '/', statusCodes: [], loc };
    assert.equal(statusAccepted(url, 200), true);
    assert.equal(statusAccepted(url, 204), true);
    assert.equal(statusAccepted(url, 299), true);
    assert.equal(statusAccepted(url, 301), false);
    assert.equal(statusAccepted(url, 500), false);
    const ranged = {
      path: '/',
      statusCodes: [
        { from: 200, to: 200 },
        { from: 500, to: 503 },
      ],
      loc,
    };
    assert.equal(statusAccepted(ranged, 502), true);
    assert.equal(statusAccepted(ranged, 201), false);
  });

  it('passes on 200 and fails on 500; an explicit status_code accepts 500', async () => {
    srv.mode = 'ok';
    const ok = await checkHttp(target(srv), httpCheck());
    assert.equal(ok.ok, true, ok.reason);
    assert.ok(ok.latencyMs >= 0);
    srv.mode = 'status500';
    const bad = await checkHttp(target(srv), httpCheck());
    assert.equal(bad.ok, false);
    assert.match(bad.reason, /500/);
    const accepted = await checkHttp(target(srv), httpCheck({ urls: [{ path: '/', statusCodes: [{ from: 500, to: 500 }], loc }] }));
    assert.equal(accepted.ok, true, accepted.reason);
    srv.mode = 'ok';
  });

  it('checks the MD5 digest of the body (genhash)', async () => {
    srv.mode = 'ok';
    const digest = createHash('md5').update(srv.body).digest('hex');
    const cfg = httpCheck({ urls: [{ path: '/index', statusCodes: [], digest, loc }] });
    assert.equal((await checkHttp(target(srv), cfg)).ok, true);
    srv.mode = 'body2';
    const r = await checkHttp(target(srv), cfg);
    assert.equal(r.ok, false);
    assert.match(r.reason, /MD5 digest error/);
    srv.mode = 'ok';
  });

  it('every url must pass', async () => {
    srv.mode = 'ok';
    const digest = createHash('md5').update('other').digest('hex');
    const cfg = httpCheck({
      urls: [
        { path: '/a', statusCodes: [], loc },
        { path: '/b', statusCodes: [], digest, loc },
      ],
    });
    const r = await checkHttp(target(srv), cfg);
    assert.equal(r.ok, false);
    assert.match(r.reason, /\/b/);
  });

  it('a hanging server fails within connect_timeout', async () => {
    srv.mode = 'hang';
    const t0 = Date.now();
    const r = await checkHttp(target(srv), httpCheck({ connectTimeout: 250 }));
    const took = Date.now() - t0;
    assert.equal(r.ok, false);
    assert.match(r.reason, /timeout/);
    assert.ok(took >= 240 && took < 1000, `took ${took} ms`);
    srv.mode = 'ok';
  });

  it('a server stalling in the body fails on the deadline', async () => {
    srv.mode = 'stall-body';
    const r = await checkHttp(target(srv), httpCheck({ connectTimeout: 250 }));
    assert.equal(r.ok, false);
    assert.match(r.reason, /timeout/);
    srv.mode = 'ok';
  });

  it('a reset connection and a refused port fail', async () => {
    srv.mode = 'reset';
    const r = await checkHttp(target(srv), httpCheck());
    assert.equal(r.ok, false);
    srv.mode = 'ok';
    const port = await closedPort('127.0.0.2');
    const refused = await checkHttp({ address: '127.0.0.2', port, family: 4 }, httpCheck());
    assert.equal(refused.ok, false);
    assert.match(refused.reason, /ECONNREFUSED/);
  });

  it('sends the virtualhost as Host and binds to bindto', async () => {
    const seen: { host?: string; from?: string }[] = [];
    const s = new TestHttpServer('127.0.0.3');
    await s.listen();
    (s as unknown as { server: import('node:http').Server }).server.prependListener('request', (req) =>
      seen.push({ host: req.headers.host, from: req.socket.remoteAddress }),
    );
    const r = await checkHttp(target(s), httpCheck({ virtualhost: 'www.example.test', bindto: '127.0.0.9' }));
    await s.stop();
    assert.equal(r.ok, true, r.reason);
    assert.equal(seen[0].host, 'www.example.test');
    assert.equal(seen[0].from, '127.0.0.9');
  });

  it('uses a fresh connection per check: a server that dies between checks is seen dead', async () => {
    // a responder that answers and closes (as an HTTP/1.0 server does); its old connections are
    // gone, so only a new connection can tell whether the server still listens
    let connections = 0;
    const server = createNetServer((sock) => {
      connections++;
      sock.on('error', () => undefined);
      sock.on('data', () => sock.end('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.4', () => r()));
    const port = (server.address() as { port: number }).port;
    const cfg = httpCheck({ httpProtocol: '1.1' });
    const t = { address: '127.0.0.4', port, family: 4 as const };
    assert.equal((await checkHttp(t, cfg)).ok, true);
    assert.equal((await checkHttp(t, cfg)).ok, true);
    assert.equal(connections, 2, 'each check opened its own connection');
    await new Promise<void>((r) => server.close(() => r()));
    const r = await checkHttp(t, cfg);
    assert.equal(r.ok, false, 'the dead server is reported down');
    assert.match(r.reason, /ECONNREFUSED/);
  });

  it('reads until the server closes, as keepalived: a server keeping the connection open fails on the read timeout', async () => {
    const sockets = new Set<Socket>();
    const server = createNetServer((sock) => {
      sockets.add(sock);
      sock.on('error', () => undefined);
      sock.on('data', () => sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.4', () => r()));
    const port = (server.address() as { port: number }).port;
    const t0 = Date.now();
    const r = await checkHttp({ address: '127.0.0.4', port, family: 4 }, httpCheck({ httpProtocol: '1.1', connectTimeout: 300 }));
    const took = Date.now() - t0;
    for (const s of sockets) s.destroy();
    await new Promise<void>((res) => server.close(() => res()));
    assert.equal(r.ok, false);
    assert.match(r.reason, /timeout reading/);
    assert.ok(took >= 290 && took < 1500, `took ${took} ms`);
  });
});

describe('SSL_GET', () => {
  let dir: string;
  let key: Buffer;
  let cert: Buffer;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tkk-tls-'));
    selfSignedCert(join(dir, 'k.pem'), join(dir, 'c.pem'), 'rs.example.test');
    key = readFileSync(join(dir, 'k.pem'));
    cert = readFileSync(join(dir, 'c.pem'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('checks a self-signed HTTPS server (no verification by default) and sends SNI only with enable_sni', async () => {
    const names: (string | false | null)[] = [];
    const body = 'secure body';
    const server = createHttpsServer({ key, cert }, (req, res) => {
      names.push((req.socket as import('node:tls').TLSSocket).servername);
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.5', () => r()));
    const port = (server.address() as { port: number }).port;
    const t = { address: '127.0.0.5', port, family: 4 as const };
    const digest = createHash('md5').update(body).digest('hex');
    const base = { type: 'SSL_GET' as const, urls: [{ path: '/', statusCodes: [], digest, loc }] };
    const plain = await checkHttp(t, httpCheck({ ...base }));
    const sni = await checkHttp(t, httpCheck({ ...base, enableSni: true, virtualhost: 'rs.example.test' }));
    const verified = await checkHttp(t, httpCheck({ ...base }), undefined, undefined, undefined, { verifyCert: true, loc });
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    assert.equal(plain.ok, true, plain.reason);
    assert.equal(sni.ok, true, sni.reason);
    assert.equal(verified.ok, false, 'a self-signed certificate fails when verification is asked for');
    assert.equal(names[0], false);
    assert.equal(names[1], 'rs.example.test');
  });
});
