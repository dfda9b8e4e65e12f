// Shared helpers of the VRRP netns tests: hand-built configs (JSON for tskeepalived, keepalived.conf
// text for keepalived), namespaces on a bridge, processes with bounded waits.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GlobalDefs, KeepalivedConfig, VrrpInstance, VrrpScript, SyncGroup, VirtualAddress } from '../src/config/model.js';
import { defaultGlobalDefs } from '../src/config/build-global.js';
import { emptyConfig } from '../src/config/build.js';
import { newInstance } from '../src/config/build-vrrp.js';

const loc = { file: 'test.conf', line: 1 };

export function globalDefs(over: Partial<GlobalDefs> = {}): GlobalDefs {
  return { ...defaultGlobalDefs(), routerId: 'test', ...over };
}

export function vip(address: string, prefixLen = 24, over: Partial<VirtualAddress> = {}): VirtualAddress {
  return { prefix: { address, prefixLen, family: address.includes(':') ? 6 : 4 }, noTrack: false, loc, ...over };
}

export function instance(name: string, over: Partial<VrrpInstance> = {}): VrrpInstance {
  return { ...newInstance(name, loc, defaultGlobalDefs()), interface: 'eth0', virtualRouterId: 51, ...over };
}

export function config(parts: { global?: Partial<GlobalDefs>; instances: VrrpInstance[]; scripts?: VrrpScript[]; syncGroups?: SyncGroup[] }): KeepalivedConfig {
  return {
    ...emptyConfig('/test/keepalived.conf', 'test'),
    global: globalDefs(parts.global),
    vrrpScripts: parts.scripts ?? [],
    syncGroups: parts.syncGroups ?? [],
    vrrpInstances: parts.instances,
  };
}

/** The same configuration as keepalived.conf text (the subset these tests use). */
export function keepalivedConf(c: KeepalivedConfig): string {
  const out: string[] = ['global_defs {', `  router_id ${c.global.routerId}`];
  if (c.global.vrrpSkipCheckAdvAddr) out.push('  vrrp_skip_check_adv_addr');
  out.push(`  vrrp_garp_master_delay ${c.global.vrrpGarpMasterDelay / 1000}`, '}');
  for (const sg of c.syncGroups) out.push(`vrrp_sync_group ${sg.name} {`, '  group {', ...sg.members.map((m) => `    ${m}`), '  }', '}');
  for (const i of c.vrrpInstances) {
    out.push(`vrrp_instance ${i.name} {`);
    if (i.state) out.push(`  state ${i.state}`);
    out.push(`  interface ${i.interface}`, `  virtual_router_id ${i.virtualRouterId}`, `  priority ${i.priority}`, `  advert_int ${i.advertInt / 1000}`);
    if (i.useVmac) out.push(typeof i.useVmac === 'string' ? `  use_vmac ${i.useVmac}` : '  use_vmac');
    if (i.vmacXmitBase) out.push('  vmac_xmit_base');
    if (i.version === 3) out.push('  version 3');
    if (i.nopreempt) out.push('  nopreempt');
    if (i.preemptDelay) out.push(`  preempt_delay ${i.preemptDelay / 1000}`);
    if (i.auth) out.push('  authentication {', `    auth_type ${i.auth.type}`, `    auth_pass ${i.auth.pass}`, '  }');
    if (i.unicastSrcIp) out.push(`  unicast_src_ip ${i.unicastSrcIp}`);
    if (i.unicastPeers.length) out.push('  unicast_peer {', ...i.unicastPeers.map((p) => `    ${p.address}`), '  }');
    out.push('  virtual_ipaddress {', ...i.virtualIpaddress.map((v) => `    ${v.prefix.address}/${v.prefix.prefixLen}`), '  }', '}');
  }
  return out.join('\n') + '\n';
}

