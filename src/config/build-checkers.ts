// Checker blocks inside real_server: HTTP_GET/SSL_GET, TCP_CHECK, SMTP_CHECK, MISC_CHECK, DNS_CHECK,
// UDP_CHECK, PING_CHECK, FILE_CHECK, BFD_CHECK.
import type { ConfNode } from '../parser/ast.js';
import type { BuildContext } from './context.js';
import { EMPTY, addOne, append, countOf, exact, exactList } from './exact.js';
import { arg, stringField } from './handlers.js';
import { packLoc } from '../parser/diagnostic.js';
import { shareString } from '../parser/intern.js';
import { parseAddress } from '../util/inet.js';
import type { BfdCheck, Checker, DnsCheck, FileCheck, HttpCheck, HttpUrl, MiscCheck, RawKeyword, SmtpCheck, SslSettings, UdpCheck } from './model.js';
import { readScript } from './scripts.js';
import { KeywordTable, type Handler } from './table.js';
import { readInt, readTimerMs, readUnsigned, trueFalse } from './values.js';

type Common = Exclude<Checker, FileCheck | BfdCheck>;

/** Names FILE_CHECK and BFD_CHECK resolve against, set by buildChecker before each walk. */
const lookup: { trackFiles: Set<string>; bfds: Set<string>; rs: RsRef } = {
  trackFiles: new Set(),
  bfds: new Set(),
  rs: { address: '', port: 0, protocol: '' },
};

/** What keepalived prints for a real server: [ADDR]:PROTO:PORT */
export interface RsRef {
  address: string;
  port: number;
  protocol: string;
}

const rsName = (r: RsRef): string => `[${r.address}]:${r.protocol}:${r.port}`;
type CommonT = Common & { raw?: RawKeyword[] };

function timer<T extends CommonT>(set: (c: T, ms: number) => void, label: string): Handler<T> {
  return (ctx, n, c) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const ms = readTimerMs(ctx, n, w, 0, 4294967295000000);
    if (ms === undefined) ctx.error(n, label.replace('%s', w));
    else set(c, ms);
  };
}

function boolArg<T extends CommonT>(set: (c: T, b: boolean) => void, label: string): Handler<T> {
  return (ctx, n, c) => {
    const w = n.args[0];
    if (w === undefined) return set(c, true);
    const b = trueFalse(w);
    if (b === undefined) ctx.error(n, `${label} ${w}`);
    else set(c, b);
  };
}

