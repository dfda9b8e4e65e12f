// IPVS generic netlink codec: byte-level fixtures written by hand from include/uapi/linux/ip_vs.h
// and the netlink ABI (nlmsghdr / genlmsghdr / nlattr, host byte order = little endian here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import fc from 'fast-check';
import type { Destination, Service } from '../src/lb/backend.js';
import { decodeFamily, encodeGetFamily, GENL_ID_CTRL } from '../src/net/genetlink.js';
import { decodeMessages, encodeMessage, NLM_F_ACK, NLM_F_REQUEST } from '../src/net/netlink-codec.js';
import {
  decodeDestMessage,
  decodeServiceMessage,
  encodeDelDest,
  encodeDelService,
  encodeFlush,
  encodeGetDests,
  encodeGetServices,
  encodeNewDest,
  encodeNewService,
  encodeSetService,
} from '../src/lb/ipvs-codec.js';
import { planToIpvsOps } from '../src/lb/ipvs-plan.js';
import { normalizeState, planChanges } from '../src/lb/state.js';

const le = endianness() === 'LE';
const skip = !le && 'fixtures are written for a little-endian host';

/** hex with spaces/newlines and // comments allowed */
function hex(s: string): Buffer {
  return Buffer.from(
    s
      .split('\n')
      .map((l) => l.replace(/\/\/.*$/, ''))
      .join('')
      .replace(/\s+/g, ''),
    'hex',
  );
}

const Z12 = '00 00 00 00 00 00 00 00 00 00 00 00';

// service key attributes of TCP 10.0.0.1:80 (IPv4), 44 bytes
const KEY_TCP_10_0_0_1_80 = `
  06 00 01 00 02 00 00 00   // IPVS_SVC_ATTR_AF len 6: AF_INET (2) u16, 2 bytes padding
  06 00 02 00 06 00 00 00   // IPVS_SVC_ATTR_PROTOCOL len 6: IPPROTO_TCP (6) u16
  14 00 03 00 0a 00 00 01 ${Z12} // IPVS_SVC_ATTR_ADDR len 20: union nf_inet_addr, 10.0.0.1 then zeros
  06 00 04 00 00 50 00 00   // IPVS_SVC_ATTR_PORT len 6: 80 in network order
`;

const rr80: Service = {
  key: { kind: 'addr', family: 4, protocol: 'TCP', address: '10.0.0.1', port: 80 },
  scheduler: 'rr',
  ops: false,
  destinations: [],
};
const rs2: Destination = { address: '192.168.1.2', family: 4, port: 80, weight: 1, lbKind: 'NAT' };

test('IPVS_CMD_NEW_SERVICE: TCP 10.0.0.1:80 rr, not persistent', { skip }, () => {
  const expected = hex(`
    01 01 00 00               // genlmsghdr: cmd IPVS_CMD_NEW_SERVICE (1), version 1, reserved
    54 00 01 80               // IPVS_CMD_ATTR_SERVICE (1) | NLA_F_NESTED (0x8000), len 84
    ${KEY_TCP_10_0_0_1_80}
    07 00 06 00 72 72 00 00   // IPVS_SVC_ATTR_SCHED_NAME len 7: "rr\\0" + 1 pad
    0c 00 07 00 00 00 00 00 ff ff ff ff // IPVS_SVC_ATTR_FLAGS: struct ip_vs_flags {flags 0, mask ~0}
    08 00 08 00 00 00 00 00   // IPVS_SVC_ATTR_TIMEOUT u32 0
    08 00 09 00 ff ff ff ff   // IPVS_SVC_ATTR_NETMASK: 255.255.255.255 (__be32)
  `);
  assert.equal(encodeNewService(rr80).toString('hex'), expected.toString('hex'));
});

