// Dry-run backend: ipvsadm -S -n formatting, change-only printing, and the backend choice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Destination, LbState, Service } from '../src/lb/backend.js';
import { LbUnavailableError } from '../src/lb/backend.js';
import { DryRunBackend } from '../src/lb/dry-run.js';
import { chooseBackend, createBackend, LbBackendChoiceError } from '../src/lb/factory.js';
import { formatIpvsadmSave } from '../src/lb/ipvsadm-format.js';
import { IPVS_UNAVAILABLE_MESSAGE } from '../src/lb/ipvs-netlink.js';
import { LbStateError } from '../src/lb/state.js';

function dest(address: string, port: number, weight = 1, lbKind: Destination['lbKind'] = 'NAT'): Destination {
  return { address, family: address.includes(':') ? 6 : 4, port, weight, lbKind };
}

function tcp(address: string, port: number, destinations: Destination[], extra: Partial<Service> = {}): Service {
  return {
    key: { kind: 'addr', family: address.includes(':') ? 6 : 4, protocol: 'TCP', address, port },
    scheduler: 'rr',
    ops: false,
    destinations,
    ...extra,
  };
}

class Capture {
  chunks: string[] = [];
  write(c: string): boolean {
    this.chunks.push(c);
    return true;
  }
}

test('basic NAT service with two real servers, sorted as ipvsadm sorts', () => {
  const state: LbState = {
    services: [tcp('10.0.0.1', 80, [dest('192.168.1.3', 80, 2), dest('192.168.1.2', 80, 1)])],
  };
  assert.deepEqual(formatIpvsadmSave(state), [
    '-A -t 10.0.0.1:80 -s rr',
    '-a -t 10.0.0.1:80 -r 192.168.1.2:80 -m -w 1',
    '-a -t 10.0.0.1:80 -r 192.168.1.3:80 -m -w 2',
  ]);
});

test('persistence, netmask, ops, scheduler flags, forwarding methods', () => {
  const state: LbState = {
    services: [
      tcp('10.0.0.1', 443, [dest('192.168.1.2', 443, 3, 'DR'), dest('192.168.1.9', 443, 0, 'TUN')], {
        scheduler: 'wlc',
        persistenceTimeout: 300,
        persistenceNetmask: '255.255.255.0',
      }),
      {
        key: { kind: 'addr', family: 4, protocol: 'UDP', address: '10.0.0.2', port: 53 },
        scheduler: 'sh',
        ops: true,
        schedFlags: ['sh-port', 'sh-fallback'],
        destinations: [dest('192.168.1.5', 53)],
      },
      {
        key: { kind: 'addr', family: 4, protocol: 'SCTP', address: '10.0.0.3', port: 3868 },
        scheduler: 'mh',
        ops: false,
        schedFlags: ['mh-port'],
        persistenceTimeout: 60,
        persistenceNetmask: '255.255.255.255',
        destinations: [],
      },
    ],
  };
  assert.deepEqual(formatIpvsadmSave(state), [
    '-A -t 10.0.0.1:443 -s wlc -p 300 -M 255.255.255.0',
    '-a -t 10.0.0.1:443 -r 192.168.1.2:443 -g -w 3',
    '-a -t 10.0.0.1:443 -r 192.168.1.9:443 -i -w 0 --tun-type ipip',
    '-A -u 10.0.0.2:53 -s sh -o -b sh-fallback,sh-port',
    '-a -u 10.0.0.2:53 -r 192.168.1.5:53 -m -w 1',
    '-A --sctp-service 10.0.0.3:3868 -s mh -p 60 -b mh-port',
  ]);
});

test('fwmark (v4 and v6) and IPv6 services: brackets, canonical addresses, prefix-length mask', () => {
  const state: LbState = {
    services: [
      {
        key: { kind: 'fwmark', family: 6, protocol: 'TCP', fwmark: 2 },
        scheduler: 'rr',
        ops: false,
        destinations: [dest('2001:DB8:0:0::10', 0, 1, 'DR')],
      },
      {
        key: { kind: 'fwmark', family: 4, protocol: 'TCP', fwmark: 1 },
        scheduler: 'wrr',
        ops: false,
        persistenceTimeout: 50,
        destinations: [dest('192.168.1.2', 0, 5, 'DR')],
      },
      tcp('2001:db8::0:1', 80, [dest('2001:db8:1::2', 8080)], { persistenceTimeout: 10, persistenceNetmask: '64' }),
      tcp('10.0.0.1', 80, []),
    ],
  };
  assert.deepEqual(formatIpvsadmSave(state), [
    '-A -t 10.0.0.1:80 -s rr',
    '-A -t [2001:db8::1]:80 -s rr -p 10 -M 64',
    '-a -t [2001:db8::1]:80 -r [2001:db8:1::2]:8080 -m -w 1',
    '-A -f 1 -s wrr -p 50',
    '-a -f 1 -r 192.168.1.2:0 -g -w 5',
    '-A -f 2 -6 -s rr',
    '-a -f 2 -6 -r [2001:db8::10]:0 -g -w 1',
  ]);
});

