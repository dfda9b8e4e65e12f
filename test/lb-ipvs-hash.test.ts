// IPVS's sh / dh / mh tables (src/lb/ipvs-hash.ts) against hand-computed small cases, SipHash-1-3 against
// an independent implementation (CPython's hash of bytes is SipHash-1-3; PYTHONHASHSEED=0 gives key 0), and
// the userspace proxy's kernel list order. The same code against the kernel itself: test/lb-ipvs-sched.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  addrFold,
  dhBucket,
  dhPick,
  dhTable,
  hash32,
  hsiphashU32,
  MH_TAB_SIZE,
  mhPick,
  mhPopulate,
  mhTable,
  shBucket,
  shPick,
  shTable,
} from '../src/lb/ipvs-hash.js';
import { createScheduler } from '../src/lb/schedulers.js';
import type { SchedDest } from '../src/lb/schedulers.js';
import { ServiceProxy } from '../src/lb/userspace-service.js';
import type { Destination, Service } from '../src/lb/backend.js';
import { hasCommand } from './net-lab.js';

const counts = (t: Int16Array) => {
  const c: Record<number, number> = {};
  for (const x of t) c[x] = (c[x] ?? 0) + 1;
  return c;
};

test('hash_32 and the bucket of an address: (addr [+ port]) * 0x61C88647, top 8 bits', () => {
  // 1 * 0x61C88647 = 0x61C88647 -> 0x61
  assert.equal(hash32(1, 8), 0x61);
  // 0x0A000001 * 0x61C88647 mod 2^32 = 0x61C88647 + ((0x0A * 0x47) & 0xFF) << 24 = 0x61C88647 + 0xC6000000 = 0x27C88647
  assert.equal(Math.imul(0x0a000001, 0x61c88647) >>> 0, 0x27c88647);
  assert.equal(hash32(0x0a000001, 8), 0x27);
  assert.equal(shBucket('10.0.0.1', 0), 39);
  // sh-port: the port is added before hashing: + 0x50 * 0x61C88647 = 0x8EA9F630 -> 0xB6727C77
  assert.equal(shBucket('10.0.0.1', 80), hash32(0x0a000051, 8));
  assert.equal(shBucket('10.0.0.1', 80), 182);
  // the fallback offset is added after hashing, mod 256
  assert.equal(shBucket('10.0.0.1', 0, 250), (39 + 250) & 255);
  assert.equal(dhBucket('10.0.0.1'), 39);
  // IPv6: the XOR of the four 32-bit words
  assert.equal(addrFold('2001:db8::1'), (0x20010db8 ^ 0 ^ 0 ^ 1) >>> 0);
  assert.equal(addrFold('192.168.0.1'), 0xc0a80001);
});

test('sh table: weight consecutive buckets per destination in list order, cycling; weight 0 keeps one bucket per cycle', () => {
  const t = shTable([{ weight: 3 }, { weight: 2 }, { weight: 1 }]);
  assert.deepEqual([...t.slice(0, 12)], [0, 0, 0, 1, 1, 2, 0, 0, 0, 1, 1, 2]);
  // 256 = 42 cycles of 6 + 4 more (0 0 0 1)
  assert.deepEqual(counts(t), { 0: 129, 1: 85, 2: 42 });
  const z = shTable([{ weight: 2 }, { weight: 0 }, { weight: 1 }]);
  assert.deepEqual([...z.slice(0, 8)], [0, 0, 1, 2, 0, 0, 1, 2]);
  assert.deepEqual(counts(z), { 0: 128, 1: 64, 2: 64 });
  assert.deepEqual(counts(shTable([])), { [-1]: 256 });
});

