// How each keyword of keepalived.conf(5) is handled: 'model' (typed field), 'raw' (accepted and kept
// in the node's `raw` list), 'line-option' (a word of a list line: address/route/rule options),
// 'rejected' (keepalived 2.2.7 itself reports it as unknown, and so do we), or 'unhandled'.
import { ROOT_KEYWORDS } from './build.js';
import { bfdInstanceTable } from './build-bfd.js';
import { checkerTables, sslTable, urlTable } from './build-checkers.js';
import { globalDefsTable } from './build-global.js';
import { realServerTable, virtualServerTable } from './build-lvs.js';
import { trackFileTable, trackProcessTable, vrrpScriptTable } from './build-track.js';
import { syncGroupTable, vrrpInstanceTable } from './build-vrrp.js';
import type { KeywordTable } from './table.js';
import { bgpTable, bgpVirtualServerTable, bgpVrrpInstanceTable } from './build-bgp.js';

export type KeywordHandling = 'model' | 'raw' | 'line-option' | 'rejected' | 'unhandled';

/** Documented keywords that keepalived 2.2.7 (Debian build) rejects with "Unknown keyword" / "Unknown rule option". */
export const REJECTED_BY_KEEPALIVED = new Set([
  'global_defs vrrp_ipsets',
  'vrrp_sync_group notify_deleted',
  'MISC_CHECK connect_timeout',
  'FILE_CHECK dynamic',
  'static_rules ip_proto',
]);

// biome-ignore lint/suspicious/noExplicitAny: a table of any builder type, only its keywords are read
type AnyTable = KeywordTable<any>;

const TABLES: Record<string, AnyTable> = {
  global_defs: globalDefsTable,
  vrrp_script: vrrpScriptTable,
  vrrp_track_file: trackFileTable,
  vrrp_sync_group: syncGroupTable,
  vrrp_instance: vrrpInstanceTable,
  virtual_server: virtualServerTable,
  real_server: realServerTable,
  TCP_CHECK: checkerTables.TCP_CHECK,
  SMTP_CHECK: checkerTables.SMTP_CHECK,
  MISC_CHECK: checkerTables.MISC_CHECK,
  DNS_CHECK: checkerTables.DNS_CHECK,
  UDP_CHECK: checkerTables.UDP_CHECK,
  PING_CHECK: checkerTables.PING_CHECK,
  FILE_CHECK: checkerTables.FILE_CHECK,
  BFD_CHECK: checkerTables.BFD_CHECK,
  bfd_instance: bfdInstanceTable,
  vrrp_track_process: trackProcessTable,
  bgp: bgpTable,
  'bgp virtual_server': bgpVirtualServerTable,
  'bgp vrrp_instance': bgpVrrpInstanceTable,
  SSL: sslTable,
};

const LIST_BLOCKS = new Set(['static_ipaddress', 'static_routes', 'static_rules', 'linkbeat_interfaces', 'virtual_server_group', 'interface_up_down_delays']);
/** small blocks handled inline by the root builder and kept raw */
const INLINE_RAW: Record<string, Set<string>> = {
  track_group: new Set(['group']),
  garp_group: new Set(['garp_interval', 'gna_interval', 'interface', 'interfaces']),
};

const MODELLED_ROOT = new Set([
  'global_defs',
  'net_namespace',
  'instance',
  'static_ipaddress',
  'static_routes',
  'static_rules',
  'track_file',
  'vrrp_track_process',
  'bfd_instance',
  'vrrp_script',
  'vrrp_sync_group',
  'vrrp_instance',
  'virtual_server_group',
  'virtual_server',
  'bgp',
  'SSL',
]);

export function keywordHandling(block: string, keyword: string, args = ''): KeywordHandling {
  if (REJECTED_BY_KEEPALIVED.has(`${block} ${keyword}`)) return 'rejected';
  if (LIST_BLOCKS.has(block)) return 'line-option';
  if (block === '(top-level)') {
    if (!ROOT_KEYWORDS.has(keyword)) return 'unhandled';
    return MODELLED_ROOT.has(keyword) ? 'model' : 'raw';
  }
  if (INLINE_RAW[block]) return INLINE_RAW[block].has(keyword) ? 'raw' : 'unhandled';
  if (block === 'HTTP_GET/SSL_GET') {
    const t = args.includes('(in url {})') ? urlTable : checkerTables.HTTP_GET;
    const s = t.specs.get(keyword) ?? (keyword === 'enable_sni' ? checkerTables.SSL_GET.specs.get(keyword) : undefined);
    return s ? s.status : 'unhandled';
  }
  if (block === 'vrrp_instance' && args.includes('(in authentication {})')) return keyword === 'auth_type' || keyword === 'auth_pass' ? 'model' : 'unhandled';
  const t = TABLES[block];
  if (!t) return 'unhandled';
  const s = t.specs.get(keyword);
  return s ? s.status : 'unhandled';
}
