// Tracking objects: vrrp_script, track_file (vrrp_track_file), vrrp_track_process, and the
// `track_*` reference lists of instances and sync groups.
import type { ConfNode } from '../parser/ast.js';
import type { BuildContext } from './context.js';
import { arg, flagField } from './handlers.js';
import type { RawKeyword, TrackFile, TrackProcess, TrackRef, VrrpScript } from './model.js';
import { readScript } from './scripts.js';
import { KeywordTable } from './table.js';
import { readDecimal, readInt, readTimerMs, readUnsigned } from './values.js';

export const vrrpScriptTable = new KeywordTable<VrrpScript>('vrrp_script')
  .model('script', (ctx, n, s) => (s.script = readScript(ctx, ctx.scripts, n, 1, true) ?? s.script))
  .model('interval', (ctx, n, s) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const ms = readTimerMs(ctx, n, w, 0, 4294967295000);
    if (ms === undefined) ctx.error(n, `(${s.name}): vrrp script interval '${w}' must be between 1 and 4294967 - ignoring`);
    else if (ms === 0) {
      ctx.error(n, `(${s.name}): vrrp script interval must be greater than 0, setting to 1`);
      s.interval = 1000;
    } else s.interval = ms;
  })
  .model('timeout', (ctx, n, s) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const ms = readTimerMs(ctx, n, w, 0, 4294967295000);
    if (ms === undefined) ctx.error(n, `(${s.name}): vrrp script timeout '${w}' invalid - ignoring`);
    else if (ms === 0) {
      ctx.error(n, `(${s.name}): vrrp script timeout must be greater than 0, setting to 1`);
      s.timeout = 1000;
    } else s.timeout = ms;
  })
  .model('weight', (ctx, n, s) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readInt(ctx, n, w, -253, 253);
    if (v === undefined) {
      ctx.error(n, `vrrp_script ${s.name} weight ${w} must be in [-253, 253]`);
      return;
    }
    s.weight = v;
    if (n.args[1] === 'reverse') s.weightReverse = true;
    else if (n.args[1] !== undefined) ctx.error(n, `vrrp_script ${s.name} unknown weight option ${n.args[1]}`);
  })
  .model('rise', (ctx, n, s) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, 1, 4294967295);
    if (v === undefined) {
      ctx.error(n, `(${s.name}): vrrp script rise value '${w}' invalid, defaulting to 1`);
      s.rise = 1;
    } else s.rise = v;
  })
  .model('fall', (ctx, n, s) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, 1, 4294967295);
    if (v === undefined) {
      ctx.error(n, `(${s.name}): vrrp script fall value '${w}' invalid, defaulting to 1`);
      s.fall = 1;
    } else s.fall = v;
  })
  .model('user', (ctx, n, s) => {
    const u = arg(ctx, n);
    if (u === undefined) return;
    s.user = u;
    if (n.args[1] !== undefined) s.group = n.args[1];
    if (!ctx.scripts.userExists(u)) ctx.error(n, `Unable to set uid/gid for script ${s.script?.command ?? s.name}`);
  })
  .model(
    'init_fail',
    flagField((s) => (s.initFail = true)),
  );

export function newVrrpScript(name: string, n: ConfNode): VrrpScript {
  return { name, interval: 1000, timeout: 0, weight: 0, weightReverse: false, rise: 1, fall: 1, initFail: false, loc: n.loc };
}

/** keepalived's end-of-block checks for vrrp_script; returns false when the script is removed. */
export function finishVrrpScript(ctx: BuildContext, n: ConfNode, s: VrrpScript): boolean {
  if (!s.script) {
    ctx.error(n.endLoc ?? n, `No script set for vrrp_script ${s.name} - removing`);
    return false;
  }
  if (s.user === undefined && s.script.user === undefined) {
    ctx.scripts.checkDefaultUser(ctx, n.endLoc ?? n);
    if (ctx.scripts.defaultUserFailed) {
      ctx.error(n.endLoc ?? n, `Unable to set default user for vrrp script ${s.name} - removing`);
      return false;
    }
  }
  if (s.timeout === 0) s.timeout = s.interval;
  return true;
}

