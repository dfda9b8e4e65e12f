// The userspace proxy backend with real TCP and UDP traffic on loopback addresses.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import type { Destination, LbState, Service } from '../src/lb/backend.js';
import { createBackend } from '../src/lb/factory.js';
import { UserspaceBackend, UserspaceConfigError } from '../src/lb/userspace.js';

const VIP = '127.0.0.10';
const names = ['s1', 's2', 's3'];
const tcpServers: net.Server[] = [];
const udpServers: dgram.Socket[] = [];
const ports: number[] = [];
const udpPorts: number[] = [];
let vport = 0;
let backend: UserspaceBackend;

async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, host, () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

before(async () => {
  for (let i = 0; i < 3; i++) {
    const name = names[i]!;
    const srv = net.createServer((c) => {
      c.on('error', () => {});
      c.write(`${name}\n`);
      c.on('data', (d) => {
        if (String(d).includes('ping')) c.write(`pong ${name}\n`);
      });
    });
    await new Promise<void>((r) => srv.listen(0, `127.0.0.1${i + 1}`, () => r()));
    tcpServers.push(srv);
    ports.push((srv.address() as net.AddressInfo).port);
    const u = dgram.createSocket('udp4');
    u.on('message', (_m, r) => u.send(name, r.port, r.address));
    await new Promise<void>((r) => u.bind(0, `127.0.0.1${i + 1}`, () => r()));
    udpServers.push(u);
    udpPorts.push(u.address().port);
  }
  vport = await freePort(VIP);
  // closed connections stop counting at once here (test/lb-userspace-sched.test.ts covers IPVS's TIME_WAIT linger)
  backend = new UserspaceBackend({ retryMs: 100, udpIdleMs: 2000, tcpTimeWaitMs: 0, tcpCloseMs: 0 });
  await backend.open();
});

after(async () => {
  await backend.close({ release: true });
  for (const s of tcpServers) s.close();
  for (const u of udpServers) u.close();
});

function rs(i: number, weight = 1, udp = false): Destination {
  return { address: `127.0.0.1${i}`, family: 4, port: (udp ? udpPorts : ports)[i - 1]!, weight, lbKind: 'NAT' };
}
function svc(scheduler: string, destinations: Destination[], extra: Partial<Service> = {}): Service {
  return { key: { kind: 'addr', family: 4, protocol: 'TCP', address: VIP, port: vport }, scheduler, ops: false, destinations, ...extra };
}
const state = (...services: Service[]): LbState => ({ services });

/** One connection: resolves with the first line (the server's name) or "error:CODE"; keep=true leaves it open. */
function connect(localAddress?: string): Promise<{ reply: string; sock: net.Socket }> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: VIP, port: vport, localAddress });
    let buf = '';
    const t = setTimeout(() => resolve({ reply: 'timeout', sock }), 3000);
    sock.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) {
        clearTimeout(t);
        resolve({ reply: buf.split('\n')[0]!, sock });
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve({ reply: `error:${e.code}`, sock });
    });
  });
}

async function requests(n: number, sources?: string[]): Promise<{ src?: string; reply: string }[]> {
  const out: { src?: string; reply: string }[] = [];
  for (let i = 0; i < n; i++) {
    const src = sources?.[i % sources.length];
    const { reply, sock } = await connect(src);
    sock.destroy();
    out.push({ src, reply });
  }
  return out;
}

function tally(rs: { reply: string }[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const r of rs) t[r.reply] = (t[r.reply] ?? 0) + 1;
  return t;
}

function ping(sock: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('timeout'), 3000);
    sock.once('data', (d) => {
      clearTimeout(t);
      resolve(String(d).trim());
    });
    sock.write('ping');
  });
}

test('rr: even spread over three servers', async () => {
  await backend.apply(state(svc('rr', [rs(1), rs(2), rs(3, 4)])));
  assert.deepEqual(tally(await requests(30)), { s1: 10, s2: 10, s3: 10 });
});

test('wrr: proportional to weights 3:2:1', async () => {
  await backend.apply(state(svc('wrr', [rs(1, 3), rs(2, 2), rs(3, 1)])));
  assert.deepEqual(tally(await requests(60)), { s1: 30, s2: 20, s3: 10 });
});

