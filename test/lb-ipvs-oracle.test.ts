// The IPVS codec against an independent oracle: the installed ipvsadm 1.31 (libipvs over libnl).
// The kernel here has no IPVS, so a tiny LD_PRELOAD shim (compiled at test time) answers libnl's
// family lookup with a made-up id and writes every message ipvsadm sends instead of sending it.
// Service commands and flush must be byte-identical. For destination and delete commands libipvs
// also sends a full service entry and zero tunnel attributes, which the kernel ignores for those
// commands; there every attribute we send must be present with identical bytes, and the oracle's
// extra ones must be in that ignored list.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Destination, LbState, Service, ServiceKey } from '../src/lb/backend.js';
import { formatIpvsadmSave } from '../src/lb/ipvsadm-format.js';
import { normalizeState } from '../src/lb/state.js';
import { decodeGenlHeader } from '../src/net/genetlink.js';
import { attrMap, decodeAttrs, decodeMessages } from '../src/net/netlink-codec.js';
import {
  encodeDelDest,
  encodeDelService,
  encodeFlush,
  encodeNewDest,
  encodeNewService,
  encodeSetDest,
  encodeSetService,
  IPVS_DEST_ATTR_FWD_METHOD,
  IPVS_DEST_ATTR_L_THRESH,
  IPVS_DEST_ATTR_U_THRESH,
  IPVS_DEST_ATTR_WEIGHT,
  IPVS_SVC_ATTR_FLAGS,
  IPVS_SVC_ATTR_NETMASK,
  IPVS_SVC_ATTR_SCHED_NAME,
  IPVS_SVC_ATTR_TIMEOUT,
} from '../src/lb/ipvs-codec.js';

const FAMILY_ID = 0x1b;
const IPVS_CMD_GET_INFO = 15;
const SHIM_C = `
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
struct nl_sock; struct nl_msg;
struct nlmsghdr { uint32_t nlmsg_len; uint16_t nlmsg_type, nlmsg_flags; uint32_t nlmsg_seq, nlmsg_pid; };
extern struct nlmsghdr *nlmsg_hdr(struct nl_msg *);
int genl_ctrl_resolve(struct nl_sock *s, const char *name) { (void)s; (void)name; return ${FAMILY_ID}; }
int nl_send_auto_complete(struct nl_sock *s, struct nl_msg *m) {
  (void)s;
  struct nlmsghdr *h = nlmsg_hdr(m);
  FILE *f = fopen(getenv("TKL_SHIM_OUT"), "a");
  if (!f) return -1;
  const unsigned char *p = (const unsigned char *)h;
  for (uint32_t i = 0; i < h->nlmsg_len; i++) fprintf(f, "%02x", p[i]);
  fprintf(f, "\\n");
  fclose(f);
  return (int)h->nlmsg_len;
}
int nl_recvmsgs_default(struct nl_sock *s) { (void)s; return 0; }
`;

let dir = '';
let shim = '';
let why: string | false = false;