test('IPVS_CMD_SET_SERVICE: persistent 300 s, mask 255.255.255.0, ops, wlc', { skip }, () => {
  const s: Service = { ...rr80, scheduler: 'wlc', persistenceTimeout: 300, persistenceNetmask: '255.255.255.0', ops: true };
  const expected = hex(`
    02 01 00 00               // cmd IPVS_CMD_SET_SERVICE (2), version 1
    54 00 01 80               // IPVS_CMD_ATTR_SERVICE len 84 ("wlc\\0" fills its 8 bytes)
    ${KEY_TCP_10_0_0_1_80}
    08 00 06 00 77 6c 63 00   // SCHED_NAME len 8: "wlc\\0"
    0c 00 07 00 05 00 00 00 ff ff ff ff // FLAGS: PERSISTENT (0x1) | ONEPACKET (0x4), mask ~0
    08 00 08 00 2c 01 00 00   // TIMEOUT 300
    08 00 09 00 ff ff ff 00   // NETMASK 255.255.255.0 in network order
  `);
  assert.equal(encodeSetService(s).toString('hex'), expected.toString('hex'));
});

test('IPVS_CMD_NEW_SERVICE: IPv6 fwmark 7, sh with sh-fallback,sh-port, persistent /64', { skip }, () => {
  const s: Service = {
    key: { kind: 'fwmark', family: 6, protocol: 'TCP', fwmark: 7 },
    scheduler: 'sh',
    ops: false,
    schedFlags: ['sh-port', 'sh-fallback'],
    persistenceTimeout: 300,
    persistenceNetmask: '64',
    destinations: [],
  };
  const expected = hex(`
    01 01 00 00
    38 00 01 80               // IPVS_CMD_ATTR_SERVICE len 56
    06 00 01 00 0a 00 00 00   // AF: AF_INET6 (10)
    08 00 05 00 07 00 00 00   // IPVS_SVC_ATTR_FWMARK u32 7 (no protocol/address/port)
    07 00 06 00 73 68 00 00   // SCHED_NAME "sh\\0"
    0c 00 07 00 19 00 00 00 ff ff ff ff // FLAGS: PERSISTENT 0x1 | SCHED1 0x8 | SCHED2 0x10 = 0x19
    08 00 08 00 2c 01 00 00   // TIMEOUT 300
    08 00 09 00 40 00 00 00   // NETMASK: IPv6 prefix length 64 as u32
  `);
  assert.equal(encodeNewService(s).toString('hex'), expected.toString('hex'));
});