test('sh: each client address sticks to one server; several servers used', async () => {
  await backend.apply(state(svc('sh', [rs(1), rs(2), rs(3)])));
  const sources = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `127.0.1.${i}`);
  const replies = await requests(40, sources);
  const by = new Map<string, Set<string>>();
  for (const r of replies) {
    assert.match(r.reply, /^s[123]$/);
    by.set(r.src!, (by.get(r.src!) ?? new Set()).add(r.reply));
  }
  for (const [src, set] of by) assert.equal(set.size, 1, `${src} went to ${[...set]}`);
  assert.ok(new Set(replies.map((r) => r.reply)).size >= 2);
});

/** Wait (bounded) until the proxy has seen every earlier connection close. */
async function settle(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (backend.stats().every((s) => s.destinations.every((d) => d.active === 0))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`connections still open: ${JSON.stringify(backend.stats())}`);
}

test('lc and wlc follow open connection counts', async () => {
  await backend.apply(state(svc('lc', [rs(1), rs(2), rs(3)])));
  await settle();
  const a = await connect();
  const b = await connect();
  const c = await connect();
  assert.deepEqual([a.reply, b.reply, c.reply], ['s1', 's2', 's3']);
  b.sock.destroy();
  for (let i = 0; i < 100 && backend.stats()[0]!.destinations[1]!.active !== 0; i++) await new Promise((r) => setTimeout(r, 20));
  const d = await connect();
  assert.equal(d.reply, 's2');
  for (const x of [a, c, d]) x.sock.destroy();

  await backend.apply(state(svc('wlc', [rs(1, 2), rs(2, 1)])));
  await settle();
  const held: net.Socket[] = [];
  const got: string[] = [];
  for (let i = 0; i < 6; i++) {
    const x = await connect();
    held.push(x.sock);
    got.push(x.reply);
  }
  assert.deepEqual(got, ['s1', 's2', 's1', 's1', 's2', 's1']);
  for (const s of held) s.destroy();
  await new Promise((r) => setTimeout(r, 100));
});

test('persistence: a client keeps its server across connections (rr underneath)', async () => {
  await backend.apply(state(svc('rr', [rs(1), rs(2), rs(3)], { persistenceTimeout: 60 })));
  const one = tally(await requests(6, ['127.0.2.1']));
  assert.equal(Object.keys(one).length, 1);
  const other = tally(await requests(6, ['127.0.2.2']));
  assert.equal(Object.keys(other).length, 1);
  assert.notDeepEqual(Object.keys(one), Object.keys(other));
});

test('apply keeps open connections while weight 0 / removal stop new ones', async () => {
  await backend.apply(state(svc('rr', [rs(1), rs(2), rs(3)])));
  const held = await connect();
  const x = Number(held.reply.slice(1)); // the server the held connection reached
  const [y, z] = [1, 2, 3].filter((i) => i !== x) as [number, number];
  await backend.apply(state(svc('rr', [rs(x, 0), rs(y)])));
  assert.deepEqual(tally(await requests(6)), { [`s${y}`]: 6 });
  assert.equal(await ping(held.sock), `pong s${x}`);
  await backend.apply(state(svc('wrr', [rs(y, 1), rs(z, 1)])));
  assert.deepEqual(tally(await requests(6)), { [`s${y}`]: 3, [`s${z}`]: 3 });
  assert.equal(await ping(held.sock), `pong s${x}`);
  held.sock.destroy();
});

test('UDP: sessions spread rr, replies come back from the virtual address', async () => {
  const udpSvc: Service = { ...svc('rr', [rs(1, 1, true), rs(2, 1, true)]), key: { kind: 'addr', family: 4, protocol: 'UDP', address: VIP, port: vport } };
  await backend.apply(state(svc('rr', [rs(1)]), udpSvc));
  const replies: string[] = [];
  for (let i = 0; i < 10; i++) {
    const s = dgram.createSocket('udp4');
    const reply = await new Promise<string>((resolve) => {
      const t = setTimeout(() => resolve('timeout'), 2000);
      s.on('message', (m, r) => {
        clearTimeout(t);
        resolve(r.address === VIP && r.port === vport ? String(m) : `from ${r.address}:${r.port}`);
      });
      s.send('hi', vport, VIP);
    });
    s.close();
    replies.push(reply);
  }
  assert.deepEqual(tally(replies.map((reply) => ({ reply }))), { s1: 5, s2: 5 });
});

