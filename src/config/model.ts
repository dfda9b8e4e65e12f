// The typed keepalived configuration model.
//
// Conventions:
// - every durable node carries `loc` (source file and line of the keyword that opened it);
// - durations are milliseconds (numbers, fractional allowed), never strings;
// - addresses are validated and kept in canonical text form plus their family;
// - defaults are applied as keepalived applies them (by the builders, src/config/build-*.ts);
// - optional fields are absent when neither configured nor defaulted.

import type { PackedLoc, SourceLoc } from '../parser/diagnostic.js';

// Defined by the parser, which reports them; re-exported here for the model's users.
export type { Diagnostic, DiagnosticCode, PackedLoc, Severity, SourceLoc } from '../parser/diagnostic.js';
export { unpackLoc } from '../parser/diagnostic.js';

export type Family = 4 | 6;

/** A validated IP prefix such as 192.0.2.1/24 or 2001:db8::1/64. */
export interface IpPrefix {
  address: string;
  prefixLen: number;
  family: Family;
}

/** A script line as keepalived splits it: argv plus optional user/group. */
export interface ScriptSpec {
  /** Original text of the command (as written after unquoting of the keyword argument). */
  command: string;
  /** argv split with keepalived's script quoting rules. */
  argv: string[];
  user?: string;
  group?: string;
  loc: SourceLoc;
}

// ---------------------------------------------------------------- global_defs

export interface SmtpServer {
  host: string;
  port: number;
}

export interface GlobalDefs {
  loc?: SourceLoc;
  routerId: string;
  notificationEmail: string[];
  notificationEmailFrom?: string;
  smtpServer?: SmtpServer;
  smtpHeloName?: string;
  /** ms */
  smtpConnectTimeout: number;
  smtpAlert?: boolean;
  smtpAlertVrrp?: boolean;
  smtpAlertChecker?: boolean;
  scriptUser?: string;
  scriptGroup?: string;
  enableScriptSecurity: boolean;
  vrrpMcastGroup4: string;
  vrrpMcastGroup6: string;
  defaultInterface?: string;
  /** ms */
  vrrpGarpMasterDelay: number;
  vrrpGarpMasterRepeat: number;
  /** ms; 0 = no refresh */
  vrrpGarpMasterRefresh: number;
  vrrpGarpMasterRefreshRepeat: number;
  /** ms */
  vrrpGarpInterval: number;
  /** ms */
  vrrpGnaInterval: number;
  vrrpVersion: 2 | 3;
  vrrpStrict: boolean;
  vrrpSkipCheckAdvAddr: boolean;
  vrrpCheckUnicastSrc: boolean;
  vrrpHigherPrioSendAdvert: boolean;
  vrrpLowerPrioNoAdvert: boolean;
  notifyFifo?: FifoSpec;
  vrrpNotifyFifo?: FifoSpec;
  lvsNotifyFifo?: FifoSpec;
  checkerLogAllFailures: boolean;
  lvsFlush: boolean;
  /** tskeepalived extension: load-balancer backend */
  lbBackend?: LbBackendName;
  /** tskeepalived extension: HOST:PORT of the status/metrics endpoint */
  statusListen?: string;
  startupScript?: ScriptSpec;
  /** ms */
  startupScriptTimeout?: number;
  shutdownScript?: ScriptSpec;
  /** ms */
  shutdownScriptTimeout?: number;
  /** lvs_sync_daemon INTERFACE [inst] VRRP_INSTANCE [id N] ... */
  lvsSyncDaemon?: { interface: string; instance?: string; syncId?: number; options: Record<string, string> };
  vrrpGarpLowerPrioDelay?: number;
  vrrpGarpLowerPrioRepeat?: number;
  vrrpDownTimerAdverts?: number;
  vrrpNotifyPriorityChanges?: boolean;
  maxAutoPriority?: number;
  dynamicInterfaces?: boolean | 'allow_if_changes';
  vmacPrefix?: string;
  vmacAddrPrefix?: string;
  nftables?: string;
  /** nftables_priority: the priority of keepalived's input/output chains (keepalived's default -1) */
  nftablesPriority?: number;
  /** nftables_counters: a counter in each rule */
  nftablesCounters?: boolean;
  /** nftables_ifindex: IPv6 link-local VIPs always matched by interface index (else by name under dont_track_primary) */
  nftablesIfindex?: boolean;
  vrrpIptables?: string[];
  /** Every keyword seen in global_defs with its raw arguments, including ones not modelled above. */
  raw: RawKeyword[];
}