test('IPVS_CMD_NEW_DEST and IPVS_CMD_DEL_DEST; IPVS_CMD_DEL_SERVICE', { skip }, () => {
  const newDest = hex(`
    05 01 00 00               // cmd IPVS_CMD_NEW_DEST (5)
    30 00 01 80               // IPVS_CMD_ATTR_SERVICE len 48 (key only)
    ${KEY_TCP_10_0_0_1_80}
    48 00 02 80               // IPVS_CMD_ATTR_DEST (2) len 72
    06 00 0b 00 02 00 00 00   // IPVS_DEST_ATTR_ADDR_FAMILY (11): AF_INET
    14 00 01 00 c0 a8 01 02 ${Z12} // IPVS_DEST_ATTR_ADDR 192.168.1.2
    06 00 02 00 00 50 00 00   // IPVS_DEST_ATTR_PORT 80 network order
    08 00 03 00 00 00 00 00   // IPVS_DEST_ATTR_FWD_METHOD IP_VS_CONN_F_MASQ (0)
    08 00 04 00 01 00 00 00   // IPVS_DEST_ATTR_WEIGHT 1
    08 00 05 00 00 00 00 00   // IPVS_DEST_ATTR_U_THRESH 0
    08 00 06 00 00 00 00 00   // IPVS_DEST_ATTR_L_THRESH 0
  `);
  assert.equal(encodeNewDest(rr80.key, rs2).toString('hex'), newDest.toString('hex'));

  const dr: Destination = { address: '2001:db8::2', family: 6, port: 443, weight: 10, lbKind: 'DR', uthreshold: 100, lthreshold: 50 };
  const v6key = { kind: 'addr' as const, family: 6 as const, protocol: 'UDP' as const, address: '2001:db8::1', port: 443 };
  const newDestDr = hex(`
    05 01 00 00
    30 00 01 80
    06 00 01 00 0a 00 00 00   // AF_INET6
    06 00 02 00 11 00 00 00   // IPPROTO_UDP (17)
    14 00 03 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // 2001:db8::1
    06 00 04 00 01 bb 00 00   // port 443
    48 00 02 80
    06 00 0b 00 0a 00 00 00   // dest family AF_INET6
    14 00 01 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // 2001:db8::2
    06 00 02 00 01 bb 00 00
    08 00 03 00 03 00 00 00   // IP_VS_CONN_F_DROUTE (3)
    08 00 04 00 0a 00 00 00   // weight 10
    08 00 05 00 64 00 00 00   // upper threshold 100
    08 00 06 00 32 00 00 00   // lower threshold 50
  `);
  assert.equal(encodeNewDest(v6key, dr).toString('hex'), newDestDr.toString('hex'));

  const delDest = hex(`
    07 01 00 00               // cmd IPVS_CMD_DEL_DEST (7)
    30 00 01 80 ${KEY_TCP_10_0_0_1_80}
    28 00 02 80               // IPVS_CMD_ATTR_DEST len 40: family, address, port only
    06 00 0b 00 02 00 00 00
    14 00 01 00 c0 a8 01 02 ${Z12}
    06 00 02 00 00 50 00 00
  `);
  assert.equal(encodeDelDest(rr80.key, rs2).toString('hex'), delDest.toString('hex'));

  const tun: Destination = { ...rs2, lbKind: 'TUN' };
  assert.equal(
    encodeNewDest(rr80.key, tun)
      .subarray(4 + 48 + 4 + 36 + 4, 4 + 48 + 4 + 36 + 8)
      .toString('hex'),
    '02000000',
  ); // IP_VS_CONN_F_TUNNEL

  const delService = hex(`
    03 01 00 00               // cmd IPVS_CMD_DEL_SERVICE (3)
    30 00 01 80 ${KEY_TCP_10_0_0_1_80}
  `);
  assert.equal(encodeDelService(rr80.key).toString('hex'), delService.toString('hex'));
});

test('dump requests, flush, controller GETFAMILY and the nlmsghdr', { skip }, () => {
  assert.equal(encodeGetServices().toString('hex'), '04010000'); // IPVS_CMD_GET_SERVICE, no attributes
  assert.equal(encodeGetDests(rr80.key).toString('hex'), hex(`08 01 00 00 30 00 01 80 ${KEY_TCP_10_0_0_1_80}`).toString('hex'));
  assert.equal(encodeFlush().toString('hex'), '11010000'); // IPVS_CMD_FLUSH (17)
  const getFamily = hex(`
    03 01 00 00               // CTRL_CMD_GETFAMILY (3), version 1 (as libnl's genl_ctrl_resolve)
    09 00 02 00 49 50 56 53 00 00 00 00 // CTRL_ATTR_FAMILY_NAME (2) len 9: "IPVS\\0" + 3 pad
  `);
  assert.equal(encodeGetFamily('IPVS').toString('hex'), getFamily.toString('hex'));
  const msg = encodeMessage({ type: GENL_ID_CTRL, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 0x01020304, pid: 0, payload: getFamily });
  assert.equal(
    msg.toString('hex'),
    hex(`
      20 00 00 00             // nlmsg_len 32 = 16 + 16
      10 00                   // nlmsg_type GENL_ID_CTRL (0x10)
      05 00                   // NLM_F_REQUEST | NLM_F_ACK
      04 03 02 01             // seq
      00 00 00 00             // pid
      ${getFamily.toString('hex')}
    `).toString('hex'),
  );
  // a CTRL_CMD_NEWFAMILY answer: family id 0x1b among other attributes
  const answer = hex(`
    01 02 00 00               // CTRL_CMD_NEWFAMILY
    09 00 02 00 49 50 56 53 00 00 00 00 // name "IPVS"
    06 00 01 00 1b 00 00 00   // CTRL_ATTR_FAMILY_ID u16 0x1b
    08 00 03 00 01 00 00 00   // CTRL_ATTR_VERSION 1
  `);
  assert.equal(decodeFamily({ type: GENL_ID_CTRL, flags: 0, seq: 0, pid: 0, payload: answer }).id, 0x1b);
  const two = Buffer.concat([msg, encodeMessage({ type: 3, flags: 2, seq: 9, pid: 7, payload: Buffer.alloc(4) })]);
  assert.deepEqual(
    decodeMessages(two).map((m) => [m.type, m.flags, m.seq, m.pid, m.payload.length]),
    [
      [0x10, 5, 0x01020304, 0, 16],
      [3, 2, 9, 7, 4],
    ],
  );
});

