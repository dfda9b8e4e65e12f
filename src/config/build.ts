// The config builder: walks the parser's ConfNode tree pass by pass as keepalived does
// (parent: global_defs and root settings; checker: LVS; vrrp: VRRP and tracking; bfd) and fills
// the typed model. Unknown keywords are reported; accepted-but-unmodelled keywords are kept raw.
import { exact } from './exact.js';
import type { ConfNode } from '../parser/ast.js';
import { Pass, type BuildContext } from './context.js';
import { buildGlobalDefs, defaultGlobalDefs } from './build-global.js';
import { buildVirtualServerGroup, newVirtualServer, virtualServerTable, type VsDraft } from './build-lvs.js';
import { buildSsl } from './build-checkers.js';
import { parseAddressLine, parseRouteLine, parseRuleLine } from './build-address.js';
import { bfdInstanceTable, finishBfdInstance, newBfdInstance } from './build-bfd.js';
import {
  finishTrackFile,
  finishVrrpScript,
  newTrackFile,
  newTrackProcess,
  newVrrpScript,
  trackFileTable,
  trackProcessTable,
  vrrpScriptTable,
} from './build-track.js';
import { newInstance, newSyncGroup, syncGroupTable, vrrpInstanceTable, type InstanceDraft, type SyncGroupDraft, type VrrpRegistry } from './build-vrrp.js';
import type { KeepalivedConfig, VirtualServerGroup } from './model.js';
import type { BuildState } from './build-state.js';
import { addVirtualServerScripts, noScripts, validateVirtualServer } from './validate.js';
import { toRaw } from './table.js';
import { buildBgp } from './build-bgp.js';

/** Root keywords and the pass that handles them. */
export const ROOT_KEYWORDS: ReadonlyMap<string, Pass> = new Map<string, Pass>([
  ['global_defs', Pass.Parent],
  ['net_namespace', Pass.Parent],
  ['net_namespace_ipvs', Pass.Parent],
  ['namespace_with_ipsets', Pass.Parent],
  ['use_pid_dir', Pass.Parent],
  ['instance', Pass.Parent],
  ['child_wait_time', Pass.Parent],
  ['linkbeat_use_polling', Pass.Parent],
  ['SSL', Pass.Checker],
  ['virtual_server_group', Pass.Checker],
  ['virtual_server', Pass.Checker],
  ['track_group', Pass.Vrrp],
  ['static_ipaddress', Pass.Vrrp],
  ['static_routes', Pass.Vrrp],
  ['static_rules', Pass.Vrrp],
  ['vrrp_sync_group', Pass.Vrrp],
  ['garp_group', Pass.Vrrp],
  ['linkbeat_interfaces', Pass.Vrrp],
  ['vrrp_instance', Pass.Vrrp],
  ['vrrp_script', Pass.Vrrp],
  ['vrrp_track_process', Pass.Vrrp],
  ['interface_up_down_delays', Pass.Vrrp],
  ['track_file', Pass.Vrrp],
  ['vrrp_track_file', Pass.Vrrp],
  ['bfd_instance', Pass.Bfd],
  // tskeepalived extension (keepalived: unknown keyword)
  ['bgp', Pass.Parent],
]);

const NO_GROUPS: ReadonlyMap<string, VirtualServerGroup> = new Map();

export function emptyConfig(file: string, configId: string): KeepalivedConfig {
  return {
    file,
    configId,
    global: defaultGlobalDefs(),
    staticIpaddress: [],
    staticRoutes: [],
    staticRules: [],
    vrrpScripts: [],
    trackFiles: [],
    syncGroups: [],
    vrrpInstances: [],
    virtualServerGroups: [],
    virtualServers: [],
  };
}

function blockName(ctx: BuildContext, n: ConfNode, what: string): string | undefined {
  const name = n.args[0];
  if (name === undefined) ctx.error(n, `${what} must have a name`);
  return name;
}

/**
 * An unknown root keyword. keepalived ignores a '{' after it and reads the block's lines as root
 * lines; the closing '}' at root level is itself an unknown keyword.
 */
