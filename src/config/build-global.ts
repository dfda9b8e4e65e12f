// global_defs: keyword table and defaults (keepalived.conf(5) "GLOBAL DEFINITIONS").
import { hostname } from 'node:os';
import type { ConfNode } from '../parser/ast.js';
import type { BuildContext } from './context.js';
import { arg, flagField, optBoolField, stringField, timerField, uintField, intField } from './handlers.js';
import { parseAddress, isMulticast } from '../util/inet.js';
import type { FifoSpec, GlobalDefs, LbBackendName } from './model.js';
import { readScript } from './scripts.js';
import { KeywordTable, toRaw } from './table.js';
import { readUnsigned, trueFalse } from './values.js';

export function defaultGlobalDefs(): GlobalDefs {
  return {
    routerId: hostname(),
    notificationEmail: [],
    smtpConnectTimeout: 30000,
    enableScriptSecurity: false,
    vrrpMcastGroup4: '224.0.0.18',
    vrrpMcastGroup6: 'ff02::12',
    vrrpGarpMasterDelay: 5000,
    vrrpGarpMasterRepeat: 5,
    vrrpGarpMasterRefresh: 0,
    vrrpGarpMasterRefreshRepeat: 1,
    vrrpGarpInterval: 0,
    vrrpGnaInterval: 0,
    vrrpVersion: 2,
    vrrpStrict: false,
    vrrpSkipCheckAdvAddr: false,
    vrrpCheckUnicastSrc: false,
    vrrpHigherPrioSendAdvert: false,
    vrrpLowerPrioNoAdvert: false,
    checkerLogAllFailures: false,
    lvsFlush: false,
    raw: [],
  };
}

const LB_BACKENDS = new Set<LbBackendName>(['ipvs', 'nftables', 'userspace', 'dry-run']);

function fifo(set: (g: GlobalDefs, f: FifoSpec) => void) {
  return (ctx: BuildContext, n: ConfNode, g: GlobalDefs) => {
    const path = arg(ctx, n);
    if (path === undefined) return;
    set(g, { path });
  };
}

function fifoScript(get: (g: GlobalDefs) => FifoSpec | undefined, set: (g: GlobalDefs, f: FifoSpec) => void) {
  return (ctx: BuildContext, n: ConfNode, g: GlobalDefs) => {
    const script = readScript(ctx, ctx.scripts, n);
    if (!script) return;
    const f = get(g) ?? { path: '' };
    f.script = script;
    set(g, f);
  };
}

function mcastGroup(family: 4 | 6, set: (g: GlobalDefs, a: string) => void) {
  return (ctx: BuildContext, n: ConfNode, g: GlobalDefs) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const a = parseAddress(w);
    if (!a || a.family !== family || !isMulticast(a.address))
      ctx.error(n, `vrrp_mcast_group${family} '${w}' is not a valid IPv${family} multicast address - ignoring`);
    else set(g, a.address);
  };
}

const badBool = (kw: string) => (w: string) => `Invalid value '${w}' for global ${kw} specified`;