test('sh pick: unavailable server -> none, or with sh-fallback the walk (offset + 2 * bucket, +1, ...)', () => {
  // client 0.0.0.1 port 0: bucket hash_32(1) = 97
  const three = shTable([{ weight: 1 }, { weight: 1 }, { weight: 1 }]);
  const ds = [{ weight: 1 }, { weight: 1 }, { weight: 1 }];
  assert.equal(shPick(three, ds, '0.0.0.1', 0, false), 97 % 3); // 1
  ds[1]!.weight = 0; // the table is rebuilt by the caller; with weights 1,0,1 it is the same
  assert.deepEqual([...shTable(ds)], [...three]);
  assert.equal(shPick(three, ds, '0.0.0.1', 0, false), -1);
  // fallback: first try offset 0 -> bucket (97 + 97) & 255 = 194 -> 194 % 3 = 2
  assert.equal(shPick(three, ds, '0.0.0.1', 0, true), 2);
  // overloaded counts as unavailable too; every server unavailable -> none even with the fallback
  const all = [{ weight: 1, overloaded: true }, { weight: 0 }, { weight: 1, overloaded: true }];
  assert.equal(shPick(three, all, '0.0.0.1', 0, true), -1);
});

test('dh: one bucket per destination, cyclic, weights ignored; unavailable -> none (no fallback)', () => {
  const t = dhTable(4);
  assert.deepEqual([...t.slice(0, 6)], [0, 1, 2, 3, 0, 1]);
  // 10.0.0.1 -> bucket 39 -> 39 % 4 = 3
  const ds = [{ weight: 5 }, { weight: 1 }, { weight: 1 }, { weight: 1 }];
  assert.equal(dhPick(t, ds, '10.0.0.1'), 3);
  ds[3]!.weight = 0;
  assert.equal(dhPick(t, ds, '10.0.0.1'), -1);
});

test('SipHash-1-3 (hsiphash on 64-bit) matches an independent implementation (CPython, key 0)', (t) => {
  if (!hasCommand('python3')) return t.skip('python3 not installed');
  const values = [0, 1, 0x0a000001, 0xdeadbeef, 0xffffffff, 0x12345678];
  const py = spawnSync('python3', ['-c', `import struct\nfor v in ${JSON.stringify(values)}: print(hash(struct.pack('<I', v)) & 0xffffffff)`], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONHASHSEED: '0' },
  });
  const hashAlgo = spawnSync('python3', ['-c', 'import sys; print(sys.hash_info.algorithm)'], { encoding: 'utf8' }).stdout.trim();
  if (hashAlgo !== 'siphash13') return t.skip(`this python hashes with ${hashAlgo}, not siphash13`);
  assert.deepEqual(
    values.map((v) => hsiphashU32(v, 0n)),
    py.stdout.trim().split('\n').map(Number),
  );
  // the values seen when this was written (CPython 3.11), so a change shows even without python
  assert.equal(hsiphashU32(0, 0n), 2596571888);
  assert.equal(hsiphashU32(0x0a000001, 0n), 1030127322);
});

