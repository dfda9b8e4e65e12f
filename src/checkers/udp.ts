// UDP_CHECK: send the payload; with require_reply the server must answer within connect_timeout
// with a datagram whose length is within [min_reply_length, max_reply_length] (default 0..255) and
// which starts with the configured reply bytes. Without require_reply, the check passes unless an
// ICMP error (port unreachable) comes back before the timeout.
import type { UdpCheck } from '../config/model.js';
import { exchange } from './dgram-exchange.js';
import { type CheckResult, type CheckTarget, fail, pass } from './types.js';

export function replyProblem(cfg: UdpCheck, data: Buffer): string | undefined {
  const min = cfg.minReplyLength ?? 0;
  const max = cfg.maxReplyLength ?? 255;
  if (data.length < min || data.length > max) return `reply length ${data.length} outside ${min}..${max}`;
  if (cfg.reply && cfg.reply.length > 0) {
    if (data.length < cfg.reply.length || !data.subarray(0, cfg.reply.length).equals(cfg.reply)) return 'reply data mismatch';
  }
  return undefined;
}

export async function checkUdp(target: CheckTarget, cfg: UdpCheck, signal?: AbortSignal): Promise<CheckResult> {
  const started = process.hrtime.bigint();
  const out = await exchange(target, {
    payload: cfg.payload ?? Buffer.alloc(0),
    timeoutMs: cfg.connectTimeout,
    bindto: cfg.bindto,
    bindPort: cfg.bindPort,
    fwmark: cfg.fwmark,
    bindIf: cfg.bindIf,
    signal,
  });
  if (out.kind === 'error') return fail(out.reason, started);
  if (out.kind === 'timeout') return cfg.requireReply ? fail(`no reply within ${cfg.connectTimeout} ms`, started) : pass('no ICMP error', started);
  if (!cfg.requireReply) return pass('reply received', started);
  const problem = replyProblem(cfg, out.data);
  return problem ? fail(problem, started) : pass('reply ok', started);
}
