// The D-Bus codec of src/dbus/wire.ts: values of every type through a message and back, a
// big-endian message built byte by byte, alignment as the specification lays it out, and
// malformed input (truncated, mutated at random) decoding to a DbusWireError, never a throw.
// Also the bus address forms and the object paths / introspection of src/dbus/objects.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseBusAddress } from '../src/dbus/connection.js';
import { instancePath, introspect, objectTree, pathElement, stateCode, stateText } from '../src/dbus/objects.js';
import { DbusWireError, decodeMessage, encodeMessage, type Message, messageLength, parseSignature, variant } from '../src/dbus/wire.js';

const call = (signature: string, body: Message['body']): Buffer =>
  encodeMessage({ type: 1, flags: 0, serial: 7, path: '/org/keepalived/Vrrp1/Vrrp', interface: 'org.x.Y', member: 'M', destination: ':1.2', signature, body });

test('every type survives a message and back', () => {
  const sig = 'ybnqiuxtdsogva(us)a{sv}aya{ua(sb)}h';
  const body = [
    255,
    true,
    -2,
    65535,
    -7,
    0xfffffffe,
    -(2n ** 62n),
    2n ** 64n - 1n,
    1.5,
    'héllo',
    '/a/b',
    'a{sv}',
    variant('(s)', ['VI_1']),
    [
      [2, 'Master'],
      [1, 'Backup'],
    ],
    [
      ['Name', variant('(s)', ['VI_1'])],
      ['State', variant('(us)', [2, 'Master'])],
    ],
    [],
    [[3, [['x', false]]]],
    0,
  ];
  const m = decodeMessage(call(sig, body));
  assert.ok(!(m instanceof DbusWireError), String(m));
  assert.equal(m.signature, sig);
  assert.deepEqual(m.body, body);
  assert.equal(m.path, '/org/keepalived/Vrrp1/Vrrp');
  assert.equal(m.member, 'M');
  assert.equal(m.serial, 7);
});

test('layout: header fields padded to 8, an empty array still pads to its element alignment', () => {
  const b = encodeMessage({ type: 4, flags: 1, serial: 1, path: '/a', interface: 'a.b', member: 'S', signature: 'at', body: [[]] });
  assert.equal(b[0], 0x6c);
  const bodyLen = b.readUInt32LE(4);
  const fieldsLen = b.readUInt32LE(12);
  const bodyStart = 16 + fieldsLen + ((8 - ((16 + fieldsLen) % 8)) % 8);
  assert.equal(bodyStart % 8, 0);
  // u32 length 0, then 4 bytes of padding to the 8-aligned (empty) element area
  assert.equal(bodyLen, 8);
  assert.equal(b.length, bodyStart + 8);
  assert.equal(messageLength(b), b.length);
});

test('a big-endian message (built by hand) decodes', () => {
  // signal, path "/a", member "X", signature "u", body 0x01020304, serial 9
  const parts: number[] = [];
  const u32 = (v: number) => parts.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  const pad = (n: number) => {
    while (parts.length % n) parts.push(0);
  };
  parts.push(0x42, 4, 1, 1);
  u32(4);
  u32(9);
  const lenAt = parts.length;
  u32(0);
  const start = parts.length;
  // (1, v 'o' "/a")
  pad(8);
  parts.push(1, 1, 0x6f, 0);
  u32(2);
  parts.push(0x2f, 0x61, 0);
  // (3, v 's' "X")
  pad(8);
  parts.push(3, 1, 0x73, 0);
  u32(1);
  parts.push(0x58, 0);
  // (8, v 'g' "u")
  pad(8);
  parts.push(8, 1, 0x67, 0, 1, 0x75, 0);
  const fieldsLen = parts.length - start;
  parts[lenAt + 3] = fieldsLen;
  pad(8);
  u32(0x01020304);
  const m = decodeMessage(Buffer.from(parts));
  assert.ok(!(m instanceof DbusWireError), String(m));
  assert.deepEqual([m.type, m.serial, m.path, m.member, m.signature, m.body], [4, 9, '/a', 'X', 'u', [0x01020304]]);
});

test('malformed input is a DbusWireError value, never a throw', () => {
  const good = call('a{sv}s', [[['State', variant('(us)', [2, 'Master'])]], 'x']);
  for (let n = 0; n < good.length; n++) {
    const r = decodeMessage(good.subarray(0, n));
    assert.ok(r instanceof DbusWireError, `truncated at ${n}`);
  }
  const bad = Buffer.from(good);
  bad[0] = 0x41;
  assert.ok(decodeMessage(bad) instanceof DbusWireError);
  assert.throws(() => parseSignature('a{vs}'), DbusWireError);
  assert.throws(() => parseSignature('(us'), DbusWireError);
  assert.throws(() => parseSignature('a'.repeat(40) + 'u'), DbusWireError);
  assert.throws(() => call('u', ['x']), DbusWireError);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
      const b = Buffer.from(good);
      for (const [at, v] of edits) b[at] = v;
      const r = decodeMessage(b);
      assert.ok(r instanceof DbusWireError || typeof r.serial === 'number');
    }),
    { numRuns: 2000 },
  );
});

test('bus addresses: unix path, abstract, several, escapes; others refused', () => {
  assert.deepEqual(parseBusAddress('unix:path=/run/dbus/system_bus_socket'), ['/run/dbus/system_bus_socket']);
  assert.deepEqual(parseBusAddress('unix:path=/tmp/a%20b,guid=1234;unix:abstract=/tmp/dbus-x'), ['/tmp/a b', '\0/tmp/dbus-x']);
  assert.deepEqual(parseBusAddress('tcp:host=x,port=1;unix:path=/p'), ['/p']);
  assert.throws(() => parseBusAddress('tcp:host=localhost,port=1'), /no usable unix/);
});

test("keepalived's paths, states and introspection layout", () => {
  assert.equal(pathElement('eth0.10-x'), 'eth0_10_x');
  assert.equal(instancePath('/org/keepalived/Vrrp1', { interface: 'br-lan', vrid: 7, family: 6 }), '/org/keepalived/Vrrp1/Instance/br_lan/7/IPv6');
  assert.deepEqual(['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP'].map(stateCode), [0, 1, 2, 3, 98]);
  assert.equal(stateText('STOP'), 'Unknown');
  const tree = objectTree('/org/keepalived/Vrrp1', [
    { interface: 'eth0', vrid: 51, family: 4 },
    { interface: 'eth0', vrid: 52, family: 6 },
  ]);
  assert.match(introspect('/', tree), /<node>\n {2}<node name="org"\/>\n<\/node>\n$/);
  assert.match(introspect('/org/keepalived/Vrrp1', tree), /<node name="Vrrp"\/>\n {2}<node name="Instance"\/>/);
  assert.match(introspect('/org/keepalived/Vrrp1/Instance/eth0', tree), /<node name="51"\/>\n {2}<node name="52"\/>/);
  const leaf = introspect('/org/keepalived/Vrrp1/Instance/eth0/52/IPv6', tree);
  assert.match(leaf, /<interface name="org.keepalived.Vrrp1.Instance">/);
  assert.doesNotMatch(leaf, /<node name=/);
  assert.match(introspect('/org/keepalived/Vrrp1/Vrrp', tree), /<method name="PrintStatsClear"\/>/);
});