export interface FifoSpec {
  path: string;
  script?: ScriptSpec;
}

export type LbBackendName = 'ipvs' | 'nftables' | 'userspace' | 'dry-run';

export interface RawKeyword {
  keyword: string;
  args: string[];
  loc: SourceLoc;
  /** the contents of a `{ ... }` block that followed the keyword */
  children?: RawKeyword[];
}

// ---------------------------------------------------------------- addresses, routes, rules

export interface VirtualAddress {
  prefix: IpPrefix;
  dev?: string;
  brd?: string;
  label?: string;
  scope?: string;
  /** `no_track`: a change of this address does not fault the instance */
  noTrack: boolean;
  /** `use_vmac` on the address line (a VMAC on the address's own interface) */
  useVmac?: boolean;
  loc: SourceLoc;
}

export interface VirtualRoute {
  /** destination prefix, or 'default' (0.0.0.0/0, ::/0) */
  dst: IpPrefix;
  src?: string;
  via?: string;
  dev?: string;
  /** route type: unicast (default), blackhole, unreachable, prohibit, ... */
  type?: string;
  table?: number;
  metric?: number;
  scope?: string;
  protocol?: string;
  noTrack: boolean;
  /** every option word and value as written */
  options: Record<string, string>;
  loc: SourceLoc;
}

export interface VirtualRule {
  from?: IpPrefix;
  to?: IpPrefix;
  table?: number;
  preference?: number;
  /** every option word and value as written */
  options: Record<string, string>;
  family: Family;
  loc: SourceLoc;
}

// ---------------------------------------------------------------- vrrp tracking

export interface VrrpScript {
  name: string;
  script?: ScriptSpec;
  /** ms */
  interval: number;
  /** ms; default = interval */
  timeout: number;
  weight: number;
  weightReverse: boolean;
  rise: number;
  fall: number;
  /** initial state: true = start as failed */
  initFail: boolean;
  user?: string;
  group?: string;
  raw?: RawKeyword[];
  loc: SourceLoc;
}

export interface TrackFile {
  name: string;
  file?: string;
  weight: number;
  weightReverse: boolean;
  initFile?: { value: number; overwrite: boolean };
  raw?: RawKeyword[];
  loc: SourceLoc;
}

/** A reference from an instance or sync group to a tracked object, with an optional weight override. */
export interface TrackRef {
  name: string;
  weight?: number;
  reverse: boolean;
  loc: SourceLoc;
}

export interface NotifyScripts {
  master?: ScriptSpec;
  backup?: ScriptSpec;
  fault?: ScriptSpec;
  stop?: ScriptSpec;
  deleted?: ScriptSpec;
  notify?: ScriptSpec;
  masterRxLowerPri?: ScriptSpec;
}

export interface SyncGroup {
  name: string;
  members: string[];
  notify: NotifyScripts;
  smtpAlert?: boolean;
  globalTracking: boolean;
  syncGroupTrackingWeight: boolean;
  trackInterface: TrackRef[];
  trackScript: TrackRef[];
  trackFile: TrackRef[];
  trackBfd?: TrackRef[];
  trackProcess?: TrackRef[];
  raw?: RawKeyword[];
  loc: SourceLoc;
}

export type VrrpState = 'MASTER' | 'BACKUP';

export interface VrrpAuth {
  type: 'PASS' | 'AH';
  /** keepalived truncates the password to 8 bytes */
  pass: string;
}