export const trackFileTable = new KeywordTable<TrackFile>('track_file')
  .model('file', (ctx, n, t) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    if (t.file !== undefined) ctx.error(n, `File already set for track file ${t.name} - ignoring ${w}`);
    else t.file = w;
  })
  .model('weight', (ctx, n, t) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readInt(ctx, n, w, -2147483647, 2147483647);
    if (v === undefined) return;
    t.weight = v;
    if (n.args[1] === 'reverse') t.weightReverse = true;
  })
  .model('init_file', (ctx, n, t) => {
    let value = 0;
    let overwrite = false;
    for (const w of n.args) {
      if (w === 'overwrite') overwrite = true;
      else {
        const v = readInt(ctx, n, w, -2147483648, 2147483647);
        if (v !== undefined) value = v;
      }
    }
    t.initFile = { value, overwrite };
  });

export function newTrackFile(name: string, n: ConfNode): TrackFile {
  return { name, weight: 1, weightReverse: false, loc: n.loc };
}

export function finishTrackFile(ctx: BuildContext, n: ConfNode, t: TrackFile): boolean {
  if (!t.file) {
    ctx.error(n.endLoc ?? n, `No file set for track_file ${t.name} - removing`);
    return false;
  }
  return true;
}

export const trackProcessTable = new KeywordTable<TrackProcess>('vrrp_track_process')
  .model('process', (ctx, n, t) => {
    if (arg(ctx, n) === undefined) return;
    if (t.process.length) ctx.error(n, `Process already set for track process ${t.name}`);
    else t.process = n.args.slice();
  })
  .model('param_match', (ctx, n, t) => {
    const w = arg(ctx, n);
    if (w === 'initial' || w === 'partial') t.paramMatch = w;
    else if (w !== undefined) ctx.error(n, `Invalid param_match type ${w} - ignoring`);
  })
  .model('weight', (ctx, n, t) => {
    const w = n.args[0];
    if (w === undefined) return ctx.error(n, `No weight specified for track process ${t.name} - ignoring`);
    const v = readInt(ctx, n, w, -254, 254);
    if (v === undefined) return;
    t.weight = v;
    if (n.args[1] === 'reverse') t.weightReverse = true;
  })
  .model('quorum', (ctx, n, t) => {
    const w = arg(ctx, n);
    const v = w === undefined ? undefined : readUnsigned(ctx, n, w, 1, 65535);
    if (v !== undefined) t.quorum = v;
  })
  .model('quorum_max', (ctx, n, t) => {
    const w = arg(ctx, n);
    const v = w === undefined ? undefined : readUnsigned(ctx, n, w, 0, 65535);
    if (v !== undefined) t.quorumMax = v;
  })
  .model(['delay', 'terminate_delay', 'fork_delay'], (ctx, n, t) => {
    const w = arg(ctx, n);
    const us = w === undefined ? undefined : readDecimal(ctx, n, w, 0, 3600000000, 6);
    if (us === undefined) return;
    if (n.keyword !== 'fork_delay') t.terminateDelay = us / 1000;
    if (n.keyword !== 'terminate_delay') t.forkDelay = us / 1000;
  })
  .model(
    'full_command',
    flagField((t) => (t.fullCommand = true)),
  );

export function newTrackProcess(name: string, n: ConfNode): TrackProcess {
  return { name, process: [], weight: 0, weightReverse: false, quorum: 1, fullCommand: false, loc: n.loc };
}

/**
 * Read a `track_*` block of references: NAME [weight W [reverse|noreverse|no_reverse]].
 * `lookup` says whether the name exists (reported with `notFound`).
 */
export function readTrackRefs(
  ctx: BuildContext,
  n: ConfNode,
  min: number,
  max: number,
  exists: (name: string) => boolean,
  notFound: (name: string) => string,
): TrackRef[] {
  const out: TrackRef[] = [];
  for (const c of n.children ?? []) {
    const name = c.keyword;
    if (!exists(name)) {
      ctx.error(c, notFound(name));
      continue;
    }
    const ref: TrackRef = { name, reverse: false, loc: c.loc };
    let i = 0;
    if (c.args[0] === 'weight') {
      const w = c.args[1];
      if (w === undefined) {
        ctx.error(c, `weight without value specified for ${name} - ignoring`);
        continue;
      }
      const v = readInt(ctx, c, w, min, max);
      if (v === undefined) continue;
      ref.weight = v;
      i = 2;
      if (c.args[2] === 'reverse') {
        ref.reverse = true;
        i = 3;
      } else if (c.args[2] === 'noreverse' || c.args[2] === 'no_reverse') i = 3;
    }
    if (c.args[i] !== undefined) ctx.error(c, `unknown option ${c.args[i]} for ${name} - ignoring`);
    out.push(ref);
  }
  return out;
}

export type { RawKeyword };
