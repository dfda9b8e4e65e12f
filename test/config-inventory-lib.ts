// Builds one minimal keepalived.conf per (block, keyword) row of the shared keyword inventory.
import { readFileSync } from 'node:fs';

export const INVENTORY_DIR = '/work/shared/reference';

export interface InventoryRow {
  block: string;
  keyword: string;
  args: string;
}

export interface InventoryCase extends InventoryRow {
  /** the config text */
  config: string;
  /** 1-based line of the keyword (or option word) under test */
  line: number;
  /** 'keyword': must not be reported unknown; 'option': a word inside a list line */
  kind: 'keyword' | 'option';
}

export function readInventory(): InventoryRow[] {
  const rows: InventoryRow[] = [];
  for (const f of ['keepalived-keywords.tsv', 'keepalived-keywords-extra.tsv']) {
    const lines = readFileSync(`${INVENTORY_DIR}/${f}`, 'utf8').split('\n');
    for (const l of lines.slice(1)) {
      if (!l.trim()) continue;
      const [block, keyword, args] = l.split('\t');
      rows.push({ block, keyword, args: args ?? '' });
    }
  }
  return rows;
}

/** sample arguments that keepalived accepts for a keyword (default: none or "1") */
const SAMPLE: Record<string, string> = {
  router_id: 'r1',
  notification_email_from: 'a@b.c',
  smtp_server: '127.0.0.1',
  smtp_helo_name: 'h',
  vrrp_mcast_group4: '224.0.0.18',
  vrrp_mcast_group6: 'ff02::12',
  default_interface: 'eth0',
  lvs_sync_daemon: 'eth0 VI_1',
  lvs_timeouts: 'tcp 100',
  vrrp_version: '2',
  script_user: 'root',
  notify_fifo: '/tmp/f',
  notify_fifo_script: '/bin/true',
  vrrp_notify_fifo: '/tmp/f2',
  vrrp_notify_fifo_script: '/bin/true',
  lvs_notify_fifo: '/tmp/f3',
  lvs_notify_fifo_script: '/bin/true',
  startup_script: '/bin/true',
  shutdown_script: '/bin/true',
  smtp_alert: 'yes',
  smtp_alert_vrrp: 'yes',
  smtp_alert_checker: 'yes',
  checker_log_all_failures: 'yes',
  vrrp_rx_bufs_policy: 'MTU',
  umask: 'IWGRP',
  tmp_config_directory: '/tmp',
  config_save_dir: '/tmp',
  process_name: 'x',
  vrrp_process_name: 'x',
  checker_process_name: 'x',
  bfd_process_name: 'x',
  snmp_socket: 'udp:127.0.0.1:705',
  dbus_service_name: 'org.x',
  vmac_prefix: 'vr',
  vmac_addr_prefix: 'va',
  reload_time_file: '/tmp/rt',
  reload_file: '/tmp/rf',
  include_check: 'read',
  nftables: 'keepalived',
  nftables_ipvs: 'keepalived_ipvs',
  vrrp_iptables: 'INPUT',
  vrrp_ipsets: 'k',
  reload_check_config: '/tmp/rc.log',
  vrrp_garp_extra_if: '10',
  vrrp_cpu_affinity: '0',
  checker_cpu_affinity: '0',
  bfd_cpu_affinity: '0',
  max_auto_priority: '10',
  vrrp_priority: '0',
  checker_priority: '0',
  bfd_priority: '0',
  nftables_priority: '-1',
  vrrp_rlimit_rttime: '10000',
  checker_rlimit_rttime: '10000',
  bfd_rlimit_rttime: '10000',
  dynamic_interfaces: '',
  state: 'BACKUP',
  interface: 'eth0',
  vrf: 'eth0',
  use_vmac: '',
  use_ipvlan: '',
  mcast_src_ip: '10.0.0.1',
  unicast_src_ip: '10.0.0.1',
  mcast_dst_ip: '224.0.0.18',
  version: '2',
  unicast_ttl: '10',
  virtual_router_id: '51',
  priority: '100',
  advert_int: '1',
  auth_type: 'PASS',
  auth_pass: 'secret',
  skip_check_adv_addr: 'on',
  strict_mode: 'off',
  debug: '0',
  preempt_delay: '1',
  notify_master: '/bin/true',
  notify_backup: '/bin/true',
  notify_fault: '/bin/true',
  notify_stop: '/bin/true',
  notify: '/bin/true',
  notify_deleted: '/bin/true',
  notify_master_rx_lower_pri: '/bin/true',
  notify_priority_changes: 'yes',
  kernel_rx_buf_size: '1000',
  lower_prio_no_advert: 'on',
  higher_prio_send_advert: 'on',
  old_unicast_checksum: '',
  script: '/bin/true',
  user: 'root',
  weight: '1',
  file: '/tmp/tf',
  init_file: '0',
  lvs_sched: 'rr',
  lvs_method: 'NAT',
  persistence_engine: 'sip',
  persistence_granularity: '255.255.255.0',
  protocol: 'TCP',
  virtualhost: 'h',
  snmp_name: 's',
  quorum_up: '/bin/true',
  quorum_down: '/bin/true',
  ip_family: 'inet',
  sorry_server: '10.0.0.9 80',
  sorry_server_lvs_method: 'NAT',
  notify_up: '/bin/true',
  notify_down: '/bin/true',
  alpha: '',
  inhibit_on_failure: '',
  connect_ip: '10.0.0.2',
  bindto: '10.0.0.1',
  bind_if: 'eth0',
  http_protocol: '1.1',
  path: '/',
  digest: '0123456789abcdef0123456789abcdef',
  status_code: '200',
  regex: 'ok',
  regex_options: 'caseless',
  regex_stack: '1000 2000',
  helo_name: 'h',
  misc_path: '/bin/true',
  type: 'A',
  name: 'example.com',
  payload: '00ff',
  require_reply: '00',
  track_file: 'tf',
  neighbor_ip: '10.0.0.5',
  neighbour_ip: '10.0.0.5',
  source_ip: '10.0.0.1',
  min_rx: '10',
  min_tx: '10',
  idle_tx: '1000',
  multiplier: '5',
  ttl: '255',
  hoplimit: '64',
  max_hops: '0',
  param_match: 'initial',
  process: 'foo',
  delay: '1',
  fork_delay: '1',
  terminate_delay: '1',
  quorum_max: '2',
  garp_interval: '1',
  gna_interval: '1',
  password: 'x',
  ca: '/tmp/ca',
  certificate: '/tmp/c',
  key: '/tmp/k',
  net_namespace: 'x',
  net_namespace_ipvs: 'x',
  instance: 'x',
  child_wait_time: '5',
  log_all_failures: 'yes',
  fast_recovery: 'yes',
  enable_sni: '',
  connect_port: '80',
  bind_port: '1000',
  fwmark: '1',
  connect_timeout: '5',
  retry: '1',
  delay_before_retry: '1',
  warmup: '1',
  delay_loop: '5',
  min_reply_length: '0',
  max_reply_length: '100',
  misc_timeout: '5',
  quorum: '1',
  hysteresis: '0',
  persistence_timeout: '60',
  uthreshold: '10',
  lthreshold: '5',
  regex_min_offset: '0',
  regex_max_offset: '100',
  garp_master_delay: '5',
  garp_master_repeat: '5',
  garp_lower_prio_delay: '5',
  garp_lower_prio_repeat: '5',
  garp_master_refresh: '0',
  garp_master_refresh_repeat: '1',
  garp_extra_if: '10',
  down_timer_adverts: '3',
};

