// Host-byte-order integer access for kernel structures (sockaddr families, cmsg headers, netlink).
import { endianness } from 'node:os';

const LE = endianness() === 'LE';

export function readU16(b: Buffer, off: number): number {
  return LE ? b.readUInt16LE(off) : b.readUInt16BE(off);
}
export function writeU16(b: Buffer, v: number, off: number): void {
  if (LE) b.writeUInt16LE(v, off);
  else b.writeUInt16BE(v, off);
}
export function readU32(b: Buffer, off: number): number {
  return LE ? b.readUInt32LE(off) : b.readUInt32BE(off);
}
export function writeU32(b: Buffer, v: number, off: number): void {
  if (LE) b.writeUInt32LE(v >>> 0, off);
  else b.writeUInt32BE(v >>> 0, off);
}
export function readI32(b: Buffer, off: number): number {
  return LE ? b.readInt32LE(off) : b.readInt32BE(off);
}
export function writeI32(b: Buffer, v: number, off: number): void {
  if (LE) b.writeInt32LE(v, off);
  else b.writeInt32BE(v, off);
}
/** size_t / long: 8 bytes on 64-bit targets, 4 on 32-bit ones. */
export const WORD = ['arm', 'ia32', 'mipsel', 'mips', 'ppc'].includes(process.arch) ? 4 : 8;
export function readWord(b: Buffer, off: number): number {
  if (WORD === 4) return readU32(b, off);
  return Number(LE ? b.readBigUInt64LE(off) : b.readBigUInt64BE(off));
}
export function writeWord(b: Buffer, v: number, off: number): void {
  if (WORD === 4) writeU32(b, v, off);
  else if (LE) b.writeBigUInt64LE(BigInt(v), off);
  else b.writeBigUInt64BE(BigInt(v), off);
}
