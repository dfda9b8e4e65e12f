// The LB state as `ipvsadm -S -n` (save/restore) lines, formatted the way ipvsadm 1.31 prints them:
//   -A -t 10.0.0.1:80 -s rr -p 300
//   -a -t 10.0.0.1:80 -r 192.168.1.2:80 -m -w 1
// Services and destinations are in ipvsadm's sort order; thresholds are not part of -S output.
import type { Destination, LbState, Service } from './backend.js';
import { normalizeState } from './state.js';
import { schedFlagBits, schedFlagNames } from './sched-flags.js';
import { maskPrefixLength, prefixToDottedMask } from '../util/inet.js';

export { maskPrefixLength, prefixToDottedMask };

function hostPort(family: 4 | 6, address: string, port: number): string {
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The virtual-service part of a rule: "-t 10.0.0.1:80", "-u [2001:db8::1]:53", "-f 1 -6". */
export function serviceSwitch(s: Service): string {
  const k = s.key;
  if (k.kind === 'fwmark') return k.family === 6 ? `-f ${k.fwmark} -6` : `-f ${k.fwmark}`;
  const proto = k.protocol === 'TCP' ? '-t' : k.protocol === 'UDP' ? '-u' : '--sctp-service';
  return `${proto} ${hostPort(k.family, k.address!, k.port!)}`;
}

function forwardSwitch(d: Destination): string {
  switch (d.lbKind) {
    case 'NAT':
      return '-m';
    case 'TUN':
      return '-i';
    default:
      return '-g';
  }
}

export function formatServiceLine(s: Service): string {
  let line = `-A ${serviceSwitch(s)} -s ${s.scheduler}`;
  if (s.persistenceTimeout !== undefined) {
    line += ` -p ${s.persistenceTimeout}`;
    if (s.persistenceNetmask !== undefined) {
      const len = maskPrefixLength(s.persistenceNetmask, s.key.family);
      if (s.key.family === 4 && len !== undefined && len !== 32) line += ` -M ${prefixToDottedMask(len)}`;
      if (s.key.family === 6 && len !== undefined && len !== 128) line += ` -M ${len}`;
    }
  }
  if (s.ops) line += ' -o';
  const { bits } = schedFlagBits(s.schedFlags);
  const names = schedFlagNames(s.scheduler, bits);
  if (names.length) line += ` -b ${names.join(',')}`;
  return line;
}

export function formatDestinationLine(s: Service, d: Destination): string {
  const line = `-a ${serviceSwitch(s)} -r ${hostPort(d.family, d.address, d.port)} ${forwardSwitch(d)} -w ${d.weight}`;
  // ipvsadm 1.31 names the tunnel type of a tunnelled destination as the kernel (5.3+) reports it; the
  // model has only IPIP, the kernel's default (seen against kernel 6.1 in scripts/ipvs-vm.sh's VM)
  return d.lbKind === 'TUN' ? `${line} --tun-type ipip` : line;
}

/** Every line of `ipvsadm -S -n` for this state (no trailing newline). */
export function formatIpvsadmSave(state: LbState): string[] {
  return formatNormalizedState(normalizeState(state));
}

/** formatIpvsadmSave for a state already through normalizeState. */
export function formatNormalizedState(norm: LbState): string[] {
  const lines: string[] = [];
  for (const s of norm.services) {
    lines.push(formatServiceLine(s));
    for (const d of s.destinations) lines.push(formatDestinationLine(s, d));
  }
  return lines;
}