/** keywords that open a `{ ... }` block, with sample contents */
const BLOCK_SAMPLE: Record<string, string> = {
  notification_email: 'a@b.c',
  track_interface: 'eth0',
  track_script: 's1',
  track_file: 'tf',
  track_process: 'p1',
  track_bfd: 'b1',
  unicast_peer: '10.0.0.3',
  virtual_ipaddress: '192.0.2.1/32',
  virtual_ipaddress_excluded: '192.0.2.2/32',
  virtual_routes: '192.0.2.0/24 dev eth0',
  virtual_rules: 'from 192.0.2.0/24 table 100 preference 10',
  group: 'VI_1',
  authentication: 'auth_type PASS',
  url: 'path /',
  interfaces: 'eth0',
};

const VS_HEAD = 'virtual_server 10.0.0.1 80 {\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n';
const RS_OPEN = ' real_server 10.0.0.2 80 {\n';

function kwLine(kw: string, block: boolean): string {
  if (block && BLOCK_SAMPLE[kw] !== undefined) return `${kw} {\n${BLOCK_SAMPLE[kw]}\n}`;
  const a = SAMPLE[kw] ?? '';
  return a ? `${kw} ${a}` : kw;
}

function sampleFor(row: InventoryRow): string {
  if (SAMPLE[row.keyword] !== undefined) return SAMPLE[row.keyword];
  return /^\s*(\(none\)|\[)/.test(row.args) || row.args.trim() === '' ? '' : '1';
}

/** Objects referenced by the sample values, defined before the tested block. */
const PRELUDE = 'vrrp_script s1 {\n script /bin/true\n}\ntrack_file tf {\n file /tmp/tf\n}\n';

function inBlock(open: string, body: string, close = '}'): { text: string; line: number } {
  const text = `${PRELUDE}${open}\n${body}\n${close}\n`;
  const line = PRELUDE.split('\n').length - 1 + open.split('\n').length + 1;
  return { text, line };
}

const VRRP_OPEN = 'vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51';

export function buildCase(row: InventoryRow): InventoryCase {
  const { block, keyword } = row;
  const isBlockKw = row.args.trim().startsWith('{') || (BLOCK_SAMPLE[keyword] !== undefined && /\{/.test(row.args));
  const line1 = isBlockKw ? kwLine(keyword, true) : sampleFor(row) ? `${keyword} ${sampleFor(row)}` : keyword;
  const mk = (open: string, body: string, close?: string, kind: 'keyword' | 'option' = 'keyword'): InventoryCase => {
    const r = inBlock(open, body, close);
    return { ...row, config: r.text, line: r.line, kind };
  };
  switch (block) {
    case 'global_defs':
      return mk('global_defs {', line1);
    case 'static_ipaddress': {
      if (keyword.startsWith('<')) return mk('static_ipaddress {', '192.0.2.9/32 dev eth0', undefined, 'option');
      const v = { brd: '192.0.2.255', dev: 'eth0', scope: 'global', label: 'eth0:1', peer: '192.0.2.8', track_group: 'tg', preferred_lft: 'forever' }[keyword];
      const line = keyword === 'dev' ? '192.0.2.9/24 dev eth0' : `192.0.2.9/24 dev eth0 ${keyword}${v ? ' ' + v : ''}`;
      return mk('static_ipaddress {', line, undefined, 'option');
    }
    case 'static_routes': {
      const opt: Record<string, string> = {
        '<DEST>[/<MASK>]': '192.0.2.0/24 dev eth0',
        inet6: 'inet6 2001:db8::/64 dev eth0',
        src: 'src 10.0.0.1 192.0.2.0/24 dev eth0',
        to: 'to 192.0.2.0/24 dev eth0',
        via: '192.0.2.0/24 via 10.0.0.254',
        gw: '192.0.2.0/24 gw 10.0.0.254',
        or: '192.0.2.0/24 via 10.0.0.254 or 10.0.0.253',
        dev: '192.0.2.0/24 dev eth0',
        table: '192.0.2.0/24 dev eth0 table 100',
        nexthop: '192.0.2.0/24 nexthop via 10.0.0.254 dev eth0',
        onlink: '192.0.2.0/24 via 10.0.0.254 dev eth0 onlink',
        weight: '192.0.2.0/24 nexthop via 10.0.0.254 dev eth0 weight 2',
        tos: '192.0.2.0/24 dev eth0 tos 0x04',
        protocol: '192.0.2.0/24 dev eth0 protocol bird',
        scope: '192.0.2.0/24 dev eth0 scope link',
        priority: '192.0.2.0/24 dev eth0 priority 10',
        lock: '192.0.2.0/24 dev eth0 mtu lock 1400',
        realms: '192.0.2.0/24 dev eth0 realms 1/2',
        vrf: '192.0.2.0/24 dev eth0 vrf eth0',
        features: '192.0.2.0/24 dev eth0 features ecn',
        fastopen_no_cookie: '192.0.2.0/24 dev eth0 fastopen_no_cookie 1',
        add: '192.0.2.0/24 dev eth0 add',
        append: '192.0.2.0/24 dev eth0 append',
        track_group: '192.0.2.0/24 dev eth0 track_group tg',
        blackhole: 'blackhole 192.0.2.0/24',
      };
      return mk('static_routes {', opt[keyword] ?? `192.0.2.0/24 dev eth0 ${keyword} 100`, undefined, 'option');
    }
    case 'static_rules': {
      const v: Record<string, string> = {
        from: 'from 192.0.2.0/24',
        to: 'to 192.0.2.0/24',
        table: 'table 100',
        track_group: 'track_group tg',
        iif: 'iif eth0',
        oif: 'oif eth0',
        tos: 'tos 4',
        fwmark: 'fwmark 1/0xff',
        preference: 'preference 10',
        realms: 'realms 1/2',
        goto: 'goto 200',
        uidrange: 'uidrange 1-2',
        l3mdev: 'l3mdev',
        protocol: 'protocol 4',
        ip_proto: 'ip_proto UDP',
        sport: 'sport 1-2',
        dport: 'dport 3-4',
        inet6: 'inet6 from 2001:db8::/64',
      };
      const base =
        keyword === 'goto'
          ? `from 192.0.2.0/24 preference 10 ${v[keyword]}`
          : `from 192.0.2.0/24 table 100 preference 10 ${keyword === 'from' || keyword === 'table' || keyword === 'preference' ? '' : v[keyword]}`;
      return mk('static_rules {', keyword === 'inet6' ? 'inet6 from 2001:db8::/64 table 100 preference 10' : base.trim(), undefined, 'option');
    }
    case 'linkbeat_interfaces':
      return mk('linkbeat_interfaces {', keyword.startsWith('<') ? 'eth0' : `eth0 ${keyword}`, undefined, 'option');
    case 'vrrp_script':
      return mk('vrrp_script s2 {\n script /bin/true', line1);
    case 'vrrp_track_file':
      return mk('track_file tf2 {\n file /tmp/tf2', line1);
    case 'vrrp_sync_group':
      return mk(
        `vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n 192.0.2.1/32\n }\n}\nvrrp_sync_group G {${keyword === 'group' ? '' : '\n group {\n VI_1\n }'}`,
        line1,
      );
    case 'vrrp_instance':
      if (row.args.includes('(in authentication {})')) return mk(`${VRRP_OPEN}\n authentication {`, line1, '}\n}');
      return mk(VRRP_OPEN, line1);
    case 'virtual_server_group': {
      const body = keyword === 'fwmark' ? 'fwmark 1' : keyword === '<IPADDR RANGE>' ? '10.0.0.1-10 80' : '10.0.0.1 80';
      return mk('virtual_server_group G {', body, undefined, 'option');
    }
    case 'virtual_server':
      if (keyword === 'real_server') return mk(VS_HEAD.trimEnd(), ' real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }');
      return mk(VS_HEAD + RS_OPEN + ' TCP_CHECK {\n }\n }', line1);
    case 'real_server':
      if (/_CHECK$|_GET$/.test(keyword)) {
        const body = keyword.endsWith('_GET')
          ? ' url {\n path /\n }'
          : keyword === 'MISC_CHECK'
            ? ' misc_path /bin/true'
            : keyword === 'FILE_CHECK'
              ? ' track_file tf'
              : keyword === 'BFD_CHECK'
                ? ' name b1'
                : '';
        return mk(VS_HEAD + RS_OPEN.trimEnd(), `${keyword} {\n${body}\n }`, '}\n}');
      }
      return mk(VS_HEAD + RS_OPEN + ' TCP_CHECK {\n }', line1, '}\n}');
    case 'HTTP_GET/SSL_GET':
    case 'TCP_CHECK':
    case 'SMTP_CHECK':
    case 'MISC_CHECK':
    case 'DNS_CHECK':
    case 'UDP_CHECK':
    case 'PING_CHECK':
    case 'FILE_CHECK':
    case 'BFD_CHECK': {
      const type = block === 'HTTP_GET/SSL_GET' ? (keyword === 'enable_sni' ? 'SSL_GET' : 'HTTP_GET') : block;
      const pre = type.endsWith('_GET')
        ? row.args.includes('(in url {})')
          ? ' url {'
          : ' url {\n path /\n }'
        : type === 'MISC_CHECK'
          ? ' misc_path /bin/true'
          : '';
      const close = type.endsWith('_GET') && row.args.includes('(in url {})') ? '}\n}\n}\n}' : '}\n}\n}';
      const body = type.endsWith('_GET') && row.args.includes('(in url {})') && keyword !== 'path' ? `path /\n${line1}` : line1;
      return mk(`${VS_HEAD}${RS_OPEN} ${type} {\n${pre}`, body, close);
    }
    case 'bfd_instance':
      return mk('bfd_instance b1 {\n neighbor_ip 10.0.0.5', line1);
    case '(top-level)':
      if (row.args.includes('{')) {
        const open: Record<string, string> = {
          global_defs: 'global_defs {\n router_id x\n}',
          linkbeat_interfaces: 'linkbeat_interfaces {\n eth0\n}',
          track_group: 'track_group tg {\n group {\n VI_1\n }\n}',
          static_ipaddress: 'static_ipaddress {\n 192.0.2.9/32 dev eth0\n}',
          static_routes: 'static_routes {\n 192.0.2.0/24 dev eth0\n}',
          static_rules: 'static_rules {\n from 192.0.2.0/24 table 100 preference 10\n}',
          track_file: 'track_file tf3 {\n file /tmp/x\n}',
          vrrp_track_process: 'vrrp_track_process p1 {\n process foo\n}',
          bfd_instance: 'bfd_instance b2 {\n neighbor_ip 10.0.0.6\n}',
          vrrp_script: 'vrrp_script s3 {\n script /bin/true\n}',
          vrrp_sync_group: 'vrrp_sync_group G2 {\n group {\n VI_1\n }\n}',
          garp_group: 'garp_group {\n garp_interval 1\n interface eth0\n}',
          vrrp_instance: 'vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n 192.0.2.1/32\n }\n}',
          interface_up_down_delays: 'interface_up_down_delays {\n eth0 1 2\n}',
          virtual_server_group: 'virtual_server_group G {\n 10.0.0.1 80\n}',
          virtual_server: `${VS_HEAD}${RS_OPEN} TCP_CHECK {\n }\n }\n}`,
          SSL: 'SSL {\n password x\n}',
        };
        const text = `${PRELUDE}${open[keyword] ?? keyword + ' {\n}'}\n`;
        return { ...row, config: text, line: PRELUDE.split('\n').length, kind: 'keyword' };
      }
      return { ...row, config: `${PRELUDE}${kwLine(keyword, false)}\n`, line: PRELUDE.split('\n').length, kind: 'keyword' };
    case 'track_group':
      return mk('track_group tg {', 'group {\n VI_1\n}');
    case 'vrrp_track_process':
      return mk(keyword === 'process' ? 'vrrp_track_process p2 {' : 'vrrp_track_process p2 {\n process foo', line1);
    case 'garp_group':
      return mk('garp_group {\n interface eth0', keyword === 'interfaces' ? 'interfaces {\n eth0\n}' : keyword === 'interface' ? 'garp_interval 1' : line1);
    case 'interface_up_down_delays':
      return mk('interface_up_down_delays {', 'eth0 1 2', undefined, 'option');
    case 'SSL':
      return mk('SSL {', line1);
  }
  throw new Error(`no case builder for block ${block}`);
}
