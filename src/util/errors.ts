// tskeepalived's errors: one base class, and on every error a stable `code` that callers branch on
// (never the class, never the message text), as undici does (UndiciError, UND_ERR_*). A failed
// system call or a kernel's error answer carries the errno's name (EEXIST, ENODEV...), as Node's
// own errors do; every other error class has its own TSK_ERR_* code, listed here.

/** The code of each error class (the class, and where it lives). */
export type ErrorCode =
  | 'TSK_ERR_ADDRESS' // AddressError: not an IP or MAC address (util/inet)
  | 'TSK_ERR_PREFIX' // PrefixError: not a route/rule prefix (util/inet)
  | 'TSK_ERR_NATIVE_UNAVAILABLE' // NativeUnavailableError: the N-API addon is not built (native/addon)
  | 'TSK_ERR_NETNS' // NetNamespaceError: a network namespace cannot be entered (native/netns)
  | 'TSK_ERR_NETLINK_DECODE' // NetlinkDecodeError (net/netlink-codec)
  | 'TSK_ERR_GENL_FAMILY_UNAVAILABLE' // GenlFamilyUnavailableError (net/genetlink)
  | 'TSK_ERR_ADDRESS_SPEC' // AddressSpecError: an address to add/delete (net/rtnl-addr)
  | 'TSK_ERR_ROUTE_SPEC' // RouteSpecError (net/rtnl-route)
  | 'TSK_ERR_RULE_SPEC' // RuleSpecError (net/rtnl-rule)
  | 'TSK_ERR_GARP' // GarpError (net/arp)
  | 'TSK_ERR_NDISC' // NdiscError (net/ndisc)
  | 'TSK_ERR_SYSCTL' // SysctlError (net/sysctl)
  | 'TSK_ERR_VMAC' // VmacError (net/vmac)
  | 'TSK_ERR_VIP_FILTER' // VipFilterError (net/vip-filter)
  | 'TSK_ERR_VRRP_SOCKET' // VrrpSocketError (net/vrrp-socket)
  | 'TSK_ERR_NET_IO' // NetIoError (daemon/vrrp-net-io)
  | 'TSK_ERR_LB_STATE' // LbStateError: an invalid LB state (ipvs/state)
  | 'TSK_ERR_LB_UNAVAILABLE' // LbUnavailableError: the backend cannot run here (ipvs/backend)
  | 'TSK_ERR_LB_BACKEND_CHOICE' // LbBackendChoiceError (ipvs/factory)
  | 'TSK_ERR_IPVS_DECODE' // IpvsDecodeError (ipvs/ipvs-codec)
  | 'TSK_ERR_NFT' // NftError: nft failed (ipvs/nftables)
  | 'TSK_ERR_NFT_UNSUPPORTED' // NftUnsupportedError (ipvs/nft-ruleset)
  | 'TSK_ERR_USERSPACE_CONFIG' // UserspaceConfigError (ipvs/userspace)
  | 'TSK_ERR_SERVICE_EXPANSION' // ServiceExpansionError (checkers/services)
  | 'TSK_ERR_BIRD_CONTROL' // BirdControlError: BIRD's control socket refused or failed a command (bgp/bird-control)
  | 'TSK_ERR_FRR_CONTROL' // FrrControlError: FRR's vty socket (bgpd) refused or failed a command (bgp/frr-vty)
  | 'TSK_ERR_CLI' // CliError: bad command line (cli/options)
  | 'TSK_ERR_LISTEN_PARSE' // ListenParseError: bad status listen address (status/server)
  | 'TSK_ERR_AGENTX' // AgentxError: a malformed AgentX PDU or socket address (snmp/agentx)
  | 'TSK_ERR_SNMP' // SnmpError: the master agent refused or closed the session (snmp/subagent)
  | 'TSK_ERR_DBUS_WIRE' // DbusWireError: a malformed D-Bus message or signature (dbus/wire)
  | 'TSK_ERR_DBUS'; // DbusError: the bus refused authentication, Hello or a call, or went away (dbus/connection)

/** An errno's name, the code of SystemError and of netlink's error answers. */
export type ErrnoCode = `E${string}`;

export class TskeepalivedError extends Error {
  readonly code: ErrorCode | ErrnoCode;
  constructor(message: string, code: ErrorCode | ErrnoCode, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TskeepalivedError';
    this.code = code;
  }
}

/** Whether e is one of our errors with one of the codes (any of ours when no code is given). */
export function hasErrorCode(e: unknown, ...codes: (ErrorCode | ErrnoCode)[]): e is TskeepalivedError {
  return e instanceof TskeepalivedError && (codes.length === 0 || codes.includes(e.code));
}
