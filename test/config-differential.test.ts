// Differential: generated configs (valid, and with the mistakes people make) are checked by BOTH
// live keepalived 2.2.7 and tskeepalived (-t, same file, same namespace with lo + eth0).
// Exit codes and the set of (file, line) locations of the messages must be equal.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { canUseNamespaces, haveKeepalived, KEEPALIVED, messageLocations, TestNamespace, TSKEEPALIVED } from './config-netns.js';

interface Parts {
  global: string[];
  instance1: string[];
  instance2: string[];
  extraRoot: string[];
  vs: string[];
  rs: string[];
}

function base(): Parts {
  return {
    global: ['router_id lb1'],
    instance1: ['state BACKUP', 'interface eth0', 'virtual_router_id 51', 'priority 100', 'advert_int 1'],
    instance2: ['state BACKUP', 'interface eth0', 'virtual_router_id 52', 'priority 90'],
    extraRoot: [],
    vs: ['delay_loop 5', 'lvs_sched rr', 'lvs_method NAT', 'protocol TCP'],
    rs: ['weight 1', 'TCP_CHECK {', 'connect_timeout 3', '}'],
  };
}

function render(p: Parts): string {
  const out: string[] = [];
  out.push('global_defs {', ...p.global.map((l) => '    ' + l), '}');
  out.push('vrrp_instance VI_1 {', ...p.instance1.map((l) => '    ' + l), '    virtual_ipaddress {', '        192.0.2.10/24', '    }', '}');
  out.push('vrrp_instance VI_2 {', ...p.instance2.map((l) => '    ' + l), '    virtual_ipaddress {', '        192.0.2.20/24', '    }', '}');
  out.push(...p.extraRoot);
  out.push('virtual_server 192.0.2.10 80 {', ...p.vs.map((l) => '    ' + l));
  if (p.rs.length) out.push('    real_server 198.51.100.1 8080 {', ...p.rs.map((l) => '        ' + l), '    }');
  out.push('}');
  return out.join('\n') + '\n';
}

type Mistake = [string, (p: Parts) => void];

