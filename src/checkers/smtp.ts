// SMTP_CHECK: read the 220 banner, say HELO <helo_name> and expect 250, then QUIT and expect 221,
// all within connect_timeout. Multi-line replies ("250-...") are read to their last line.
import type { SmtpCheck } from '../config/model.js';
import { Socket } from 'node:net';
import { wantsNativeSocket } from './native-socket.js';
import { openTcpSession, preparedSocket } from './tcp-session.js';
import { type CheckResult, type CheckTarget, fail, pass } from './types.js';

/** Splits complete SMTP replies out of a buffer: returns the final codes of complete replies and the rest. */
export function takeReplies(buf: string): { codes: number[]; rest: string } {
  const codes: number[] = [];
  let rest = buf;
  for (;;) {
    const nl = rest.indexOf('\n');
    if (nl < 0) break;
    const line = rest.slice(0, nl).replace(/\r$/, '');
    rest = rest.slice(nl + 1);
    // a continuation line has '-' after the code; the last line has ' ' or nothing
    if (/^\d{3}(?: |$)/.test(line)) codes.push(Number(line.slice(0, 3)));
    else if (!/^\d{3}-/.test(line)) codes.push(-1);
  }
  return { codes, rest };
}

export function checkSmtp(target: CheckTarget, cfg: SmtpCheck, signal?: AbortSignal): Promise<CheckResult> {
  const started = process.hrtime.bigint();
  if (!wantsNativeSocket(cfg)) return dialogue(target, cfg, signal, started);
  return preparedSocket(target, cfg, started).then((pre) => (pre instanceof Socket ? dialogue(target, cfg, signal, started, pre) : pre!));
}

function dialogue(target: CheckTarget, cfg: SmtpCheck, signal: AbortSignal | undefined, t0: bigint, pre?: Socket): Promise<CheckResult> {
  return new Promise((resolve) => {
    let stage: 'banner' | 'helo' | 'quit' = 'banner';
    let buf = '';
    const s = openTcpSession(target, cfg, signal, resolve, () => `timeout in ${stage} after ${cfg.connectTimeout} ms`, t0, pre);
    const { sock, finish, started } = s;
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > 65536) return finish(fail('reply too long', started));
      const { codes, rest } = takeReplies(buf);
      buf = rest;
      for (const code of codes) {
        if (s.settled) return;
        if (stage === 'banner') {
          if (code !== 220) return finish(fail(`bad banner code ${code}`, started));
          stage = 'helo';
          sock.write(`HELO ${cfg.heloName}\r\n`);
        } else if (stage === 'helo') {
          if (code !== 250) return finish(fail(`HELO answered ${code}`, started));
          stage = 'quit';
          sock.write('QUIT\r\n');
        } else {
          if (code !== 221) return finish(fail(`QUIT answered ${code}`, started));
          return finish(pass('SMTP dialogue ok', started));
        }
      }
    });
    sock.once('close', () => finish(fail(`connection closed in ${stage}`, started)));
  });
}