test('bad states are rejected with the offending service named', () => {
  assert.throws(() => formatIpvsadmSave({ services: [tcp('10.0.0.300', 80, [])] }), LbStateError);
  assert.throws(
    () => formatIpvsadmSave({ services: [tcp('10.0.0.1', 80, [dest('192.168.1.2', 80), dest('192.168.1.2', 80)])] }),
    /TCP\/4\/10.0.0.1\/80: destination 4\/192.168.1.2\/80 appears twice/,
  );
  assert.throws(() => formatIpvsadmSave({ services: [tcp('10.0.0.1', 70000, [])] }), /invalid port 70000/);
});

test('dry-run prints only when the state changes, and current() returns it', async () => {
  const out = new Capture();
  const b = new DryRunBackend({ out });
  await b.open();
  const s1: LbState = { services: [tcp('10.0.0.1', 80, [dest('192.168.1.2', 80)])] };
  await b.apply(s1);
  await b.apply(JSON.parse(JSON.stringify(s1)));
  assert.equal(out.chunks.length, 1);
  assert.equal(out.chunks[0], '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.1.2:80 -m -w 1\n');
  const s2: LbState = { services: [tcp('10.0.0.1', 80, [dest('192.168.1.2', 80, 0)])] };
  await b.apply(s2);
  assert.equal(out.chunks.length, 2);
  assert.match(out.chunks[1]!, /-r 192\.168\.1\.2:80 -m -w 0\n$/);
  assert.equal(b.current().services[0]!.destinations[0]!.weight, 0);
  // the returned state is a copy
  b.current().services[0]!.destinations[0]!.weight = 9;
  assert.equal(b.current().services[0]!.destinations[0]!.weight, 0);
  await b.close({ release: true });
  assert.deepEqual(b.current(), { services: [] });
});

test('backend choice: CLI overrides config, config overrides default, bad values are clear errors', () => {
  assert.deepEqual(chooseBackend({}, {}), { name: 'ipvs', source: 'default' });
  assert.deepEqual(chooseBackend({}, { lbBackend: 'nftables' }), { name: 'nftables', source: 'config' });
  assert.deepEqual(chooseBackend({ lbBackend: 'dry-run' }, { lbBackend: 'nftables' }), { name: 'dry-run', source: 'cli' });
  assert.throws(
    () => chooseBackend({ lbBackend: 'lvs' }),
    (e: unknown) => {
      assert.ok(e instanceof LbBackendChoiceError);
      assert.equal(e.message, 'invalid --lb-backend value "lvs": expected ipvs, nftables, userspace or dry-run');
      return true;
    },
  );
  assert.throws(
    () => chooseBackend({}, { lbBackend: 'iptables', loc: { file: '/etc/keepalived/keepalived.conf', line: 7 } }),
    /^LbBackendChoiceError: \/etc\/keepalived\/keepalived.conf:7: invalid lb_backend "iptables"/,
  );
  const d = createBackend('dry-run', { out: new Capture() });
  assert.equal(d.name, 'dry-run');
});

test('ipvs backend on a kernel without IPVS: open() rejects with the clear message', async (t) => {
  const { existsSync } = await import('node:fs');
  if (existsSync('/proc/net/ip_vs')) return t.skip('this kernel has IPVS loaded');
  const b = createBackend('ipvs');
  await assert.rejects(b.open(), (e: unknown) => {
    assert.ok(e instanceof LbUnavailableError);
    assert.equal(e.message, IPVS_UNAVAILABLE_MESSAGE);
    return true;
  });
  assert.equal(
    IPVS_UNAVAILABLE_MESSAGE,
    'IPVS is not available in this kernel (generic netlink family IPVS not found); use --lb-backend=nftables, userspace or dry-run',
  );
});