const MISTAKES: Mistake[] = [
  ['unknown keyword in global_defs', (p) => p.global.push('router_idd x')],
  ['unknown keyword in vrrp_instance', (p) => p.instance1.push('prioirty 100')],
  ['unknown keyword at top level', (p) => p.extraRoot.push('vrrp_instanse VI_9 {', '}')],
  ['unknown keyword in real_server', (p) => p.rs.push('wieght 3')],
  ['priority out of range', (p) => (p.instance1[3] = 'priority 300')],
  ['priority not a number', (p) => (p.instance2[3] = 'priority high')],
  ['advert_int not a number', (p) => (p.instance1[4] = 'advert_int abc')],
  ['negative delay_loop', (p) => (p.vs[0] = 'delay_loop -5')],
  ['bad weight', (p) => (p.rs[0] = 'weight x')],
  ['virtual_router_id 0', (p) => (p.instance2[2] = 'virtual_router_id 0')],
  ['duplicate VRID', (p) => (p.instance2[2] = 'virtual_router_id 51')],
  ['missing sync group member', (p) => p.extraRoot.push('vrrp_sync_group G1 {', '    group {', '        VI_1', '        VI_404', '    }', '}')],
  ['sync group ok', (p) => p.extraRoot.push('vrrp_sync_group G1 {', '    group {', '        VI_1', '        VI_2', '    }', '}')],
  ['nopreempt with MASTER', (p) => p.instance1.push('nopreempt', 'state MASTER')],
  ['missing interface', (p) => (p.instance2[1] = 'interface eth9')],
  ['missing tracked interface', (p) => p.instance1.push('track_interface {', '    eth7', '}')],
  ['missing track_script', (p) => p.instance1.push('track_script {', '    chk_nothing', '}')],
  ['virtual_server without real servers', (p) => (p.rs = [])],
  [
    'fwmark with protocol',
    (p) =>
      p.extraRoot.push(
        'virtual_server fwmark 7 {',
        '    lvs_sched rr',
        '    protocol TCP',
        '    real_server 198.51.100.2 80 {',
        '        TCP_CHECK {',
        '        }',
        '    }',
        '}',
      ),
  ],
  ['AH with MASTER', (p) => p.instance1.push('state MASTER', 'authentication {', '    auth_type AH', '    auth_pass secret1', '}')],
  ['rule without preference', (p) => p.instance2.push('virtual_rules {', '    from 192.0.2.0/24 table 100', '}')],
  ['route nexthop interface missing', (p) => p.instance2.push('virtual_routes {', '    192.0.2.128/25 via 192.0.2.1 dev eth5', '}')],
  ['bad VIP', (p) => p.instance1.push('virtual_ipaddress_excluded {', '    192.0.2.300/24', '}')],
  ['VIP on a missing interface', (p) => p.instance1.push('virtual_ipaddress_excluded {', '    192.0.2.30/24 dev eth3', '}')],
  ['script without script security', (p) => p.instance1.push('notify_master /bin/true')],
  ['script with script security and no keepalived_script user', (p) => (p.global.push('enable_script_security'), p.instance1.push('notify_master /bin/true'))],
  ['script that does not exist', (p) => p.instance1.push('notify_master /nonexistent/notify.sh')],
  ['MISC_CHECK script', (p) => (p.rs = ['MISC_CHECK {', '    misc_path "/bin/true arg"', '}'])],
  ['MISC_CHECK script with script security', (p) => (p.global.push('enable_script_security'), (p.rs = ['MISC_CHECK {', '    misc_path "/bin/true arg"', '}']))],
  ['quorum_up and notify_up scripts', (p) => (p.vs.push('quorum_up "/bin/echo up"'), p.rs.push('notify_up /bin/true'))],
  ['unicast_src_ip without peers', (p) => p.instance2.push('unicast_src_ip 192.0.2.5')],
  ['unicast peers', (p) => p.instance2.push('unicast_src_ip 192.0.2.5', 'unicast_peer {', '    192.0.2.6', '    192.0.2.7 min_ttl 2', '}')],
  [
    'dynamic_interfaces with missing interfaces',
    (p) => (p.global.push('dynamic_interfaces'), (p.instance2[1] = 'interface eth9'), p.instance1.push('track_interface {', '    eth8', '}')),
  ],
  ['HTTP_GET without url', (p) => (p.rs = ['HTTP_GET {', '    connect_timeout 3', '}'])],
  ['no lvs_sched', (p) => (p.vs = ['protocol TCP'])],
  ['no protocol', (p) => (p.vs = ['lvs_sched rr', 'lvs_method DR'])],
  ['no virtual_router_id', (p) => p.instance2.splice(2, 1)],
  ['unicast_ttl without peers', (p) => p.instance2.push('unicast_ttl 10')],
  [
    'IPv6 instance',
    (p) =>
      p.extraRoot.push(
        'vrrp_instance VI_6 {',
        '    interface eth0',
        '    virtual_router_id 61',
        '    virtual_ipaddress {',
        '        2001:db8::10/64',
        '    }',
        '}',
      ),
  ],
  ['unknown state', (p) => (p.instance2[0] = 'state LEADER')],
  ['vrrp_script without script', (p) => p.extraRoot.unshift('vrrp_script chk {', '    interval 2', '}')],
  [
    'vrrp_script used',
    (p) => (p.extraRoot.unshift('vrrp_script chk {', '    script "/bin/true"', '    weight -20', '}'), p.instance1.push('track_script {', '    chk', '}')),
  ],
  ['bad status_code', (p) => (p.rs = ['HTTP_GET {', '    url {', '        path /', '        status_code 99', '    }', '}'])],
  ['garp delay invalid', (p) => p.instance1.push('garp_master_delay x')],
  ['smtp_alert invalid', (p) => p.instance1.push('smtp_alert maybe')],
  [
    'duplicate real server',
    (p) =>
      p.extraRoot.push(
        'virtual_server 192.0.2.11 80 {',
        '    protocol TCP',
        '    real_server 198.51.100.3 80 {',
        '    }',
        '    real_server 198.51.100.3 80 {',
        '    }',
        '}',
      ),
  ],
  [
    'virtual server of an undefined group',
    (p) => p.extraRoot.push('virtual_server group NOPE {', '    lvs_sched rr', '    real_server 198.51.100.3 80 {', '    }', '}'),
  ],
  ['empty virtual_server_group', (p) => p.extraRoot.push('virtual_server_group EMPTY {', '}')],
  [
    'virtual_server_group in use',
    (p) =>
      p.extraRoot.push(
        'virtual_server_group G {',
        '    192.0.2.50-60 80',
        '    fwmark 9',
        '}',
        'virtual_server group G {',
        '    lvs_sched wlc',
        '    protocol TCP',
        '    real_server 198.51.100.3 80 {',
        '    }',
        '}',
      ),
  ],
  ['vrrp_strict with accept (VRRPv2)', (p) => (p.global.push('vrrp_strict'), p.instance1.push('accept'))],
  ['vrrp_strict with accept (VRRPv3) and a MASTER non-owner', (p) => (p.global.push('vrrp_strict'), p.instance2.push('version 3', 'accept', 'state MASTER'))],
  [
    'track_script defined after use',
    (p) => (p.instance1.push('track_script {', '    later', '}'), p.extraRoot.push('vrrp_script later {', '    script "/nonexistent/chk"', '}')),
  ],
];