export interface VrrpInstance {
  name: string;
  /** configured initial state; keepalived treats it as a hint */
  state?: VrrpState;
  interface?: string;
  /** derived from -- or absent with -- `use_vmac` */
  useVmac?: string | true;
  /** `use_vmac [NAME] MAC`: the VMAC's address (5 octets: the VRID is the 6th) */
  vmacMac?: string;
  /** `use_ipvlan [NAME] [ADDRESS[/LEN]] [bridge|private|vepa]`: an l2 ipvlan interface (keepalived 2.2.7 has no l3) */
  useIpvlan?: { name?: string; address?: IpPrefix; flags: 'bridge' | 'private' | 'vepa' };
  vmacXmitBase: boolean;
  dontTrackPrimary: boolean;
  trackInterface: TrackRef[];
  trackScript: TrackRef[];
  trackFile: TrackRef[];
  mcastSrcIp?: string;
  unicastSrcIp?: string;
  unicastPeers: { address: string; minTtl?: number; maxTtl?: number; loc: SourceLoc }[];
  virtualRouterId?: number;
  /** configured priority; 255 = address owner */
  priority: number;
  /** ms (v3 allows centisecond granularity) */
  advertInt: number;
  version: 2 | 3;
  family: Family;
  virtualIpaddress: VirtualAddress[];
  virtualIpaddressExcluded: VirtualAddress[];
  virtualRoutes: VirtualRoute[];
  virtualRules: VirtualRule[];
  nopreempt: boolean;
  /** ms */
  preemptDelay: number;
  /** ms */
  garpMasterDelay: number;
  garpMasterRepeat: number;
  /** ms; 0 = none */
  garpMasterRefresh: number;
  garpMasterRefreshRepeat: number;
  auth?: VrrpAuth;
  notify: NotifyScripts;
  smtpAlert?: boolean;
  accept?: boolean;
  strictMode?: boolean;
  lvsSyncDaemonInterface?: string;
  /** tskeepalived additions (optional, filled by the config builder) */
  mcastDstIp?: string;
  unicastTtl?: number;
  trackProcess?: TrackRef[];
  trackBfd?: TrackRef[];
  promoteSecondaries?: boolean;
  skipCheckAdvAddr?: boolean;
  lowerPrioNoAdvert?: boolean;
  higherPrioSendAdvert?: boolean;
  checkUnicastSrc?: boolean;
  unicastFaultNoPeer?: boolean;
  /** ms */
  garpLowerPrioDelay?: number;
  garpLowerPrioRepeat?: number;
  downTimerAdverts?: number;
  notifyPriorityChanges?: boolean;
  useVmacAddr?: boolean;
  trackSrcIp?: boolean;
  vrf?: string;
  /** keywords accepted but not modelled */
  raw?: RawKeyword[];
  loc: SourceLoc;
}

// ---------------------------------------------------------------- LVS

export type LbKind = 'NAT' | 'DR' | 'TUN';
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/**
 * One element inline, or several (or none) in an array: most real servers have one checker and
 * most checkers one url, and a one-element array costs 56 bytes beside its element. Read with
 * `listOf`, `countOf` and `itemAt` (src/config/exact.ts); `--dump-conf` shows arrays either way.
 */
export type OneOrMany<T extends object> = T | readonly T[];

export interface HttpUrl {
  path: string;
  /** explicit codes/ranges; empty = keepalived's default (any 2xx); the empty array is shared (frozen) */
  statusCodes: { from: number; to: number }[];
  /** MD5 hex (lower case) */
  digest?: string;
  virtualhost?: string;
  regex?: string;
  regexNoMatch?: boolean;
  loc: PackedLoc;
}

interface CheckerCommon {
  connectIp?: string;
  connectPort?: number;
  bindto?: string;
  bindPort?: number;
  bindIf?: string;
  /** ms */
  connectTimeout: number;
  /** number of retries after the first failure (keepalived: retry / nb_get_retry) */
  retry: number;
  /** ms */
  delayBeforeRetry: number;
  /** ms; absent = virtual server delay_loop */
  delayLoop?: number;
  /** ms; random delay before the first check */
  warmup?: number;
  fwmark?: number;
  alpha?: boolean;
  logAllFailures?: boolean;
  raw?: RawKeyword[];
  loc: PackedLoc;
}

export interface HttpCheck extends CheckerCommon {
  type: 'HTTP_GET' | 'SSL_GET';
  /** at least one after building (see OneOrMany) */
  urls: OneOrMany<HttpUrl>;
  virtualhost?: string;
  /** absent = keepalived's default, 1.0 (no Connection header); 1.0C and 1.1 send "Connection: close" */
  httpProtocol?: '1.0' | '1.0C' | '1.1';
  enableSni: boolean;
  fastRecovery?: boolean;
}

export interface TcpCheck extends CheckerCommon {
  type: 'TCP_CHECK';
}

export interface SmtpCheck extends CheckerCommon {
  type: 'SMTP_CHECK';
  heloName: string;
}

export interface MiscCheck extends CheckerCommon {
  type: 'MISC_CHECK';
  miscPath?: ScriptSpec;
  /** ms */
  miscTimeout?: number;
  miscDynamic: boolean;
  user?: string;
  group?: string;
}

export interface DnsCheck extends CheckerCommon {
  type: 'DNS_CHECK';
  /** DNS query type, default SOA */
  queryType: string;
  /** query name, default "." */
  name: string;
}

