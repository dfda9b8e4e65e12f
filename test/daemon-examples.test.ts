// examples/*.conf pass keepalived 2.2.7's own check and `tskeepalived --check-config` (in a
// namespace that has the eth0/eth1 they name); `npm run demo` succeeds.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ip, isRoot, ROOT } from './daemon-netns.js';

const NS = `tkd-${process.pid}-ex`;
const examples = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.conf') && f !== 'keepalived.conf')
  .map((f) => join(ROOT, 'examples', f));

after(() => {
  try {
    execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
  } catch {
    /* not there */
  }
});

function ensureNs(): void {
  try {
    ip('netns', 'add', NS);
    ip('-n', NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
    ip('-n', NS, 'link', 'set', 'eth0', 'up');
    ip('-n', NS, 'link', 'set', 'eth1', 'up');
  } catch {
    /* exists */
  }
}

test('there are example configs', () => {
  assert.ok(examples.length >= 5, examples.join(', '));
});

test('examples pass keepalived 2.2.7 -t (the oracle)', {
  skip: !isRoot() ? 'needs root' : !existsSync('/usr/sbin/keepalived') ? 'keepalived not installed' : false,
}, () => {
  ensureNs();
  for (const f of examples) {
    const r = spawnSync('ip', ['netns', 'exec', NS, '/usr/sbin/keepalived', '-t', '-f', f], { encoding: 'utf8', timeout: 20000 });
    // the tskeepalived extension block bgp (docs/bgp.md): keepalived calls it an unknown keyword
    if (/^bgp\s*\{/m.test(readFileSync(f, 'utf8'))) {
      assert.equal(r.status, 5, `${f}: ${r.stderr}`);
      assert.match(r.stderr, /Unknown keyword 'bgp'/);
    } else assert.equal(r.status, 0, `${f}: ${r.stderr}`);
  }
});

test('examples pass tskeepalived --check-config', { skip: !isRoot() ? 'needs root' : false }, () => {
  ensureNs();
  for (const f of examples) {
    const r = spawnSync('ip', ['netns', 'exec', NS, BIN, '--check-config', '-f', f], { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 0, `${f}: rc ${r.status}\n${r.stdout}\n${r.stderr}`);
  }
});

test('npm run demo succeeds', { skip: !isRoot() ? 'needs root' : false, timeout: 90000 }, (t) => {
  const t0 = Date.now();
  const r = spawnSync('npm', ['run', '--silent', 'demo'], { cwd: ROOT, encoding: 'utf8', timeout: 80000 });
  t.diagnostic(`demo took ${Date.now() - t0} ms`);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /DEMO OK/);
  assert.match(r.stdout, /mail received.*\[node-b\] VRRP Instance VI_1 - Entering MASTER state/);
  // nothing left behind
  assert.doesNotMatch(ip('netns', 'list'), /tkdemo-/);
});