function unknownRoot(ctx: BuildContext, n: ConfNode, byPass: ConfNode[][]): void {
  ctx.pass = Pass.Parent;
  ctx.error(n, `Unknown keyword '${n.keyword}'`);
  if (!n.children) return;
  ctx.error(n.openLoc ?? n, "Unexpected '{' - ignoring", 'BLOCK_UNEXPECTED_OPEN');
  for (const c of n.children) {
    const p = ROOT_KEYWORDS.get(c.keyword);
    if (p === undefined) unknownRoot(ctx, c, byPass);
    else byPass[p].push(c);
  }
  ctx.pass = Pass.Parent;
  if (n.endLoc) ctx.error(n.endLoc, "Unknown keyword '}'");
}

/** Root keywords whose names other passes resolve (track_file, bfd_instance, track_group). */
function definesNames(n: ConfNode, p: Pass): boolean {
  return p === Pass.Bfd || n.keyword === 'track_file' || n.keyword === 'vrrp_track_file' || n.keyword === 'track_group';
}

interface NameDef {
  seq: number;
  name: string;
}

/** The names defined by root nodes before a position, grown as the positions asked for grow. */
class DefinedBefore {
  readonly names = new Set<string>();
  private next = 0;
  constructor(private readonly defs: NameDef[]) {}

  upTo(seq: number): Set<string> {
    while (this.next < this.defs.length && this.defs[this.next]!.seq < seq) this.names.add(this.defs[this.next++]!.name);
    return this.names;
  }
}

/**
 * Builds the model from root nodes, pass by pass. Either all at once (buildConfig) or streamed:
 * root(n) as the parser completes each root node, then finish(). Streaming builds each
 * virtual_server as soon as it is read (so its nodes can be dropped at once: far less live
 * memory on large configurations); it is only exact when everything the checker pass depends
 * on (parent-pass keywords, unknown root keywords, names of track files, BFD instances and
 * track groups) comes before the first checker-pass node. root() returns false when a later
 * node breaks that: the caller must then build from a full parse instead.
 */
export class ConfigBuild {
  readonly state: BuildState = {
    syncGroupDrafts: [],
    instanceDrafts: [],
    vsDrafts: [],
    early: { count: 0, scripts: noScripts(), diagnostics: [] },
    vsKeys: new Set(),
  };
  private readonly byPass: ConfNode[][] = [[], [], [], []];
  /**
   * Root nodes in file order: keepalived reads the file once, in order, in each process, so a
   * track_file or bfd_instance is only known to the blocks after it (a track_bfd, FILE_CHECK or
   * BFD_CHECK before it gets "not found").
   */
  private readonly order = new WeakMap<ConfNode, number>();
  private seq = 0;
  /** track_file / vrrp_track_file and bfd_instance names with the position of their node */
  private trackFileDefs: NameDef[] = [];
  private bfdDefs: NameDef[] = [];
  /** the names a checker-pass node sees (those defined before it) */
  private checkerTrackFiles = new DefinedBefore([]);
  private checkerBfds = new DefinedBefore([]);
  /** streaming: root nodes before the first checker-pass node */
  private prefix: ConfNode[] = [];
  private streaming = false;

  /**
   * @param releaseVirtualServers when streaming, check each virtual server as soon as it is
   * read and keep only its messages, not its model (a config test: a large configuration then
   * never holds its tens of thousands of real servers at once). The messages come out in the
   * same order as when the whole model is checked at the end. A virtual server of a group needs
   * all groups: from the first one on, servers are kept and checked at the end as usual.
   */
  constructor(
    private readonly ctx: BuildContext,
    private readonly cfg: KeepalivedConfig,
    private releaseVirtualServers = false,
  ) {}

  /** streaming: one completed root node; false = cannot stream this configuration */
  root(n: ConfNode): boolean {
    const p = ROOT_KEYWORDS.get(n.keyword);
    if (!this.streaming) {
      if (p !== Pass.Checker) {
        this.prefix.push(n);
        return true;
      }
      this.streaming = true;
      this.distribute(this.prefix);
      this.prefix = [];
      this.parentPass();
      this.collectNames();
      this.ctx.pass = Pass.Checker;
      for (const c of this.byPass[Pass.Checker]) this.checkerNode(c);
      this.byPass[Pass.Checker] = [];
    }
    if (p === undefined || p === Pass.Parent) return false;
    if (p === Pass.Checker) {
      this.order.set(n, this.seq++);
      this.ctx.pass = Pass.Checker;
      this.checkerNode(n);
      return true;
    }
    if (definesNames(n, p)) return false;
    this.order.set(n, this.seq++);
    this.byPass[p].push(n);
    return true;
  }