export interface UdpCheck extends CheckerCommon {
  type: 'UDP_CHECK';
  /** bytes to send (hex string in config, decoded here) */
  payload?: Buffer;
  requireReply: boolean;
  /** expected reply bytes (prefix) */
  reply?: Buffer;
  minReplyLength?: number;
  maxReplyLength?: number;
}

export interface PingCheck extends CheckerCommon {
  type: 'PING_CHECK';
}

export interface FileCheck {
  type: 'FILE_CHECK';
  trackFile: string;
  weight?: number;
  weightReverse: boolean;
  raw?: RawKeyword[];
  loc: SourceLoc;
}

export interface BfdCheck {
  type: 'BFD_CHECK';
  name?: string;
  weight?: number;
  raw?: RawKeyword[];
  loc: SourceLoc;
}

export type Checker = HttpCheck | TcpCheck | SmtpCheck | MiscCheck | DnsCheck | UdpCheck | PingCheck | FileCheck | BfdCheck;
export type CheckerType = Checker['type'];

export interface RealServer {
  address: string;
  family: Family;
  port: number;
  weight: number;
  lbKind?: LbKind;
  inhibitOnFailure: boolean;
  notifyUp?: ScriptSpec;
  notifyDown?: ScriptSpec;
  /** ms; overrides the virtual server's */
  delayLoop?: number;
  /** ms; default for this real server's checkers */
  connectTimeout?: number;
  alpha?: boolean;
  retry?: number;
  delayBeforeRetry?: number;
  warmup?: number;
  smtpAlert?: boolean;
  uthreshold?: number;
  lthreshold?: number;
  /** Host header of its HTTP_GET/SSL_GET checks when neither the url nor the checker sets one */
  virtualhost?: string;
  /** see OneOrMany */
  checkers: OneOrMany<Checker>;
  raw?: RawKeyword[];
  loc: PackedLoc;
}

export interface VirtualServerGroupEntry {
  /** an address range a.b.c.d-e or a single address with port */
  kind: 'addr';
  address: string;
  /** last octet/hextet of a range (inclusive); absent for a single address */
  rangeEnd?: string;
  family: Family;
  port: number;
  loc: SourceLoc;
}

export interface VirtualServerGroupFwmark {
  kind: 'fwmark';
  fwmark: number;
  loc: SourceLoc;
}

export interface VirtualServerGroup {
  name: string;
  entries: (VirtualServerGroupEntry | VirtualServerGroupFwmark)[];
  raw?: RawKeyword[];
  loc: SourceLoc;
}

export type VirtualServerKey =
  | { kind: 'addr'; address: string; family: Family; port: number }
  | { kind: 'fwmark'; fwmark: number; family: Family }
  | { kind: 'group'; group: string };

export interface VirtualServer {
  key: VirtualServerKey;
  /** ms */
  delayLoop: number;
  lbAlgo: string;
  lbKind: LbKind;
  protocol: Protocol;
  persistenceTimeout?: number;
  persistenceGranularity?: string;
  ops: boolean;
  alpha: boolean;
  omega: boolean;
  quorum: number;
  hysteresis: number;
  quorumUp?: ScriptSpec;
  quorumDown?: ScriptSpec;
  inhibitOnFailure: boolean;
  sorryServer?: { address: string; port: number; lbKind?: LbKind };
  sorryServerInhibit: boolean;
  virtualhost?: string;
  /** retry / delay_before_retry / warmup / connect_timeout defaults for the checkers of this VS */
  retry?: number;
  delayBeforeRetry?: number;
  warmup?: number;
  connectTimeout?: number;
  smtpAlert?: boolean;
  realServers: RealServer[];
  raw?: RawKeyword[];
  loc: SourceLoc;
}

// ---------------------------------------------------------------- the whole config

export interface KeepalivedConfig {
  /** absolute path of the top file */
  file: string;
  configId: string;
  global: GlobalDefs;
  staticIpaddress: VirtualAddress[];
  staticRoutes: VirtualRoute[];
  staticRules: VirtualRule[];
  vrrpScripts: VrrpScript[];
  trackFiles: TrackFile[];
  syncGroups: SyncGroup[];
  vrrpInstances: VrrpInstance[];
  virtualServerGroups: VirtualServerGroup[];
  virtualServers: VirtualServer[];
  /** tskeepalived additions (optional, filled by the config builder) */
  trackProcesses?: TrackProcess[];
  bfdInstances?: BfdInstance[];
  /** tskeepalived extension: the top-level `bgp { ... }` block (src/bgp announces through BIRD or FRR) */
  bgp?: BgpConfig;
  /** root-level settings: net_namespace, instance, child_wait_time, ... and accepted-but-unmodelled blocks */
  root?: RootSettings;
  /** the root `SSL` block: the TLS client settings of every SSL_GET (keepalived's one SSL context) */
  ssl?: SslSettings;
}