test('decoding a kernel GET_SERVICE dump entry (with stats, nested flag bit set)', { skip }, () => {
  const svc = hex(`
    01 01 00 00               // IPVS_CMD_NEW_SERVICE (dump entries use it)
    80 00 01 80               // IPVS_CMD_ATTR_SERVICE len 128, NLA_F_NESTED set
    06 00 01 00 02 00 00 00   // AF_INET
    06 00 02 00 11 00 00 00   // UDP
    14 00 03 00 0a 00 00 02 ${Z12} // 10.0.0.2
    06 00 04 00 00 35 00 00   // port 53
    07 00 06 00 73 68 00 00   // "sh"
    0c 00 07 00 17 00 00 00 ff ff ff ff // flags: PERSISTENT|HASHED|ONEPACKET|SCHED2 = 0x17
    08 00 08 00 3c 00 00 00   // timeout 60
    08 00 09 00 ff ff 00 00   // netmask 255.255.0.0
    24 00 0a 00               // IPVS_SVC_ATTR_STATS nested len 36
    08 00 01 00 05 00 00 00   //   IPVS_STATS_ATTR_CONNS 5
    08 00 02 00 09 00 00 00   //   INPKTS 9
    08 00 03 00 00 00 00 00   //   OUTPKTS 0
    08 00 04 00 00 02 00 00   //   INBYTES 512
    08 00 0b 00 68 00 00 00   // IPVS_SVC_ATTR_PE_NAME "h" (unknown pe, kept)
  `);
  const s = decodeServiceMessage(svc);
  assert.deepEqual(
    { ...s },
    {
      key: { kind: 'addr', family: 4, protocol: 'UDP', address: '10.0.0.2', port: 53 },
      scheduler: 'sh',
      ops: true,
      destinations: [],
      schedFlags: ['sh-port'],
      persistenceTimeout: 60,
      persistenceNetmask: '255.255.0.0',
      peName: 'h',
    },
  );
  const fwm = hex(`
    01 01 00 00
    30 00 01 00
    06 00 01 00 0a 00 00 00   // AF_INET6
    08 00 05 00 02 00 00 00   // fwmark 2
    07 00 06 00 72 72 00 00   // "rr"
    0c 00 07 00 02 00 00 00 ff ff ff ff // HASHED only
    08 00 08 00 00 00 00 00
    08 00 09 00 80 00 00 00   // netmask 128
  `);
  assert.deepEqual(decodeServiceMessage(fwm), {
    key: { kind: 'fwmark', family: 6, protocol: 'TCP', fwmark: 2 },
    scheduler: 'rr',
    ops: false,
    destinations: [],
  });
  assert.throws(() => decodeServiceMessage(hex('01 01 00 00 0c 00 01 00 06 00 01 00 02 00 00 00')), /without service protocol/);
  assert.throws(() => decodeServiceMessage(hex('01 01 00 00 ff 00 01 00')), /malformed netlink attribute/);
});

