// The nftables ruleset text (pure): golden output for a small state, and the approximation notes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LbState } from '../src/lb/backend.js';
import { buildNftRuleset, nftRemoveScript } from '../src/lb/nft-ruleset.js';
import { normalizeState } from '../src/lb/state.js';

const d = (address: string, port: number, weight = 1) => ({ address, family: (address.includes(':') ? 6 : 4) as 4 | 6, port, weight, lbKind: 'NAT' as const });

test('golden ruleset: wrr map, persistence as masked source hash, empty service rejected, no ip6 table', () => {
  const state: LbState = normalizeState({
    services: [
      {
        key: { kind: 'addr', family: 4, protocol: 'TCP', address: '10.0.0.1', port: 80 },
        scheduler: 'wrr',
        ops: false,
        destinations: [d('192.168.1.2', 8080, 2), d('192.168.1.3', 8080, 1), d('192.168.1.4', 8080, 0)],
      },
      {
        key: { kind: 'addr', family: 4, protocol: 'UDP', address: '10.0.0.1', port: 53 },
        scheduler: 'rr',
        ops: false,
        persistenceTimeout: 60,
        persistenceNetmask: '255.255.255.0',
        destinations: [d('192.168.1.2', 53)],
      },
      { key: { kind: 'addr', family: 4, protocol: 'TCP', address: '10.0.0.1', port: 81 }, scheduler: 'rr', ops: false, destinations: [] },
      { key: { kind: 'fwmark', family: 4, protocol: 'TCP', fwmark: 3 }, scheduler: 'wlc', ops: false, destinations: [d('192.168.1.5', 0)] },
    ],
  });
  const r = buildNftRuleset(state, { seed: 0xabc });
  assert.equal(
    r.script,
    [
      'table ip tskeepalived',
      'delete table ip tskeepalived',
      'table ip tskeepalived {',
      '  chain services {',
      '    ip daddr 10.0.0.1 tcp dport 80 dnat to numgen inc mod 3 map { 0 : 192.168.1.2 . 8080, 1 : 192.168.1.3 . 8080, 2 : 192.168.1.2 . 8080 }',
      '    ip daddr 10.0.0.1 udp dport 53 dnat to 192.168.1.2:53',
      '    meta mark 3 dnat to 192.168.1.5',
      '  }',
      '  chain prerouting {',
      '    type nat hook prerouting priority dstnat; policy accept;',
      '    jump services',
      '  }',
      '  chain output {',
      '    type nat hook output priority -100; policy accept;',
      '    jump services',
      '  }',
      '  chain input {',
      '    type filter hook input priority 0; policy accept;',
      '    ip daddr 10.0.0.1 tcp dport 81 reject',
      '  }',
      '  chain forward {',
      '    type filter hook forward priority 0; policy accept;',
      '    ip daddr 10.0.0.1 tcp dport 81 reject',
      '  }',
      '}',
      'table ip6 tskeepalived',
      'delete table ip6 tskeepalived',
      '',
    ].join('\n'),
  );
  assert.deepEqual(r.notes, [
    '[10.0.0.1]:udp:53: persistence 60s approximated by source hashing on ip saddr & 255.255.255.0 (no timeout: a client keeps its server while the server set is unchanged)',
    'FWM 3: scheduler wlc needs connection counts, which nftables does not keep: approximated by weighted round robin (wrr)',
  ]);
  assert.equal(nftRemoveScript(), 'table ip tskeepalived\ndelete table ip tskeepalived\ntable ip6 tskeepalived\ndelete table ip6 tskeepalived\n');
});

test('IPv6: sh-port hashes address and port; fwmark with ports needs an l4 match', () => {
  const state: LbState = normalizeState({
    services: [
      {
        key: { kind: 'addr', family: 6, protocol: 'TCP', address: '2001:db8::1', port: 443 },
        scheduler: 'sh',
        schedFlags: ['sh-port'],
        ops: false,
        destinations: [d('2001:db8::2', 443), d('2001:db8::3', 443)],
      },
      {
        key: { kind: 'fwmark', family: 6, protocol: 'TCP', fwmark: 9 },
        scheduler: 'rr',
        ops: false,
        destinations: [d('2001:db8::2', 8443), d('2001:db8::3', 8443)],
      },
    ],
  });
  const lines = buildNftRuleset(state, { seed: 7 }).script.split('\n');
  const sh = lines.find((l) => l.startsWith('    ip6 daddr 2001:db8::1 tcp dport 443 dnat to jhash ip6 saddr . tcp sport mod 256 seed 0x7 map { 0 : '));
  assert.ok(sh, 'sh rule');
  const targets = [...sh.matchAll(/(\d+) : (2001:db8::[23]) \. 443/g)];
  assert.deepEqual(
    targets.map((m) => Number(m[1])),
    Array.from({ length: 256 }, (_, i) => i),
  );
  const n2 = targets.filter((m) => m[2] === '2001:db8::2').length;
  assert.ok(n2 > 100 && n2 < 156, `slots of ::2: ${n2}`);
  assert.ok(lines.includes('    meta mark 9 meta l4proto { tcp, udp, sctp } dnat to numgen inc mod 2 map { 0 : 2001:db8::2 . 8443, 1 : 2001:db8::3 . 8443 }'));
  assert.ok(lines.includes('table ip6 tskeepalived {'));
});