before(() => {
  if (endianness() !== 'LE') why = 'little-endian host needed';
  else if (!existsSync('/usr/sbin/ipvsadm')) why = 'ipvsadm not installed';
  else {
    dir = mkdtempSync(join(tmpdir(), 'tkl-ipvsadm-'));
    writeFileSync(join(dir, 'shim.c'), SHIM_C);
    shim = join(dir, 'shim.so');
    try {
      execFileSync('gcc', ['-shared', '-fPIC', '-O1', '-o', shim, join(dir, 'shim.c')], { stdio: 'pipe' });
    } catch (e) {
      why = `cannot compile the shim: ${(e as Error).message}`;
    }
  }
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The genl payloads of every IPVS command ipvsadm sent (its initial GET_INFO left out). */
function ipvsadmAll(args: string[], input?: string): Buffer[] {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}.txt`);
  execFileSync('/usr/sbin/ipvsadm', args, { env: { ...process.env, LD_PRELOAD: shim, TKL_SHIM_OUT: out }, stdio: 'pipe', input });
  return readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [m] = decodeMessages(Buffer.from(line, 'hex'));
      assert.equal(m!.type, FAMILY_ID);
      // (nlmsg flags and seq are filled by libnl's real send, which the shim replaces)
      return Buffer.from(m!.payload);
    })
    .filter((p) => p[0] !== IPVS_CMD_GET_INFO);
}

/** The genl payload of the last message ipvsadm sent for these arguments. */
function ipvsadm(...args: string[]): Buffer {
  const all = ipvsadmAll(args);
  return all[all.length - 1]!;
}

/** Same command, same nests; our attributes identical; the oracle's extras only from `ignorable`. */
function assertSameMeaning(ours: Buffer, theirs: Buffer, ignorable: Record<number, number[]>): void {
  const a = decodeGenlHeader(ours);
  const b = decodeGenlHeader(theirs);
  assert.equal(a.cmd, b.cmd);
  assert.equal(a.version, b.version);
  const nestsA = decodeAttrs(a.attrs, 0, true);
  const nestsB = attrMap(b.attrs);
  assert.deepEqual(nestsA.map((n) => n.type).sort(), [...nestsB.keys()].sort());
  for (const n of nestsA) {
    const mine = attrMap(n.data, 0, true);
    const oracle = attrMap(nestsB.get(n.type)!);
    for (const [t, v] of mine) assert.equal(v.toString('hex'), oracle.get(t)?.toString('hex'), `nest ${n.type} attribute ${t}`);
    for (const t of oracle.keys()) if (!mine.has(t)) assert.ok((ignorable[n.type] ?? []).includes(t), `nest ${n.type}: oracle-only attribute ${t}`);
  }
}

const tcp80: ServiceKey = { kind: 'addr', family: 4, protocol: 'TCP', address: '10.0.0.1', port: 80 };
const svc = (key: ServiceKey, scheduler: string, extra: Partial<Service> = {}): Service => ({ key, scheduler, ops: false, destinations: [], ...extra });
const dst = (address: string, port: number, weight: number, lbKind: Destination['lbKind'], extra: Partial<Destination> = {}): Destination => ({
  address,
  family: address.includes(':') ? 6 : 4,
  port,
  weight,
  lbKind,
  ...extra,
});

const SVC_FULL = [IPVS_SVC_ATTR_SCHED_NAME, IPVS_SVC_ATTR_FLAGS, IPVS_SVC_ATTR_TIMEOUT, IPVS_SVC_ATTR_NETMASK];
const TUNNEL = [13, 14, 15]; // IPVS_DEST_ATTR_TUN_TYPE / TUN_PORT / TUN_FLAGS, zero = kernel default
const DEST_FULL = [IPVS_DEST_ATTR_FWD_METHOD, IPVS_DEST_ATTR_WEIGHT, IPVS_DEST_ATTR_U_THRESH, IPVS_DEST_ATTR_L_THRESH];

test('service commands are byte-identical to ipvsadm', (t) => {
  if (why) return t.skip(why);
  const cases: [string[], Buffer][] = [
    [['-A', '-t', '10.0.0.1:80', '-s', 'rr'], encodeNewService(svc(tcp80, 'rr'))],
    [
      ['-E', '-u', '10.0.0.2:53', '-s', 'sh', '-p', '60', '-M', '255.255.0.0', '-o', '-b', 'sh-port,sh-fallback'],
      encodeSetService(
        svc({ kind: 'addr', family: 4, protocol: 'UDP', address: '10.0.0.2', port: 53 }, 'sh', {
          persistenceTimeout: 60,
          persistenceNetmask: '255.255.0.0',
          ops: true,
          schedFlags: ['sh-port', 'sh-fallback'],
        }),
      ),
    ],
    [
      ['-A', '-f', '7', '-6', '-s', 'sh', '-b', 'sh-fallback,sh-port', '-p', '300', '-M', '64'],
      encodeNewService(
        svc({ kind: 'fwmark', family: 6, protocol: 'TCP', fwmark: 7 }, 'sh', {
          schedFlags: ['sh-fallback', 'sh-port'],
          persistenceTimeout: 300,
          persistenceNetmask: '64',
        }),
      ),
    ],
    [
      ['-A', '--sctp-service', '10.0.0.3:3868', '-s', 'mh', '-b', 'mh-port'],
      encodeNewService(svc({ kind: 'addr', family: 4, protocol: 'SCTP', address: '10.0.0.3', port: 3868 }, 'mh', { schedFlags: ['mh-port'] })),
    ],
    [
      ['-A', '-t', '[2001:db8::1]:443', '-s', 'wlc', '-p', '30'],
      encodeNewService(svc({ kind: 'addr', family: 6, protocol: 'TCP', address: '2001:db8::1', port: 443 }, 'wlc', { persistenceTimeout: 30 })),
    ],
    [['-C'], encodeFlush()],
  ];
  for (const [args, ours] of cases) assert.equal(ours.toString('hex'), ipvsadm(...args).toString('hex'), args.join(' '));
});

test('destination and delete commands carry the same attributes as ipvsadm', (t) => {
  if (why) return t.skip(why);
  const udp6: ServiceKey = { kind: 'addr', family: 6, protocol: 'UDP', address: '2001:db8::1', port: 443 };
  const fwm6: ServiceKey = { kind: 'fwmark', family: 6, protocol: 'TCP', fwmark: 7 };
  const svcOnly = { 1: SVC_FULL };
  assertSameMeaning(encodeNewDest(tcp80, dst('192.168.1.2', 80, 1, 'NAT')), ipvsadm('-a', '-t', '10.0.0.1:80', '-r', '192.168.1.2:80', '-m', '-w', '1'), {
    1: SVC_FULL,
    2: TUNNEL,
  });
  assertSameMeaning(
    encodeNewDest(udp6, dst('2001:db8::2', 443, 10, 'DR', { uthreshold: 100, lthreshold: 50 })),
    ipvsadm('-a', '-u', '[2001:db8::1]:443', '-r', '[2001:db8::2]:443', '-g', '-w', '10', '-x', '100', '-y', '50'),
    { 1: SVC_FULL, 2: TUNNEL },
  );
  assertSameMeaning(encodeSetDest(tcp80, dst('192.168.1.2', 80, 0, 'TUN')), ipvsadm('-e', '-t', '10.0.0.1:80', '-r', '192.168.1.2:80', '-i', '-w', '0'), {
    1: SVC_FULL,
    2: TUNNEL,
  });
  assertSameMeaning(encodeNewDest(fwm6, dst('2001:db8::10', 0, 3, 'DR')), ipvsadm('-a', '-f', '7', '-6', '-r', '[2001:db8::10]:0', '-g', '-w', '3'), {
    1: SVC_FULL,
    2: TUNNEL,
  });
  assertSameMeaning(encodeDelDest(tcp80, dst('192.168.1.2', 80, 1, 'NAT')), ipvsadm('-d', '-t', '10.0.0.1:80', '-r', '192.168.1.2:80'), {
    1: SVC_FULL,
    2: [...TUNNEL, ...DEST_FULL],
  });
  assertSameMeaning(encodeDelService(tcp80), ipvsadm('-D', '-t', '10.0.0.1:80'), svcOnly);
});

test('dry-run output fed to ipvsadm -R produces exactly our commands for the same state', (t) => {
  if (why) return t.skip(why);
  const state: LbState = normalizeState({
    services: [
      svc(tcp80, 'wrr', {
        persistenceTimeout: 300,
        persistenceNetmask: '255.255.255.0',
        // (ipvsadm forces a DR/TUN real server's port to the service port, so DR uses port 80 here)
        destinations: [dst('192.168.1.2', 8080, 3, 'NAT'), dst('192.168.1.3', 80, 0, 'DR')],
      }),
      svc({ kind: 'addr', family: 4, protocol: 'UDP', address: '10.0.0.2', port: 53 }, 'sh', {
        ops: true,
        schedFlags: ['sh-port'],
        destinations: [dst('192.168.1.5', 53, 1, 'TUN')],
      }),
      svc({ kind: 'addr', family: 6, protocol: 'SCTP', address: '2001:db8::1', port: 3868 }, 'mh', {
        persistenceTimeout: 60,
        persistenceNetmask: '64',
        destinations: [dst('2001:db8::2', 3868, 2, 'NAT')],
      }),
      svc({ kind: 'fwmark', family: 6, protocol: 'TCP', fwmark: 2 }, 'lc', { destinations: [dst('2001:db8::10', 0, 1, 'DR')] }),
      svc({ kind: 'fwmark', family: 4, protocol: 'TCP', fwmark: 1 }, 'fo', { destinations: [dst('192.168.1.9', 0, 5, 'DR')] }),
    ],
  });
  const text = formatIpvsadmSave(state).join('\n') + '\n';
  const theirs = ipvsadmAll(['-R'], text);
  const ours: { payload: Buffer; exact: boolean }[] = [];
  for (const s of state.services) {
    ours.push({ payload: encodeNewService(s), exact: true });
    for (const d of s.destinations) ours.push({ payload: encodeNewDest(s.key, d), exact: false });
  }
  assert.equal(theirs.length, ours.length, text);
  ours.forEach((o, i) => {
    if (o.exact) assert.equal(o.payload.toString('hex'), theirs[i]!.toString('hex'), `command ${i} of\n${text}`);
    else assertSameMeaning(o.payload, theirs[i]!, { 1: SVC_FULL, 2: TUNNEL });
  });
});
