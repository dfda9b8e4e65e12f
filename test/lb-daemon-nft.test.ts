// Integration with traffic: the daemon in checker mode with `lb_backend nftables` inside a network
// namespace; two real servers there; connections to the VIP (DNAT in the output hook) follow the
// checkers: rr over both, then only the survivor once a server is stopped.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientRequests, deleteNamespaces, isRoot, nsExec, pidFiles, sh, startNameServer, tally, TSKEEPALIVED_BIN } from './lb-netns-util.js';

const P = `tkl-${process.pid}-`;
const NS = `${P}dn`;
const dir = mkdtempSync(join(tmpdir(), 'tkl-dnft-'));
const procs: ChildProcess[] = [];

after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  if (isRoot()) await deleteNamespaces(P);
});

test('daemon -C with lb_backend nftables balances real traffic and follows the checkers', { skip: !isRoot() && 'needs root' }, async () => {
  await sh('ip', 'netns', 'add', NS);
  await sh('ip', '-n', NS, 'link', 'set', 'lo', 'up');
  await sh('ip', '-n', NS, 'addr', 'add', '10.62.0.1/32', 'dev', 'lo');
  procs.push(await startNameServer(NS, 's1', 18081));
  const s2 = await startNameServer(NS, 's2', 18082);
  procs.push(s2);
  const conf = join(dir, 'keepalived.conf');
  writeFileSync(
    conf,
    `global_defs {
  router_id tkl_nft
  lb_backend nftables
}
virtual_server 10.62.0.1 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 127.0.0.1 18081 {
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
  real_server 127.0.0.1 18082 {
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
}
`,
  );
  const daemon = spawn('ip', ['netns', 'exec', NS, process.execPath, TSKEEPALIVED_BIN, '-n', '-G', '-C', '-f', conf, ...pidFiles(dir)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(daemon);
  let log = '';
  daemon.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  daemon.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  const rules = () => nsExec(NS, 'nft', 'list', 'chain', 'ip', 'tskeepalived', 'services').catch(() => '');
  const until = async (pred: (r: string) => boolean, what: string) => {
    for (let i = 0; i < 100; i++) {
      if (pred(await rules())) return;
      await new Promise((r) => setTimeout(r, 150));
    }
    assert.fail(`timed out waiting for ${what}; daemon output:\n${log}`);
  };
  await until((r) => r.includes('127.0.0.1 . 18081') && r.includes('127.0.0.1 . 18082'), 'both real servers in nftables');
  assert.deepEqual(tally(await clientRequests(NS, { host: '10.62.0.1', port: 80, count: 10, sources: ['127.0.0.1'] })), { s1: 5, s2: 5 });
  s2.kill();
  await until((r) => r.includes('18081') && !r.includes('18082'), 'the stopped server to leave the ruleset');
  assert.deepEqual(tally(await clientRequests(NS, { host: '10.62.0.1', port: 80, count: 6, sources: ['127.0.0.1'] })), { s1: 6 });
  daemon.kill('SIGTERM');
  await new Promise<void>((r) => daemon.once('exit', () => r()));
  assert.doesNotMatch(await nsExec(NS, 'nft', 'list', 'tables'), /tskeepalived/, 'tables left after SIGTERM');
});
