// The tskeepalived extension block `bgp { ... }` (docs/bgp.md): which VIPs src/bgp announces
// through BIRD or FRR, in which mode and with which attributes. keepalived itself reports `bgp` as an
// unknown keyword. Cross-references (virtual servers, VRRP instances) are checked by validateBgp
// once the whole configuration is read.
import type { ConfNode } from '../parser/ast.js';
import type { BuildContext } from './context.js';
import { arg, timerField } from './handlers.js';
import { parseAddress } from '../util/inet.js';
import type { BgpAttributes, BgpConfig, BgpVirtualServer, BgpVrrpInstance, KeepalivedConfig } from './model.js';
import { KeywordTable, type HasRaw } from './table.js';
import { readUnsigned } from './values.js';

export const BGP_DEFAULTS = {
  controlSocket: '/run/bird/bird.ctl',
  routesFile: '/etc/bird/tskeepalived-routes.conf',
  protocolName: 'tskeepalived',
  commandTimeout: 5000,
} as const;

/** `driver frr`: bgpd's vty socket, and the record of what was handed to it. */
export const BGP_FRR_DEFAULTS = {
  controlSocket: '/run/frr/bgpd.vty',
  routesFile: '/run/tskeepalived/frr-routes.conf',
} as const;

/** Partial attributes as written; merged over the block's defaults at the end. */
interface AttrDraft {
  med?: number;
  localPref?: number;
  communities?: string[];
  largeCommunities?: string[];
}

interface BgpDraft extends HasRaw {
  bgp: BgpConfig;
  defaults: AttrDraft;
  vs: { entry: BgpVirtualServer; attrs: AttrDraft }[];
  vi: { entry: BgpVrrpInstance; master: AttrDraft; backup: AttrDraft; backupAnnounce: boolean }[];
  /** keywords written (their defaults depend on the driver, which may come later) */
  explicit: Set<'controlSocket' | 'routesFile'>;
  /** where `asn` was written (an error unless the driver is frr) */
  asnNode?: ConfNode;
}

const U32 = 4294967295;
const U16 = 65535;

function u32(ctx: BuildContext, n: ConfNode, set: (v: number) => void): void {
  const w = arg(ctx, n);
  if (w === undefined) return;
  const v = readUnsigned(ctx, n, w, 0, U32);
  if (v !== undefined) set(v);
}

/** "ASN:VALUE" (16-bit parts) or "ASN:V1:V2" (32-bit parts, large) */
function communities(ctx: BuildContext, n: ConfNode, large: boolean): string[] {
  if (n.args.length === 0) {
    ctx.error(n, `${n.keyword} needs at least one value`);
    return [];
  }
  const out: string[] = [];
  const parts = large ? 3 : 2;
  const max = large ? U32 : U16;
  for (const w of n.args) {
    const p = w.split(':');
    if (p.length !== parts || p.some((x) => !/^[0-9]{1,10}$/.test(x) || Number(x) > max)) {
      ctx.error(n, `Invalid ${n.keyword} '${w}' - expected ${large ? 'ASN:VALUE1:VALUE2 (each 0..4294967295)' : 'ASN:VALUE (each 0..65535)'}`);
      continue;
    }
    out.push(p.map(Number).join(':'));
  }
  return out;
}

function attrKeywords<T extends HasRaw>(t: KeywordTable<T>, pick: (d: T, n: ConfNode) => AttrDraft, prefix = ''): KeywordTable<T> {
  return t
    .model(`${prefix}med`, (ctx, n, d) => u32(ctx, n, (v) => (pick(d, n).med = v)))
    .model(`${prefix}local_pref`, (ctx, n, d) => u32(ctx, n, (v) => (pick(d, n).localPref = v)));
}

function communityKeywords<T extends HasRaw>(t: KeywordTable<T>, pick: (d: T) => AttrDraft): KeywordTable<T> {
  return t
    .model('community', (ctx, n, d) => {
      const a = pick(d);
      a.communities = [...(a.communities ?? []), ...communities(ctx, n, false)];
    })
    .model('large_community', (ctx, n, d) => {
      const a = pick(d);
      a.largeCommunities = [...(a.largeCommunities ?? []), ...communities(ctx, n, true)];
    });
}

type VsDraftB = HasRaw & { attrs: AttrDraft };
type ViDraftB = HasRaw & { master: AttrDraft; backup: AttrDraft; backupAnnounce: boolean };

