// DNS_CHECK: send one query (type, name; recursion desired) over UDP; the server is up when a
// response with the same id, the QR bit set and RCODE NOERROR arrives within connect_timeout.
import { randomInt } from 'node:crypto';
import type { DnsCheck } from '../config/model.js';
import { exchange } from './dgram-exchange.js';
import { type CheckResult, type CheckTarget, fail, pass } from './types.js';

export const DNS_TYPES: Record<string, number> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  RRSIG: 46,
  DNSKEY: 48,
};

export function encodeName(name: string): Buffer {
  const labels = name.split('.').filter((l) => l.length > 0);
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = Buffer.from(l, 'ascii');
    if (b.length > 63) throw new Error(`DNS label too long: '${l}'`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function encodeQuery(id: number, name: string, type: string): Buffer {
  const qtype = DNS_TYPES[type.toUpperCase()];
  if (qtype === undefined) throw new Error(`unknown DNS type '${type}'`);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // QDCOUNT
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(qtype, 0);
  tail.writeUInt16BE(1, 2); // IN
  return Buffer.concat([header, encodeName(name), tail]);
}

/** undefined when the response is a valid answer to query `id`, otherwise the reason. */
export function responseProblem(id: number, data: Buffer): string | undefined {
  if (data.length < 12) return 'short response';
  if (data.readUInt16BE(0) !== id) return 'id mismatch';
  const flags = data.readUInt16BE(2);
  if ((flags & 0x8000) === 0) return 'not a response (QR bit clear)';
  const rcode = flags & 0x000f;
  if (rcode !== 0) return `rcode = ${rcode}`;
  return undefined;
}

export async function checkDns(target: CheckTarget, cfg: DnsCheck, signal?: AbortSignal): Promise<CheckResult> {
  const started = process.hrtime.bigint();
  const id = randomInt(0, 0x10000);
  let query: Buffer;
  try {
    query = encodeQuery(id, cfg.name, cfg.queryType);
  } catch (e) {
    return fail((e as Error).message, started);
  }
  const out = await exchange(target, {
    payload: query,
    timeoutMs: cfg.connectTimeout,
    bindto: cfg.bindto,
    bindPort: cfg.bindPort,
    fwmark: cfg.fwmark,
    bindIf: cfg.bindIf,
    // a datagram with another id is not our answer: keep waiting
    accept: (d) => d.length >= 2 && d.readUInt16BE(0) === id,
    signal,
  });
  if (out.kind === 'error') return fail(out.reason, started);
  if (out.kind === 'timeout') return fail(`no response within ${cfg.connectTimeout} ms`, started);
  const problem = responseProblem(id, out.data);
  return problem ? fail(problem, started) : pass('DNS response ok', started);
}