  /** streaming: all root nodes given */
  finish(): BuildState {
    if (!this.streaming) return this.all(this.prefix);
    this.vrrpPass();
    this.bfdPass();
    return this.state;
  }

  /** build from all root nodes at once */
  all(nodes: ConfNode[]): BuildState {
    this.distribute(nodes);
    this.parentPass();
    this.collectNames();
    this.ctx.pass = Pass.Checker;
    for (const n of this.byPass[Pass.Checker]) this.checkerNode(n);
    this.vrrpPass();
    this.bfdPass();
    return this.state;
  }

  private rootRaw(n: ConfNode): void {
    (this.cfg.root ??= { raw: [] }).raw.push(toRaw(n));
  }

  private distribute(nodes: ConfNode[]): void {
    const byPass = this.byPass;
    for (const n of nodes) {
      this.order.set(n, this.seq++);
      const p = ROOT_KEYWORDS.get(n.keyword);
      if (p === undefined) unknownRoot(this.ctx, n, byPass);
      else byPass[p].push(n);
    }
  }

  // ---- parent pass
  private parentPass(): void {
    const { ctx, cfg } = this;
    ctx.pass = Pass.Parent;
    let nsNode: ConfNode | undefined;
    for (const n of this.byPass[Pass.Parent]) {
      switch (n.keyword) {
        case 'global_defs':
          buildGlobalDefs(ctx, n, cfg.global);
          break;
        case 'net_namespace':
        case 'instance': {
          // keepalived: the first one counts; the name is its first word
          const what = n.keyword;
          const v = n.args[0];
          const root = (cfg.root ??= { raw: [] });
          if (v === undefined) ctx.error(n, `${what} name missing - ignoring`);
          else if ((what === 'instance' ? root.instance : root.netNamespace) !== undefined) ctx.error(n, `Duplicate ${what} definition ${v} - ignoring`);
          else if (what === 'instance') root.instance = v;
          else {
            root.netNamespace = v;
            nsNode = n;
          }
          break;
        }
        case 'use_pid_dir':
          (cfg.root ??= { raw: [] }).usePidDir = true;
          this.rootRaw(n);
          break;
        case 'bgp':
          buildBgp(ctx, n, cfg);
          break;
        default:
          this.rootRaw(n);
      }
    }
    this.byPass[Pass.Parent] = [];
    ctx.scripts.enableScriptSecurity = cfg.global.enableScriptSecurity;
    this.enterNamespace(nsNode);
    // with dynamic_interfaces keepalived accepts interfaces that do not exist (yet)
    if (cfg.global.dynamicInterfaces) ctx.interfaces = undefined;
  }

  /**
   * The network namespace (-s overrides net_namespace, as keepalived) is known once the parent
   * pass is done, before any interface is checked: as keepalived's config test, which enters it
   * (setns) and then checks the interfaces there, the loader's hook enters it and gives its
   * interface names; one that cannot be entered is fatal (keepalived: "Unable to set network
   * namespace NAME - exiting").
   */
  private enterNamespace(nsNode: ConfNode | undefined): void {
    const { ctx, cfg } = this;
    const ns = ctx.namespaceOverride ?? cfg.root?.netNamespace;
    if (ns === undefined) return;
    if (ctx.namespaceOverride !== undefined) (cfg.root ??= { raw: [] }).netNamespace = ns;
    if (!ctx.enterNamespace) return;
    const r = ctx.enterNamespace(ns);
    if ('error' in r) {
      ctx.fatal(ctx.namespaceOverride === undefined ? nsNode : undefined, `Unable to set network namespace ${ns} - exiting (${r.error})`);
      ctx.interfaces = undefined;
    } else if (ctx.interfaces !== undefined) ctx.interfaces = r.interfaces === undefined ? undefined : new Set(r.interfaces);
  }