test('Maglev population: hand-computed 7-entry table; turns; weight 0 with a last weight keeps its entries', () => {
  // A: offset 3 skip 4, 1 turn; B: offset 0 skip 2, 2 turns.
  // pass 1: A 3; B 0, B 2.  pass 2: A 3->0->4; B 2->4->6, B 6->1.  pass 3: A 4->1->5: full.
  assert.deepEqual(
    [
      ...mhPopulate(
        [
          { offset: 3, skip: 4, turns: 1 },
          { offset: 0, skip: 2, turns: 2 },
        ],
        7,
      ),
    ],
    [1, 1, 1, 0, 0, 0, 1],
  );
  // a destination with 0 turns (added with weight 0) takes nothing
  assert.deepEqual(
    [
      ...mhPopulate(
        [
          { offset: 3, skip: 4, turns: 0 },
          { offset: 0, skip: 2, turns: 1 },
        ],
        7,
      ),
    ],
    [1, 1, 1, 1, 1, 1, 1],
  );
  const ds = [
    { address: '10.0.0.1', port: 80, weight: 2, lastWeight: 2 },
    { address: '10.0.0.2', port: 80, weight: 1, lastWeight: 1 },
  ];
  const t = mhTable(ds);
  assert.equal(t.length, MH_TAB_SIZE);
  const c = counts(t);
  // gcd-reduced turns 2:1: the first takes two entries per round -> 2729 / 1364 (4093 = 3 * 1364 + 1)
  assert.deepEqual(c, { 0: 2729, 1: 1364 });
  // weight 0 keeps last_weight 1: same table; its clients get none (or the fallback's choice)
  const zero = [ds[0]!, { ...ds[1]!, weight: 0 }];
  assert.deepEqual([...mhTable(zero)], [...t]);
  let refused = 0;
  for (let i = 0; i < 200; i++) {
    const a = `10.1.${i >> 8}.${i & 255}`;
    const before = mhPick(t, ds, a, 0, false);
    const after = mhPick(t, zero, a, 0, false);
    if (before === 1) {
      assert.equal(after, -1);
      assert.equal(mhPick(t, zero, a, 0, true), 0);
      refused++;
    } else assert.equal(after, before);
  }
  assert.ok(refused > 30 && refused < 110, `refused ${refused}`);
  // gcd / shift: weights 100:50 are 2:1 turns (same table as 2:1)
  assert.deepEqual([...mhTable(ds.map((d) => ({ ...d, weight: d.weight * 50, lastWeight: d.lastWeight * 50 })))], [...t]);
  // large weights are shifted down: 1000:1 -> 1000 >> (fls(1000) - 6) = 1000 >> 4 = 62 turns, and 1 >> 4 = 0 -> 1
  const big = counts(
    mhTable([
      { address: '10.0.0.1', port: 80, weight: 1000, lastWeight: 1000 },
      { address: '10.0.0.2', port: 80, weight: 1, lastWeight: 1 },
    ]),
  );
  // rounds of 63 entries: 64 rounds (3968 + 64), then the 61 left all to the first (it has 62 turns)
  assert.deepEqual(big, { 0: 4029, 1: 64 });
});

test('userspace sh/dh/mh: kernel list order (newest first), rebuilt on changes; weight 0 holds its sh bucket', () => {
  const d = (address: string, weight: number): Destination => ({ address, family: 4, port: 80, weight, lbKind: 'NAT' });
  const svc = (scheduler: string, dests: Destination[], schedFlags?: string[]): Service => ({
    key: { kind: 'addr', family: 4, protocol: 'TCP', address: '10.0.0.100', port: 80 },
    scheduler,
    ops: false,
    destinations: dests,
    ...(schedFlags ? { schedFlags } : {}),
  });
  const p = new ServiceProxy(svc('sh', [d('10.0.1.1', 1), d('10.0.1.2', 1), d('10.0.1.3', 1)]), { udpIdleMs: 1000 });
  assert.deepEqual(p.kernelOrder(), ['4/10.0.1.3/80', '4/10.0.1.2/80', '4/10.0.1.1/80']);
  // client 0.0.0.1 -> bucket 97 -> 97 % 3 = 1 -> the second of the kernel list
  assert.equal(p.preview('0.0.0.1', 5), '4/10.0.1.2/80');
  // weight 0: IPVS keeps its bucket; the client is refused
  p.update(svc('sh', [d('10.0.1.1', 1), d('10.0.1.2', 0), d('10.0.1.3', 1)]));
  assert.equal(p.preview('0.0.0.1', 5), undefined);
  // a new destination goes to the head; a removed one leaves
  p.update(svc('sh', [d('10.0.1.1', 1), d('10.0.1.3', 1), d('10.0.1.4', 1)]));
  assert.deepEqual(p.kernelOrder(), ['4/10.0.1.4/80', '4/10.0.1.3/80', '4/10.0.1.1/80']);
  assert.equal(p.preview('0.0.0.1', 5), '4/10.0.1.3/80');
  // the scheduler object alone takes the given order as the kernel's
  const ds: SchedDest[] = [
    { id: 'a', weight: 1, active: 0 },
    { id: 'b', weight: 1, active: 0 },
  ];
  const c = { address: '0.0.0.1', port: 0, serviceAddress: '10.0.0.1' };
  assert.equal(createScheduler('sh').pick(ds, c)!.id, 'b'); // 97 % 2 = 1
  assert.equal(createScheduler('dh').pick(ds, c)!.id, 'b'); // 10.0.0.1 -> 39 % 2 = 1
});