export const bgpVirtualServerTable = communityKeywords(
  attrKeywords(new KeywordTable<VsDraftB>('bgp virtual_server'), (d) => d.attrs),
  (d) => d.attrs,
);

export const bgpVrrpInstanceTable = communityKeywords(
  attrKeywords(
    attrKeywords(new KeywordTable<ViDraftB>('bgp vrrp_instance'), (d) => d.master, 'master_'),
    (d) => d.backup,
    'backup_',
  ),
  (d) => d.master,
).model('backup_announce', (_ctx, _n, d) => {
  d.backupAnnounce = true;
});

const PROTO_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,30}$/;

export const bgpTable = communityKeywords(
  attrKeywords(new KeywordTable<BgpDraft>('bgp'), (d) => d.defaults),
  (d) => d.defaults,
)
  .model('driver', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    if (w === 'bird' || w === 'frr') d.bgp.driver = w;
    else ctx.error(n, `Unknown bgp driver '${w}' - expected bird or frr`);
  })
  .model('asn', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, 1, U32);
    if (v === undefined) return;
    d.bgp.asn = v;
    d.asnNode = n;
  })
  .model('control_socket', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    if (!w.startsWith('/')) ctx.error(n, `bgp control_socket '${w}' must be an absolute path`);
    else {
      d.bgp.controlSocket = w;
      d.explicit.add('controlSocket');
    }
  })
  .model('routes_file', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    if (!w.startsWith('/')) ctx.error(n, `bgp routes_file '${w}' must be an absolute path`);
    else {
      d.bgp.routesFile = w;
      d.explicit.add('routesFile');
    }
  })
  .model('protocol_name', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    if (!PROTO_NAME.test(w)) ctx.error(n, `Invalid bgp protocol_name '${w}' - letters, digits and '_', starting with a letter, at most 31`);
    else d.bgp.protocolName = w;
  })
  .model(
    'command_timeout',
    timerField((d, ms) => (d.bgp.commandTimeout = ms), 100_000, 600_000_000),
  )
  .model('virtual_server', (ctx, n, d) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const a = parseAddress(w);
    if (!a) {
      ctx.error(n, `Invalid bgp virtual_server address '${w}'`);
      return;
    }
    const entry: BgpVirtualServer = { address: a.address, family: a.family, attrs: { communities: [], largeCommunities: [] }, loc: n.loc };
    if (n.args[1] !== undefined) {
      const p = readUnsigned(ctx, n, n.args[1], 1, 65535);
      if (p === undefined) return;
      entry.port = p;
    }
    if (n.args.length > 2) ctx.error(n, `bgp virtual_server takes ADDRESS [PORT], not '${n.args.slice(2).join(' ')}'`);
    const vd: VsDraftB = { attrs: {} };
    bgpVirtualServerTable.walk(ctx, n.children, vd);
    d.vs.push({ entry, attrs: vd.attrs });
  })
  .model('vrrp_instance', (ctx, n, d) => {
    const name = arg(ctx, n);
    if (name === undefined) return;
    const entry: BgpVrrpInstance = { name, master: { communities: [], largeCommunities: [] }, loc: n.loc };
    const vd: ViDraftB = { master: {}, backup: {}, backupAnnounce: false };
    bgpVrrpInstanceTable.walk(ctx, n.children, vd);
    d.vi.push({ entry, master: vd.master, backup: vd.backup, backupAnnounce: vd.backupAnnounce });
  });

function merge(base: AttrDraft, over: AttrDraft): BgpAttributes {
  const a: BgpAttributes = {
    communities: over.communities ?? base.communities ?? [],
    largeCommunities: over.largeCommunities ?? base.largeCommunities ?? [],
  };
  const med = over.med ?? base.med;
  const localPref = over.localPref ?? base.localPref;
  if (med !== undefined) a.med = med;
  if (localPref !== undefined) a.localPref = localPref;
  return a;
}

function errorCount(ctx: BuildContext): number {
  let n = 0;
  for (const d of ctx.diagnostics()) if (d.severity === 'error' || d.severity === 'fatal') n++;
  return n;
}