/** keepalived's root `SSL` block; file names as written, read when the first SSL_GET runs */
export interface SslSettings {
  /** passphrase of `key` */
  password?: string;
  /** CA file: keepalived loads it but never verifies a server; used here only with `verifyCert` */
  ca?: string;
  /** client certificate chain (PEM) presented to the real servers */
  certificate?: string;
  /** client private key (PEM) */
  key?: string;
  /** tskeepalived extension `verify_cert`: verify the real servers' certificates (keepalived never does) */
  verifyCert?: boolean;
  loc: SourceLoc;
}

export interface TrackProcess {
  name: string;
  /** the process name (or full command line words) to match */
  process: string[];
  paramMatch?: 'initial' | 'partial';
  weight: number;
  weightReverse: boolean;
  quorum: number;
  quorumMax?: number;
  /** ms */
  forkDelay?: number;
  /** ms */
  terminateDelay?: number;
  fullCommand: boolean;
  raw?: RawKeyword[];
  loc: SourceLoc;
}

export interface BfdInstance {
  name: string;
  neighborIp?: string;
  sourceIp?: string;
  /** ms */
  minRx: number;
  /** ms */
  minTx: number;
  /** ms */
  idleTx: number;
  multiplier: number;
  passive: boolean;
  ttl?: number;
  /** -1 (no TTL check) .. 255 */
  maxHops?: number;
  /** the default weight of `track_bfd` references in VRRP */
  weight?: number;
  weightReverse?: boolean;
  raw?: RawKeyword[];
  loc: SourceLoc;
}

export interface RootSettings {
  /** net_namespace NAME (the first one), or -s NAME */
  netNamespace?: string;
  /** instance NAME (the first one): pid file names */
  instance?: string;
  /** use_pid_dir: pid files in /run/keepalived */
  usePidDir?: boolean;
  /** every other accepted root keyword or block that has no typed field (track_group, garp_group, SSL, ...) */
  raw: RawKeyword[];
}

// ---------------------------------------------------------------- bgp (tskeepalived extension)

/** BGP path attributes of one announcement; absent = the BGP daemon's default. */
export interface BgpAttributes {
  med?: number;
  localPref?: number;
  /** standard communities as "ASN:VALUE" */
  communities: string[];
  /** large communities as "ASN:V1:V2" */
  largeCommunities: string[];
}

/** `virtual_server ADDRESS [PORT] { ... }` in `bgp`: ECMP mode, announced while every matching virtual server has quorum. */
export interface BgpVirtualServer {
  address: string;
  family: Family;
  /** absent = every virtual_server on the address */
  port?: number;
  attrs: BgpAttributes;
  loc: SourceLoc;
}

/** `vrrp_instance NAME { ... }` in `bgp`: VRRP-follow mode, its VIPs announced while MASTER (and, if configured, as a worse path while BACKUP). */
export interface BgpVrrpInstance {
  name: string;
  master: BgpAttributes;
  /** absent = the BACKUP announces nothing */
  backup?: BgpAttributes;
  loc: SourceLoc;
}

export type BgpDriverName = 'bird' | 'frr';

export interface BgpConfig {
  driver: BgpDriverName;
  /** BIRD's control socket / FRR bgpd's vty socket */
  controlSocket: string;
  /** bird: the include file tskeepalived owns and rewrites (BIRD's config includes it); frr: a record of what was handed to bgpd */
  routesFile: string;
  /** bird: the static protocols in routesFile are named NAME4 and NAME6; frr: the route-maps NAME_xxxxxxxx */
  protocolName: string;
  /** frr: the `router bgp ASN` instance (absent: bgpd's default instance) */
  asn?: number;
  /** ms allowed to one control-socket command */
  commandTimeout: number;
  virtualServers: BgpVirtualServer[];
  vrrpInstances: BgpVrrpInstance[];
  /** errors reported inside the block: a reload does not apply such a block */
  errors: number;
  loc: SourceLoc;
}
