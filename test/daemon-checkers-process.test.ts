// The real daemon process with the real checker engine (dry-run LB backend) on loopback:
// smtp_alert mails to a real SMTP server, lvs_notify_fifo lines, metrics, dumps, reloads, stop.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, waitUntil } from './daemon-netns.js';
import { startSmtpSink } from './daemon-support.js';

const work = mkdtempSync(join(tmpdir(), 'tkd-chkproc-'));
const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.reverse()) c();
  rmSync(work, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function listen(port: number): Promise<{ server: Server; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.end();
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    server,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

function config(o: { smtpPort: number; upPort: number; downPort: number; fifoOut: string; weight: number }): string {
  return `global_defs {
    router_id chk-node
    notification_email {
        ops@example.test
    }
    notification_email_from lb@example.test
    smtp_server 127.0.0.1 ${o.smtpPort}
    smtp_connect_timeout 5
    lvs_notify_fifo ${o.fifoOut}.fifo
    lvs_notify_fifo_script "/bin/sh -c 'exec cat \\"$1\\" >> ${o.fifoOut}' reader"
}

virtual_server 10.250.0.1 80 {
    delay_loop 0.3
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 ${o.upPort} {
        weight ${o.weight}
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 127.0.0.1 ${o.downPort} {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`;
}

test('checker daemon: alerts, fifo, metrics, dumps, reload policy, clean stop', { timeout: 90000 }, async (t) => {
  const sink = await startSmtpSink();
  cleanups.push(() => void sink.close());
  const upPort = await freePort();
  const downPort = await freePort();
  const statusPort = await freePort();
  let up = await listen(upPort);
  cleanups.push(() => void up.close());
  const fifoOut = join(work, 'lvs.out');
  const conf = join(work, 'k.conf');
  const pid = join(work, 'k.pid');
  const dumps = mkdtempSync(join(work, 'dumps-'));
  const opts = { smtpPort: sink.port, upPort, downPort, fifoOut, weight: 2 };
  writeFileSync(conf, config(opts));
  const child = spawn(BIN, ['-n', '-l', '-G', '-C', '-f', conf, '-p', pid, '--lb-backend=dry-run', '--json-dump', `--status-listen=127.0.0.1:${statusPort}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TMPDIR: dumps },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const rsUp = `[127.0.0.1]:tcp:${upPort}`;
  const rsDown = `[127.0.0.1]:tcp:${downPort}`;
  const vs = '[10.250.0.1]:tcp:80';
  const metrics = async () => (await fetch(`http://127.0.0.1:${statusPort}/metrics`)).text();
  const fifoLines = () => (existsSync(fifoOut) ? readFileSync(fifoOut, 'utf8').split('\n').filter(Boolean) : []);

  await waitUntil('the pid file', () => existsSync(pid), 10000);
  assert.equal(readFileSync(pid, 'utf8').trim(), String(child.pid));
  // the closed port goes DOWN: mail + fifo line
  await waitUntil('the DOWN mail', () => sink.mails.length >= 1, 10000);
  assert.equal(sink.mails[0].subject, `[chk-node] Realserver ${rsDown} of virtual server ${vs} - DOWN`);
  assert.equal(sink.mails[0].body, '=> TCP CHECK failed on service <=');
  assert.deepEqual(sink.mails[0].to, ['ops@example.test']);
  await waitUntil('the RS DOWN fifo line', () => fifoLines().includes(`RS ${rsDown} ${vs} DOWN`), 5000);
  let m = await metrics();
  assert.match(
    m,
    new RegExp(`^tskeepalived_real_server_up\\{virtual_server="\\[10\\.250\\.0\\.1\\]:tcp:80",real_server="\\[127\\.0\\.0\\.1\\]:tcp:${upPort}"\\} 1$`, 'm'),
  );
  assert.match(
    m,
    new RegExp(`^tskeepalived_real_server_up\\{virtual_server="\\[10\\.250\\.0\\.1\\]:tcp:80",real_server="\\[127\\.0\\.0\\.1\\]:tcp:${downPort}"\\} 0$`, 'm'),
  );
  assert.match(m, /^tskeepalived_real_server_check_latency_seconds\{.*\} [0-9.e-]+$/m);

  // the live server fails, then recovers: DOWN then UP mails, fifo lines
  await up.close();
  await waitUntil('the second DOWN mail', () => sink.mails.some((x) => x.subject.includes(`${rsUp} of virtual server ${vs} - DOWN`)), 10000);
  up = await listen(upPort);
  await waitUntil('the UP mail', () => sink.mails.some((x) => x.subject.includes(`${rsUp} of virtual server ${vs} - UP`)), 10000);
  assert.equal(sink.mails.find((x) => x.subject.endsWith('- UP'))!.body, '=> TCP CHECK succeed on service <=');
  await waitUntil('fifo lines for the live server', () => fifoLines().includes(`RS ${rsUp} ${vs} DOWN`) && fifoLines().includes(`RS ${rsUp} ${vs} UP`), 5000);

  // dumps
  child.kill('SIGUSR1');
  child.kill('SIGUSR2');
  await waitUntil('dump files', () => existsSync(join(dumps, 'keepalived.data')) && existsSync(join(dumps, 'keepalived.stats')), 5000);
  assert.match(readFileSync(join(dumps, 'keepalived.data'), 'utf8'), /Router ID = chk-node/);
  assert.match(readFileSync(join(dumps, 'keepalived.data'), 'utf8'), new RegExp(`127\\.0\\.0\\.1.*${downPort}|${downPort}`));
  assert.match(readFileSync(join(dumps, 'keepalived.stats'), 'utf8'), /Checkers statistics/);
  const json = JSON.parse(readFileSync(join(dumps, 'keepalived.json'), 'utf8'));
  assert.equal(json.daemon.routerId, 'chk-node');
  assert.deepEqual(json.daemon.engines, ['checkers']);
  assert.ok(JSON.stringify(json.checkers).includes(rsDown));

  // SIGHUP with a broken file: refused, old config kept
  writeFileSync(conf, 'virtual_server 10.250.0.1 80 {\n    real_server 127.0.0.1 {\n');
  child.kill('SIGHUP');
  await waitUntil('the refused reload', () => /reload refused/.test(out), 5000);
  m = await metrics();
  assert.match(m, /^tskeepalived_reload_failures_total 1$/m);
  assert.match(m, /^tskeepalived_engine_up\{engine="checkers"\} 1$/m);
  // a good file with a new weight: applied
  writeFileSync(conf, config({ ...opts, weight: 5 }));
  child.kill('SIGHUP');
  await waitUntil('the applied reload', async () => /^tskeepalived_reloads_total 1$/m.test(await metrics()), 5000);
  await waitUntil('the new weight', async () => new RegExp(`real_server="\\[127\\.0\\.0\\.1\\]:tcp:${upPort}"\\} 5$`, 'm').test(await metrics()), 5000);
  const status = await (await fetch(`http://127.0.0.1:${statusPort}/status`)).json();
  assert.equal(status.daemon.reloads, 1);
  assert.equal(status.daemon.reloadFailures, 1);
  assert.equal((await fetch(`http://127.0.0.1:${statusPort}/healthz`)).status, 200);

  child.kill('SIGTERM');
  assert.equal(await exited, 0, out.slice(-3000));
  assert.equal(existsSync(pid), false, 'pid file removed');
  assert.equal(existsSync(`${fifoOut}.fifo`), false, 'fifo removed');
  t.diagnostic(`${sink.mails.length} mails: ${sink.mails.map((x) => x.subject).join(' | ')}`);
});
