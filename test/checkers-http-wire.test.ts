// HTTP_GET / SSL_GET on the wire, against recording servers on loopback, with keepalived 2.2.7's
// own HTTP checker code as the oracle: genhash (keepalived -T) runs check_http.c's request and
// digest code, so where it is installed each request's bytes and each digest are compared with
// it. keepalived's checker process itself cannot run here (it exits when the kernel has no IPVS).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { CheckersEngine } from '../src/checkers/engine.js';
import { checkHttp } from '../src/checkers/http.js';
import { listOf } from '../src/config/exact.js';
import { loadConfig } from '../src/config/load.js';
import type { HttpCheck, HttpUrl, SslSettings } from '../src/config/model.js';
import { RecordingBackend, httpCheck, loc, selfSignedCert, silentLogger, waitFor } from './checkers-fixtures.js';

/** keepalived's genhash (Debian package keepalived), the oracle; the comparisons are skipped without it */
const GENHASH = ['/usr/bin/genhash', '/usr/sbin/genhash'].find((p) => existsSync(p));

/** genhash's stdout (the MD5 of the body), or its failure text */
function genhash(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(GENHASH!, [...args, '-t', '5'], { timeout: 20_000, maxBuffer: 1 << 20 }, (_err, stdout, stderr) => resolve(`${stdout}${stderr}`.trim()));
  });
}

interface Seen {
  request: string;
  sni?: string | false | null;
  clientCert?: string;
}

type Responder = (sock: Socket, request: string) => void;

const answerOk: Responder = (sock) => sock.end('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok');
/** a header at once, then a body line every 120 ms for 600 ms: the response keeps flowing past a 300 ms timeout */
const slowBody: Responder = (sock) => {
  sock.write('HTTP/1.0 200 OK\r\n\r\n');
  let n = 0;
  const t = setInterval(() => {
    if (sock.destroyed || ++n > 5) {
      clearInterval(t);
      sock.end();
    } else sock.write(`part ${n}\n`);
  }, 120);
};

/** A server that records each request's bytes (up to the blank line) and answers with `respond`. */
class Recorder {
  seen: Seen[] = [];
  respond: Responder = answerOk;
  port = 0;
  private readonly sockets = new Set<Socket>();
  readonly server: Server;

