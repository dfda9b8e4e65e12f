// BIRD's control socket (what birdc speaks): a Unix stream socket; BIRD greets with "0001 BIRD x
// ready.", then answers each command line with reply lines "CODE-text" (more follow), " text"
// (continuation of the previous code) and ends with "CODE text" (code, space). Codes 0xxx are
// done, 1xxx/2xxx data, 8xxx run-time errors, 9xxx parse errors.
import { connect } from 'node:net';
import { TskeepalivedError } from '../util/errors.js';

export class BirdControlError extends TskeepalivedError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'TSK_ERR_BIRD_CONTROL', options);
    this.name = 'BirdControlError';
  }
}

export interface BirdReply {
  /** code of the final line */
  code: number;
  /** every line's text without its code */
  lines: string[];
  ok: boolean;
}

const FINAL = /^(\d{4}) (.*)$/;
const MORE = /^(\d{4})-(.*)$/;

/** Run one command on a fresh connection (connect, greeting, command, reply, close). */
export function birdCommand(socketPath: string, command: string, timeoutMs = 5000): Promise<BirdReply> {
  if (/[\r\n]/.test(command)) return Promise.reject(new BirdControlError('a BIRD command is one line'));
  return new Promise<BirdReply>((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    let greeted = false;
    const lines: string[] = [];
    let done = false;
    const finish = (e: Error | undefined, r?: BirdReply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (e) reject(e);
      else resolve(r!);
    };
    const timer = setTimeout(() => finish(new BirdControlError(`BIRD did not answer '${command}' on ${socketPath} within ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('error', (e) => finish(new BirdControlError(`cannot talk to BIRD on ${socketPath}: ${e.message}`, { cause: e })));
    sock.on('close', () => finish(new BirdControlError(`BIRD closed ${socketPath} before answering '${command}'`)));
    sock.on('data', (d: string) => {
      buf += d;
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
        const fin = FINAL.exec(line);
        if (!greeted) {
          if (fin?.[1] !== '0001') return finish(new BirdControlError(`unexpected greeting on ${socketPath}: '${line.slice(0, 200)}'`));
          greeted = true;
          sock.write(`${command}\n`);
          continue;
        }
        if (fin) {
          lines.push(fin[2]!);
          const code = Number(fin[1]);
          return finish(undefined, { code, lines, ok: code < 8000 });
        }
        const more = MORE.exec(line);
        lines.push(more ? more[2]! : line.replace(/^ /, ''));
      }
    });
  });
}

/** `configure`: BIRD re-reads its configuration (with our include file); rejects with BIRD's message on an error. */
export async function birdConfigure(socketPath: string, timeoutMs = 5000): Promise<void> {
  const r = await birdCommand(socketPath, 'configure', timeoutMs);
  // 0003 Reconfigured, 0004 in progress, 0005 queued, 0019 nothing to do (older BIRDs)
  if (!r.ok) throw new BirdControlError(`BIRD refused 'configure': ${r.lines.at(-1) ?? ''}`);
}

/** Whether BIRD has a protocol of this name (`show protocols NAME`: an unknown name is a syntax error). */
export async function birdHasProtocol(socketPath: string, protocol: string, timeoutMs = 5000): Promise<boolean> {
  const r = await birdCommand(socketPath, `show protocols ${protocol}`, timeoutMs);
  if (r.ok) return true;
  if (/CF_SYM_UNDEFINED/.test(r.lines.join(' '))) return false;
  throw new BirdControlError(`BIRD refused 'show protocols ${protocol}': ${r.lines.at(-1) ?? ''}`);
}

/** Prefixes BIRD has from a protocol (`show route protocol NAME`); none when the protocol is unknown. */
export async function birdRoutesOf(socketPath: string, protocol: string, timeoutMs = 5000): Promise<string[]> {
  const r = await birdCommand(socketPath, `show route protocol ${protocol}`, timeoutMs);
  if (!r.ok) {
    if (/CF_SYM_UNDEFINED|not found|no such/i.test(r.lines.join(' '))) return [];
    throw new BirdControlError(`BIRD refused 'show route protocol ${protocol}': ${r.lines.at(-1) ?? ''}`);
  }
  const out: string[] = [];
  for (const l of r.lines) {
    const m = /^\s*([0-9a-fA-F.:]+\/\d+)\s/.exec(l);
    if (m) out.push(m[1]!);
  }
  return out;
}
