// keepalived's text for a virtual and a real server, as its logs, notify_fifo lines and alert
// emails print them: "[10.0.0.1]:tcp:80", "FWM 1", "[group]:0"; "[10.0.0.2]:tcp:8080".
import type { RealServer, VirtualServer } from './model.js';
import { flatString } from './reload-identity.js';

export function virtualServerText(vs: VirtualServer): string {
  const k = vs.key;
  if (k.kind === 'group') return `[${k.group}]:0`;
  if (k.kind === 'fwmark') return `FWM ${k.fwmark}`;
  return flatString('[', k.address, ']:', vs.protocol.toLowerCase(), ':', k.port);
}

/** Built in one piece (flatString): the checker engine keeps one per real server. */
export function realServerText(rs: RealServer, vs: VirtualServer): string {
  return flatString('[', rs.address, ']:', vs.protocol.toLowerCase(), ':', rs.port);
}
