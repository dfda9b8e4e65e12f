// Integration: `tskeepalived -C --lb-backend=dry-run` prints the desired LB state as ipvsadm -S lines
// each time the checkers change it (config -> checkers -> LB backend, real TCP checks on loopback).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidFiles, TSKEEPALIVED_BIN } from './lb-netns-util.js';

const dir = mkdtempSync(join(tmpdir(), 'tkl-dryrun-'));
let daemon: ChildProcess | undefined;
const servers: net.Server[] = [];

after(() => {
  daemon?.kill('SIGKILL');
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function listen(host: string): Promise<net.Server> {
  const s = net.createServer((c) => c.end());
  await new Promise<void>((r) => s.listen(0, host, () => r()));
  servers.push(s);
  return s;
}

test('-C --lb-backend=dry-run prints the state, then again when a real server fails', async () => {
  const a = await listen('127.0.0.31');
  const b = await listen('127.0.0.32');
  const pa = (a.address() as net.AddressInfo).port;
  const pb = (b.address() as net.AddressInfo).port;
  const conf = join(dir, 'keepalived.conf');
  writeFileSync(
    conf,
    `global_defs {
  router_id tkl_dry
}
virtual_server 127.0.0.30 8080 {
  delay_loop 1
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  persistence_timeout 50
  real_server 127.0.0.31 ${pa} {
    weight 3
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
  real_server 127.0.0.32 ${pb} {
    weight 1
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
}
`,
  );
  daemon = spawn(process.execPath, [TSKEEPALIVED_BIN, '-n', '-G', '-C', '--lb-backend=dry-run', '-f', conf, ...pidFiles(dir)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  daemon.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  daemon.stderr!.resume();
  const waitFor = async (re: RegExp, what: string) => {
    for (let i = 0; i < 150; i++) {
      if (re.test(out)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`timed out waiting for ${what}; stdout so far:\n${out}`);
  };
  const first = [
    '-A -t 127.0.0.30:8080 -s wrr -p 50',
    `-a -t 127.0.0.30:8080 -r 127.0.0.31:${pa} -m -w 3`,
    `-a -t 127.0.0.30:8080 -r 127.0.0.32:${pb} -m -w 1`,
  ].join('\n');
  await waitFor(new RegExp(first.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'the initial state');
  const mark = out.length;
  b.close();
  for (const c of [b]) servers.splice(servers.indexOf(c), 1);
  const second = ['-A -t 127.0.0.30:8080 -s wrr -p 50', `-a -t 127.0.0.30:8080 -r 127.0.0.31:${pa} -m -w 3`, ''].join('\n');
  for (let i = 0; i < 150 && !out.slice(mark).includes(second); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(out.slice(mark).includes(second), `no updated state after the failure; stdout:\n${out}`);
  const rules = out
    .slice(mark)
    .split('\n')
    .filter((l) => l.startsWith('-'));
  assert.ok(!rules.some((l) => l.includes(`127.0.0.32:${pb}`)), `the failed real server is still listed:\n${out}`);
});
