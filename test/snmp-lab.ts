// An SNMP lab inside a namespace of a Lan (test/vrrp-helpers.ts): Debian's snmpd as the AgentX
// master (its socket in the lab's temp dir, SNMP on a high loopback port), snmptrapd receiving its
// trap2sink, and the keepalived / tskeepalived daemons run with -x on it. Used by
// test/snmp-walk.test.ts and bench/snmp-walk.ts.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Lan, Node } from './vrrp-helpers.js';

export const SNMP_TOOLS = ['/usr/sbin/snmpd', '/usr/sbin/snmptrapd', '/usr/bin/snmpwalk', '/usr/bin/snmpget', '/usr/sbin/keepalived'];
export const haveSnmpTools = (): boolean => SNMP_TOOLS.every((t) => existsSync(t));

export const KEEPALIVED_MIB = '.1.3.6.1.4.1.9586.100.5';
export const VRRP_MIB = '.1.3.6.1.2.1.68';
export const VRRPV3_MIB = '.1.3.6.1.2.1.207';

/** net-snmp's tools with no MIB files (numeric OIDs only, no MIB warnings). */
const SNMP_ENV = { ...process.env, MIBS: '', MIBDIRS: '/nonexistent' };

export interface WalkLine {
  oid: string;
  type: string;
  value: string;
}

export class SnmpLab {
  readonly socket: string;
  readonly port: number;
  readonly trapPort: number;
  snmpd?: Node;
  traps?: Node;

  constructor(
    readonly lan: Lan,
    readonly nsIndex: number,
    basePort: number,
  ) {
    this.socket = join(lan.dir, 'agentx');
    this.port = basePort;
    this.trapPort = basePort + 1;
    writeFileSync(
      join(lan.dir, 'snmpd.conf'),
      [
        'master agentx',
        `agentXSocket ${this.socket}`,
        `agentaddress udp:127.0.0.1:${this.port}`,
        'rocommunity public 127.0.0.1',
        'rwcommunity private 127.0.0.1',
        `trap2sink 127.0.0.1:${this.trapPort} public`,
        '',
      ].join('\n'),
    );
    writeFileSync(join(lan.dir, 'snmptrapd.conf'), 'disableAuthorization yes\n');
  }

  get ns(): string {
    return this.lan.namespaces[this.nsIndex];
  }

  /** Any command in the lab's namespace (killed with the Lan). */
  startDaemonRaw(cmd: string, args: string[]): Node {
    return this.spawnIn(cmd, args, process.env);
  }

  private spawnIn(cmd: string, args: string[], env: NodeJS.ProcessEnv = SNMP_ENV): Node {
    const p = spawn('ip', ['netns', 'exec', this.ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.lan.procs.push(p);
    return new Node(p);
  }

  startSnmpd(): Node {
    this.snmpd = this.spawnIn('snmpd', ['-f', '-Lo', '-C', '-c', join(this.lan.dir, 'snmpd.conf'), '-p', join(this.lan.dir, 'snmpd.pid')]);
    return this.snmpd;
  }

  async stopSnmpd(): Promise<void> {
    const s = this.snmpd;
    if (!s) return;
    s.proc.kill('SIGTERM');
    await Promise.race([s.exited, new Promise((r) => setTimeout(r, 3000))]);
    if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
    this.snmpd = undefined;
  }

  startTrapd(): Node {
    this.traps = this.spawnIn('snmptrapd', [
      '-f',
      '-Lo',
      '-C',
      '-c',
      join(this.lan.dir, 'snmptrapd.conf'),
      '-On',
      '-F',
      'TRAP %v\n',
      `udp:127.0.0.1:${this.trapPort}`,
    ]);
    return this.traps;
  }

  /**
   * A net-snmp tool in the namespace, asynchronously: the test's event loop keeps reading the
   * daemons' and snmpd's output meanwhile (a blocked reader would fill their pipes and stall them).
   */
  private tool(cmd: string, args: string[], timeoutMs: number): Promise<string> {
    return new Promise((resolve) => {
      const p = spawn('ip', ['netns', 'exec', this.ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: SNMP_ENV });
      const out: Buffer[] = [];
      p.stdout.on('data', (d: Buffer) => out.push(d));
      p.stderr.on('data', (d: Buffer) => out.push(d));
      const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
      p.on('close', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(out).toString());
      });
    });
  }

