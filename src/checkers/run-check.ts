// Dispatch one check attempt to the checker of the right type.
import type { Checker, RealServer } from '../config/model.js';
import { checkDns } from './dns.js';
import { checkFile } from './file.js';
import { checkHttp } from './http.js';
import { checkMisc } from './misc.js';
import { checkPing } from './ping.js';
import { checkSmtp } from './smtp.js';
import { checkTcp } from './tcp.js';
import { type CheckContext, type CheckResult, type CheckTarget, fail } from './types.js';
import { checkUdp } from './udp.js';

/** The address a network checker connects to: connect_ip / connect_port override the real server's. */
export function checkTarget(rs: RealServer, c: Checker): CheckTarget {
  const common = c as { connectIp?: string; connectPort?: number };
  const address = common.connectIp ?? rs.address;
  return { address, port: common.connectPort ?? rs.port, family: address.includes(':') ? 6 : 4 };
}

/** BFD_CHECK is not polled: the engine follows the BFD engine's session events (bfdState). */
export function isSchedulable(c: Checker): boolean {
  return c.type !== 'BFD_CHECK';
}

/** Engine-wide settings for checks; MISC_CHECK / FILE_CHECK get them with the server's weight. */
export type CheckEnv = Omit<CheckContext, 'configuredWeight'>;

/**
 * One attempt of checker `c` on real server `rs`. Positional arguments, so that the hot path
 * allocates no options object per check.
 * @param virtualhost the virtual server's virtualhost (default Host of HTTP checks)
 * @param delayLoopMs MISC_CHECK's default timeout (keepalived: the delay_loop)
 */
export function runCheck(
  rs: RealServer,
  c: Checker,
  env: CheckEnv,
  virtualhost: string | undefined,
  delayLoopMs: number,
  signal?: AbortSignal,
): Promise<CheckResult> {
  switch (c.type) {
    case 'HTTP_GET':
    case 'SSL_GET':
      // no per-check abort signal: the deadline bounds a check, and the engine's stop ends the
      // checks in flight (abortHttpChecks; listening for aborts costs more than the rest of the check)
      return checkHttp(checkTarget(rs, c), c, undefined, virtualhost, rs.virtualhost, env.ssl);
    case 'TCP_CHECK':
      return checkTcp(checkTarget(rs, c), c, signal);
    case 'SMTP_CHECK':
      return checkSmtp(checkTarget(rs, c), c, signal);
    case 'DNS_CHECK':
      return checkDns(checkTarget(rs, c), c, signal);
    case 'UDP_CHECK':
      return checkUdp(checkTarget(rs, c), c, signal);
    case 'PING_CHECK':
      return checkPing(checkTarget(rs, c), c, signal);
    case 'MISC_CHECK':
      return checkMisc(c, { ...env, configuredWeight: rs.weight }, c.miscTimeout ?? delayLoopMs);
    case 'FILE_CHECK':
      return checkFile(c, { ...env, configuredWeight: rs.weight });
    case 'BFD_CHECK':
      return Promise.resolve(fail('BFD_CHECK follows its BFD session and is never run as a check', process.hrtime.bigint()));
  }
}
