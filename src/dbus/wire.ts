// The D-Bus wire format (the D-Bus specification, "Message Protocol"): type signatures, the
// marshalling of values with their alignment, and whole messages (fixed header, header fields,
// body). Pure: values in, Buffers out; we write little-endian and read either byte order. A
// malformed message decodes to a DbusWireError value, never a throw out of decodeMessage.
import { TskeepalivedError } from '../util/errors.js';

export class DbusWireError extends TskeepalivedError {
  constructor(message: string) {
    super(message, 'TSK_ERR_DBUS_WIRE');
    this.name = 'DbusWireError';
  }
}

/** A variant value: its signature (one complete type) and the value. */
export interface Variant {
  sig: string;
  value: DbusValue;
}

/**
 * JS values by type: y n q i u h d -> number, x t -> bigint (number accepted when writing),
 * b -> boolean, s o g -> string, v -> Variant, (..) -> array of the fields, a{kv} -> array of
 * [key, value] pairs, aT -> array.
 */
export type DbusValue = number | bigint | boolean | string | Variant | DbusValue[];

export const variant = (sig: string, value: DbusValue): Variant => ({ sig, value });

/** One complete type of a signature. */
export type TypeNode =
  | { code: 'y' | 'b' | 'n' | 'q' | 'i' | 'u' | 'x' | 't' | 'd' | 's' | 'o' | 'g' | 'v' | 'h' }
  | { code: 'a'; elem: TypeNode }
  | { code: '('; fields: TypeNode[] }
  | { code: '{'; key: TypeNode; value: TypeNode };

const BASIC = 'ybnqiuxtdsogh';
const MAX_SIGNATURE = 255;
const MAX_DEPTH = 32;
/** the specification's limit of a message (128 MiB); dbus-daemon's own default is lower */
export const MAX_MESSAGE = 128 * 1024 * 1024;
const MAX_ARRAY = 64 * 1024 * 1024;

const sigCache = new Map<string, TypeNode[]>();

/** The complete types of a signature; throws DbusWireError on a bad one. */
export function parseSignature(sig: string): TypeNode[] {
  const hit = sigCache.get(sig);
  if (hit) return hit;
  if (sig.length > MAX_SIGNATURE) throw new DbusWireError(`signature longer than ${MAX_SIGNATURE}: ${sig.slice(0, 20)}...`);
  let i = 0;
  const one = (depth: number): TypeNode => {
    if (depth > MAX_DEPTH) throw new DbusWireError(`signature nested deeper than ${MAX_DEPTH}: ${sig}`);
    const c = sig[i++];
    if (c === undefined) throw new DbusWireError(`incomplete signature: ${sig}`);
    if (BASIC.includes(c) || c === 'v') return { code: c as 'y' };
    if (c === 'a') {
      if (sig[i] === '{') {
        i++;
        const key = one(depth + 1);
        if (!BASIC.includes(key.code)) throw new DbusWireError(`dict entry key must be a basic type: ${sig}`);
        const value = one(depth + 1);
        if (sig[i++] !== '}') throw new DbusWireError(`dict entry must have two types: ${sig}`);
        return { code: 'a', elem: { code: '{', key, value } };
      }
      return { code: 'a', elem: one(depth + 1) };
    }
    if (c === '(') {
      const fields: TypeNode[] = [];
      while (sig[i] !== ')') {
        if (i >= sig.length) throw new DbusWireError(`unclosed struct: ${sig}`);
        fields.push(one(depth + 1));
      }
      i++;
      if (!fields.length) throw new DbusWireError(`empty struct: ${sig}`);
      return { code: '(', fields };
    }
    throw new DbusWireError(`bad type code ${JSON.stringify(c)} in signature ${JSON.stringify(sig)}`);
  };
  const out: TypeNode[] = [];
  while (i < sig.length) out.push(one(0));
  if (sigCache.size < 1000) sigCache.set(sig, out);
  return out;
}

function alignOf(t: TypeNode): number {
  switch (t.code) {
    case 'y':
    case 'g':
    case 'v':
      return 1;
    case 'n':
    case 'q':
      return 2;
    case 'x':
    case 't':
    case 'd':
    case '(':
    case '{':
      return 8;
    default:
      return 4;
  }
}