export const globalDefsTable = new KeywordTable<GlobalDefs>('global_defs')
  .model(
    'router_id',
    stringField((g, v) => (g.routerId = v)),
  )
  .model('notification_email', (_ctx, n, g) => {
    for (const c of n.children ?? []) g.notificationEmail.push(c.keyword, ...c.args);
  })
  .model(
    'notification_email_from',
    stringField((g, v) => (g.notificationEmailFrom = v)),
  )
  .model('smtp_server', (ctx, n, g) => {
    const host = arg(ctx, n);
    if (host === undefined) return;
    let port = 25;
    if (n.args[1] !== undefined) {
      const p = readUnsigned(ctx, n, n.args[1], 1, 65535);
      if (p === undefined) return;
      port = p;
    }
    g.smtpServer = { host, port };
  })
  .model(
    'smtp_helo_name',
    stringField((g, v) => (g.smtpHeloName = v)),
  )
  .model(
    'smtp_connect_timeout',
    uintField(
      (g, v) => (g.smtpConnectTimeout = v * 1000),
      1,
      4294967295,
      (ctx, n, w) => ctx.error(n, `Invalid smtp_connect_timeout ${w} - ignoring`),
    ),
  )
  .model(
    'smtp_alert',
    optBoolField((g, v) => (g.smtpAlert = v), badBool('smtp_alert')),
  )
  .model(
    'smtp_alert_vrrp',
    optBoolField((g, v) => (g.smtpAlertVrrp = v), badBool('smtp_alert_vrrp')),
  )
  .model(
    'smtp_alert_checker',
    optBoolField((g, v) => (g.smtpAlertChecker = v), badBool('smtp_alert_checker')),
  )
  .model(
    'checker_log_all_failures',
    optBoolField(
      (g, v) => (g.checkerLogAllFailures = v),
      () => 'Invalid value for checker_log_all_failures specified',
    ),
  )
  .model('script_user', (ctx, n, g) => {
    const u = arg(ctx, n);
    if (u === undefined) return;
    g.scriptUser = u;
    if (n.args[1] !== undefined) g.scriptGroup = n.args[1];
    if (!ctx.scripts.userExists(u)) ctx.error(n, `Unable to set default user ${u} - ignoring`);
    else ctx.scripts.defaultUser = u;
  })
  .model(
    'enable_script_security',
    flagField((g) => (g.enableScriptSecurity = true)),
  )
  .model(
    'vrrp_mcast_group4',
    mcastGroup(4, (g, a) => (g.vrrpMcastGroup4 = a)),
  )
  .model(
    'vrrp_mcast_group6',
    mcastGroup(6, (g, a) => (g.vrrpMcastGroup6 = a)),
  )
  .model(
    'default_interface',
    stringField((g, v) => (g.defaultInterface = v)),
  )
  .model(
    'vrrp_garp_master_delay',
    uintField(
      (g, v) => (g.vrrpGarpMasterDelay = v * 1000),
      0,
      86400,
      (ctx, n) => ctx.error(n, 'vrrp_garp_master_delay invalid - ignoring'),
    ),
  )
  .model(
    'vrrp_garp_master_repeat',
    uintField(
      (g, v) => (g.vrrpGarpMasterRepeat = v),
      0,
      4294967295,
      (ctx, n) => ctx.error(n, 'vrrp_garp_master_repeat invalid - ignoring'),
    ),
  )
  .model(
    'vrrp_garp_master_refresh',
    uintField(
      (g, v) => (g.vrrpGarpMasterRefresh = v * 1000),
      0,
      4294967295,
      (ctx, n) => ctx.error(n, 'vrrp_garp_master_refresh invalid - ignoring'),
    ),
  )
  .model(
    'vrrp_garp_master_refresh_repeat',
    uintField(
      (g, v) => (g.vrrpGarpMasterRefreshRepeat = v),
      0,
      4294967295,
      (ctx, n) => ctx.error(n, 'vrrp_garp_master_refresh_repeat invalid - ignoring'),
    ),
  )
  .model(
    'vrrp_garp_lower_prio_delay',
    uintField((g, v) => (g.vrrpGarpLowerPrioDelay = v * 1000), 0, 86400),
  )
  .model(
    'vrrp_garp_lower_prio_repeat',
    uintField((g, v) => (g.vrrpGarpLowerPrioRepeat = v), 0, 4294967295),
  )
  .model(
    'vrrp_down_timer_adverts',
    uintField((g, v) => (g.vrrpDownTimerAdverts = v), 1, 100),
  )
  .model(
    'vrrp_garp_interval',
    timerField((g, v) => (g.vrrpGarpInterval = v), 0, 1000000000),
  )
  .model(
    'vrrp_gna_interval',
    timerField((g, v) => (g.vrrpGnaInterval = v), 0, 1000000000),
  )
  .model(
    'vrrp_version',
    uintField(
      (g, v) => (g.vrrpVersion = v as 2 | 3),
      2,
      3,
      (ctx, n) => ctx.error(n, 'Unknown VRRP version - ignoring'),
    ),
  )
  .model(
    'vrrp_strict',
    flagField((g) => (g.vrrpStrict = true)),
  )
  .model(
    'vrrp_skip_check_adv_addr',
    flagField((g) => (g.vrrpSkipCheckAdvAddr = true)),
  )
  .model(
    'vrrp_check_unicast_src',
    flagField((g) => (g.vrrpCheckUnicastSrc = true)),
  )
  .model(
    'vrrp_higher_prio_send_advert',
    optBoolField(
      (g, v) => (g.vrrpHigherPrioSendAdvert = v),
      () => 'Invalid value for vrrp_higher_prio_send_advert specified',
    ),
  )
  .model(
    'vrrp_lower_prio_no_advert',
    optBoolField(
      (g, v) => (g.vrrpLowerPrioNoAdvert = v),
      () => 'Invalid value for vrrp_lower_prio_no_advert specified',
    ),
  )
  .model(
    'vrrp_notify_priority_changes',
    optBoolField((g, v) => (g.vrrpNotifyPriorityChanges = v), badBool('vrrp_notify_priority_changes')),
  )
  .model(
    'notify_fifo',
    fifo((g, f) => (g.notifyFifo = { ...g.notifyFifo, ...f })),
  )
  .model(
    'notify_fifo_script',
    fifoScript(
      (g) => g.notifyFifo,
      (g, f) => (g.notifyFifo = f),
    ),
  )
  .model(
    'vrrp_notify_fifo',
    fifo((g, f) => (g.vrrpNotifyFifo = { ...g.vrrpNotifyFifo, ...f })),
  )
  .model(
    'vrrp_notify_fifo_script',
    fifoScript(
      (g) => g.vrrpNotifyFifo,
      (g, f) => (g.vrrpNotifyFifo = f),
    ),
  )
  .model(
    'lvs_notify_fifo',
    fifo((g, f) => (g.lvsNotifyFifo = { ...g.lvsNotifyFifo, ...f })),
  )
  .model(
    'lvs_notify_fifo_script',
    fifoScript(
      (g) => g.lvsNotifyFifo,
      (g, f) => (g.lvsNotifyFifo = f),
    ),
  )
  .model(
    'lvs_flush',
    flagField((g) => (g.lvsFlush = true)),
  )
  .model('startup_script', (ctx, n, g) => (g.startupScript = readScript(ctx, ctx.scripts, n) ?? g.startupScript))
  .model('shutdown_script', (ctx, n, g) => (g.shutdownScript = readScript(ctx, ctx.scripts, n) ?? g.shutdownScript))
  .model(
    'startup_script_timeout',
    uintField((g, v) => (g.startupScriptTimeout = v * 1000), 1, 1000),
  )
  .model(
    'shutdown_script_timeout',
    uintField((g, v) => (g.shutdownScriptTimeout = v * 1000), 1, 1000),
  )
  .model('lvs_sync_daemon', (ctx, n, g) => {
    const itf = arg(ctx, n);
    if (itf === undefined) return;
    const d: NonNullable<GlobalDefs['lvsSyncDaemon']> = { interface: itf, options: {} };
    let i = 1;
    if (n.args[i] === 'inst') i++;
    if (n.args[i] !== undefined && !['id', 'maxlen', 'port', 'ttl', 'group'].includes(n.args[i])) d.instance = n.args[i++];
    for (; i + 1 < n.args.length; i += 2) {
      d.options[n.args[i]] = n.args[i + 1];
      if (n.args[i] === 'id') d.syncId = readUnsigned(ctx, n, n.args[i + 1], 0, 255);
    }
    g.lvsSyncDaemon = d;
  })
  .model(
    'max_auto_priority',
    intField((g, v) => (g.maxAutoPriority = v), -1, 99),
  )
  .model('dynamic_interfaces', (_ctx, n, g) => (g.dynamicInterfaces = n.args[0] === 'allow_if_changes' ? 'allow_if_changes' : true))
  .model(
    'vmac_prefix',
    stringField((g, v) => (g.vmacPrefix = v)),
  )
  .model(
    'vmac_addr_prefix',
    stringField((g, v) => (g.vmacAddrPrefix = v)),
  )
  .model('nftables', (_ctx, n, g) => (g.nftables = n.args[0] ?? 'keepalived'))
  .model(
    'nftables_priority',
    intField(
      (g, v) => (g.nftablesPriority = v),
      -2147483648,
      2147483647,
      (ctx, n, w) => ctx.error(n, `invalid nftables chain priority '${w}'`),
    ),
  )
  .model(
    'nftables_counters',
    flagField((g) => (g.nftablesCounters = true)),
  )
  .model(
    'nftables_ifindex',
    flagField((g) => (g.nftablesIfindex = true)),
  )
  .model('vrrp_iptables', (ctx, n, g) => {
    ctx.error(n, "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option");
    g.vrrpIptables = n.args.slice();
  })
  .model(
    [
      'vrrp_netlink_cmd_rcv_bufs_force',
      'vrrp_netlink_monitor_rcv_bufs_force',
      'lvs_netlink_cmd_rcv_bufs_force',
      'lvs_netlink_monitor_rcv_bufs_force',
      'process_monitor_rcv_bufs_force',
    ],
    (ctx, n, g) => {
      const w = n.args[0];
      if (w !== undefined && trueFalse(w) === undefined) ctx.error(n, `Invalid value '${w}' for global ${n.keyword} specified`);
      else g.raw.push(toRaw(n));
    },
  )
  // tskeepalived extensions
  .model('lb_backend', (ctx, n, g) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    if (LB_BACKENDS.has(w as LbBackendName)) g.lbBackend = w as LbBackendName;
    else ctx.error(n, `Unknown lb_backend '${w}' - expected ipvs, nftables, userspace or dry-run`);
  })
  .model('status_listen', (ctx, n, g) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):([0-9]{1,5})$/.exec(w);
    if (!m || Number(m[2]) > 65535) ctx.error(n, `Invalid status_listen '${w}' - expected HOST:PORT`);
    else g.statusListen = w;
  })
  .raw(
    'tmp_config_directory',
    'config_save_dir',
    'process_names',
    'process_name',
    'vrrp_process_name',
    'checker_process_name',
    'lvs_process_name',
    'bfd_process_name',
    'no_email_faults',
    'disable_local_igmp',
    'lvs_timeouts',
    'lvs_flush_on_stop',
    'lvs_flush_onstop',
    'min_auto_priority_delay',
    'vrrp_min_garp',
    'vrrp_garp_extra_if',
    'vrrp_vmac_garp_intvl',
    'nftables_ipvs',
    'nftables_ipvs_priority',
    'nftables_ipvs_start_fwmark',
    'vrrp_priority',
    'vrrp_no_swap',
    'vrrp_rt_priority',
    'vrrp_cpu_affinity',
    'vrrp_rlimit_rttime',
    'vrrp_rlimit_rtime',
    'fifo_write_vrrp_states_on_reload',
    'checker_priority',
    'checker_no_swap',
    'checker_rt_priority',
    'checker_cpu_affinity',
    'checker_rlimit_rttime',
    'checker_rlimit_rtime',
    'bfd_priority',
    'bfd_no_swap',
    'bfd_rt_priority',
    'bfd_cpu_affinity',
    'bfd_rlimit_rttime',
    'bfd_rlimit_rtime',
    'snmp_socket',
    'enable_traps',
    'enable_snmp_vrrp',
    'enable_snmp_keepalived',
    'enable_snmp_rfc',
    'enable_snmp_rfcv2',
    'enable_snmp_rfcv3',
    'enable_snmp_checker',
    'enable_dbus',
    'dbus_service_name',
    'vrrp_netlink_cmd_rcv_bufs',
    'vrrp_netlink_monitor_rcv_bufs',
    'process_monitor_rcv_bufs',
    'lvs_netlink_cmd_rcv_bufs',
    'lvs_netlink_monitor_rcv_bufs',
    'rs_init_notifies',
    'no_checker_emails',
    'vrrp_rx_bufs_policy',
    'vrrp_rx_bufs_multiplier',
    'vrrp_startup_delay',
    'log_unknown_vrids',
    'umask',
    'random_seed',
    'reload_check_config',
    'reload_time_file',
    'reload_repeat',
    'reload_file',
    'include_check',
    'data_use_instance',
  );

/** Every global_defs keyword is recorded in `raw` too (the model promises "every keyword seen"). */
export function buildGlobalDefs(ctx: BuildContext, node: ConfNode, g: GlobalDefs): void {
  g.loc ??= node.loc;
  const specs = globalDefsTable.specs;
  for (const c of node.children ?? []) {
    const spec = specs.get(c.keyword);
    if (spec === undefined) {
      ctx.error(c, `Unknown keyword '${c.keyword}'`);
      continue;
    }
    if (spec.status === 'model') g.raw.push(toRaw(c));
    spec.handler(ctx, c, g);
  }
}