/** HTTP_GET / SSL_GET settings (a list of their own, so that the pairs of MISTAKES stay as they were) */
const HTTP_CASES: [string, (p: Parts) => void][] = [
  [
    'http_protocol 1.0c, 1.1K and 0.9; real server virtualhost',
    (p) =>
      (p.rs = [
        'virtualhost rs.example',
        'HTTP_GET {',
        '    http_protocol 1.0c',
        '    url {',
        '        path /',
        '    }',
        '}',
        'SSL_GET {',
        '    http_protocol 1.1K',
        '    enable_sni',
        '    url {',
        '        path /',
        '    }',
        '}',
        'HTTP_GET {',
        '    http_protocol 0.9',
        '    url {',
        '        path /',
        '    }',
        '}',
      ]),
  ],
  [
    'SSL block: missing and repeated settings, unknown keyword, a second block',
    (p) =>
      p.extraRoot.push(
        'SSL {',
        '    password',
        '    ca /tmp/a.pem',
        '    ca /tmp/b.pem',
        '    certificate /tmp/c.pem',
        '    key /tmp/k.pem',
        '    ssl_unknown x',
        '}',
        'SSL {',
        '    key /tmp/k2.pem',
        '}',
      ),
  ],
];

/**
 * Weighted trackers that keepalived ignores (sync group members without sync_group_tracking_weight,
 * address owners): the same "ignoring ..." lines, word for word (they carry no file:line).
 */
const CHK = ['vrrp_script chk {', '    script "/bin/true"', '    weight 10', '}', 'vrrp_track_file tf {', '    file /tmp/tkc-tf-none', '}'];
const SYNC = ['vrrp_sync_group G1 {', '    group {', '        VI_1', '        VI_2', '    }'];
const TRACKING_CASES: [string, (p: Parts) => void, string[]?][] = [
  [
    'sync group with an address owner member and weighted group trackers',
    (p) => (
      p.extraRoot.unshift(
        ...CHK,
        ...SYNC,
        '    track_script {',
        '        chk',
        '    }',
        '    track_file {',
        '        tf',
        '    }',
        '    track_interface {',
        '        lo weight 4',
        '    }',
        '}',
      ),
      (p.instance1[3] = 'priority 255')
    ),
  ],
  [
    'sync group member with weighted trackers',
    (p) => (
      p.extraRoot.unshift(...CHK, ...SYNC, '}'),
      p.instance1.push('track_script {', '    chk', '}', 'track_interface {', '    lo weight 5', '}', 'track_file {', '    tf', '    tf weight 3', '}')
    ),
  ],
  [
    'sync group member with a weighted track_bfd',
    (p) => (p.extraRoot.unshift(...SYNC, '}'), p.instance1.push('track_bfd {', '    b1', '}')),
    // keepalived resolves track_bfd as it reads it: the bfd_instance comes first
    ['bfd_instance b1 {', '    neighbor_ip 192.0.2.99', '    weight 10 reverse', '}'],
  ],
  [
    'sync group with sync_group_tracking_weight',
    (p) => (
      p.extraRoot.unshift(...CHK, ...SYNC, '    sync_group_tracking_weight', '}'),
      p.instance1.push('track_script {', '    chk', '}', 'track_file {', '    tf', '}')
    ),
  ],
  [
    'weighted track_process: a sync group with an address owner member, the owner and a member',
    (p) => (
      p.extraRoot.unshift(...SYNC, '    track_process {', '        tp', '        tp2 weight -3 reverse', '        tp0', '    }', '}'),
      (p.instance1[3] = 'priority 255'),
      p.instance1.push('track_process {', '    tp weight 5', '}'),
      p.instance2.push('track_process {', '    tp2', '}')
    ),
    // keepalived resolves track_process as it reads it: the vrrp_track_process blocks come first
    [
      'vrrp_track_process tp {',
      '    process tkc-none',
      '    weight 10',
      '}',
      'vrrp_track_process tp2 {',
      '    process tkc-none2',
      '    weight 4 reverse',
      '}',
      'vrrp_track_process tp0 {',
      '    process tkc-none0',
      '}',
    ],
  ],
  [
    'address owner with weighted trackers',
    (p) => (
      p.extraRoot.unshift(...CHK),
      (p.instance1[3] = 'priority 255'),
      p.instance1.push('track_script {', '    chk weight -5 reverse', '}', 'track_interface {', '    lo weight 5', '}', 'track_file {', '    tf', '}')
    ),
  ],
];

/** deterministic pseudo-random pairs of mistakes (mulberry32) */
function pairs(n: number, seed: number): [number, number][] {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) out.push([Math.floor(rnd() * MISTAKES.length), Math.floor(rnd() * MISTAKES.length)]);
  return out;
}

const skip = canUseNamespaces() ?? (haveKeepalived() ? undefined : 'keepalived is not installed');

