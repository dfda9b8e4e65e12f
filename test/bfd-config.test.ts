// bfd_instance, track_bfd and BFD_CHECK in the model, and keepalived 2.2.7's end-of-block checks
// (messages and lines compared with `keepalived -t` when it is installed).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listOf } from '../src/config/exact.js';
import { loadConfig } from '../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'tsk-bfdcfg-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

const CHECKS = `bfd_instance b1 {
  min_rx 20
}
bfd_instance b2 {
  neighbor_ip 10.1.1.1
  source_ip 10.1.1.9
}
bfd_instance b3 {
  neighbor_ip 10.1.1.1
}
bfd_instance b4 {
  neighbor_ip fd00::4
  hoplimit 10
  max_hops 20
}
bfd_instance b5 {
  neighbor_ip 10.1.1.5
  source_ip 10.1.1.6
  idle_tx 500
  max_hops 256
  min_tx 0.5
  multiplier 0
}
bfd_instance b7 {
  neighbor_ip fe80::1%eth0
}
bfd_instance b8 {
  neighbor_ip 10.1.1.8
  source_ip 10.1.1.x
}
`;

test('keepalived’s end-of-block checks: no neighbour, duplicates, max_hops above the TTL; range messages', async () => {
  const f = write('checks.conf', CHECKS);
  const r = await loadConfig(f, { interfaces: ['lo'] });
  const lines = r.diagnostics.map((d) => `${d.line}: ${d.message}`);
  assert.deepEqual(lines, [
    '3: Configuration error: BFD instance b1 has no neighbor address set, disabling instance',
    '10: Configuration error: BFD instance b3 has duplicate neighbor address 10.1.1.1, ignoring instance',
    '15: BFD instance b4: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit',
    "19: number '500' outside range [1000.000, 4294967.000]",
    '19: Configuration error: BFD instance b5 idle_tx value 500 is not valid (must be in range [1000-4294967]), ignoring',
    "20: number '256' outside range [-1, 255]",
    '20: Configuration error: BFD instance b5 max_hops value 256 not valid (must be in range [-1-255]), ignoring',
    "21: number '0.5' outside range [1.000, 4294967.000]",
    '21: Configuration error: BFD instance b5 min_tx value 0.5 is not valid (must be in range [1-4294967]), ignoring',
    "22: number '0' outside range [1, 255]",
    '22: Configuration error: BFD instance b5 multiplier value 0 not valid (must be in range [1-255]), ignoring',
    '25: Configuration error: BFD instance b7 has malformed neighbor address fe80::1%eth0, ignoring instance',
    '29: Configuration error: BFD instance b8 has malformed source address 10.1.1.x, ignoring',
  ]);
  assert.deepEqual(
    r.config.bfdInstances?.map((b) => b.name),
    ['b2', 'b4', 'b5', 'b8'],
  );
  assert.equal(r.config.bfdInstances?.find((b) => b.name === 'b4')?.maxHops, 10);
  if (existsSync('/usr/sbin/keepalived')) {
    const k = spawnSync('keepalived', ['-t', '-l', '-f', f], { encoding: 'utf8', timeout: 20_000 });
    const theirs = `${k.stdout}${k.stderr}`
      .split('\n')
      .map((l) => /\(.*: Line (\d+)\) (.*)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => `${m[1]}: ${m[2]}`);
    assert.deepEqual(lines, theirs, 'the same messages on the same lines as keepalived -t');
  }
});

test('the model: defaults, max_hops -1, weight reverse, track_bfd of instances and sync groups, BFD_CHECK', async () => {
  const f = write(
    'model.conf',
    `bfd_instance b1 {
  neighbor_ip 10.1.1.1
  max_hops -1
  weight 10 reverse
}
bfd_instance b6 {
  neighbor_ip fd00::1
  passive
}
vrrp_sync_group G {
  group {
    VI
  }
  track_bfd {
    b6 weight -5
  }
  sync_group_tracking_weight
}
vrrp_instance VI {
  interface lo
  virtual_router_id 1
  priority 100
  virtual_ipaddress {
    10.9.9.9
  }
  track_bfd {
    b1
  }
}
virtual_server 10.9.9.10 80 {
  real_server 10.1.1.1 80 {
    BFD_CHECK {
      name b1
    }
  }
}
`,
  );
  const r = await loadConfig(f, { interfaces: ['lo'] });
  const b1 = r.config.bfdInstances!.find((b) => b.name === 'b1')!;
  assert.equal(b1.maxHops, -1);
  assert.equal(b1.weight, 10);
  assert.equal(b1.weightReverse, true);
  assert.deepEqual([b1.minRx, b1.minTx, b1.idleTx, b1.multiplier, b1.passive], [10, 10, 1000, 5, false], 'keepalived’s defaults');
  assert.equal(r.config.bfdInstances!.find((b) => b.name === 'b6')!.passive, true);
  assert.deepEqual(
    r.config.syncGroups[0].trackBfd?.map((t) => [t.name, t.weight]),
    [['b6', -5]],
  );
  assert.deepEqual(
    r.config.vrrpInstances[0].trackBfd?.map((t) => [t.name, t.weight]),
    [['b1', undefined]],
  );
  // without sync_group_tracking_weight keepalived drops a member's weighted track_bfd (b1 has weight 10;
  // its message, "(VI) ignoring tracked bfd b1 with weight 10 due to SYNC group", is compared in config-differential)
  const f2 = write('model2.conf', readFileSync(f, 'utf8').replace('  sync_group_tracking_weight\n', ''));
  const r2 = await loadConfig(f2, { interfaces: ['lo'] });
  assert.deepEqual(r2.config.vrrpInstances[0].trackBfd, []);
  const rs = r.config.virtualServers[0].realServers[0];
  assert.deepEqual(
    listOf(rs.checkers).map((c) => c.type === 'BFD_CHECK' && c.name),
    ['b1'],
  );
});