  /**
   * names that other passes resolve without diagnostics (keepalived parses track_file and
   * bfd_instance in several processes)
   */
  private collectNames(): void {
    const at = (n: ConfNode) => this.order.get(n) ?? Number.MAX_SAFE_INTEGER;
    for (const n of this.byPass[Pass.Vrrp])
      if ((n.keyword === 'track_file' || n.keyword === 'vrrp_track_file') && n.args[0]) this.trackFileDefs.push({ seq: at(n), name: n.args[0] });
    for (const n of this.byPass[Pass.Bfd]) if (n.args[0]) this.bfdDefs.push({ seq: at(n), name: n.args[0] });
    this.checkerTrackFiles = new DefinedBefore(this.trackFileDefs);
    this.checkerBfds = new DefinedBefore(this.bfdDefs);
    for (const n of this.byPass[Pass.Vrrp]) if (n.keyword === 'track_group' && n.args[0]) this.ctx.trackGroups.add(n.args[0]);
  }

  // ---- checker pass, one root node
  private checkerNode(n: ConfNode): void {
    const { ctx, cfg } = this;
    if (n.keyword === 'virtual_server_group') {
      const name = blockName(ctx, n, 'virtual_server_group');
      if (name !== undefined) cfg.virtualServerGroups.push(buildVirtualServerGroup(ctx, n, name));
    } else if (n.keyword === 'virtual_server') {
      const vs = newVirtualServer(ctx, n);
      if (!vs) return;
      if (vs.key.kind === 'addr') this.state.vsKeys.add(`${vs.key.address} ${vs.key.port}`);
      const at = this.order.get(n) ?? Number.MAX_SAFE_INTEGER;
      const d: VsDraft = {
        vs,
        protocolSet: false,
        schedSet: false,
        kindSet: false,
        trackFiles: this.checkerTrackFiles.upTo(at),
        bfds: this.checkerBfds.upTo(at),
      };
      virtualServerTable.walk(ctx, n.children, d);
      vs.realServers = exact(vs.realServers);
      if (d.raw) vs.raw = d.raw;
      if (this.streaming && this.releaseVirtualServers && vs.key.kind !== 'group') {
        const early = this.state.early;
        early.count++;
        addVirtualServerScripts(early.scripts, vs);
        ctx.divert(early.diagnostics);
        validateVirtualServer(ctx, d, NO_GROUPS);
        ctx.divert(undefined);
        return;
      }
      this.releaseVirtualServers = false;
      this.state.vsDrafts.push(d);
      cfg.virtualServers.push(vs);
    } else if (n.keyword === 'SSL') cfg.ssl = buildSsl(ctx, n, cfg.ssl);
    else this.rootRaw(n);
  }

