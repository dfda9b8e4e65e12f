// IPVS scheduler flags: names (as ipvsadm -b and keepalived's lvs_sched flags use them) <-> kernel bits.

/** include/uapi/linux/ip_vs.h service flags */
export const IP_VS_SVC_F_PERSISTENT = 0x0001;
export const IP_VS_SVC_F_HASHED = 0x0002;
export const IP_VS_SVC_F_ONEPACKET = 0x0004;
export const IP_VS_SVC_F_SCHED1 = 0x0008;
export const IP_VS_SVC_F_SCHED2 = 0x0010;
export const IP_VS_SVC_F_SCHED3 = 0x0020;

const FLAG_BITS: Record<string, number> = {
  'flag-1': IP_VS_SVC_F_SCHED1,
  'flag-2': IP_VS_SVC_F_SCHED2,
  'flag-3': IP_VS_SVC_F_SCHED3,
  'sh-fallback': IP_VS_SVC_F_SCHED1,
  'sh-port': IP_VS_SVC_F_SCHED2,
  'mh-fallback': IP_VS_SVC_F_SCHED1,
  'mh-port': IP_VS_SVC_F_SCHED2,
};

/** Bits for a list of flag names; unknown names are reported, not ignored. */
export function schedFlagBits(names: readonly string[] | undefined): { bits: number; unknown: string[] } {
  let bits = 0;
  const unknown: string[] = [];
  for (const n of names ?? []) {
    const b = FLAG_BITS[n];
    if (b === undefined) unknown.push(n);
    else bits |= b;
  }
  return { bits, unknown };
}

/** Names of the scheduler flag bits in ipvsadm's order, named for the scheduler. */
export function schedFlagNames(scheduler: string, bits: number): string[] {
  const out: string[] = [];
  if (scheduler === 'sh' || scheduler === 'mh') {
    if (bits & IP_VS_SVC_F_SCHED1) out.push(`${scheduler}-fallback`);
    if (bits & IP_VS_SVC_F_SCHED2) out.push(`${scheduler}-port`);
  } else {
    if (bits & IP_VS_SVC_F_SCHED1) out.push('flag-1');
    if (bits & IP_VS_SVC_F_SCHED2) out.push('flag-2');
  }
  if (bits & IP_VS_SVC_F_SCHED3) out.push('flag-3');
  return out;
}