test('decoding a kernel GET_DEST dump entry', { skip }, () => {
  const dest = hex(`
    05 01 00 00               // IPVS_CMD_NEW_DEST
    60 00 02 00               // IPVS_CMD_ATTR_DEST len 96
    14 00 01 00 c0 a8 01 07 ${Z12} // 192.168.1.7
    06 00 02 00 1f 90 00 00   // port 8080
    08 00 03 00 03 00 00 00   // DROUTE
    08 00 04 00 05 00 00 00   // weight 5
    08 00 05 00 00 00 00 00   // uthreshold 0
    08 00 06 00 00 00 00 00   // lthreshold 0
    08 00 07 00 02 00 00 00   // active conns 2
    08 00 08 00 01 00 00 00   // inactive conns 1
    08 00 09 00 00 00 00 00   // persistent conns 0
    06 00 0b 00 02 00 00 00   // family AF_INET
  `);
  assert.deepEqual(decodeDestMessage(dest, 4), {
    address: '192.168.1.7',
    family: 4,
    port: 8080,
    weight: 5,
    lbKind: 'DR',
    activeConns: 2,
    inactConns: 1,
  });
});

test('ops for a plan come in a safe order', () => {
  const from = normalizeState({
    services: [
      { ...rr80, destinations: [rs2, { ...rs2, address: '192.168.1.3' }] },
      { ...rr80, key: { ...rr80.key, port: 81 }, destinations: [] },
    ],
  });
  const to = normalizeState({
    services: [
      {
        ...rr80,
        scheduler: 'wrr',
        destinations: [
          { ...rs2, weight: 0 },
          { ...rs2, address: '192.168.1.4' },
        ],
      },
      { ...rr80, key: { ...rr80.key, port: 82 }, destinations: [rs2] },
    ],
  });
  assert.deepEqual(
    planToIpvsOps(planChanges(from, to)).map((o) => o.what),
    [
      'remove service [10.0.0.1]:tcp:81',
      'change service [10.0.0.1]:tcp:80',
      'add service [10.0.0.1]:tcp:82',
      'remove real server 192.168.1.3:80 from [10.0.0.1]:tcp:80',
      'change real server 192.168.1.2:80 of [10.0.0.1]:tcp:80',
      'add real server 192.168.1.4:80 to [10.0.0.1]:tcp:80',
      'add real server 192.168.1.2:80 to [10.0.0.1]:tcp:82',
    ],
  );
});

test('encode then decode gives back the service (property)', { skip }, () => {
  const arbV4 = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
  const arbService = fc.record({
    address: arbV4,
    port: fc.integer({ min: 0, max: 65535 }),
    protocol: fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const),
    scheduler: fc.constantFrom('rr', 'wrr', 'lc', 'wlc', 'sh', 'mh', 'dh', 'fo', 'ovf'),
    persistence: fc.option(fc.integer({ min: 1, max: 100000 }), { nil: undefined }),
    mask: fc.integer({ min: 0, max: 32 }),
    ops: fc.boolean(),
    flags: fc.subarray(['flag-1', 'flag-2', 'flag-3']),
  });
  fc.assert(
    fc.property(arbService, (a) => {
      const s: Service = {
        key: { kind: 'addr', family: 4, protocol: a.protocol, address: a.address, port: a.port },
        scheduler: a.scheduler,
        ops: a.ops,
        schedFlags: a.flags,
        persistenceTimeout: a.persistence,
        persistenceNetmask: a.persistence !== undefined ? String(a.mask) : undefined,
        destinations: [],
      };
      const norm = normalizeState({ services: [s] }).services[0]!;
      const back = decodeServiceMessage(encodeNewService(norm));
      assert.deepEqual(normalizeState({ services: [back] }).services[0], norm);
    }),
    { numRuns: 200 },
  );
});