test('nftables backend: a missing nft binary and an nft failure are clear errors', async () => {
  const { NftablesBackend, NftError } = await import('../src/lb/nftables.js');
  const { LbUnavailableError } = await import('../src/lb/backend.js');
  const missing = new NftablesBackend({ command: ['/nonexistent/nft'] });
  await assert.rejects(missing.open(), (e: unknown) => {
    assert.ok(e instanceof LbUnavailableError);
    assert.match(e.message, /^nftables is not available: cannot run \/nonexistent\/nft \(spawn \/nonexistent\/nft ENOENT\)$/);
    return true;
  });
  // the real nft rejecting a transaction (an invalid table name), inside a throw-away namespace
  if (process.getuid?.() !== 0) return;
  const { execFileSync } = await import('node:child_process');
  const ns = `tkl-${process.pid}-nfterr`;
  execFileSync('ip', ['netns', 'add', ns]);
  const failing = new NftablesBackend({ command: ['ip', 'netns', 'exec', ns, 'nft'], table: 'bad name' });
  try {
    await failing.open();
    await assert.rejects(
      failing.apply({
        services: [
          {
            key: { kind: 'addr', family: 4, protocol: 'TCP', address: '10.0.0.1', port: 80 },
            scheduler: 'rr',
            ops: false,
            destinations: [d('192.168.1.2', 80)],
          },
        ],
      }),
      (e: unknown) => {
        assert.ok(e instanceof NftError);
        assert.match(e.message, /^nftables: applying the LB ruleset failed: .*Error: syntax error/s);
        return true;
      },
    );
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
  assert.deepEqual(failing.current(), { services: [] });
});

test('every scheduler x protocol x family x persistence x sh-port combination is accepted by the real nft', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root (a network namespace)');
  const { execFileSync } = await import('node:child_process');
  const services: LbState['services'] = [];
  let port = 1;
  for (const protocol of ['TCP', 'UDP', 'SCTP'] as const)
    for (const scheduler of ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'mh', 'dh', 'lblc', 'lblcr', 'fo', 'ovf'])
      for (const family of [4, 6] as const)
        for (const persistenceTimeout of [undefined, 300])
          for (const schedFlags of [[], ['sh-port']]) {
            const v4 = family === 4;
            services.push({
              key: { kind: 'addr', family, protocol, address: v4 ? '10.0.0.1' : '2001:db8::1', port: port++ },
              scheduler,
              ops: protocol === 'UDP',
              schedFlags,
              persistenceTimeout,
              persistenceNetmask: persistenceTimeout ? (v4 ? '255.255.0.0' : '48') : undefined,
              destinations: v4 ? [d('192.168.1.2', 80, 2), d('192.168.1.3', 81, 1)] : [d('2001:db8::2', 80, 2), d('2001:db8::3', 81, 1)],
            });
          }
  for (const family of [4, 6] as const)
    for (const fwmark of [10, 11])
      services.push({
        key: { kind: 'fwmark', family, protocol: 'TCP', fwmark: fwmark + family },
        scheduler: 'wrr',
        ops: false,
        destinations:
          family === 4 ? [d('192.168.1.2', fwmark === 10 ? 0 : 8080), d('192.168.1.3', fwmark === 10 ? 0 : 8080)] : [d('2001:db8::2', 0), d('2001:db8::3', 0)],
      });
  const { script } = buildNftRuleset(normalizeState({ services }), { seed: 99, masquerade: true });
  const ns = `tkl-${process.pid}-combo`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: script, stdio: ['pipe', 'pipe', 'pipe'] });
    const listed = execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'chain', 'ip', 'tskeepalived', 'services'], { encoding: 'utf8' });
    assert.equal(listed.split('\n').filter((l) => l.includes('dnat')).length, services.filter((s) => s.key.family === 4).length);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
});