  /** snmpwalk -On of a subtree (snmpbulkwalk with bulk): the lines that name an OID. */
  async walk(root: string, bulk = false, timeoutS = 2): Promise<WalkLine[]> {
    const args = ['-On', '-v2c', '-c', 'public', '-t', String(timeoutS), '-r', '1', `127.0.0.1:${this.port}`, root];
    return parseWalk(await this.tool(bulk ? 'snmpbulkwalk' : 'snmpwalk', args, 120_000));
  }

  async get(oids: string[]): Promise<WalkLine[]> {
    return parseWalk(await this.tool('snmpget', ['-On', '-v2c', '-c', 'public', '-t', '1', '-r', '0', `127.0.0.1:${this.port}`, ...oids], 10_000));
  }

  /** snmpset (as the rw community): the tool's output, to read the error it reports. */
  set(oid: string, type: string, value: string): Promise<string> {
    return this.tool('snmpset', ['-On', '-v2c', '-c', 'private', '-t', '1', '-r', '0', `127.0.0.1:${this.port}`, oid, type, value], 10_000);
  }

  /** The notifications snmptrapd printed so far (from index `from` of its output lines). */
  trapsSince(from: number): Trap[] {
    return parseTraps((this.traps?.lines ?? []).slice(from));
  }

  get trapLineCount(): number {
    return this.traps?.lines.length ?? 0;
  }

  /** A daemon (keepalived or bin/tskeepalived) with -x on the lab's socket, VRRP only unless `extra` says otherwise. */
  startDaemon(kind: 'keepalived' | 'tskeepalived', conf: string, tag: string, env: NodeJS.ProcessEnv = {}, extra: string[] = ['-P']): Node {
    const pid = join(this.lan.dir, `${tag}.pid`);
    const vpid = join(this.lan.dir, `${tag}-vrrp.pid`);
    const cpid = join(this.lan.dir, `${tag}-check.pid`);
    const flags = ['-n', '-l', ...extra, '-x', '-A', this.socket, '-f', conf, '-p', pid, '-r', vpid, '-c', cpid];
    return kind === 'keepalived'
      ? this.spawnIn('keepalived', ['-D', ...flags], process.env)
      : this.spawnIn(process.execPath, ['bin/tskeepalived', '-G', ...flags], { ...process.env, ...env });
  }
}

export function parseWalk(text: string): WalkLine[] {
  const out: WalkLine[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\.[0-9.]+) = (?:([A-Za-z0-9-]+): )?(.*)$/.exec(line.trimEnd());
    if (!m) continue;
    // "No Such Instance..." and friends have no type
    out.push({ oid: m[1], type: m[2] ?? (m[3].startsWith('"') ? 'STRING' : m[3]), value: m[3] });
  }
  return out;
}

export interface Trap {
  trapOid: string;
  /** varbinds after sysUpTime.0 and snmpTrapOID.0, as "OID = TYPE: value" */
  varbinds: string[];
}

/** snmptrapd's "-F 'TRAP %v\n'" lines: each notification's varbinds, tab-separated on one line. */
export function parseTraps(lines: string[]): Trap[] {
  const out: Trap[] = [];
  for (const l of lines) {
    if (!l.startsWith('TRAP ')) continue;
    const vbs = l
      .slice(5)
      .split('\t')
      .map((s) => s.trim())
      .filter(Boolean);
    const trapLine = vbs.find((v) => v.startsWith('.1.3.6.1.6.3.1.1.4.1.0 = OID: '));
    if (!trapLine) continue;
    out.push({
      trapOid: trapLine.slice('.1.3.6.1.6.3.1.1.4.1.0 = OID: '.length),
      varbinds: vbs.filter((v) => !v.startsWith('.1.3.6.1.2.1.1.3.0 ') && v !== trapLine),
    });
  }
  return out;
}

/** keepalived's and the RFC MIBs' notifications only (not snmpd's own coldStart / shutdown). */
export const ourTrap = (t: Trap): boolean => [KEEPALIVED_MIB, VRRP_MIB, VRRPV3_MIB].some((p) => t.trapOid.startsWith(`${p}.`));
