// keepalived 2.2.7 reads its configuration once, in file order, in each process: a tracked object
// (bfd_instance, vrrp_script, vrrp_track_process, track_file) is only known to the blocks after
// it. A track_* reference before its definition is "(VI_1) track bfd B1 not found, ignoring..."
// (exit 5); in the checker process a BFD_CHECK / FILE_CHECK before it is "BFD ... not configured" /
// "track_file ... not found". Each case runs keepalived -t (the oracle) and tskeepalived -t on the
// same file in the same namespace: same exit code, same messages, same file:line.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { canUseNamespaces, haveKeepalived, KEEPALIVED, TestNamespace, TSKEEPALIVED } from './config-netns.js';

const GLOBAL = 'global_defs {\n    router_id t\n    enable_script_security\n    script_user root\n}\n';
const BFD = (name = 'B1') => `bfd_instance ${name} {\n    neighbor_ip 192.0.2.2\n}\n`;
const SCRIPT = 'vrrp_script S1 {\n    script "/bin/true"\n}\n';
const PROCESS = 'vrrp_track_process P1 {\n    process sshd\n}\n';
const FILE = (dir: string) => `track_file F1 {\n    file ${dir}/f1\n}\n`;
const VRRP_FILE = (dir: string) => `vrrp_track_file F1 {\n    file ${dir}/f1\n}\n`;

function instance(track: string, name = 'VI_1', vrid = 51): string {
  return `vrrp_instance ${name} {\n    state BACKUP\n    interface eth0\n    virtual_router_id ${vrid}\n    priority 100\n${track}    virtual_ipaddress {\n        192.0.2.${vrid}/24\n    }\n}\n`;
}
const track = (kw: string, ...names: string[]) => `    ${kw} {\n${names.map((n) => `        ${n}\n`).join('')}    }\n`;

function virtualServer(checks: string): string {
  return `virtual_server 192.0.2.100 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    real_server 192.0.2.2 80 {\n${checks}    }\n}\n`;
}

const skip = canUseNamespaces() ?? (haveKeepalived() ? undefined : 'keepalived is not installed');

describe('track_* references resolved in file order, as keepalived -t', { skip }, () => {
  const ns = new TestNamespace('order');
  const dir = mkdtempSync(join(tmpdir(), 'tkc-order-'));
  before(() => ns.create());
  after(() => {
    ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const syncGroup = (tracks: string) => `vrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_2\n    }\n${tracks}}\n`;
  const cases: [string, string, number?][] = [
    ['track_bfd before its bfd_instance', GLOBAL + instance(track('track_bfd', 'B1')) + BFD(), 5],
    ['track_bfd after its bfd_instance', GLOBAL + BFD() + instance(track('track_bfd', 'B1')), 0],
    ['track_bfd of one bfd_instance before and one after', GLOBAL + BFD('B1') + instance(track('track_bfd', 'B1', 'B2')) + BFD('B2'), 5],
    ['track_script before its vrrp_script', GLOBAL + instance(track('track_script', 'S1')) + SCRIPT, 5],
    ['track_process before its vrrp_track_process', GLOBAL + instance(track('track_process', 'P1')) + PROCESS, 5],
    ['track_file before its track_file block', GLOBAL + instance(track('track_file', 'F1')) + FILE(dir), 5],
    ['track_file before its vrrp_track_file block', GLOBAL + instance(track('track_file', 'F1')) + VRRP_FILE(dir), 5],
    [
      'every track_* after its definition',
      GLOBAL +
        BFD() +
        SCRIPT +
        PROCESS +
        FILE(dir) +
        instance(track('track_bfd', 'B1') + track('track_script', 'S1') + track('track_process', 'P1') + track('track_file', 'F1')),
      0,
    ],
    [
      'a sync group tracking objects defined after it',
      GLOBAL +
        instance('') +
        instance('', 'VI_2', 52) +
        syncGroup(track('track_bfd', 'B1') + track('track_script', 'S1') + track('track_file', 'F1') + track('track_process', 'P1')) +
        BFD() +
        SCRIPT +
        FILE(dir) +
        PROCESS,
      5,
    ],
    [
      'BFD_CHECK and FILE_CHECK before the bfd_instance and track_file (the checker process)',
      GLOBAL +
        virtualServer('        BFD_CHECK {\n            name B1\n        }\n        FILE_CHECK {\n            track_file F1\n        }\n') +
        BFD() +
        FILE(dir),
      5,
    ],
    [
      'BFD_CHECK and FILE_CHECK after them',
      GLOBAL +
        BFD() +
        FILE(dir) +
        virtualServer('        BFD_CHECK {\n            name B1\n        }\n        FILE_CHECK {\n            track_file F1\n        }\n'),
    ],
  ];

  cases.forEach(([name, text, expected], i) => {
    it(name, () => {
      const file = join(dir, `o${i}.conf`);
      writeFileSync(file, text);
      const ka = ns.run(KEEPALIVED, ['-t', '-f', file]);
      const ts = ns.run(process.execPath, [TSKEEPALIVED, '-t', '-f', file]);
      const detail = `\n--- keepalived (rc ${ka.status}):\n${ka.stderr}--- tskeepalived (rc ${ts.status}):\n${ts.stderr}`;
      if (expected !== undefined) assert.equal(ka.status, expected, `the oracle's exit code${detail}`);
      assert.equal(ts.status, ka.status, `exit code${detail}`);
      assert.equal(ts.stderr, ka.stderr, `messages${detail}`);
      if (expected === 5) assert.match(ts.stderr, /not found|not configured/, detail);
    });
  });

  it('across included files: a bfd_instance in a file included after the instance', () => {
    const sub = join(dir, 'inc');
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'main.conf'), `${GLOBAL}include a.conf\ninclude b.conf\n`);
    writeFileSync(join(sub, 'a.conf'), instance(track('track_bfd', 'B1')));
    writeFileSync(join(sub, 'b.conf'), BFD());
    const ka = ns.run(KEEPALIVED, ['-t', '-f', 'main.conf'], sub);
    const ts = ns.run(process.execPath, [TSKEEPALIVED, '-t', '-f', 'main.conf'], sub);
    const detail = `\n--- keepalived (rc ${ka.status}):\n${ka.stderr}--- tskeepalived (rc ${ts.status}):\n${ts.stderr}`;
    assert.equal(ka.status, 5, detail);
    assert.equal(ts.status, ka.status, detail);
    assert.equal(ts.stderr, ka.stderr, detail);
    assert.match(ts.stderr, /\(a\.conf: Line 7\) \(VI_1\) track bfd B1 not found, ignoring\.\.\./, detail);
  });
});