/** keywords every connection-based checker accepts */
function addCommon<T extends CommonT>(t: KeywordTable<T>, withConnection: boolean, withTimeout = true): KeywordTable<T> {
  // MISC_CHECK gets only the keywords from `retry` on (keepalived 2.2.7 rejects connect_timeout there)
  if (withTimeout)
    t.model(
      'connect_timeout',
      timer((c, ms) => (c.connectTimeout = ms), 'connect_timeout %s invalid - ignoring'),
    );
  if (withConnection) {
    t.model('connect_ip', (ctx, n, c) => {
      const w = arg(ctx, n);
      const a = w === undefined ? undefined : parseAddress(w);
      if (w !== undefined && !a) ctx.error(n, `Invalid connect_ip address ${w} - ignoring`);
      else if (a) c.connectIp = a.address;
    })
      .model('connect_port', (ctx, n, c) => {
        const w = arg(ctx, n);
        const p = w === undefined ? undefined : readUnsigned(ctx, n, w, 1, 65535);
        if (w !== undefined && p === undefined) ctx.error(n, `Invalid checker connect_port '${w}'`);
        else if (p !== undefined) c.connectPort = p;
      })
      .model('bindto', (ctx, n, c) => {
        const w = arg(ctx, n);
        const a = w === undefined ? undefined : parseAddress(w);
        if (w !== undefined && !a) ctx.error(n, `Invalid bindto address ${w} - ignoring`);
        else if (a) c.bindto = a.address;
      })
      .model('bind_port', (ctx, n, c) => {
        const w = arg(ctx, n);
        const p = w === undefined ? undefined : readUnsigned(ctx, n, w, 1, 65535);
        if (w !== undefined && p === undefined) ctx.error(n, `Invalid checker bind_port '${w}'`);
        else if (p !== undefined) c.bindPort = p;
      })
      .model('bind_if', (ctx, n, c) => {
        const w = arg(ctx, n);
        if (w !== undefined && w.length >= 16) ctx.error(n, `Interface name ${w} is too long - ignoring`);
        else if (w !== undefined) c.bindIf = w;
      })
      .model('fwmark', (ctx, n, c) => {
        const w = arg(ctx, n);
        const v = w === undefined ? undefined : readUnsigned(ctx, n, w, 0, 4294967295);
        if (w !== undefined && v === undefined) ctx.error(n, `Invalid fwmark connection value '${w}'`);
        else if (v !== undefined) c.fwmark = v;
      });
  }
  return t
    .model('retry', (ctx, n, c) => {
      const w = arg(ctx, n);
      const v = w === undefined ? undefined : readUnsigned(ctx, n, w, 0, 4294967295);
      if (w !== undefined && v === undefined) ctx.error(n, `Invalid retry connection value '${w}'`);
      else if (v !== undefined) c.retry = v;
    })
    .model(
      'delay_before_retry',
      timer((c, ms) => (c.delayBeforeRetry = ms), "Invalid delay_before_retry connection value '%s'"),
    )
    .model(
      'warmup',
      timer((c, ms) => (c.warmup = ms), "Invalid warmup connection value '%s'"),
    )
    .model(
      'delay_loop',
      timer((c, ms) => (c.delayLoop = ms), "delay_loop '%s' is invalid - ignoring"),
    )
    .model(
      'alpha',
      boolArg((c, b) => (c.alpha = b), 'Invalid alpha parameter'),
    )
    .model(
      'log_all_failures',
      boolArg((c, b) => (c.logAllFailures = b), 'Invalid log_all_failures parameter'),
    );
}