test('UDP one-packet scheduling: each datagram of one client socket is scheduled on its own', async () => {
  const key = { kind: 'addr' as const, family: 4 as const, protocol: 'UDP' as const, address: VIP, port: vport };
  const exchange = async (): Promise<string[]> => {
    const s = dgram.createSocket('udp4');
    const got: string[] = [];
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    for (let i = 0; i < 4; i++) {
      got.push(
        await new Promise<string>((resolve) => {
          const t = setTimeout(() => resolve('timeout'), 2000);
          s.once('message', (m) => {
            clearTimeout(t);
            resolve(String(m));
          });
          s.send('hi', vport, VIP);
        }),
      );
    }
    s.close();
    return got;
  };
  await backend.apply(state({ ...svc('rr', [rs(1, 1, true), rs(2, 1, true)]), key, ops: true }));
  const ops = await exchange();
  assert.deepEqual(tally(ops.map((reply) => ({ reply }))), { s1: 2, s2: 2 });
  assert.notEqual(ops[0], ops[1]);
  await backend.apply(state({ ...svc('wrr', [rs(1, 1, true), rs(2, 1, true)]), key, ops: false }));
  const flow = await exchange();
  assert.equal(new Set(flow).size, 1, flow.join(','));
});

test('no destination: reset; EADDRINUSE: clear error; unsupported services rejected', async () => {
  await backend.apply(state(svc('rr', [rs(1, 0)])));
  assert.deepEqual(tally(await requests(2)), { 'error:ECONNRESET': 2 });
  const other = new UserspaceBackend({ retryMs: 50 });
  await assert.rejects(other.apply(state(svc('rr', [rs(1)]))), (e: unknown) => {
    assert.ok(e instanceof UserspaceConfigError);
    assert.match(e.message, new RegExp(`\\[127\\.0\\.0\\.10\\]:tcp:${vport}: cannot listen \\(EADDRINUSE\\)`));
    return true;
  });
  await other.close({ release: true });
  const fwm: Service = { ...svc('rr', []), key: { kind: 'fwmark', family: 4, protocol: 'TCP', fwmark: 3 } };
  await assert.rejects(backend.apply(state(fwm)), /FWM 3: firewall-mark services need the kernel/);
  await assert.rejects(backend.apply(state(svc('bogus', []))), /unknown scheduler "bogus"/);
});

test('an address not on this host is retried, not fatal; close stops listening', async () => {
  const b = createBackend('userspace', { userspace: { retryMs: 50 } }) as UserspaceBackend;
  const far: Service = { ...svc('rr', [rs(1)]), key: { kind: 'addr', family: 4, protocol: 'TCP', address: '192.0.2.77', port: 8080 } };
  await b.apply(state(far));
  assert.equal(b.stats()[0]!.listening, false);
  await b.close({ release: true });
  await backend.apply(state(svc('rr', [rs(1)])));
  assert.deepEqual(tally(await requests(1)), { s1: 1 });
  await backend.close({ release: true });
  assert.deepEqual(tally(await requests(1)), { 'error:ECONNREFUSED': 1 });
});

test('IPv6 on ::1: rr over two servers', async () => {
  const servers: net.Server[] = [];
  const dests: Destination[] = [];
  for (const name of ['v6a', 'v6b']) {
    const s = net.createServer((c) => {
      c.on('error', () => {});
      c.end(`${name}\n`);
    });
    await new Promise<void>((r) => s.listen(0, '::1', () => r()));
    servers.push(s);
    dests.push({ address: '::1', family: 6, port: (s.address() as net.AddressInfo).port, weight: 1, lbKind: 'NAT' });
  }
  const port = await freePort('::1');
  const b = new UserspaceBackend();
  try {
    await b.apply({
      services: [{ key: { kind: 'addr', family: 6, protocol: 'TCP', address: '0:0::1', port }, scheduler: 'rr', ops: false, destinations: dests }],
    });
    const got: string[] = [];
    for (let i = 0; i < 4; i++) {
      got.push(
        await new Promise<string>((resolve) => {
          const c = net.connect({ host: '::1', port });
          c.on('data', (d) => resolve(String(d).trim()));
          c.on('error', (e: NodeJS.ErrnoException) => resolve(`error:${e.code}`));
        }),
      );
    }
    assert.deepEqual(got.sort(), ['v6a', 'v6a', 'v6b', 'v6b']);
    assert.equal(b.current().services[0]!.key.address, '::1');
  } finally {
    await b.close({ release: true });
    for (const s of servers) s.close();
  }
});