export function sh(cmd: string, args: string[]): { code: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  return { code: r.status ?? -1, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

export const isRoot = () => process.getuid?.() === 0;

/**
 * `nft -j list ruleset` of namespace `ns` without metainfo and handles, counters zeroed: what
 * keepalived's and tskeepalived's nftables tables are compared on. Throws when nft fails.
 */
export function nftRuleset(ns: string): unknown[] {
  const r = sh('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'ruleset']);
  if (r.code !== 0) throw new Error(`nft -j list ruleset in ${ns}: ${r.out}`);
  const items = (JSON.parse(r.out) as { nftables: Record<string, unknown>[] }).nftables;
  return items
    .filter((o) => !('metainfo' in o))
    .map((o) =>
      JSON.parse(
        JSON.stringify(o, (k, v) => {
          if (k === 'handle') return undefined;
          if (k === 'counter' && v && typeof v === 'object') return { packets: 0, bytes: 0 };
          return v;
        }),
      ),
    );
}

export class Lan {
  readonly namespaces: string[] = [];
  readonly bridgeNs: string;
  readonly dir = mkdtempSync(join(tmpdir(), 'tkv-'));
  readonly procs: ChildProcess[] = [];

  constructor(
    readonly prefix: string,
    n: number,
    readonly subnet4: string,
    readonly subnet6: string,
  ) {
    this.bridgeNs = `${prefix}-br`;
    sh('ip', ['netns', 'add', this.bridgeNs]);
    sh('ip', ['-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge']);
    sh('ip', ['-n', this.bridgeNs, 'link', 'set', 'br0', 'up']);
    for (let i = 0; i < n; i++) {
      const ns = `${prefix}-${String.fromCharCode(97 + i)}`;
      sh('ip', ['netns', 'add', ns]);
      this.namespaces.push(ns);
      sh('ip', ['-n', this.bridgeNs, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      sh('ip', ['-n', this.bridgeNs, 'link', 'set', `p${i}`, 'master', 'br0', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', `${this.addr4(i)}/24`, 'dev', 'eth0']);
      sh('ip', ['-n', ns, 'addr', 'add', `${this.addr6(i)}/64`, 'dev', 'eth0', 'nodad']);
      sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    }
  }

  addr4(i: number): string {
    return `${this.subnet4}.${i + 1}`;
  }
  addr6(i: number): string {
    return `${this.subnet6}::${i + 1}`;
  }

  hasAddress(nsIndex: number, address: string): boolean {
    const r = sh('ip', ['-n', this.namespaces[nsIndex], '-o', 'addr', 'show', 'dev', 'eth0']);
    return r.out.split('\n').some((l) => l.includes(` ${address}/`));
  }

  writeJson(name: string, c: KeepalivedConfig): string {
    const p = join(this.dir, name);
    writeFileSync(p, JSON.stringify(c, null, 1));
    return p;
  }

  writeText(name: string, text: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, text);
    return p;
  }

  cleanup(): void {
    for (const p of this.procs) {
      if (p.exitCode === null && p.signalCode === null) {
        try {
          if (p.pid) process.kill(p.pid, 'SIGCONT');
          p.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    for (const ns of [...this.namespaces, this.bridgeNs]) sh('ip', ['netns', 'del', ns]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A running node (tskeepalived or keepalived) with its collected output. */
export class Node {
  lines: string[] = [];
  exited: Promise<number | null>;
  constructor(readonly proc: ChildProcess) {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      this.lines.push(...parts);
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    this.exited = new Promise((r) => proc.on('exit', (code) => r(code)));
  }
  get pid(): number {
    return this.proc.pid!;
  }
  has(re: RegExp): boolean {
    return this.lines.some((l) => re.test(l));
  }
}

/** ARGV run in the lab's namespace nsIndex (`ip netns exec`), its output read by a Node, killed with the lab. */
export function startInNamespace(lan: Lan, nsIndex: number, argv: string[], env: NodeJS.ProcessEnv = {}): Node {
  const p = spawn('ip', ['netns', 'exec', lan.namespaces[nsIndex]!, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  lan.procs.push(p);
  return new Node(p);
}

export function startTsNode(lan: Lan, nsIndex: number, confPath: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Node {
  return startInNamespace(lan, nsIndex, [process.execPath, 'dist/test/harness/vrrp-standalone-cli.js', '-f', confPath, '-n', '-l', '-G', ...extra], env);
}

/** The full daemon (bin/tskeepalived -P) on a keepalived.conf, with keepalived's flags (and `extra` ones, e.g. -V). */
export function startTsDaemon(lan: Lan, nsIndex: number, confPath: string, tag: string, env: NodeJS.ProcessEnv = {}, extra: string[] = []): Node {
  const pids = ['-p', join(lan.dir, `${tag}.pid`), '-r', join(lan.dir, `${tag}-vrrp.pid`)];
  return startInNamespace(lan, nsIndex, [process.execPath, 'bin/tskeepalived', '-P', '-n', '-l', '-G', '-f', confPath, ...pids, ...extra], env);
}

export function startKeepalived(
  lan: Lan,
  nsIndex: number,
  confPath: string,
  tag: string,
  env: NodeJS.ProcessEnv = {},
  extra: string[] = [],
): Node & { vrrpPid: () => number | undefined } {
  const pid1 = join(lan.dir, `${tag}.pid`);
  const pid2 = join(lan.dir, `${tag}-vrrp.pid`);
  const node = startInNamespace(lan, nsIndex, ['keepalived', '-n', '-l', '-D', '-P', '-f', confPath, '-p', pid1, '-r', pid2, ...extra], env) as Node & {
    vrrpPid: () => number | undefined;
  };
  node.vrrpPid = () => {
    const r = sh('cat', [pid2]);
    const n = Number(r.out.trim());
    return r.code === 0 && n > 0 ? n : undefined;
  };
  return node;
}

export async function waitFor(what: string, pred: () => boolean, timeoutMs: number, stepMs = 20): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (pred()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `tcpdump -l -n ARGS -i eth0 FILTER` in namespace nsIndex of the LAN (a process of the LAN, killed
 * with it): `text()` is what it printed so far; `stop()` ends it (SIGTERM, 2 s at most).
 */
export function tcpdumpText(lan: Lan, nsIndex: number, args: string[], filter: string): { text: () => string; stop: () => Promise<void> } {
  const p = spawn('ip', ['netns', 'exec', lan.namespaces[nsIndex], 'tcpdump', '-l', '-n', ...args, '-i', 'eth0', filter], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  lan.procs.push(p);
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => p.on('exit', () => r()));
  return {
    text: () => out,
    stop: async () => {
      p.kill('SIGTERM');
      await Promise.race([exited, sleep(2000)]);
    },
  };
}

/** The last priority advertised per VRID on the LAN, seen from namespace `ns` (its eth0) for 2.5 s. */
export function advertisedPriorities(ns: string): Map<number, number> {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'timeout', '2.5', 'tcpdump', '-n', '-l', '-vv', '-i', 'eth0', 'proto', '112'], {
    encoding: 'utf8',
    timeout: 6000,
  });
  const out = new Map<number, number>();
  for (const m of (r.stdout ?? '').matchAll(/vrid (\d+), prio (\d+)/g)) out.set(Number(m[1]), Number(m[2]));
  return out;
}
