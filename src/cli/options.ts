// keepalived's command-line options, parsed into typed data.
// Unknown options are errors; keepalived options we do not implement are accepted with a warning.
import type { DaemonOptions } from '../daemon/options.js';
import { TskeepalivedError } from '../util/errors.js';

/**
 * keepalived's command line: what the daemon runs with (DaemonOptions, owned by src/daemon, with
 * the log flags owned by src/log) plus what only the command line acts on.
 */
export interface CliOptions extends DaemonOptions {
  dumpConf: boolean; // -d
  configTest: boolean; // -t
  version: boolean; // -v
  help: boolean; // -h
  /** --signum=FUNC: print the signal number of keepalived's signal function FUNC and exit */
  signum?: string;
  /** tskeepalived: --json (with --check-config): diagnostics as JSON */
  json: boolean;
  /** warnings about accepted-but-unsupported options */
  warnings: string[];
}

export class CliError extends TskeepalivedError {
  constructor(message: string) {
    super(message, 'TSK_ERR_CLI');
    this.name = 'CliError';
  }
}

interface OptSpec {
  long: string;
  short?: string;
  /** 'none' | 'required' | 'optional' (optional values only with --long=VALUE or -xVALUE) */
  arg: 'none' | 'required' | 'optional';
  apply: (o: CliOptions, v: string | undefined) => void;
}

const unsupported = (name: string) => (o: CliOptions) => {
  o.warnings.push(`option ${name} is accepted for compatibility but has no effect in tskeepalived`);
};

const SPECS: OptSpec[] = [
  { long: 'use-file', short: 'f', arg: 'required', apply: (o, v) => (o.useFile = v!) },
  { long: 'vrrp', short: 'P', arg: 'none', apply: (o) => (o.vrrpOnly = true) },
  { long: 'check', short: 'C', arg: 'none', apply: (o) => (o.checkOnly = true) },
  { long: 'no_bfd', short: 'B', arg: 'none', apply: (o) => (o.noBfd = true) },
  { long: 'log-console', short: 'l', arg: 'none', apply: (o) => (o.logConsole = true) },
  { long: 'log-detail', short: 'D', arg: 'none', apply: (o) => (o.logDetail = true) },
  {
    long: 'log-facility',
    short: 'S',
    arg: 'required',
    apply: (o, v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 7) throw new CliError(`invalid log facility '${v}' (0..7)`);
      o.logFacility = n;
    },
  },
  { long: 'log-file', short: 'g', arg: 'optional', apply: (o, v) => (o.logFile = v ?? '/tmp/keepalived.log') },
  { long: 'no-syslog', short: 'G', arg: 'none', apply: (o) => (o.noSyslog = true) },
  { long: 'dont-fork', short: 'n', arg: 'none', apply: (o) => (o.dontFork = true) },
  { long: 'dump-conf', short: 'd', arg: 'none', apply: (o) => (o.dumpConf = true) },
  { long: 'dump-config', arg: 'none', apply: (o) => (o.dumpConf = true) },
  { long: 'pid', short: 'p', arg: 'required', apply: (o, v) => (o.pidFile = v) },
  { long: 'vrrp_pid', short: 'r', arg: 'required', apply: (o, v) => (o.vrrpPidFile = v) },
  { long: 'checkers_pid', short: 'c', arg: 'required', apply: (o, v) => (o.checkersPidFile = v) },
  { long: 'bfd_pid', short: 'b', arg: 'required', apply: unsupported('--bfd_pid') },
  { long: 'dont-release-vrrp', short: 'V', arg: 'none', apply: (o) => (o.dontReleaseVrrp = true) },
  { long: 'dont-release-ipvs', short: 'I', arg: 'none', apply: (o) => (o.dontReleaseIpvs = true) },
  { long: 'release-vips', short: 'X', arg: 'none', apply: (o) => (o.releaseVips = true) },
  { long: 'config-id', short: 'i', arg: 'required', apply: (o, v) => (o.configId = v) },
  {
    long: 'config-test',
    short: 't',
    arg: 'optional',
    apply: (o, v) => {
      o.configTest = true;
      if (v !== undefined) o.useFile = v;
    },
  },
  { long: 'check-config', arg: 'none', apply: (o) => (o.configTest = true) },
  { long: 'namespace', short: 's', arg: 'required', apply: (o, v) => (o.namespace = v) },
  { long: 'version', short: 'v', arg: 'none', apply: (o) => (o.version = true) },
  { long: 'help', short: 'h', arg: 'none', apply: (o) => (o.help = true) },
  { long: 'json', arg: 'none', apply: (o) => (o.json = true) },
  { long: 'json-dump', arg: 'none', apply: (o) => (o.jsonDump = true) },
  { long: 'lb-backend', arg: 'required', apply: (o, v) => (o.lbBackend = v) },
  { long: 'status-listen', arg: 'required', apply: (o, v) => (o.statusListen = v) },
  // keepalived options accepted with a warning
  { long: 'log-detail-debug', arg: 'none', apply: unsupported('--log-detail-debug') },
  { long: 'dont-respawn', short: 'R', arg: 'none', apply: unsupported('--dont-respawn') },
  { long: 'no-mem-check', arg: 'none', apply: unsupported('--no-mem-check') },
  { long: 'core-dump', short: 'm', arg: 'none', apply: unsupported('--core-dump') },
  { long: 'core-dump-pattern', short: 'M', arg: 'optional', apply: unsupported('--core-dump-pattern') },
  { long: 'signum', arg: 'required', apply: (o, v) => (o.signum = v) },
  { long: 'snmp', short: 'x', arg: 'none', apply: (o) => (o.snmp = true) },
  { long: 'snmp-agent-socket', short: 'A', arg: 'required', apply: (o, v) => (o.snmpAgentSocket = v) },
  { long: 'all', short: 'a', arg: 'none', apply: unsupported('--all') },
  { long: 'address-monitoring', short: 'L', arg: 'none', apply: unsupported('--address-monitoring') },
  { long: 'log-detail-netlink', arg: 'none', apply: unsupported('--log-detail-netlink') },
  { long: 'debug', short: 'e', arg: 'optional', apply: unsupported('--debug') },
  { long: 'perf', arg: 'optional', apply: unsupported('--perf') },
  { long: 'no-syslog-console', arg: 'none', apply: unsupported('--no-syslog-console') },
  { long: 'flush-log-file', arg: 'none', apply: unsupported('--flush-log-file') },
  { long: 'log-file-append', arg: 'none', apply: unsupported('--log-file-append') },
];

