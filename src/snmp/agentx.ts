// The AgentX protocol (RFC 2741) as a subagent speaks it: PDU header, OIDs, octet strings,
// varbinds and search ranges; encoders for what a subagent sends (Open, Close, Register, Response,
// Notify, Ping) and a decoder for what a master sends (Get, GetNext, GetBulk, the Set phases,
// Response). Pure: Buffers in, Buffers out; decoding never throws (a bad PDU is a value).
import { TskeepalivedError } from '../util/errors.js';

export class AgentxError extends TskeepalivedError {
  constructor(message: string) {
    super(message, 'TSK_ERR_AGENTX');
    this.name = 'AgentxError';
  }
}

export const PDU = {
  open: 1,
  close: 2,
  register: 3,
  unregister: 4,
  get: 5,
  getNext: 6,
  getBulk: 7,
  testSet: 8,
  commitSet: 9,
  undoSet: 10,
  cleanupSet: 11,
  notify: 12,
  ping: 13,
  indexAllocate: 14,
  indexDeallocate: 15,
  addAgentCaps: 16,
  removeAgentCaps: 17,
  response: 18,
} as const;

export const FLAG = { instanceRegistration: 0x01, newIndex: 0x02, anyIndex: 0x04, nonDefaultContext: 0x08, networkByteOrder: 0x10 } as const;

/** SNMP value types as AgentX encodes them. */
export const T = {
  integer: 2,
  octetString: 4,
  null: 5,
  oid: 6,
  ipAddress: 64,
  counter32: 65,
  gauge32: 66,
  timeTicks: 67,
  opaque: 68,
  counter64: 70,
  noSuchObject: 128,
  noSuchInstance: 129,
  endOfMibView: 130,
} as const;

/** Response errors (RFC 2741 §6.2.16 and the SNMP errors a subagent may answer). */
export const ERR = {
  none: 0,
  genErr: 5,
  wrongType: 7,
  wrongValue: 10,
  commitFailed: 14,
  undoFailed: 15,
  notWritable: 17,
  parseError: 266,
  requestDenied: 267,
  processingError: 268,
} as const;

/** Close reasons (RFC 2741 §6.2.2). */
export const CLOSE = { other: 1, parseError: 2, protocolError: 3, timeouts: 4, shutdown: 5, byManager: 6 } as const;

export type Oid = number[];

export type Value =
  | { type: typeof T.integer | typeof T.counter32 | typeof T.gauge32 | typeof T.timeTicks; value: number }
  | { type: typeof T.counter64; value: bigint }
  | { type: typeof T.octetString | typeof T.opaque; value: Buffer }
  | { type: typeof T.ipAddress; value: Buffer }
  | { type: typeof T.oid; value: Oid }
  | { type: typeof T.null | typeof T.noSuchObject | typeof T.noSuchInstance | typeof T.endOfMibView };

export interface VarBind {
  oid: Oid;
  value: Value;
}

export interface SearchRange {
  start: Oid;
  include: boolean;
  end: Oid;
}

export interface Header {
  type: number;
  flags: number;
  sessionId: number;
  transactionId: number;
  packetId: number;
}

export type Decoded =
  | (Header & { kind: 'ranges'; ranges: SearchRange[]; nonRepeaters: number; maxRepetitions: number })
  | (Header & { kind: 'varbinds'; varbinds: VarBind[] })
  | (Header & { kind: 'response'; sysUpTime: number; error: number; index: number; varbinds: VarBind[] })
  | (Header & { kind: 'other' });

export const HEADER_LEN = 20;

export function parseOid(text: string): Oid {
  const parts = text.replace(/^\./, '').split('.');
  const out = parts.map(Number);
  if (out.some((n) => !Number.isInteger(n) || n < 0 || n > 0xffffffff)) throw new AgentxError(`not an OID: ${text}`);
  return out;
}

export function oidText(oid: Oid): string {
  return `.${oid.join('.')}`;
}

/** Lexicographic order of OIDs. */
export function compareOid(a: Oid, b: Oid): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length - b.length;
}

export function isPrefix(prefix: Oid, oid: Oid): boolean {
  if (prefix.length > oid.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== oid[i]) return false;
  return true;
}

// ---------------------------------------------------------------- encoding (network byte order)

