// What the daemon runs with, from keepalived's command line: src/cli parses the arguments and fills
// it (its CliOptions extends this type), so the daemon and the layers below never import the CLI.
import type { LogFlags } from '../log/logger.js';

export interface DaemonOptions extends LogFlags {
  useFile: string; // -f
  vrrpOnly: boolean; // -P
  checkOnly: boolean; // -C
  noBfd: boolean; // -B (--no_bfd): no BFD engine
  dontFork: boolean; // -n
  pidFile?: string; // -p
  vrrpPidFile?: string; // -r
  checkersPidFile?: string; // -c
  dontReleaseVrrp: boolean; // -V
  dontReleaseIpvs: boolean; // -I
  releaseVips: boolean; // -X
  configId?: string; // -i
  namespace?: string; // -s
  /** tskeepalived: --lb-backend=ipvs|nftables|userspace|dry-run */
  lbBackend?: string;
  /** tskeepalived: --status-listen=HOST:PORT */
  statusListen?: string;
  /** -x / --snmp: every SNMP MIB on (as the enable_snmp_* keywords) */
  snmp?: boolean;
  /** -A / --snmp-agent-socket: the master agent's socket (overrides snmp_socket) */
  snmpAgentSocket?: string;
  /** tskeepalived: --json-dump (write the JSON dump at start and on state changes) */
  jsonDump: boolean;
}