export function defaultOptions(): CliOptions {
  return {
    useFile: '/etc/keepalived/keepalived.conf',
    vrrpOnly: false,
    checkOnly: false,
    noBfd: false,
    logConsole: false,
    logDetail: false,
    noSyslog: false,
    dontFork: false,
    dumpConf: false,
    dontReleaseVrrp: false,
    dontReleaseIpvs: false,
    releaseVips: false,
    configTest: false,
    version: false,
    help: false,
    json: false,
    jsonDump: false,
    warnings: [],
  };
}

export function parseArgs(argv: string[]): CliOptions {
  const o = defaultOptions();
  const byLong = new Map(SPECS.map((s) => [s.long, s]));
  const byShort = new Map(SPECS.filter((s) => s.short).map((s) => [s.short!, s]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const spec = byLong.get(name);
      if (!spec) throw new CliError(`unrecognized option '${a}'`);
      let v: string | undefined = eq >= 0 ? a.slice(eq + 1) : undefined;
      if (spec.arg === 'none' && v !== undefined) throw new CliError(`option '--${name}' doesn't allow an argument`);
      if (spec.arg === 'required' && v === undefined) {
        if (i + 1 >= argv.length) throw new CliError(`option '--${name}' requires an argument`);
        v = argv[++i];
      }
      spec.apply(o, v);
    } else if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const spec = byShort.get(a[j]);
        if (!spec) throw new CliError(`invalid option -- '${a[j]}'`);
        if (spec.arg === 'none') {
          spec.apply(o, undefined);
          continue;
        }
        let v: string | undefined = a.slice(j + 1) || undefined;
        if (v === undefined && spec.arg === 'required') {
          if (i + 1 >= argv.length) throw new CliError(`option requires an argument -- '${a[j]}'`);
          v = argv[++i];
        }
        spec.apply(o, v);
        break;
      }
    } else {
      throw new CliError(`unexpected argument '${a}'`);
    }
  }
  return o;
}

export const USAGE = `Usage: tskeepalived [OPTION...]
  -f, --use-file=FILE          Use the specified configuration file
                                 (default /etc/keepalived/keepalived.conf)
  -P, --vrrp                   Only run with VRRP subsystem
  -C, --check                  Only run with Health-checker subsystem
  -B, --no_bfd                 Don't run BFD subsystem
  -l, --log-console            Log messages to local console
  -D, --log-detail             Detailed log messages
  -S, --log-facility=[0-7]     Set syslog facility to LOG_LOCAL[0-7]
  -g, --log-file=FILE          Also log to FILE (default /tmp/keepalived.log)
  -G, --no-syslog              Don't log via syslog
  -n, --dont-fork              Don't fork the daemon process
  -d, --dump-conf              Dump the configuration data (JSON)
  -p, --pid=FILE               Use specified pidfile for parent process
  -r, --vrrp_pid=FILE          Use specified pidfile for VRRP child process
  -c, --checkers_pid=FILE      Use specified pidfile for checkers child process
  -V, --dont-release-vrrp      Don't remove VRRP VIPs and VROUTEs on daemon stop
  -I, --dont-release-ipvs      Don't remove IPVS topology on daemon stop
  -X, --release-vips           Drop VIP on transition from signal
  -i, --config-id ID           Skip any configuration lines beginning '@' that don't match ID
                                 or any lines beginning @^ that do match
  -t, --config-test[=FILE]     Check the configuration for obvious errors
      --check-config           Same as --config-test
  -x, --snmp                   Enable SNMP subsystem
  -A, --snmp-agent-socket=FILE Use the specified socket for master agent
  -s, --namespace=NAME         Run in network namespace NAME (overrides config)
      --signum=SIGFUNC         Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON
  -v, --version                Display the version number
  -h, --help                   Display this help message
tskeepalived extensions:
      --json                   With --config-test: print diagnostics as JSON
      --json-dump              Write the status document to $TMPDIR/keepalived.json at start and
                                 on every change (SIGRTMIN+2 writes keepalived's own document)
      --lb-backend=NAME        ipvs (default), nftables, userspace or dry-run
      --status-listen=HOST:PORT  Serve Prometheus /metrics and /status JSON
`;