class Writer {
  private chunks: Buffer[] = [];
  u8(...v: number[]): this {
    this.chunks.push(Buffer.from(v));
    return this;
  }
  u16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    this.chunks.push(b);
    return this;
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.chunks.push(b);
    return this;
  }
  u64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt.asUintN(64, v));
    this.chunks.push(b);
    return this;
  }
  oid(oid: Oid, include = false): this {
    let subs = oid;
    let prefix = 0;
    if (oid.length > 4 && oid[0] === 1 && oid[1] === 3 && oid[2] === 6 && oid[3] === 1 && oid[4] > 0 && oid[4] < 256) {
      prefix = oid[4];
      subs = oid.slice(5);
    }
    this.u8(subs.length, prefix, include ? 1 : 0, 0);
    for (const s of subs) this.u32(s);
    return this;
  }
  octets(b: Buffer): this {
    this.u32(b.length);
    this.chunks.push(b);
    const pad = (4 - (b.length % 4)) % 4;
    if (pad) this.chunks.push(Buffer.alloc(pad));
    return this;
  }
  varbind(vb: VarBind): this {
    const v = vb.value;
    this.u16(v.type).u16(0).oid(vb.oid);
    switch (v.type) {
      case T.integer:
        return this.u32(v.value | 0);
      case T.counter32:
      case T.gauge32:
      case T.timeTicks:
        return this.u32(v.value);
      case T.counter64:
        return this.u64(v.value);
      case T.octetString:
      case T.opaque:
      case T.ipAddress:
        return this.octets(v.value);
      case T.oid:
        return this.oid(v.value);
      default:
        return this;
    }
  }
  done(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function pdu(type: number, h: { sessionId?: number; transactionId?: number; packetId: number; flags?: number }, body: Buffer): Buffer {
  const head = Buffer.alloc(HEADER_LEN);
  head[0] = 1;
  head[1] = type;
  head[2] = (h.flags ?? 0) | FLAG.networkByteOrder;
  head.writeUInt32BE(h.sessionId ?? 0, 4);
  head.writeUInt32BE(h.transactionId ?? 0, 8);
  head.writeUInt32BE(h.packetId, 12);
  head.writeUInt32BE(body.length, 16);
  return Buffer.concat([head, body]);
}

export function encodeOpen(packetId: number, timeoutS: number, id: Oid, descr: string): Buffer {
  return pdu(
    PDU.open,
    { packetId },
    new Writer()
      .u8(timeoutS & 0xff, 0, 0, 0)
      .oid(id)
      .octets(Buffer.from(descr))
      .done(),
  );
}

export function encodeClose(sessionId: number, packetId: number, reason: number): Buffer {
  return pdu(PDU.close, { sessionId, packetId }, new Writer().u8(reason, 0, 0, 0).done());
}

export function encodeRegister(sessionId: number, packetId: number, subtree: Oid, priority = 127, timeoutS = 0): Buffer {
  return pdu(PDU.register, { sessionId, packetId }, new Writer().u8(timeoutS, priority, 0, 0).oid(subtree).done());
}

export function encodePing(sessionId: number, packetId: number): Buffer {
  return pdu(PDU.ping, { sessionId, packetId }, Buffer.alloc(0));
}

export function encodeNotify(sessionId: number, packetId: number, varbinds: VarBind[]): Buffer {
  const w = new Writer();
  for (const vb of varbinds) w.varbind(vb);
  return pdu(PDU.notify, { sessionId, packetId }, w.done());
}

export function encodeResponse(h: Header, sysUpTime: number, error: number, index: number, varbinds: VarBind[]): Buffer {
  const w = new Writer().u32(sysUpTime).u16(error).u16(index);
  for (const vb of varbinds) w.varbind(vb);
  return pdu(PDU.response, { sessionId: h.sessionId, transactionId: h.transactionId, packetId: h.packetId }, w.done());
}

// ---------------------------------------------------------------- decoding (either byte order)

class Reader {
  off = 0;
  constructor(
    private readonly b: Buffer,
    private readonly be: boolean,
  ) {}
  need(n: number): void {
    if (this.off + n > this.b.length) throw new AgentxError('truncated PDU');
  }
  get left(): number {
    return this.b.length - this.off;
  }
  u8(): number {
    this.need(1);
    return this.b[this.off++];
  }
  u16(): number {
    this.need(2);
    const v = this.be ? this.b.readUInt16BE(this.off) : this.b.readUInt16LE(this.off);
    this.off += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.be ? this.b.readUInt32BE(this.off) : this.b.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.be ? this.b.readBigUInt64BE(this.off) : this.b.readBigUInt64LE(this.off);
    this.off += 8;
    return v;
  }
  oid(): { oid: Oid; include: boolean } {
    const n = this.u8();
    const prefix = this.u8();
    const include = this.u8() !== 0;
    this.u8();
    const oid: Oid = prefix ? [1, 3, 6, 1, prefix] : [];
    for (let i = 0; i < n; i++) oid.push(this.u32());
    return { oid, include };
  }
  octets(): Buffer {
    const len = this.u32();
    this.need(len);
    const v = Buffer.from(this.b.subarray(this.off, this.off + len));
    this.off += len + ((4 - (len % 4)) % 4);
    return v;
  }
  varbind(): VarBind {
    const type = this.u16();
    this.u16();
    const { oid } = this.oid();
    switch (type) {
      case T.integer:
        return { oid, value: { type, value: this.u32() | 0 } };
      case T.counter32:
      case T.gauge32:
      case T.timeTicks:
        return { oid, value: { type, value: this.u32() } };
      case T.counter64:
        return { oid, value: { type, value: this.u64() } };
      case T.octetString:
      case T.opaque:
      case T.ipAddress:
        return { oid, value: { type, value: this.octets() } };
      case T.oid:
        return { oid, value: { type, value: this.oid().oid } };
      case T.null:
      case T.noSuchObject:
      case T.noSuchInstance:
      case T.endOfMibView:
        return { oid, value: { type } };
      default:
        throw new AgentxError(`unknown varbind type ${type}`);
    }
  }
}

/** Length of the PDU at the start of buf, or undefined while its header is incomplete. */
export function pduLength(buf: Buffer): number | undefined {
  if (buf.length < HEADER_LEN) return undefined;
  const be = (buf[2] & FLAG.networkByteOrder) !== 0;
  return HEADER_LEN + (be ? buf.readUInt32BE(16) : buf.readUInt32LE(16));
}

/** Decode one whole PDU; a malformed one is an AgentxError value, never a throw. */
export function decodePdu(buf: Buffer): Decoded | AgentxError {
  try {
    if (buf.length < HEADER_LEN) throw new AgentxError('short header');
    if (buf[0] !== 1) throw new AgentxError(`AgentX version ${buf[0]}`);
    const flags = buf[2];
    const be = (flags & FLAG.networkByteOrder) !== 0;
    const r = new Reader(buf, be);
    r.off = 4;
    const h: Header = { type: buf[1], flags, sessionId: r.u32(), transactionId: r.u32(), packetId: r.u32() };
    const len = r.u32();
    if (buf.length < HEADER_LEN + len) throw new AgentxError('truncated PDU');
    const body = new Reader(buf.subarray(HEADER_LEN, HEADER_LEN + len), be);
    if (flags & FLAG.nonDefaultContext && h.type !== PDU.response) body.octets();
    switch (h.type) {
      case PDU.get:
      case PDU.getNext:
      case PDU.getBulk: {
        let nonRepeaters = 0;
        let maxRepetitions = 0;
        if (h.type === PDU.getBulk) {
          nonRepeaters = body.u16();
          maxRepetitions = body.u16();
        }
        const ranges: SearchRange[] = [];
        while (body.left > 0) {
          const s = body.oid();
          const e = body.oid();
          ranges.push({ start: s.oid, include: s.include, end: e.oid });
        }
        return { ...h, kind: 'ranges', ranges, nonRepeaters, maxRepetitions };
      }
      case PDU.testSet: {
        const varbinds: VarBind[] = [];
        while (body.left > 0) varbinds.push(body.varbind());
        return { ...h, kind: 'varbinds', varbinds };
      }
      case PDU.response: {
        const sysUpTime = body.u32();
        const error = body.u16();
        const index = body.u16();
        const varbinds: VarBind[] = [];
        while (body.left > 0) varbinds.push(body.varbind());
        return { ...h, kind: 'response', sysUpTime, error, index, varbinds };
      }
      default:
        return { ...h, kind: 'other' };
    }
  } catch (e) {
    return e instanceof AgentxError ? e : new AgentxError((e as Error).message);
  }
}

// ---------------------------------------------------------------- value helpers

export const int = (value: number): Value => ({ type: T.integer, value });
export const gauge = (value: number): Value => ({ type: T.gauge32, value: Math.max(0, Math.min(0xffffffff, Math.trunc(value))) });
export const counter = (value: number): Value => ({ type: T.counter32, value: value % 2 ** 32 });
export const counter64 = (value: number | bigint): Value => ({ type: T.counter64, value: BigInt(value) });
export const ticks = (value: number): Value => ({ type: T.timeTicks, value: Math.max(0, Math.trunc(value)) % 2 ** 32 });
export const str = (value: string | Buffer): Value => ({ type: T.octetString, value: typeof value === 'string' ? Buffer.from(value) : value });
export const ipv4 = (value: Buffer): Value => ({ type: T.ipAddress, value });
export const oidValue = (value: Oid): Value => ({ type: T.oid, value });