describe('differential: keepalived -t and tskeepalived -t agree', { skip }, () => {
  const ns = new TestNamespace('diff');
  const dir = mkdtempSync(join(tmpdir(), 'tkc-diff-'));
  before(() => ns.create());
  after(() => {
    ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: [string, Parts][] = [['valid config', base()]];
  for (const [name, apply] of MISTAKES) {
    const p = base();
    apply(p);
    cases.push([name, p]);
  }
  for (const [name, apply] of HTTP_CASES) {
    const p = base();
    apply(p);
    cases.push([name, p]);
  }
  for (const [a, b] of pairs(Number(process.env.TKC_DIFF_PAIRS ?? 25), Number(process.env.TKC_DIFF_SEED ?? 20261121))) {
    if (a === b) continue;
    const p = base();
    MISTAKES[a][1](p);
    MISTAKES[b][1](p);
    cases.push([`${MISTAKES[a][0]} + ${MISTAKES[b][0]}`, p]);
  }

  it('a config split over included files', () => {
    const sub = join(dir, 'inc');
    mkdirSync(join(sub, 'conf.d'), { recursive: true });
    const top = join(sub, 'main.conf');
    writeFileSync(top, 'global_defs {\n    router_id x\n    bogus_global 1\n}\ninclude conf.d/*.conf\n');
    writeFileSync(
      join(sub, 'conf.d', 'a.conf'),
      'vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 300\n    bogus_kw 2\n    virtual_ipaddress {\n        192.0.2.1\n    }\n}\n',
    );
    writeFileSync(join(sub, 'conf.d', 'b.conf'), 'global_defs {\n    bogus_in_b 3\n}\nvirtual_server 192.0.2.1 80 {\n    protocol TCP\n}\n');
    const ka = ns.run(KEEPALIVED, ['-t', '-f', 'main.conf'], sub);
    const ts = ns.run(process.execPath, [TSKEEPALIVED, '-t', '-f', 'main.conf'], sub);
    const detail = `\n--- keepalived (rc ${ka.status}):\n${ka.stderr}--- tskeepalived (rc ${ts.status}):\n${ts.stderr}`;
    assert.equal(ts.status, ka.status, `exit code${detail}`);
    assert.deepEqual([...messageLocations(ts.stderr, 'main.conf')].sort(), [...messageLocations(ka.stderr, 'main.conf')].sort(), `message locations${detail}`);
  });

  const ignoring = (text: string) => text.split('\n').filter((l) => / ignoring |tracked|Cannot have weighted/.test(l));
  TRACKING_CASES.forEach(([name, apply, preRoot = []], i) => {
    it(name, () => {
      const parts = base();
      apply(parts);
      const file = join(dir, `t${i}.conf`);
      writeFileSync(file, [...preRoot, render(parts)].join('\n'));
      const ka = ns.run(KEEPALIVED, ['-t', '-f', file]);
      const ts = ns.run(process.execPath, [TSKEEPALIVED, '-t', '-f', file]);
      const detail = `\n--- keepalived (rc ${ka.status}):\n${ka.stderr}--- tskeepalived (rc ${ts.status}):\n${ts.stderr}`;
      assert.equal(ts.status, ka.status, `exit code${detail}`);
      assert.deepEqual([...messageLocations(ts.stderr, file)].sort(), [...messageLocations(ka.stderr, file)].sort(), `message locations${detail}`);
      assert.deepEqual(ignoring(ts.stderr), ignoring(ka.stderr), `"ignoring" messages${detail}`);
      if (!name.includes('sync_group_tracking_weight')) assert.ok(ignoring(ka.stderr).length > 0, `keepalived says what it ignores${detail}`);
    });
  });

  cases.forEach(([name, parts], i) => {
    it(name, (t) => {
      const file = join(dir, `d${i}.conf`);
      writeFileSync(file, render(parts));
      const ka = ns.run(KEEPALIVED, ['-t', '-f', file]);
      // keepalived 2.2.7 crashes on some configs (e.g. HTTP_GET without url): nothing to compare with
      if (ka.status < 0 || ka.status > 128)
        return t.skip(`keepalived 2.2.7 itself crashes on this config (${ka.signal ?? `status ${ka.status}`}): no oracle to compare with`);
      const ts = ns.run(process.execPath, [TSKEEPALIVED, '-t', '-f', file]);
      const detail = `\n--- keepalived (rc ${ka.status}):\n${ka.stderr}--- tskeepalived (rc ${ts.status}):\n${ts.stderr}`;
      assert.equal(ts.status, ka.status, `exit code${detail}`);
      assert.deepEqual([...messageLocations(ts.stderr, file)].sort(), [...messageLocations(ka.stderr, file)].sort(), `message locations${detail}`);
    });
  });
});
