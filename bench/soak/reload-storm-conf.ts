// keepalived.conf texts for the reload storm: the master's and the peer's good files, the
// instance/real-server changes a reload makes, and the invalid files it is fed.

/** What changes between good files: an ungrouped instance, a sync-group member, a real server. */
export interface StormShape {
  /** VI_4 (10.S.0.103), in no group */
  vi4: boolean;
  /** VI_5 (10.S.0.104), a third member of G1 */
  vi5: boolean;
  /** the third real server, 10.S.0.6 */
  rs3: boolean;
}

export const TOGGLES: (keyof StormShape)[] = ['vi4', 'rs3', 'vi5'];

/** The instances every good file has (their state must never move), with their VIPs' last octet. */
export const UNCHANGED = [
  { name: 'VI_1', vip: 100 },
  { name: 'VI_2', vip: 101 },
  { name: 'VI_3', vip: 102 },
];
/** Real servers' last octets: the lab's namespaces d, e, f (address SUBNET.(index + 1)). */
export const HEALTHY_REAL_SERVERS = [4, 5];
export const EXTRA_REAL_SERVER = 6;

export interface ConfOptions {
  subnet: string;
  routerId: string;
  priority: number;
  /** notify fifo lines are appended to this file (by a fifo script running cat) */
  fifoOut: string;
  /** with the virtual server (the node that balances) */
  lb: boolean;
}

export function goodConf(o: ConfOptions, shape: StormShape): string {
  const inst = (name: string, vrid: number, octet: number, extra = '') => `
vrrp_instance ${name} {
    state BACKUP
    interface eth0
    virtual_router_id ${vrid}
    priority ${o.priority}
    advert_int 1
    garp_master_delay 0
${extra}    virtual_ipaddress {
        ${o.subnet}.${octet}/24 dev eth0
    }
}
`;
  const rs = (octet: number) => `    real_server ${o.subnet}.${octet} 80 {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
`;
  const lb = o.lb
    ? `
virtual_server ${o.subnet}.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
${HEALTHY_REAL_SERVERS.map(rs).join('')}${shape.rs3 ? rs(EXTRA_REAL_SERVER) : ''}}
`
    : '';
  return `global_defs {
    router_id ${o.routerId}
    enable_script_security
    script_user root
    notify_fifo ${o.fifoOut}.fifo
    notify_fifo_script "/bin/sh -c 'exec cat \\"$1\\" >> ${o.fifoOut}' reader"
}
vrrp_script chk {
    script "/bin/true"
    interval 1
}
vrrp_sync_group G1 {
    group {
        VI_2
        VI_3
${shape.vi5 ? '        VI_5\n' : ''}    }
}
${inst('VI_1', 51, 100, '    track_script {\n        chk\n    }\n    track_interface {\n        eth0\n    }\n')}${inst('VI_2', 52, 101)}${inst('VI_3', 53, 102)}${shape.vi4 ? inst('VI_4', 54, 103) : ''}${shape.vi5 ? inst('VI_5', 55, 104) : ''}${lb}`;
}

export const INVALID_KINDS = ['unbalanced', 'truncated', 'garbage', 'bad-interface'] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

/** A broken version of a good file, as a half-done edit or a wrong copy would leave it. */
export function invalidConf(good: string, kind: InvalidKind): string {
  switch (kind) {
    case 'unbalanced': {
      // the last closing brace forgotten
      const i = good.lastIndexOf('}');
      return good.slice(0, i) + good.slice(i + 1);
    }
    case 'truncated': {
      // an editor or a copy stopped half-way, inside VI_3's block (a cut that falls between blocks
      // leaves a valid, shorter file, which keepalived and tskeepalived both apply)
      const i = good.indexOf('virtual_router_id 53');
      return good.slice(0, i + 'virtual_rou'.length);
    }
    case 'garbage':
      // a binary file copied over the config
      return Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37 + 11) % 256)).toString('latin1');
    case 'bad-interface':
      // every instance on an interface that does not exist
      return good.replaceAll('interface eth0', 'interface eth9').replaceAll('dev eth0', 'dev eth9');
  }
}