test('lb_kind DR: a netdev ingress table forwarding by MAC (fwd ip to ... device), flow hashing noted; problems named', () => {
  const dr = (address: string, weight = 1, port = 80) => ({ address, family: 4 as const, port, weight, lbKind: 'DR' as const });
  const key = (port: number, protocol: 'TCP' | 'UDP' = 'TCP') => ({ kind: 'addr' as const, family: 4 as const, protocol, address: '10.0.0.1', port });
  const state = normalizeState({
    services: [
      { key: key(80), scheduler: 'wlc', ops: false, destinations: [dr('192.168.1.2', 3), dr('192.168.1.3', 1)] },
      { key: key(53, 'UDP'), scheduler: 'rr', ops: false, destinations: [dr('192.168.1.2', 1, 53)] },
      { key: key(81), scheduler: 'sh', ops: false, destinations: [dr('192.168.1.2', 1, 0), dr('192.168.1.3', 1, 81)], persistenceTimeout: 30 },
    ],
  });
  const routeDevice = { '192.168.1.2': 'eth1', '192.168.1.3': 'eth1' };
  const { script, notes } = buildNftRuleset(state, { seed: 5, dr: { ingressDevices: ['eth0', 'eth1'], routeDevice } });
  const lines = script.split('\n');
  assert.deepEqual(lines.slice(0, 5), [
    'table netdev tskeepalived',
    'delete table netdev tskeepalived',
    'table netdev tskeepalived {',
    '  chain dr {',
    '    type filter hook ingress devices = { "eth0", "eth1" } priority 0; policy accept;',
  ]);
  assert.ok(lines.includes('    ip daddr 10.0.0.1 udp dport 53 fwd ip to 192.168.1.2 device "eth1"'));
  const wlc = lines.find((l) => l.startsWith('    ip daddr 10.0.0.1 tcp dport 80 fwd ip to jhash ip saddr . tcp sport mod 256 seed 0x5 map { 0 : '));
  assert.ok(wlc?.endsWith(' } device "eth1"'), 'wlc rule');
  if (!wlc) return;
  const n2 = [...wlc.matchAll(/: 192\.168\.1\.2/g)].length;
  assert.ok(n2 > 160 && n2 < 224, `weight 3 of 4 -> about 192 of 256 slots, got ${n2}`);
  assert.ok(lines.some((l) => l.startsWith('    ip daddr 10.0.0.1 tcp dport 81 fwd ip to jhash ip saddr mod 256 seed 0x5 map {')));
  // no nat table for DR-only families
  assert.ok(lines.includes('delete table ip tskeepalived') && !lines.includes('table ip tskeepalived {'));
  assert.deepEqual(notes, [
    '[10.0.0.1]:tcp:80: DR at ingress has no connection state: scheduler wlc approximated by weighted flow hashing (ip saddr . sport)',
    '[10.0.0.1]:tcp:81: persistence 30s approximated by source hashing (no timeout: a client keeps its server while the server set is unchanged)',
  ]);
  assert.throws(
    () => buildNftRuleset(state, { seed: 5, dr: { ingressDevices: ['eth0'], routeDevice: { ...routeDevice, '192.168.1.3': 'eth2' } } }),
    /DR real servers are reached through different devices \(eth1, eth2\); nftables needs one/,
  );
  assert.throws(() => buildNftRuleset(state, { seed: 5, dr: { ingressDevices: [], routeDevice } }), /no network device to hook/);
  assert.equal(nftRemoveScript('t', true), 'table ip t\ndelete table ip t\ntable ip6 t\ndelete table ip6 t\ntable netdev t\ndelete table netdev t\n');
});

test('DR: every scheduler x TCP/UDP x family x persistence x sh-port combination is accepted by the real nft', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root (a network namespace)');
  const { execFileSync } = await import('node:child_process');
  const services: LbState['services'] = [];
  let port = 1;
  for (const protocol of ['TCP', 'UDP'] as const)
    for (const scheduler of ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'mh', 'dh', 'lblc', 'lblcr', 'fo', 'ovf'])
      for (const family of [4, 6] as const)
        for (const persistenceTimeout of [undefined, 300])
          for (const schedFlags of [[], ['sh-port']]) {
            const v4 = family === 4;
            const p = port++;
            const dr = (address: string, weight: number) => ({ address, family, port: p, weight, lbKind: 'DR' as const });
            services.push({
              key: { kind: 'addr', family, protocol, address: v4 ? '10.0.0.1' : '2001:db8::1', port: p },
              scheduler,
              ops: protocol === 'UDP',
              schedFlags,
              persistenceTimeout,
              persistenceNetmask: persistenceTimeout ? (v4 ? '255.255.0.0' : '48') : undefined,
              destinations: v4 ? [dr('192.168.1.2', 2), dr('192.168.1.3', 1)] : [dr('2001:db8::2', 2), dr('2001:db8::3', 1)],
            });
          }
  const dev = 'tkdr0';
  const routeDevice = Object.fromEntries(['192.168.1.2', '192.168.1.3', '2001:db8::2', '2001:db8::3'].map((a) => [a, dev]));
  const { script } = buildNftRuleset(normalizeState({ services }), { seed: 99, dr: { ingressDevices: [dev], routeDevice } });
  const ns = `tkl-${process.pid}-drcombo`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', 'tkdr1']);
    execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: script, stdio: ['pipe', 'pipe', 'pipe'] });
    const listed = execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'netdev', 'tskeepalived'], { encoding: 'utf8' });
    assert.equal(listed.split('\n').filter((l) => l.includes(' fwd ')).length, services.length);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
});