  constructor(
    readonly address: string,
    tls?: { key: Buffer; cert: Buffer },
  ) {
    const onSocket = (sock: Socket) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
      sock.on('error', () => undefined);
      let got = '';
      const onData = (d: Buffer) => {
        got += d.toString('latin1');
        const end = got.indexOf('\r\n\r\n');
        if (end < 0) return;
        sock.off('data', onData);
        const s: Seen = { request: got.slice(0, end + 4) };
        if (tls) {
          const t = sock as TLSSocket;
          s.sni = t.servername;
          const peer = t.getPeerCertificate();
          if (peer?.subject) s.clientCert = String(peer.subject.CN);
        }
        this.seen.push(s);
        this.respond(sock, s.request);
      };
      sock.on('data', onData);
    };
    this.server = tls ? createTlsServer({ ...tls, requestCert: true, rejectUnauthorized: false }, onSocket) : createNetServer(onSocket);
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, this.address, () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  get target() {
    return { address: this.address, port: this.port, family: (this.address.includes(':') ? 6 : 4) as 4 | 6 };
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

// a forced collection for the memory probe
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const url = (path: string, over: Partial<HttpUrl> = {}): HttpUrl => ({ path, statusCodes: [], loc, ...over });
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

async function haveIpv6Loopback(): Promise<boolean> {
  const s = createNetServer();
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(0, '::1', () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    s.close();
  }
}

describe('HTTP_GET request bytes as keepalived 2.2.7 writes them', () => {
  let rec: Recorder;
  before(async () => {
    rec = await new Recorder('127.0.0.21').listen();
  });
  after(() => rec.stop());

  const cases: { name: string; protocol?: HttpCheck['httpProtocol']; genhashP?: string; line: string; connection: string }[] = [
    { name: 'default (1.0)', line: 'HTTP/1.0', connection: '' },
    { name: '1.0', protocol: '1.0', genhashP: '1.0', line: 'HTTP/1.0', connection: '' },
    { name: '1.0C', protocol: '1.0C', genhashP: '1.0c', line: 'HTTP/1.0', connection: 'Connection: close\r\n' },
    { name: '1.1', protocol: '1.1', genhashP: '1.1', line: 'HTTP/1.1', connection: 'Connection: close\r\n' },
  ];

  for (const c of cases) {
    it(`http_protocol ${c.name}: request line, User-Agent, Connection and Host (address:port, then virtualhost)`, async () => {
      const hp = `127.0.0.21:${rec.port}`;
      const expect = (path: string, host: string) => `GET ${path} ${c.line}\r\nUser-Agent: KeepAliveClient\r\n${c.connection}Host: ${host}\r\n\r\n`;
      rec.seen = [];
      const base = c.protocol ? { httpProtocol: c.protocol } : {};
      assert.equal((await checkHttp(rec.target, httpCheck({ ...base, urls: [url('/a?b=c')] }))).ok, true);
      assert.equal((await checkHttp(rec.target, httpCheck({ ...base, urls: [url('/v')], virtualhost: 'www.example.test' }))).ok, true);
      assert.deepEqual(
        rec.seen.map((s) => s.request),
        [expect('/a?b=c', hp), expect('/v', 'www.example.test')],
      );
      if (!GENHASH) return;
      rec.seen = [];
      const p = c.genhashP ? ['-P', c.genhashP] : [];
      await genhash(['-s', '127.0.0.21', '-p', String(rec.port), '-u', '/a?b=c', ...p]);
      await genhash(['-s', '127.0.0.21', '-p', String(rec.port), '-u', '/v', '-V', 'www.example.test', ...p]);
      assert.deepEqual(
        rec.seen.map((s) => s.request),
        [expect('/a?b=c', hp), expect('/v', 'www.example.test')],
        'genhash (keepalived -T) sends the same bytes',
      );
    });
  }

  it('virtualhost precedence: url > checker > real server > virtual server', async () => {
    rec.seen = [];
    const t = rec.target;
    await checkHttp(t, httpCheck({ urls: [url('/1', { virtualhost: 'url.test' })], virtualhost: 'chk.test' }), undefined, 'vs.test', 'rs.test');
    await checkHttp(t, httpCheck({ urls: [url('/2')], virtualhost: 'chk.test' }), undefined, 'vs.test', 'rs.test');
    await checkHttp(t, httpCheck({ urls: [url('/3')] }), undefined, 'vs.test', 'rs.test');
    await checkHttp(t, httpCheck({ urls: [url('/4')] }), undefined, 'vs.test');
    assert.deepEqual(
      rec.seen.map((s) => /Host: (.*)\r\n/.exec(s.request)?.[1]),
      ['url.test', 'chk.test', 'rs.test', 'vs.test'],
    );
  });

  it('IPv6: Host is [address]:port without a virtualhost', async (t) => {
    if (!(await haveIpv6Loopback())) return t.skip('no IPv6 loopback');
    const r6 = await new Recorder('::1').listen();
    try {
      assert.equal((await checkHttp(r6.target, httpCheck({ httpProtocol: '1.1', urls: [url('/six')] }))).ok, true);
      const expected = `GET /six HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [::1]:${r6.port}\r\n\r\n`;
      assert.equal(r6.seen[0]?.request, expected);
      if (GENHASH) {
        await genhash(['-s', '::1', '-p', String(r6.port), '-u', '/six', '-P', '1.1']);
        assert.equal(r6.seen[1]?.request, expected, 'genhash sends the same bytes');
      }
    } finally {
      await r6.stop();
    }
  });
});

describe('HTTP_GET responses read as keepalived reads them', () => {
  let rec: Recorder;
  before(async () => {
    rec = await new Recorder('127.0.0.22').listen();
  });
  after(() => rec.stop());

  const responses: { name: string; raw: string; digested: string; status?: number }[] = [
    { name: 'Content-Length', raw: 'HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello', digested: 'hello' },
    { name: 'bytes past Content-Length are not digested', raw: 'HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello, more', digested: 'hello' },
    { name: 'no Content-Length: to the end of the connection', raw: 'HTTP/1.0 200 OK\r\nServer: x\r\n\r\nline 1\nline 2\n', digested: 'line 1\nline 2\n' },
    {
      name: 'chunked framing is digested as sent (keepalived does not decode it)',
      raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      digested: '5\r\nhello\r\n0\r\n\r\n',
    },
    { name: 'a lower-case content-length is not read', raw: 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA', digested: 'okEXTRA' },
  ];

  for (const r of responses) {
    it(`digest: ${r.name}`, async () => {
      rec.respond = (sock) => sock.end(r.raw, 'latin1');
      const want = md5(Buffer.from(r.digested, 'latin1'));
      if (GENHASH) assert.equal(await genhash(['-s', '127.0.0.22', '-p', String(rec.port), '-u', '/d']), want, 'genhash digests the same bytes');
      const ok = await checkHttp(rec.target, httpCheck({ urls: [url('/d', { digest: want })] }));
      assert.equal(ok.ok, true, ok.reason);
      const bad = await checkHttp(rec.target, httpCheck({ urls: [url('/d', { digest: md5('other') })] }));
      assert.match(bad.reason, new RegExp(`MD5 digest error to /d: got ${want}`));
    });
  }

  it('the status code as keepalived reads it: three digits followed by a space', async () => {
    const verdict = async (raw: string) => {
      rec.respond = (sock) => sock.end(raw, 'latin1');
      return (await checkHttp(rec.target, httpCheck({ urls: [url('/s')] }))).reason;
    };
    assert.equal(await verdict('HTTP/1.0 204 No Content\r\n\r\n'), '1 url(s) ok');
    // no reason phrase: keepalived reads status 0
    assert.match(await verdict('HTTP/1.0 200\r\n\r\n'), /HTTP status code error to \/s: 0/);
    assert.match(await verdict('HTTP/1.0 2000 OK\r\n\r\n'), /HTTP status code error to \/s: 0/);
    assert.match(await verdict('garbage'), /no data received from \/s/);
    // the header must end within keepalived's 4,096-byte buffer
    assert.match(await verdict(`HTTP/1.0 200 OK\r\nX-Big: ${'x'.repeat(5000)}\r\n\r\nok`), /no response header end within 4095 bytes/);
    rec.respond = answerOk;
  });

  it('HTTP read timeout is per read (a slow body that keeps flowing passes), as keepalived', async () => {
    rec.respond = slowBody;
    const t0 = Date.now();
    const r = await checkHttp(rec.target, httpCheck({ connectTimeout: 300, urls: [url('/slow')] }));
    assert.equal(r.ok, true, r.reason);
    assert.ok(Date.now() - t0 >= 600, 'the body took longer than connect_timeout');
    rec.respond = answerOk;
  });

  /** Serve `blocks` x 64 KiB of a fixed pattern with back-pressure; returns the body's MD5. */
  /**
   * Serve `blocks` x 64 KiB of a fixed pattern with back-pressure, then the `tail` pieces each in
   * its own write 50 ms apart (so that they arrive in separate reads); returns the body's MD5.
   */
  function serveBig(blocks: number, tail: string[] = []): string {
    const block = Buffer.alloc(64 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = 0x41 + ((i * 131 + (i >> 8)) % 26);
    const h = createHash('md5');
    for (let i = 0; i < blocks; i++) h.update(block);
    for (const t of tail) h.update(t, 'latin1');
    const length = block.length * blocks + tail.reduce((n, t) => n + t.length, 0);
    rec.respond = (sock) => {
      sock.write(`HTTP/1.0 200 OK\r\nServer: recorder/1\r\nContent-Length: ${length}\r\n\r\n`);
      let sent = 0;
      const finish = (i: number) => {
        if (sock.destroyed) return;
        if (i === tail.length) return void sock.end();
        sock.write(tail[i], 'latin1');
        setTimeout(finish, 50, i + 1);
      };
      const pump = () => {
        while (sent < blocks && !sock.destroyed) {
          sent++;
          if (!sock.write(block)) return void sock.once('drain', pump);
        }
        setTimeout(finish, 50, 0);
      };
      pump();
    };
    return h.digest('hex');
  }

  /**
   * Run one check while sampling the live memory (heap + array buffers right after a forced GC,
   * every 100 ms): what the check retains, not garbage waiting for a collection.
   */
  async function liveGrowth(u: HttpUrl): Promise<{ r: Awaited<ReturnType<typeof checkHttp>>; mib: number; heapMib: number; ms: number }> {
    const live = () => {
      gc();
      return process.memoryUsage();
    };
    const base = live();
    let peak = 0;
    let heapPeak = 0;
    const sampler = setInterval(() => {
      const m = live();
      peak = Math.max(peak, m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers);
      heapPeak = Math.max(heapPeak, m.heapUsed - base.heapUsed);
    }, 100);
    const t0 = process.hrtime.bigint();
    const r = await checkHttp(rec.target, httpCheck({ connectTimeout: 10_000, urls: [u] }));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    clearInterval(sampler);
    rec.respond = answerOk;
    return { r, mib: peak / 1048576, heapMib: heapPeak / 1048576, ms };
  }

  it('a 128 MiB body is digested as it streams: live memory stays bounded, digest equals genhash', { timeout: 120_000 }, async () => {
    const want = serveBig(2048); // 128 MiB
    if (GENHASH) assert.equal(await genhash(['-s', '127.0.0.22', '-p', String(rec.port), '-u', '/big']), want, 'genhash digests the same 128 MiB');
    serveBig(2048);
    const { r, mib, heapMib, ms } = await liveGrowth(url('/big', { digest: want }));
    // the array buffers are the reads in flight between the server and the checker (one process):
    // ~14 MiB on a quiet machine whatever the body's size (the same for 512 MiB), 30 MiB seen under
    // load; a checker that kept the body would hold all 128 MiB, so half of it is the bound
    console.log(
      `# 128 MiB body: checked in ${ms.toFixed(0)} ms, live heap grew at most ${heapMib.toFixed(1)} MiB, heap + buffers ${mib.toFixed(1)} MiB (server and checker in one process)`,
    );
    assert.ok(heapMib < 4, `the live heap grew ${heapMib.toFixed(1)} MiB for a 128 MiB body`);
    assert.equal(r.ok, true, r.reason);
    assert.ok(mib < 64, `live heap + array buffers grew ${mib.toFixed(1)} MiB for a 128 MiB body`);
  });

  it('regex runs over a sliding window: a match across reads at the end of 32 MiB, live memory bounded', { timeout: 60_000 }, async () => {
    serveBig(512, ['...needle-in-', 'the-stream...']);
    const found = await liveGrowth(url('/big', { regex: 'needle-in-the-stream' }));
    console.log(`# 32 MiB body with a regex: checked in ${found.ms.toFixed(0)} ms, live heap + buffers grew at most ${found.mib.toFixed(1)} MiB`);
    assert.equal(found.r.ok, true, found.r.reason);
    assert.ok(found.mib < 16, `live heap + array buffers grew ${found.mib.toFixed(1)} MiB for a 32 MiB body`);
    serveBig(512, ['...needle-in-', 'the-stream...']);
    const noMatch = await liveGrowth(url('/big', { regex: 'needle-in-the-stream', regexNoMatch: true }));
    assert.match(noMatch.r.reason, /regex matched on \/big/);
    serveBig(16, ['...needle-', 'elsewhere...']);
    const missing = await liveGrowth(url('/big', { regex: 'needle-in-the-stream' }));
    assert.match(missing.r.reason, /regex did not match on \/big/);
  });

  it('regex also sees the header, as keepalived (its first subject is the first read, header included)', async () => {
    serveBig(1);
    const r = await checkHttp(rec.target, httpCheck({ urls: [url('/h', { regex: 'Server: recorder/[0-9]' })] }));
    assert.equal(r.ok, true, r.reason);
    rec.respond = answerOk;
    const bad = await checkHttp(rec.target, httpCheck({ urls: [url('/h', { regex: '(unclosed' })] }));
    assert.match(bad.reason, /regex \(unclosed \(test\.conf:1\) cannot be used: .*Unterminated group/);
  });

  it('the memory probe sees memory that is kept: 16 MiB held during a check shows', async () => {
    const held: Buffer[] = [];
    rec.respond = (sock) => {
      for (let i = 0; i < 16; i++) held.push(Buffer.alloc(1 << 20, i));
      setTimeout(() => sock.end('HTTP/1.0 200 OK\r\n\r\nok'), 350); // several samples
    };
    const { r, mib } = await liveGrowth(url('/held'));
    assert.equal(r.ok, true, r.reason);
    assert.ok(mib >= 15, `16 MiB held shows as ${mib.toFixed(1)} MiB`);
    assert.equal(held.length, 16);
  });
});

describe('SSL_GET: SNI, client certificate and verify_cert', () => {
  let dir: string;
  let rec: Recorder;
  let other: Recorder;
  const files: Record<string, string> = {};
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore', timeout: 60_000 });
  const selfSigned = (name: string, cn: string, extra: string[] = []) => {
    files[`${name}Key`] = join(dir, `${name}.key`);
    files[`${name}Cert`] = join(dir, `${name}.pem`);
    selfSignedCert(files[`${name}Key`], files[`${name}Cert`], cn, { extra });
  };
  const read = (f: string) => readFileSync(f);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tkk-wire-'));
    selfSigned('server', 'rs.example.test', ['-addext', 'subjectAltName=DNS:rs.example.test']);
    selfSigned('rogue', 'rs.example.test', ['-addext', 'subjectAltName=DNS:rs.example.test']);
    selfSigned('client', 'checker-client');
    // the client key again, encrypted with a password (the SSL block's `password`)
    files.clientKeyEnc = join(dir, 'client-enc.key');
    openssl('pkey', '-in', files.clientKey, '-out', files.clientKeyEnc, '-aes256', '-passout', 'pass:s3cret');
    rec = await new Recorder('127.0.0.23', { key: read(files.serverKey), cert: read(files.serverCert) }).listen();
    other = await new Recorder('127.0.0.24', { key: read(files.rogueKey), cert: read(files.rogueCert) }).listen();
  });
  after(async () => {
    await rec?.stop();
    await other?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ssl = (over: Partial<HttpCheck> = {}) => httpCheck({ type: 'SSL_GET', httpProtocol: '1.1', urls: [url('/tls')], ...over });

  it('the request bytes over TLS and SNI only with enable_sni, from the url, checker or virtual server virtualhost (never the real server)', async () => {
    rec.seen = [];
    const t = rec.target;
    const results = [
      await checkHttp(t, ssl()),
      await checkHttp(t, ssl({ enableSni: true, virtualhost: 'rs.example.test' })),
      await checkHttp(t, ssl({ virtualhost: 'rs.example.test' })),
      await checkHttp(t, ssl({ enableSni: true, urls: [url('/tls', { virtualhost: 'url.example.test' })] }), undefined, 'vs.example.test'),
      await checkHttp(t, ssl({ enableSni: true }), undefined, 'vs.example.test', 'real.example.test'),
      await checkHttp(t, ssl({ enableSni: true }), undefined, undefined, 'real.example.test'),
    ];
    for (const r of results) assert.equal(r.ok, true, r.reason);
    assert.deepEqual(
      rec.seen.map((s) => s.sni),
      [false, 'rs.example.test', false, 'url.example.test', 'vs.example.test', false],
    );
    assert.equal(rec.seen[0].request, `GET /tls HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: 127.0.0.23:${rec.port}\r\n\r\n`);
    assert.equal(rec.seen[4].request, `GET /tls HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: real.example.test\r\n\r\n`);
    if (!GENHASH) return;
    rec.seen = [];
    await genhash(['-S', '-s', '127.0.0.23', '-p', String(rec.port), '-u', '/tls', '-P', '1.1']);
    await genhash(['-S', '-I', '-V', 'rs.example.test', '-s', '127.0.0.23', '-p', String(rec.port), '-u', '/tls', '-P', '1.1']);
    assert.deepEqual(
      rec.seen.map((s) => s.sni),
      [false, 'rs.example.test'],
      'genhash sends SNI the same way',
    );
    assert.equal(rec.seen[0].request, `GET /tls HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: 127.0.0.23:${rec.port}\r\n\r\n`);
  });

  it('the SSL block: certificate and key (with password) are presented to the real server', async () => {
    rec.seen = [];
    const plain: SslSettings = { certificate: files.clientCert, key: files.clientKey, loc };
    const enc: SslSettings = { certificate: files.clientCert, key: files.clientKeyEnc, password: 's3cret', loc };
    assert.equal((await checkHttp(rec.target, ssl())).ok, true);
    assert.equal((await checkHttp(rec.target, ssl(), undefined, undefined, undefined, plain)).ok, true);
    assert.equal((await checkHttp(rec.target, ssl(), undefined, undefined, undefined, enc)).ok, true);
    assert.deepEqual(
      rec.seen.map((s) => s.clientCert),
      [undefined, 'checker-client', 'checker-client'],
    );
    const missing = await checkHttp(rec.target, ssl(), undefined, undefined, undefined, { certificate: join(dir, 'nope.pem'), loc });
    assert.equal(missing.ok, false);
    assert.match(missing.reason, /SSL error: cannot load certificate file .*nope\.pem \(ENOENT\)/);
    const wrongPass = await checkHttp(rec.target, ssl(), undefined, undefined, undefined, { ...enc, password: 'wrong' });
    assert.equal(wrongPass.ok, false);
    assert.match(wrongPass.reason, /SSL error/);
  });

  it('certificates are not verified (as keepalived); with verify_cert a wrong certificate or name fails', async () => {
    const verify: SslSettings = { ca: files.serverCert, verifyCert: true, loc };
    const sni = { enableSni: true, virtualhost: 'rs.example.test' };
    // keepalived: any certificate, even with the ca given
    assert.equal((await checkHttp(other.target, ssl(sni), undefined, undefined, undefined, { ca: files.serverCert, loc })).ok, true);
    // verification on: the right certificate and name pass
    const good = await checkHttp(rec.target, ssl(sni), undefined, undefined, undefined, verify);
    assert.equal(good.ok, true, good.reason);
    // a certificate the CA did not issue (same name) fails
    const rogue = await checkHttp(other.target, ssl(sni), undefined, undefined, undefined, verify);
    assert.equal(rogue.ok, false);
    assert.match(rogue.reason, /self[- ]signed|unable to verify|certificate/i);
    // the right certificate for another name fails
    const name = await checkHttp(rec.target, ssl({ enableSni: true, virtualhost: 'other.example.test' }), undefined, undefined, undefined, verify);
    assert.equal(name.ok, false);
    assert.match(name.reason, /ERR_TLS_CERT_ALTNAME_INVALID|altnames/i);
    // no SNI name: the address is checked, and the certificate has none
    const addr = await checkHttp(rec.target, ssl(), undefined, undefined, undefined, verify);
    assert.equal(addr.ok, false);
  });

  it('through the engine: a keepalived.conf with the SSL block, real server and virtual server virtualhosts reaches the wire, and a reload changes them', {
    timeout: 30_000,
  }, async () => {
    const plain = await new Recorder('127.0.0.25').listen();
    const backend = new RecordingBackend();
    const engine = new CheckersEngine({ backend, logger: silentLogger });
    try {
      const file = join(dir, 'e2e.conf');
      writeFileSync(
        file,
        `SSL {
  certificate ${files.clientCert}
  key ${files.clientKeyEnc}
  password s3cret
}
virtual_server 10.255.0.9 443 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  virtualhost vs.example.test
  real_server 127.0.0.23 ${rec.port} {
    virtualhost real.example.test
    SSL_GET {
      enable_sni
      http_protocol 1.1
      connect_timeout 2
      alpha
      url {
        path /e2e
      }
    }
  }
}
virtual_server 10.255.0.9 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 127.0.0.25 ${plain.port} {
    virtualhost real.example.test
    HTTP_GET {
      http_protocol 1.0C
      connect_timeout 2
      alpha
      url {
        path /e2e
        digest ${md5('ok')}
      }
    }
  }
}
`,
      );
      const { config, diagnostics } = loadConfig(file, { checkInterfaces: false });
      assert.deepEqual(
        diagnostics.filter((d) => d.severity !== 'info').map((d) => d.message),
        [],
      );
      rec.seen = [];
      await engine.start(config);
      await waitFor('both real servers checked', () => rec.seen.length > 0 && plain.seen.length > 0, 5000);
      assert.deepEqual(rec.seen[0], {
        request: 'GET /e2e HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: real.example.test\r\n\r\n',
        sni: 'vs.example.test',
        clientCert: 'checker-client',
      });
      assert.equal(plain.seen[0].request, 'GET /e2e HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: real.example.test\r\n\r\n');
      // alpha: a real server joins its pool only once its check passed
      const pools = () => backend.current().services.map((svc) => svc.destinations.length);
      await waitFor('both real servers in their pools', () => pools().join() === '1,1', 5000);
      // reload with another client certificate and real server virtualhost: the next checks use them
      writeFileSync(
        file,
        readFileSync(file, 'utf8')
          .replace(`certificate ${files.clientCert}`, `certificate ${files.rogueCert}`)
          .replace(`key ${files.clientKeyEnc}`, `key ${files.rogueKey}`)
          .replace('password s3cret\n', '')
          .replace('virtualhost real.example.test', 'virtualhost reloaded.example.test'),
      );
      const reloaded = loadConfig(file, { checkInterfaces: false });
      rec.seen = [];
      await engine.reload(reloaded.config);
      // (a check already in flight when the reload came may still show the old settings)
      const fresh = () => rec.seen.find((x) => x.clientCert === 'rs.example.test');
      await waitFor('a check with the new client certificate', () => fresh() !== undefined, 5000);
      assert.match(fresh()!.request, /Host: reloaded\.example\.test\r\n/);
      assert.equal(fresh()!.sni, 'vs.example.test');
    } finally {
      await engine.stop({ release: true });
      await plain.stop();
    }
  });

  it('HTTPS response time is bounded as a whole (keepalived carries the remaining time over SSL reads)', async () => {
    rec.respond = slowBody;
    const r = await checkHttp(rec.target, ssl({ connectTimeout: 300 }));
    rec.respond = answerOk;
    assert.equal(r.ok, false);
    assert.match(r.reason, /timeout reading the response to \/tls after 300 ms/);
  });
});

describe('config: http_protocol, virtualhost and the SSL block as keepalived -t reads them', () => {
  it('http_protocol 1.0c is 1.0C; 1.1K and 0.9 are rejected; real server virtualhost and the SSL block are modelled', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tkk-wirecfg-'));
    try {
      const file = join(dir, 'k.conf');
      writeFileSync(
        file,
        [
          'SSL {',
          '  password',
          '  ca /tmp/a.pem',
          '  ca /tmp/b.pem',
          '  certificate /tmp/c.pem',
          '  key /tmp/k.pem',
          '}',
          'SSL {',
          '  key /tmp/k2.pem',
          '  verify_cert',
          '}',
          'virtual_server 10.0.0.1 443 {',
          '  lb_kind NAT',
          '  protocol TCP',
          '  virtualhost vs.example',
          '  real_server 127.0.0.1 8443 {',
          '    virtualhost rs.example',
          '    SSL_GET {',
          '      http_protocol 1.0c',
          '      enable_sni',
          '      url { path / }',
          '    }',
          '    HTTP_GET {',
          '      http_protocol 1.1K',
          '      url { path / }',
          '    }',
          '    HTTP_GET {',
          '      http_protocol 0.9',
          '      url { path / }',
          '    }',
          '  }',
          '}',
          '',
        ].join('\n'),
      );
      const { config, diagnostics } = loadConfig(file, { checkInterfaces: false });
      const msgs = diagnostics.map((d) => `${d.line}: ${d.message}`);
      assert.deepEqual(
        msgs.filter((m) => /SSL|http_protocol/.test(m)),
        [
          '2: SSL password missing',
          '4: SSL cafile already specified - replacing',
          '8: SSL context already specified - replacing',
          '24: Invalid http_protocol version 1.1K',
          '28: Invalid http_protocol version 0.9',
        ],
      );
      assert.deepEqual({ ...config.ssl, loc: undefined }, { key: '/tmp/k2.pem', verifyCert: true, loc: undefined });
      const rs = config.virtualServers[0].realServers[0];
      assert.equal(rs.virtualhost, 'rs.example');
      assert.deepEqual(
        listOf(rs.checkers).map((c) => (c as HttpCheck).httpProtocol),
        ['1.0C', undefined, undefined],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