/** The `bgp` root block (a second one replaces the first, with an error). */
export function buildBgp(ctx: BuildContext, n: ConfNode, cfg: KeepalivedConfig): void {
  const before = errorCount(ctx);
  if (cfg.bgp) ctx.error(n, 'bgp block already defined - the earlier one is ignored');
  if (n.args.length) ctx.error(n, `bgp takes no argument, not '${n.args.join(' ')}'`);
  const bgp: BgpConfig = {
    driver: 'bird',
    ...BGP_DEFAULTS,
    virtualServers: [],
    vrrpInstances: [],
    errors: 0,
    loc: n.loc,
  };
  const d: BgpDraft = { bgp, defaults: {}, vs: [], vi: [], explicit: new Set() };
  if (!n.children) ctx.error(n, 'bgp must be a block: bgp { ... }');
  bgpTable.walk(ctx, n.children, d);
  if (bgp.driver === 'frr') {
    if (!d.explicit.has('controlSocket')) bgp.controlSocket = BGP_FRR_DEFAULTS.controlSocket;
    if (!d.explicit.has('routesFile')) bgp.routesFile = BGP_FRR_DEFAULTS.routesFile;
  } else if (d.asnNode) {
    ctx.error(d.asnNode, 'bgp asn is for driver frr (BIRD takes the AS from its own configuration) - ignoring');
    delete bgp.asn;
  }
  for (const v of d.vs) {
    v.entry.attrs = merge(d.defaults, v.attrs);
    bgp.virtualServers.push(v.entry);
  }
  for (const v of d.vi) {
    v.entry.master = merge(d.defaults, v.master);
    if (v.backupAnnounce || v.backup.med !== undefined || v.backup.localPref !== undefined)
      v.entry.backup = merge(d.defaults, { ...v.master, ...pickDefined(v.backup) });
    bgp.vrrpInstances.push(v.entry);
  }
  bgp.errors = errorCount(ctx) - before;
  cfg.bgp = bgp;
}

function pickDefined(a: AttrDraft): AttrDraft {
  const o: AttrDraft = {};
  if (a.med !== undefined) o.med = a.med;
  if (a.localPref !== undefined) o.localPref = a.localPref;
  return o;
}

/**
 * After the whole configuration is read: every `bgp virtual_server` must match a virtual_server
 * (address and, if given, port), every `bgp vrrp_instance` name a vrrp_instance, and no address
 * may be announced by two modes. `vsKeys` holds "ADDRESS PORT" of every address virtual server
 * read (also those a config test does not keep).
 */
export function validateBgp(ctx: BuildContext, cfg: KeepalivedConfig, vsKeys: ReadonlySet<string>): void {
  const bgp = cfg.bgp;
  if (!bgp) return;
  const before = errorCount(ctx);
  const addresses = new Set<string>();
  for (const k of vsKeys) addresses.add(k.slice(0, k.lastIndexOf(' ')));
  const ecmp = new Map<string, BgpVirtualServer>();
  bgp.virtualServers = bgp.virtualServers.filter((v) => {
    const found = v.port === undefined ? addresses.has(v.address) : vsKeys.has(`${v.address} ${v.port}`);
    if (!found) {
      ctx.error(v.loc, `bgp virtual_server ${v.address}${v.port === undefined ? '' : ` ${v.port}`} matches no virtual_server - ignoring`);
      return false;
    }
    const key = `${v.address} ${v.port ?? '*'}`;
    if (ecmp.has(key)) {
      ctx.error(v.loc, `bgp virtual_server ${v.address}${v.port === undefined ? '' : ` ${v.port}`} already configured - ignoring`);
      return false;
    }
    ecmp.set(key, v);
    return true;
  });
  const ecmpAddresses = new Set(bgp.virtualServers.map((v) => v.address));
  const instances = new Map(cfg.vrrpInstances.map((i) => [i.name, i]));
  const seen = new Set<string>();
  bgp.vrrpInstances = bgp.vrrpInstances.filter((v) => {
    const inst = instances.get(v.name);
    if (!inst) {
      ctx.error(v.loc, `bgp vrrp_instance ${v.name} is not a vrrp_instance - ignoring`);
      return false;
    }
    if (seen.has(v.name)) {
      ctx.error(v.loc, `bgp vrrp_instance ${v.name} already configured - ignoring`);
      return false;
    }
    seen.add(v.name);
    const clash = inst.virtualIpaddress.find((a) => ecmpAddresses.has(a.prefix.address));
    if (clash) {
      ctx.error(v.loc, `bgp vrrp_instance ${v.name}: ${clash.prefix.address} is also announced by a bgp virtual_server - ignoring`);
      return false;
    }
    if (inst.virtualIpaddress.length === 0) ctx.warning(v.loc, `bgp vrrp_instance ${v.name} has no virtual_ipaddress to announce`);
    return true;
  });
  bgp.errors += errorCount(ctx) - before;
}
