// Integration with traffic: the daemon in checker mode with --lb-backend=userspace proxies
// connections to the VIP on loopback and follows the checkers.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidFiles, TSKEEPALIVED_BIN } from './lb-netns-util.js';

const dir = mkdtempSync(join(tmpdir(), 'tkl-dus-'));
let daemon: ChildProcess | undefined;
const servers: net.Server[] = [];

after(() => {
  daemon?.kill('SIGKILL');
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function nameServer(host: string, name: string): Promise<net.Server> {
  const s = net.createServer((c) => {
    c.on('error', () => {});
    c.end(`${name}\n`);
  });
  await new Promise<void>((r) => s.listen(0, host, () => r()));
  servers.push(s);
  return s;
}

function request(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect({ host, port });
    let buf = '';
    const t = setTimeout(() => {
      c.destroy();
      resolve('timeout');
    }, 3000);
    c.on('data', (d) => (buf += d));
    c.on('end', () => {
      clearTimeout(t);
      resolve(buf.trim());
    });
    c.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve(`error:${e.code}`);
    });
  });
}

async function tally(host: string, port: number, n: number): Promise<Record<string, number>> {
  const t: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await request(host, port);
    t[r] = (t[r] ?? 0) + 1;
  }
  return t;
}

test('daemon -C --lb-backend=userspace: wrr 2:1 through the proxy, then only the survivor', async () => {
  const a = await nameServer('127.0.0.41', 'a');
  const b = await nameServer('127.0.0.42', 'b');
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.40', () => r()));
  const vport = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const conf = join(dir, 'keepalived.conf');
  const rs = (s: net.Server, host: string, w: number) => `  real_server ${host} ${(s.address() as net.AddressInfo).port} {
    weight ${w}
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }`;
  writeFileSync(
    conf,
    `global_defs {
  router_id tkl_us
}
virtual_server 127.0.0.40 ${vport} {
  delay_loop 1
  lb_algo wrr
  lb_kind NAT
  protocol TCP
${rs(a, '127.0.0.41', 2)}
${rs(b, '127.0.0.42', 1)}
}
`,
  );
  daemon = spawn(process.execPath, [TSKEEPALIVED_BIN, '-n', '-G', '-C', '--lb-backend=userspace', '-f', conf, ...pidFiles(dir)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  daemon.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  daemon.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  for (let i = 0; i < 100 && !log.includes('LB state applied'); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(log.includes('LB state applied'), log);
  assert.deepEqual(await tally('127.0.0.40', vport, 9), { a: 6, b: 3 });
  b.close();
  servers.splice(servers.indexOf(b), 1);
  let t: Record<string, number> = {};
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 200));
    t = await tally('127.0.0.40', vport, 4);
    if (t.a === 4) break;
  }
  assert.deepEqual(t, { a: 4 }, log);
  daemon.kill('SIGTERM');
  await new Promise<void>((r) => daemon!.once('exit', () => r()));
  assert.equal(await request('127.0.0.40', vport), 'error:ECONNREFUSED');
});