/** true when w is one or more hex digits */
function isHex(w: string): boolean {
  if (w.length === 0) return false;
  for (let i = 0; i < w.length; i++) {
    const c = w.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** a plain three-digit status code in [100, 599], else -1 (the general rule decides) */
function plainStatus(w: string): number {
  if (w.length !== 3) return -1;
  let v = 0;
  for (let i = 0; i < 3; i++) {
    const c = w.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v >= 100 && v <= 599 ? v : -1;
}

export const urlTable = new KeywordTable<HttpUrl & { raw?: RawKeyword[] }>('url')
  .model(
    'path',
    stringField((u, v) => (u.path = shareString(v))),
  )
  .model('digest', (ctx, n, u) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    if (w.length !== 32) ctx.error(n, `digest '${w}' character length should be 32 rather than ${w.length}`);
    else if (!isHex(w)) ctx.error(n, `Unable to interpret hex digit in '${w}'`);
    else u.digest = shareString(w.toLowerCase());
  })
  .model('status_code', (ctx, n, u) => {
    for (const w of n.args) {
      const code = plainStatus(w);
      if (code !== -1) {
        u.statusCodes = append(u.statusCodes, { from: code, to: code });
        continue;
      }
      const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(w);
      const from = m ? Number(m[1]) : NaN;
      const to = m ? Number(m[2] ?? m[1]) : NaN;
      if (!m || from < 100 || to > 599 || from > to) {
        ctx.error(n, `Invalid HTTP_GET status code '${w}'`);
        continue;
      }
      u.statusCodes = append(u.statusCodes, { from, to });
    }
  })
  .model(
    'virtualhost',
    stringField((u, v) => (u.virtualhost = v)),
  )
  .model('regex', (ctx, n, u) => {
    const s = readScript(ctx, ctx.scripts, n);
    if (s) u.regex = s.command;
  })
  .model('regex_no_match', (_ctx, _n, u) => (u.regexNoMatch = true))
  .raw('regex_options', 'regex_min_offset', 'regex_max_offset', 'regex_stack');

function httpTable(type: 'HTTP_GET' | 'SSL_GET') {
  return addCommon(new KeywordTable<HttpCheck>(type), true)
    .model('nb_get_retry', (ctx, n, c) => {
      ctx.warning(n, "nb_get_retry is deprecated - please use 'retry'");
      const w = arg(ctx, n);
      const v = w === undefined ? undefined : readUnsigned(ctx, n, w, 0, 4294967295);
      if (w !== undefined && v === undefined) ctx.error(n, `Invalid nb_get_retry value '${w}'`);
      else if (v !== undefined) c.retry = v;
    })
    .model('virtualhost', (ctx, n, c) => {
      const w = n.args[0];
      if (w === undefined) ctx.error(n, 'HTTP_GET virtualhost name missing');
      else c.virtualhost = w;
    })
    .model('http_protocol', (ctx, n, c) => {
      const w = n.args[0];
      if (w === undefined) ctx.error(n, 'Missing http_protocol version');
      else if (w === '1.0' || w === '1.1') c.httpProtocol = w;
      else if (w === '1.0C' || w === '1.0c') c.httpProtocol = '1.0C';
      else ctx.error(n, `Invalid http_protocol version ${w}`);
    })
    .model(
      'enable_sni',
      boolArg((c, b) => ((c as HttpCheck).enableSni = b), 'Invalid enable_sni parameter'),
    )
    .model(
      'fast_recovery',
      boolArg((c, b) => ((c as HttpCheck).fastRecovery = b), 'Invalid fast_recovery parameter'),
    )
    .model('url', (ctx, n, c) => {
      const u: HttpUrl & { raw?: RawKeyword[] } = { path: '', statusCodes: EMPTY as unknown as HttpUrl['statusCodes'], loc: packLoc(n.loc) };
      urlTable.walk(ctx, n.children, u);
      u.statusCodes = exact(u.statusCodes);
      if (!u.path) ctx.error(n.endLoc ?? n, 'HTTP/SSL_GET checker url has no path - ignoring');
      else c.urls = addOne(c.urls, u);
    });
}

type SslDraft = SslSettings & { raw?: RawKeyword[] };

/** one file (or the password) of the SSL block, with keepalived's messages */
function sslSetting(field: 'password' | 'ca' | 'certificate' | 'key', label: string): Handler<SslDraft> {
  return (ctx, n, s) => {
    const w = n.args[0];
    if (w === undefined) return ctx.error(n, `SSL ${label} missing`);
    if (s[field] !== undefined) ctx.error(n, `SSL ${label} already specified - replacing`);
    s[field] = w;
  };
}

/** the root `SSL` block: keepalived's single TLS client context for every SSL_GET */
export const sslTable = new KeywordTable<SslDraft>('SSL')
  .model('password', sslSetting('password', 'password'))
  .model('ca', sslSetting('ca', 'cafile'))
  .model('certificate', sslSetting('certificate', 'certfile'))
  .model('key', sslSetting('key', 'keyfile'))
  // tskeepalived extension: keepalived 2.2.7 never verifies a real server's certificate
  .model('verify_cert', (ctx, n, s) => {
    const w = n.args[0];
    const b = w === undefined ? true : trueFalse(w);
    if (b === undefined) ctx.error(n, `Invalid verify_cert parameter ${w}`);
    else s.verifyCert = b;
  });

/** An `SSL` block; a second one replaces the first, as keepalived ("SSL context already specified"). */
export function buildSsl(ctx: BuildContext, n: ConfNode, previous: SslSettings | undefined): SslSettings {
  if (previous) ctx.error(n, 'SSL context already specified - replacing');
  const s: SslDraft = { loc: n.loc };
  sslTable.walk(ctx, n.children, s);
  return s;
}

export const checkerTables = {
  HTTP_GET: httpTable('HTTP_GET'),
  SSL_GET: httpTable('SSL_GET'),
  TCP_CHECK: addCommon(new KeywordTable<CommonT>('TCP_CHECK'), true),
  PING_CHECK: addCommon(new KeywordTable<CommonT>('PING_CHECK'), true),
  SMTP_CHECK: addCommon(new KeywordTable<SmtpCheck>('SMTP_CHECK'), true)
    .model(
      'helo_name',
      stringField((c, v) => (c.heloName = v)),
    )
    .raw('host'),
  DNS_CHECK: addCommon(new KeywordTable<DnsCheck>('DNS_CHECK'), true)
    .model('type', (ctx, n, c) => {
      const w = arg(ctx, n);
      if (w === undefined) return;
      if (['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA'].includes(w)) c.queryType = w;
      else ctx.error(n, `Unknown DNS check type ${w} - ignoring`);
    })
    .model(
      'name',
      stringField((c, v) => (c.name = v)),
    ),
  UDP_CHECK: addCommon(new KeywordTable<UdpCheck>('UDP_CHECK'), true)
    .model('payload', (ctx, n, c) => {
      const w = n.args[0];
      if (w === undefined) return ctx.error(n, 'UDP_CHECK payload requires a payload');
      // keepalived 2.2.7's hex reader also rejects a string whose last octet is 0xff
      if (!/^([0-9a-fA-F]{2})+$/.test(w) || /ff$/i.test(w)) return ctx.error(n, 'Invalid hex string for UDP_CHECK payload');
      c.payload = Buffer.from(w, 'hex');
    })
    .model('require_reply', (ctx, n, c) => {
      c.requireReply = true;
      const w = n.args[0];
      if (w === undefined) return;
      if (!/^([0-9a-fA-FxX]{2})+$/.test(w)) return ctx.error(n, 'Invalid hex string for UDP_CHECK reply');
      c.reply = Buffer.from(w.replace(/[xX]/g, '0'), 'hex');
    })
    .model('min_reply_length', (ctx, n, c) => {
      const w = arg(ctx, n);
      const v = w === undefined ? undefined : readUnsigned(ctx, n, w, 0, 65515);
      if (w !== undefined && v === undefined) ctx.error(n, `UDP_CHECK min length ${w} not valid - must be between 0 & 65515`);
      else if (v !== undefined) c.minReplyLength = v;
    })
    .model('max_reply_length', (ctx, n, c) => {
      const w = arg(ctx, n);
      const v = w === undefined ? undefined : readUnsigned(ctx, n, w, 0, 65515);
      if (w !== undefined && v === undefined) ctx.error(n, `UDP_CHECK max length ${w} not valid - must be between 0 & 65515`);
      else if (v !== undefined) c.maxReplyLength = v;
    }),
  MISC_CHECK: addCommon(new KeywordTable<MiscCheck>('MISC_CHECK'), false, false)
    .model('misc_path', (ctx, n, c) => (c.miscPath = readScript(ctx, ctx.scripts, n, 1, true) ?? c.miscPath))
    .model('misc_timeout', (ctx, n, c) => {
      const w = arg(ctx, n);
      const v = w === undefined ? undefined : readUnsigned(ctx, n, w, 0, 4294967);
      if (w !== undefined && v === undefined) ctx.error(n, `Invalid misc_timeout value '${w}'`);
      else if (v !== undefined) c.miscTimeout = v * 1000;
    })
    .model('misc_dynamic', (_ctx, _n, c) => (c.miscDynamic = true))
    .model('user', (ctx, n, c) => {
      const u = n.args[0];
      if (u === undefined) return ctx.error(n, `No user specified for misc checker script ${c.miscPath?.command ?? ''}`);
      c.user = u;
      if (n.args[1] !== undefined) c.group = n.args[1];
    }),
  FILE_CHECK: new KeywordTable<FileCheck>('FILE_CHECK')
    .model('track_file', (ctx, n, c) => {
      const w = arg(ctx, n);
      if (w === undefined) return;
      if (!lookup.trackFiles.has(w)) ctx.error(n, `track_file ${w} not found`);
      else c.trackFile = w;
    })
    .model('weight', (ctx, n, c) => {
      const w = arg(ctx, n);
      const v = w === undefined ? undefined : readInt(ctx, n, w, -253, 253);
      if (w !== undefined && v === undefined) return ctx.error(n, 'weight for track file must be in [-253..253] inclusive. Ignoring...');
      if (v !== undefined) c.weight = v;
      if (n.args[1] === 'reverse') c.weightReverse = true;
      else if (n.args[1] !== undefined) ctx.error(n, `unknown track file weight option ${n.args[1]} - ignoring`);
    }),
  BFD_CHECK: new KeywordTable<BfdCheck>('BFD_CHECK')
    .model('name', (ctx, n, c) => {
      const w = arg(ctx, n);
      if (w === undefined) return;
      if (!lookup.bfds.has(w)) {
        ctx.error(n, `(${rsName(lookup.rs)}) BFD_CHECK - BFD ${w} not configured`);
        c.name = '';
      } else c.name = w;
    })
    .model('weight', (ctx, n, c) => {
      const w = arg(ctx, n);
      const v = w === undefined ? undefined : readInt(ctx, n, w, -253, 253);
      if (v !== undefined) c.weight = v;
    })
    .raw('alpha'),
} as const;

export type CheckerKeyword = keyof typeof checkerTables;

/**
 * A new checker. connectTimeout / retry / delayBeforeRetry start unset (-1: a small integer, so that
 * the fields are not boxed doubles) and are filled by
 * applyCheckerDefaults once the real and virtual server settings are known. delayLoop and alpha,
 * which applyCheckerDefaults always sets, are in the literal (undefined until then): added later,
 * they would give every checker a separate property store (about 40 bytes per real server).
 */
export function newChecker(type: CheckerKeyword, n: ConfNode): Checker {
  const loc = packLoc(n.loc);
  switch (type) {
    case 'HTTP_GET':
    case 'SSL_GET':
      return { type, connectTimeout: -1, retry: -1, delayBeforeRetry: -1, delayLoop: undefined, alpha: undefined, loc, urls: EMPTY, enableSni: false };
    case 'TCP_CHECK':
    case 'PING_CHECK':
      return { type, connectTimeout: -1, retry: -1, delayBeforeRetry: -1, delayLoop: undefined, alpha: undefined, loc };
    case 'SMTP_CHECK':
      return { type, connectTimeout: -1, retry: -1, delayBeforeRetry: -1, delayLoop: undefined, alpha: undefined, loc, heloName: 'localhost' };
    case 'DNS_CHECK':
      return { type, connectTimeout: -1, retry: -1, delayBeforeRetry: -1, delayLoop: undefined, alpha: undefined, loc, queryType: 'SOA', name: '.' };
    case 'UDP_CHECK':
      return { type, connectTimeout: -1, retry: -1, delayBeforeRetry: -1, delayLoop: undefined, alpha: undefined, loc, requireReply: false };
    case 'MISC_CHECK':
      return { type, connectTimeout: -1, retry: -1, delayBeforeRetry: -1, delayLoop: undefined, alpha: undefined, loc, miscDynamic: false };
    case 'FILE_CHECK':
      return { type, trackFile: '', weightReverse: false, loc: n.loc };
    case 'BFD_CHECK':
      return { type, loc: n.loc };
  }
}

export function buildChecker(ctx: BuildContext, type: CheckerKeyword, n: ConfNode, trackFiles: Set<string>, bfds: Set<string>, rs: RsRef): Checker | undefined {
  const c = newChecker(type, n);
  lookup.trackFiles = trackFiles;
  lookup.bfds = bfds;
  lookup.rs = rs;
  (checkerTables[type] as KeywordTable<Checker & { raw?: RawKeyword[] }>).walk(ctx, n.children, c);
  if (c.type === 'HTTP_GET' || c.type === 'SSL_GET') {
    if (countOf(c.urls) === 0) {
      ctx.error(n.endLoc ?? n, 'HTTP/SSL_GET checker has no urls specified - ignoring');
      return undefined;
    }
    c.urls = exactList(c.urls);
  } else if (c.type === 'MISC_CHECK') {
    if (!c.miscPath) {
      ctx.error(n.endLoc ?? n, 'No script path has been specified for MISC_CHECKER - skipping');
      return undefined;
    }
    if (c.user === undefined && c.miscPath.user === undefined) {
      // keepalived checks the default script user when the MISC_CHECK block ends
      ctx.scripts.checkDefaultUser(ctx, n.endLoc ?? n);
      if (ctx.scripts.defaultUserFailed) {
        ctx.error(n.endLoc ?? n, `Unable to set default user for misc script ${c.miscPath.argv.map((a) => `'${a}'`).join(' ')} - removing`);
        return undefined;
      }
    }
  } else if (c.type === 'FILE_CHECK') {
    if (!c.trackFile) {
      ctx.error(n.endLoc ?? n, 'FILE_CHECK has no track_file specified - ignoring');
      return undefined;
    }
  } else if (c.type === 'BFD_CHECK') {
    if (c.name === undefined) {
      ctx.error(n.endLoc ?? n, `(${rsName(rs)}) No name has been specified for BFD_CHECKER - skipping`);
      return undefined;
    }
    if (c.name === '') return undefined;
  } else if (c.type === 'UDP_CHECK') {
    if (c.minReplyLength !== undefined && c.maxReplyLength !== undefined && c.minReplyLength > c.maxReplyLength)
      ctx.error(n.endLoc ?? n, `UDP_CHECK min_reply length ${c.minReplyLength} > max_reply_length ${c.maxReplyLength} - will always fail`);
  }
  return c;
}

/** The settings a checker inherits: its real server's, else its virtual server's. */
export interface InheritedTimers {
  connectTimeout?: number;
  retry?: number;
  delayBeforeRetry?: number;
  warmup?: number;
  delayLoop: number;
  alpha?: boolean;
}

/**
 * keepalived's checker defaults: explicit value, else the real server's, else the virtual
 * server's, else the type default (connect_timeout 5 s; retry 1, MISC_CHECK 0, DNS_CHECK 3;
 * delay_before_retry 1 s, HTTP/SSL_GET 3 s, DNS_CHECK = delay_loop).
 */
export function applyCheckerDefaults(c: Checker, rs: InheritedTimers, vs: Omit<InheritedTimers, 'delayLoop'> & { delayLoop: number }): void {
  if (c.type === 'FILE_CHECK' || c.type === 'BFD_CHECK') return;
  c.delayLoop ??= rs.delayLoop ?? vs.delayLoop;
  if (c.connectTimeout < 0) c.connectTimeout = rs.connectTimeout ?? vs.connectTimeout ?? 5000;
  if (c.retry < 0) c.retry = rs.retry ?? vs.retry ?? (c.type === 'MISC_CHECK' ? 0 : c.type === 'DNS_CHECK' ? 3 : 1);
  if (c.delayBeforeRetry < 0) {
    const typeDefault = c.type === 'HTTP_GET' || c.type === 'SSL_GET' ? 3000 : c.type === 'DNS_CHECK' ? c.delayLoop : 1000;
    c.delayBeforeRetry = rs.delayBeforeRetry ?? vs.delayBeforeRetry ?? typeDefault;
  }
  if (c.warmup === undefined && (rs.warmup ?? vs.warmup) !== undefined) c.warmup = rs.warmup ?? vs.warmup;
  if (c.alpha === undefined && (rs.alpha ?? vs.alpha) !== undefined) c.alpha = rs.alpha ?? vs.alpha;
}
