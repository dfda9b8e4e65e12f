// Handler factories shared by the keyword tables (built once per table, not per node).
import type { ConfNode } from '../parser/ast.js';
import type { BuildContext } from './context.js';
import { missingParameter } from './scripts.js';
import type { Handler } from './table.js';
import { readInt, readTimerMs, readUnsigned, trueFalse } from './values.js';

/** The i-th argument, or report keepalived's missing-parameter message. */
export function arg(ctx: BuildContext, node: ConfNode, i = 0): string | undefined {
  const v = node.args[i];
  if (v === undefined) missingParameter(ctx, node, i + 1);
  return v;
}

export function uintField<T>(set: (t: T, v: number) => void, min: number, max: number, bad?: (ctx: BuildContext, n: ConfNode, w: string) => void): Handler<T> {
  return (ctx, n, t) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readUnsigned(ctx, n, w, min, max);
    if (v === undefined) bad?.(ctx, n, w);
    else set(t, v);
  };
}

export function intField<T>(set: (t: T, v: number) => void, min: number, max: number, bad?: (ctx: BuildContext, n: ConfNode, w: string) => void): Handler<T> {
  return (ctx, n, t) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readInt(ctx, n, w, min, max);
    if (v === undefined) bad?.(ctx, n, w);
    else set(t, v);
  };
}

/** seconds (decimal, µs resolution) -> ms; min/max in µs */
export function timerField<T>(
  set: (t: T, ms: number) => void,
  minUs = 0,
  maxUs = Number.MAX_SAFE_INTEGER,
  bad?: (ctx: BuildContext, n: ConfNode, w: string) => void,
): Handler<T> {
  return (ctx, n, t) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const v = readTimerMs(ctx, n, w, minUs, maxUs);
    if (v === undefined) bad?.(ctx, n, w);
    else set(t, v);
  };
}

export function flagField<T>(set: (t: T) => void): Handler<T> {
  return (_ctx, _n, t) => set(t);
}

/** An optional on/off argument (absent = on); a bad word gets `message(word)`. */
export function optBoolField<T>(set: (t: T, v: boolean) => void, message: (w: string) => string): Handler<T> {
  return (ctx, n, t) => {
    const w = n.args[0];
    if (w === undefined) return set(t, true);
    const b = trueFalse(w);
    if (b === undefined) ctx.error(n, message(w));
    else set(t, b);
  };
}

/** A required on/off argument. */
export function boolField<T>(set: (t: T, v: boolean) => void, message: (w: string) => string): Handler<T> {
  return (ctx, n, t) => {
    const w = arg(ctx, n);
    if (w === undefined) return;
    const b = trueFalse(w);
    if (b === undefined) ctx.error(n, message(w));
    else set(t, b);
  };
}

export function stringField<T>(set: (t: T, v: string) => void): Handler<T> {
  return (ctx, n, t) => {
    const w = arg(ctx, n);
    if (w !== undefined) set(t, w);
  };
}