/** Writes little-endian values, aligned relative to the start of the buffer. */
export class Writer {
  private buf = Buffer.alloc(256);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  align(n: number): void {
    const pad = (n - (this.length % n)) % n;
    this.room(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  byte(v: number): void {
    this.room(1);
    this.buf.writeUInt8(v & 0xff, this.length);
    this.length += 1;
  }

  u32(v: number): void {
    this.align(4);
    this.room(4);
    this.buf.writeUInt32LE(v >>> 0, this.length);
    this.length += 4;
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.length);
    this.length += b.length;
  }

  /** patch a u32 written earlier */
  setU32(at: number, v: number): void {
    this.buf.writeUInt32LE(v >>> 0, at);
  }

  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  write(t: TypeNode, v: DbusValue): void {
    const bad = () => new DbusWireError(`value ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)} does not fit type ${typeCode(t)}`);
    switch (t.code) {
      case 'y':
        if (typeof v !== 'number') throw bad();
        this.byte(v);
        return;
      case 'b':
        if (typeof v !== 'boolean') throw bad();
        this.u32(v ? 1 : 0);
        return;
      case 'n':
      case 'q':
        if (typeof v !== 'number') throw bad();
        this.align(2);
        this.room(2);
        if (t.code === 'n') this.buf.writeInt16LE(v, this.length);
        else this.buf.writeUInt16LE(v, this.length);
        this.length += 2;
        return;
      case 'i':
        if (typeof v !== 'number') throw bad();
        this.align(4);
        this.room(4);
        this.buf.writeInt32LE(v, this.length);
        this.length += 4;
        return;
      case 'u':
      case 'h':
        if (typeof v !== 'number') throw bad();
        this.u32(v);
        return;
      case 'x':
      case 't':
        if (typeof v !== 'number' && typeof v !== 'bigint') throw bad();
        this.align(8);
        this.room(8);
        if (t.code === 'x') this.buf.writeBigInt64LE(BigInt(v), this.length);
        else this.buf.writeBigUInt64LE(BigInt(v), this.length);
        this.length += 8;
        return;
      case 'd':
        if (typeof v !== 'number') throw bad();
        this.align(8);
        this.room(8);
        this.buf.writeDoubleLE(v, this.length);
        this.length += 8;
        return;
      case 's':
      case 'o': {
        if (typeof v !== 'string') throw bad();
        const b = Buffer.from(v, 'utf8');
        this.u32(b.length);
        this.bytes(b);
        this.byte(0);
        return;
      }
      case 'g': {
        if (typeof v !== 'string') throw bad();
        const b = Buffer.from(v, 'utf8');
        if (b.length > MAX_SIGNATURE) throw bad();
        this.byte(b.length);
        this.bytes(b);
        this.byte(0);
        return;
      }
      case 'v': {
        if (typeof v !== 'object' || Array.isArray(v)) throw bad();
        const types = parseSignature(v.sig);
        if (types.length !== 1) throw new DbusWireError(`a variant holds one complete type, not ${JSON.stringify(v.sig)}`);
        this.write({ code: 'g' }, v.sig);
        this.write(types[0], v.value);
        return;
      }
      case 'a': {
        if (!Array.isArray(v)) throw bad();
        this.u32(0);
        const lenAt = this.length - 4;
        this.align(alignOf(t.elem));
        const start = this.length;
        for (const e of v) this.write(t.elem, e);
        this.setU32(lenAt, this.length - start);
        return;
      }
      case '(':
      case '{': {
        const fields = t.code === '(' ? t.fields : [t.key, t.value];
        if (!Array.isArray(v) || v.length !== fields.length) throw bad();
        this.align(8);
        for (let k = 0; k < fields.length; k++) this.write(fields[k], v[k]);
        return;
      }
    }
  }
}

/** A type node back to its signature text. */
export function typeCode(t: TypeNode): string {
  if (t.code === 'a') return `a${typeCode(t.elem)}`;
  if (t.code === '(') return `(${t.fields.map(typeCode).join('')})`;
  if (t.code === '{') return `{${typeCode(t.key)}${typeCode(t.value)}}`;
  return t.code;
}

/** Reads values of either byte order, aligned relative to `base`; throws DbusWireError past the end. */
export class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    private readonly le: boolean,
    private readonly base = 0,
    private readonly end = buf.length,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.end) throw new DbusWireError('message truncated');
  }

  align(n: number): void {
    const pad = (n - ((this.pos - this.base) % n)) % n;
    this.need(pad);
    this.pos += pad;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  u32(): number {
    this.align(4);
    this.need(4);
    const v = this.le ? this.buf.readUInt32LE(this.pos) : this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  read(t: TypeNode, depth = 0): DbusValue {
    if (depth > 64) throw new DbusWireError('value nested too deep');
    const b = this.buf;
    switch (t.code) {
      case 'y':
        return this.u8();
      case 'b': {
        const v = this.u32();
        if (v > 1) throw new DbusWireError(`boolean ${v}`);
        return v === 1;
      }
      case 'n':
      case 'q': {
        this.align(2);
        this.need(2);
        const v =
          t.code === 'n' ? (this.le ? b.readInt16LE(this.pos) : b.readInt16BE(this.pos)) : this.le ? b.readUInt16LE(this.pos) : b.readUInt16BE(this.pos);
        this.pos += 2;
        return v;
      }
      case 'i': {
        this.align(4);
        this.need(4);
        const v = this.le ? b.readInt32LE(this.pos) : b.readInt32BE(this.pos);
        this.pos += 4;
        return v;
      }
      case 'u':
      case 'h':
        return this.u32();
      case 'x':
      case 't':
      case 'd': {
        this.align(8);
        this.need(8);
        const p = this.pos;
        this.pos += 8;
        if (t.code === 'd') return this.le ? b.readDoubleLE(p) : b.readDoubleBE(p);
        if (t.code === 'x') return this.le ? b.readBigInt64LE(p) : b.readBigInt64BE(p);
        return this.le ? b.readBigUInt64LE(p) : b.readBigUInt64BE(p);
      }
      case 's':
      case 'o': {
        const n = this.u32();
        this.need(n + 1);
        const s = b.toString('utf8', this.pos, this.pos + n);
        if (b[this.pos + n] !== 0) throw new DbusWireError('string without its NUL');
        this.pos += n + 1;
        return s;
      }
      case 'g': {
        const n = this.u8();
        this.need(n + 1);
        const s = b.toString('latin1', this.pos, this.pos + n);
        if (b[this.pos + n] !== 0) throw new DbusWireError('signature without its NUL');
        this.pos += n + 1;
        return s;
      }
      case 'v': {
        const sig = this.read({ code: 'g' }) as string;
        const types = parseSignature(sig);
        if (types.length !== 1) throw new DbusWireError(`variant signature ${JSON.stringify(sig)} is not one complete type`);
        return { sig, value: this.read(types[0], depth + 1) };
      }
      case 'a': {
        const n = this.u32();
        if (n > MAX_ARRAY) throw new DbusWireError(`array of ${n} bytes`);
        this.align(alignOf(t.elem));
        const stop = this.pos + n;
        if (stop > this.end) throw new DbusWireError('array past the end of the message');
        const out: DbusValue[] = [];
        while (this.pos < stop) out.push(this.read(t.elem, depth + 1));
        if (this.pos !== stop) throw new DbusWireError('array length does not match its elements');
        return out;
      }
      case '(':
      case '{': {
        this.align(8);
        const fields = t.code === '(' ? t.fields : [t.key, t.value];
        return fields.map((f) => this.read(f, depth + 1));
      }
    }
  }
}

// ---------------------------------------------------------------- messages

export const MessageType = { methodCall: 1, methodReturn: 2, error: 3, signal: 4 } as const;
export const Flag = { noReplyExpected: 0x1, noAutoStart: 0x2 } as const;

export interface Message {
  type: number;
  flags: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  /** the body's signature ('' when there is no body) */
  signature: string;
  body: DbusValue[];
}

const FIELD = { path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, sender: 7, signature: 8, unixFds: 9 } as const;
const FIELD_SIG: Record<number, string> = { 1: 'o', 2: 's', 3: 's', 4: 's', 5: 'u', 6: 's', 7: 's', 8: 'g', 9: 'u' };
const HEADER_FIELDS = parseSignature('a(yv)')[0];

export function encodeMessage(m: Omit<Message, 'signature' | 'body'> & { signature?: string; body?: DbusValue[] }): Buffer {
  const signature = m.signature ?? '';
  const body = m.body ?? [];
  const types = parseSignature(signature);
  if (types.length !== body.length) throw new DbusWireError(`signature ${JSON.stringify(signature)} has ${types.length} types for ${body.length} values`);
  const bw = new Writer();
  for (let k = 0; k < types.length; k++) bw.write(types[k], body[k]);
  const fields: DbusValue[] = [];
  const f = (code: number, value: string | number | undefined) => {
    if (value !== undefined) fields.push([code, variant(FIELD_SIG[code], value)]);
  };
  f(FIELD.path, m.path);
  f(FIELD.interface, m.interface);
  f(FIELD.member, m.member);
  f(FIELD.errorName, m.errorName);
  f(FIELD.replySerial, m.replySerial);
  f(FIELD.destination, m.destination);
  f(FIELD.sender, m.sender);
  if (signature) f(FIELD.signature, signature);
  const w = new Writer();
  w.byte(0x6c); // 'l'
  w.byte(m.type);
  w.byte(m.flags);
  w.byte(1);
  w.u32(bw.length);
  w.u32(m.serial);
  w.write(HEADER_FIELDS, fields);
  w.align(8);
  w.bytes(bw.result());
  if (w.length > MAX_MESSAGE) throw new DbusWireError(`message of ${w.length} bytes`);
  return w.result();
}

/** The total length of the message starting at buf[0], or undefined while fewer than 16 bytes are there. */
export function messageLength(buf: Buffer): number | DbusWireError | undefined {
  if (buf.length < 16) return undefined;
  const e = buf[0];
  if (e !== 0x6c && e !== 0x42) return new DbusWireError(`bad endianness byte 0x${e.toString(16)}`);
  if (buf[3] !== 1) return new DbusWireError(`protocol version ${buf[3]}`);
  const le = e === 0x6c;
  const bodyLen = le ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const fieldsLen = le ? buf.readUInt32LE(12) : buf.readUInt32BE(12);
  const headerEnd = 16 + fieldsLen;
  const total = headerEnd + ((8 - (headerEnd % 8)) % 8) + bodyLen;
  if (total > MAX_MESSAGE) return new DbusWireError(`message of ${total} bytes`);
  return total;
}

/** One whole message (buf holds exactly it); a malformed one is a DbusWireError value. */
export function decodeMessage(buf: Buffer): Message | DbusWireError {
  try {
    const len = messageLength(buf);
    if (len instanceof DbusWireError) return len;
    if (len === undefined || len !== buf.length) return new DbusWireError('message length does not match');
    const le = buf[0] === 0x6c;
    const r = new Reader(buf, 12, le);
    const fields = r.read(HEADER_FIELDS) as [number, Variant][];
    r.align(8);
    const m: Message = {
      type: buf[1],
      flags: buf[2],
      serial: le ? buf.readUInt32LE(8) : buf.readUInt32BE(8),
      signature: '',
      body: [],
    };
    if (m.type < 1 || m.type > 4) return new DbusWireError(`message type ${m.type}`);
    for (const [code, v] of fields) {
      if (FIELD_SIG[code] && FIELD_SIG[code] !== v.sig) return new DbusWireError(`header field ${code} of type ${v.sig}`);
      if (code === FIELD.path) m.path = v.value as string;
      else if (code === FIELD.interface) m.interface = v.value as string;
      else if (code === FIELD.member) m.member = v.value as string;
      else if (code === FIELD.errorName) m.errorName = v.value as string;
      else if (code === FIELD.replySerial) m.replySerial = v.value as number;
      else if (code === FIELD.destination) m.destination = v.value as string;
      else if (code === FIELD.sender) m.sender = v.value as string;
      else if (code === FIELD.signature) m.signature = v.value as string;
    }
    const bodyStart = r.pos;
    const br = new Reader(buf, bodyStart, le, bodyStart);
    for (const t of parseSignature(m.signature)) m.body.push(br.read(t));
    if (br.pos !== buf.length) return new DbusWireError('body longer than its signature');
    return m;
  } catch (e) {
    return e instanceof DbusWireError ? e : new DbusWireError((e as Error).message);
  }
}
