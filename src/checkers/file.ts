// FILE_CHECK: the real server follows a track_file. The file holds an integer v (missing or
// unparsable = 0). With weight 0 the server is down while v != 0. Otherwise the server stays up and
// its weight moves by v * weight (negated with "reverse"); a result below 0 is clamped to 0.
import { readFile } from 'node:fs/promises';
import type { FileCheck } from '../config/model.js';
import { type CheckContext, type CheckResult, fail, pass } from './types.js';

export function parseTrackValue(text: string): number {
  const m = /^\s*([+-]?\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

export function fileCheckMeaning(value: number, weight: number, reverse: boolean, configuredWeight: number): { ok: boolean; weight?: number } {
  if (weight === 0) return { ok: value === 0 };
  if (value === 0) return { ok: true };
  const w = configuredWeight + value * weight * (reverse ? -1 : 1);
  return { ok: true, weight: Math.max(0, w) };
}

export async function checkFile(cfg: FileCheck, ctx: CheckContext): Promise<CheckResult> {
  const started = process.hrtime.bigint();
  const tf = ctx.trackFiles.get(cfg.trackFile);
  if (!tf?.file) return fail(`track_file '${cfg.trackFile}' is not defined`, started);
  let text = '';
  try {
    text = await readFile(tf.file, 'latin1');
  } catch {
    text = '';
  }
  const value = parseTrackValue(text);
  const weight = cfg.weight ?? tf.weight;
  const reverse = cfg.weight !== undefined ? cfg.weightReverse : tf.weightReverse;
  const m = fileCheckMeaning(value, weight, reverse, ctx.configuredWeight);
  return m.ok ? pass(`track file value ${value}`, started, m.weight) : fail(`track file value ${value}`, started);
}