  private vrrpPass(): void {
    const { ctx, cfg, state } = this;
    const bfds = new DefinedBefore(this.bfdDefs);
    const rootRaw = (n: ConfNode) => this.rootRaw(n);
    const byPass = this.byPass;
    // ---- vrrp pass
    ctx.pass = Pass.Vrrp;
    const reg: VrrpRegistry = { scripts: new Set(), trackFiles: new Set(), trackProcesses: new Set(), bfds: bfds.names, global: cfg.global };
    const instanceNames = new Set<string>();
    const groupNames = new Set<string>();
    for (const n of byPass[Pass.Vrrp]) {
      bfds.upTo(this.order.get(n) ?? Number.MAX_SAFE_INTEGER);
      switch (n.keyword) {
        case 'vrrp_instance': {
          const name = blockName(ctx, n, 'vrrp_instance');
          if (name === undefined) break;
          if (instanceNames.has(name)) {
            ctx.error(n, `vrrp instance ${name} already defined`);
            break;
          }
          instanceNames.add(name);
          const d: InstanceDraft = { v: newInstance(name, n.loc, cfg.global), reg, versionSet: false, sawAuth: false };
          vrrpInstanceTable.walk(ctx, n.children, d);
          if (d.raw) d.v.raw = d.raw;
          if (d.v.unicastTtl !== undefined && d.v.unicastPeers.length === 0) {
            ctx.error(n.endLoc ?? n, `(${name}): Cannot use unicast_ttl without unicast peers - resetting`);
            delete d.v.unicastTtl;
          }
          state.instanceDrafts.push(d);
          cfg.vrrpInstances.push(d.v);
          break;
        }
        case 'vrrp_sync_group': {
          const name = n.args[0];
          if (name === undefined) {
            ctx.error(n, 'vrrp_sync_group must have a name - skipping');
            break;
          }
          if (groupNames.has(name)) {
            ctx.error(n, `vrrp sync group ${name} already defined`);
            break;
          }
          groupNames.add(name);
          const d: SyncGroupDraft = { g: newSyncGroup(name, n), reg, hasGroup: false };
          syncGroupTable.walk(ctx, n.children, d);
          if (d.raw) d.g.raw = d.raw;
          state.syncGroupDrafts.push(d);
          cfg.syncGroups.push(d.g);
          break;
        }
        case 'vrrp_script': {
          const name = blockName(ctx, n, 'vrrp_script');
          if (name === undefined) break;
          const s = newVrrpScript(name, n);
          vrrpScriptTable.walk(ctx, n.children, s);
          if (finishVrrpScript(ctx, n, s)) {
            reg.scripts.add(name);
            cfg.vrrpScripts.push(s);
          }
          break;
        }
        case 'track_file':
        case 'vrrp_track_file': {
          const name = blockName(ctx, n, n.keyword);
          if (name === undefined) break;
          const t = newTrackFile(name, n);
          trackFileTable.walk(ctx, n.children, t);
          if (finishTrackFile(ctx, n, t)) {
            reg.trackFiles.add(name);
            cfg.trackFiles.push(t);
          }
          break;
        }
        case 'vrrp_track_process': {
          const name = blockName(ctx, n, 'vrrp_track_process');
          if (name === undefined) break;
          const t = newTrackProcess(name, n);
          trackProcessTable.walk(ctx, n.children, t);
          if (t.process.length === 0) ctx.error(n.endLoc ?? n, `track process '${name}' process name not specified`);
          else {
            reg.trackProcesses.add(name);
            (cfg.trackProcesses ??= []).push(t);
          }
          break;
        }
        case 'static_ipaddress':
          for (const c of n.children ?? []) {
            const a = parseAddressLine(ctx, c, cfg.global.defaultInterface, true);
            if (a) cfg.staticIpaddress.push(a);
          }
          break;
        case 'static_routes':
          for (const c of n.children ?? []) {
            const r = parseRouteLine(ctx, c);
            if (r) cfg.staticRoutes.push(r);
          }
          break;
        case 'static_rules':
          for (const c of n.children ?? []) {
            const r = parseRuleLine(ctx, c);
            if (r) cfg.staticRules.push(r);
          }
          break;
        case 'garp_group':
          for (const c of n.children ?? []) {
            if (c.keyword === 'interface') {
              if (c.args[0] !== undefined && !ctx.hasInterface(c.args[0]))
                ctx.error(c, `WARNING - interface ${c.args[0]} specified for garp_group doesn't exist`);
            } else if (c.keyword === 'interfaces') {
              for (const i of c.children ?? []) {
                if (!ctx.hasInterface(i.keyword)) ctx.error(i, `WARNING - interface ${i.keyword} specified for garp_group doesn't exist`);
              }
            } else if (c.keyword !== 'garp_interval' && c.keyword !== 'gna_interval') ctx.error(c, `Unknown keyword '${c.keyword}'`);
          }
          rootRaw(n);
          break;
        case 'track_group':
          for (const c of n.children ?? []) if (c.keyword !== 'group') ctx.error(c, `Unknown keyword '${c.keyword}'`);
          rootRaw(n);
          break;
        default:
          rootRaw(n);
      }
    }
  }

  private bfdPass(): void {
    const { ctx, cfg } = this;
    const byPass = this.byPass;
    // ---- bfd pass
    ctx.pass = Pass.Bfd;
    for (const n of byPass[Pass.Bfd]) {
      const name = blockName(ctx, n, 'bfd_instance');
      if (name === undefined) continue;
      const b = newBfdInstance(name, n);
      bfdInstanceTable.walk(ctx, n.children, b);
      if (finishBfdInstance(ctx, n, b, cfg.bfdInstances ?? [])) (cfg.bfdInstances ??= []).push(b);
    }
  }
}

export function buildConfig(ctx: BuildContext, nodes: ConfNode[], cfg: KeepalivedConfig): BuildState {
  return new ConfigBuild(ctx, cfg).all(nodes);
}
