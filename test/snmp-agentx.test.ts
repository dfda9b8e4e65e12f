// The AgentX codec and the MIB view without a master agent: PDUs built by hand as RFC 2741 lays them
// out (both byte orders), OIDs with and without the internet prefix, GetNext / GetBulk at the edges
// of the view, the snmp_socket forms.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AgentxError,
  compareOid,
  decodePdu,
  encodeRegister,
  encodeResponse,
  FLAG,
  gauge,
  int,
  PDU,
  pduLength,
  str,
  T,
  type VarBind,
} from '../src/snmp/agentx.js';
import { parseAgentxAddress } from '../src/snmp/subagent.js';
import { MibView } from '../src/snmp/view.js';

/** A GetNext PDU as a master sends it, little- or big-endian, for one search range. */
function getNext(le: boolean, start: number[], end: number[], include = false): Buffer {
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    if (le) b.writeUInt32LE(v);
    else b.writeUInt32BE(v);
    return b;
  };
  const oid = (o: number[], inc: boolean) => {
    const prefixed = o.length > 4 && o[0] === 1 && o[1] === 3 && o[2] === 6 && o[3] === 1;
    const subs = prefixed ? o.slice(5) : o;
    return Buffer.concat([Buffer.from([subs.length, prefixed ? o[4] : 0, inc ? 1 : 0, 0]), ...subs.map(u32)]);
  };
  const body = Buffer.concat([oid(start, include), oid(end, false)]);
  const head = Buffer.concat([Buffer.from([1, PDU.getNext, le ? 0 : FLAG.networkByteOrder, 0]), u32(7), u32(8), u32(9), u32(body.length)]);
  return Buffer.concat([head, body]);
}

describe('AgentX codec', () => {
  for (const le of [true, false]) {
    it(`decodes a GetNext in ${le ? 'little' : 'network'} byte order`, () => {
      const pdu = getNext(le, [1, 3, 6, 1, 4, 1, 9586, 100, 5], [1, 3, 6, 1, 4, 1, 9586, 100, 6], true);
      assert.equal(pduLength(pdu), pdu.length);
      const d = decodePdu(pdu);
      assert.ok(!(d instanceof AgentxError));
      assert.equal(d.kind, 'ranges');
      if (d.kind !== 'ranges') return;
      assert.deepEqual([d.sessionId, d.transactionId, d.packetId], [7, 8, 9]);
      assert.deepEqual(d.ranges, [{ start: [1, 3, 6, 1, 4, 1, 9586, 100, 5], include: true, end: [1, 3, 6, 1, 4, 1, 9586, 100, 6] }]);
    });
  }
  it('a truncated PDU is a value, not a throw', () => {
    const pdu = getNext(false, [1, 3, 6, 1, 2, 1, 68], []);
    assert.ok(decodePdu(pdu.subarray(0, pdu.length - 3)) instanceof AgentxError);
    assert.ok(decodePdu(Buffer.from([2, 1, 0, 0])) instanceof AgentxError);
  });
  it('a Response round-trips through the decoder with every value type', () => {
    const h = { type: PDU.get, flags: 0, sessionId: 1, transactionId: 2, packetId: 3 };
    const vbs = [
      { oid: [1, 3, 6, 1, 2, 1, 68, 1, 1, 0], value: int(-2) },
      { oid: [1, 3, 6, 1, 4, 1, 9586, 100, 5, 1, 2, 0], value: str('odd') },
      { oid: [1, 2], value: gauge(7) },
      { oid: [1, 3, 6, 1, 2, 1, 207, 1, 2, 1, 0], value: { type: T.counter64, value: 2n ** 40n } },
      { oid: [1, 3, 6, 1, 2, 1, 68, 1, 3, 1, 7, 3, 51], value: { type: T.ipAddress, value: Buffer.from([10, 0, 0, 1]) } },
      { oid: [1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0], value: { type: T.oid, value: [1, 3, 6, 1, 2, 1, 68, 0, 1] } },
      { oid: [1, 3, 6, 1, 9], value: { type: T.endOfMibView } },
    ] satisfies VarBind[];
    const d = decodePdu(encodeResponse(h, 1234, 0, 0, [...vbs]));
    assert.ok(!(d instanceof AgentxError) && d.kind === 'response');
    if (d.kind !== 'response') return;
    assert.equal(d.sysUpTime, 1234);
    assert.deepEqual(d.varbinds, vbs);
  });
  it('Register uses the internet prefix for 1.3.6.1.x subtrees', () => {
    const b = encodeRegister(5, 6, [1, 3, 6, 1, 4, 1, 9586, 100, 5]);
    // header 20, then timeout, priority, range_subid, reserved, then the OID header
    assert.deepEqual([...b.subarray(24, 28)], [4, 4, 0, 0]);
    assert.equal(b.readUInt32BE(28), 1);
  });
});

describe('MIB view', () => {
  const v = new MibView([
    { oid: [1, 3, 6, 1, 2, 1, 68, 1, 2, 0], value: int(1) },
    { oid: [1, 3, 6, 1, 2, 1, 68, 1, 1, 0], value: int(2) },
    { oid: [1, 3, 6, 1, 2, 1, 68, 2, 1, 0], value: int(3) },
  ]);
  it('sorts, gets, and answers noSuchInstance', () => {
    assert.equal(compareOid(v.all()[0].oid, v.all()[1].oid), -1);
    assert.deepEqual(v.get([1, 3, 6, 1, 2, 1, 68, 1, 2, 0]), int(1));
    assert.equal(v.get([1, 3, 6, 1, 2, 1, 68, 1, 3, 0]).type, T.noSuchInstance);
  });
  it('GetNext: include, exclude, the range end, the end of the view', () => {
    assert.deepEqual(v.getNext({ start: [1, 3, 6, 1, 2, 1, 68, 1, 1, 0], include: true, end: [] }).value, int(2));
    assert.deepEqual(v.getNext({ start: [1, 3, 6, 1, 2, 1, 68, 1, 1, 0], include: false, end: [] }).value, int(1));
    assert.equal(v.getNext({ start: [1, 3, 6, 1, 2, 1, 68, 1, 2, 0], include: false, end: [1, 3, 6, 1, 2, 1, 68, 2] }).value.type, T.endOfMibView);
    assert.equal(v.getNext({ start: [1, 3, 6, 1, 2, 1, 68, 2, 1, 0], include: false, end: [] }).value.type, T.endOfMibView);
  });
  it('GetBulk: non-repeaters once, repeaters until the end of the view', () => {
    const r = v.getBulk(
      [
        { start: [1, 3, 6, 1, 2, 1, 68], include: false, end: [] },
        { start: [1, 3, 6, 1, 2, 1, 68, 1, 2, 0], include: false, end: [] },
      ],
      1,
      5,
    );
    assert.deepEqual(
      r.map((x) => x.value.type === T.integer && x.value.value),
      [2, 3, false],
    );
  });
});

describe('snmp_socket', () => {
  it('takes keepalived forms', () => {
    assert.deepEqual(parseAgentxAddress(undefined), { path: '/var/agentx/master' });
    assert.deepEqual(parseAgentxAddress('unix:/run/agentx'), { path: '/run/agentx' });
    assert.deepEqual(parseAgentxAddress('/tmp/x'), { path: '/tmp/x' });
    assert.deepEqual(parseAgentxAddress('tcp:localhost:705'), { host: 'localhost', port: 705 });
    assert.deepEqual(parseAgentxAddress('tcp:[::1]:705'), { host: '::1', port: 705 });
    assert.throws(() => parseAgentxAddress('udp:host'), AgentxError);
  });
});
