// Byte builders for the rtnetlink codec tests (host order; the fixtures assume a little-endian host).

const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** the `skip` of a suite whose fixtures are little-endian */
export const skipBE: false | string = LE ? false : 'byte fixtures are little-endian';

/** A netlink TLV, padded to 4. */
export function tlv(type: number, data: Buffer): Buffer {
  const len = 4 + data.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  data.copy(b, 4);
  return b;
}

export const u16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};

export const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};

/** struct ifinfomsg */
export function ifinfomsg(index: number, flags = 0, change = 0, family = 0): Buffer {
  const b = Buffer.alloc(16);
  b[0] = family;
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags, 8);
  b.writeUInt32LE(change, 12);
  return b;
}
