// Effective priority and fault state from tracked objects, computed as keepalived 2.2.7 does
// (vrrp_track.c: initialise_*_tracking_priorities, process_script_update_priority,
// process_update_track_process_status, vrrp_handle_bfd_event):
// - interface / script / bfd / process: weight 0 -> the instance is in FAULT while the object has failed (with
//   `reverse`: while it is OK). Otherwise a positive weight counts while the object is OK, a negative
//   one while it has failed, and `reverse` negates the amount, not the state (weightedContribution).
// - track file: weight 0 -> a non-zero value is a FAULT (with `reverse`: a zero value); otherwise
//   value x weight (negated with `reverse`) is added, capped at 253, and one at -254 or below is a FAULT.
// - effective priority = base + sum, clamped to 1..254; an address owner (255) is never changed.
// Weights that keepalived ignores (sync group members without sync_group_tracking_weight, address
// owners) are already removed from the model by src/config/validate.ts.

export type TrackKind = 'interface' | 'script' | 'file' | 'bfd' | 'process';

export interface TrackedStatus {
  kind: TrackKind;
  name: string;
  weight: number;
  reverse: boolean;
  /** interface / script / bfd: true when up / succeeding */
  ok?: boolean;
  /** track file: the integer read from the file */
  value?: number;
}

export interface PriorityResult {
  priority: number;
  /** one entry per tracked object that faults the instance, e.g. "script chk_http" */
  faults: string[];
}

/**
 * The priority change of one weighted (weight != 0) up/down tracked object: a positive weight counts
 * while it is OK, a negative one while it has failed; `reverse` negates the amount. So `weight 10
 * reverse` is -10 while OK and 0 while failed; `weight -10 reverse` is 0 while OK and +10 while failed.
 */
export function weightedContribution(ok: boolean, weight: number, reverse: boolean): number {
  const counts = ok ? weight > 0 : weight < 0;
  return counts ? weight * (reverse ? -1 : 1) : 0;
}

export function computeEffectivePriority(base: number, items: TrackedStatus[]): PriorityResult {
  const faults: string[] = [];
  let sum = 0;
  for (const it of items) {
    const label = `${it.kind} ${it.name}`;
    if (it.kind === 'file') {
      const v = it.value ?? 0;
      if (it.weight === 0) {
        if ((v !== 0) !== it.reverse) faults.push(label);
        continue;
      }
      const contribution = v * it.weight * (it.reverse ? -1 : 1);
      if (contribution <= -254) faults.push(label);
      else sum += Math.min(253, contribution);
      continue;
    }
    if (it.weight === 0) {
      if (!!it.ok === it.reverse) faults.push(label);
    } else sum += weightedContribution(!!it.ok, it.weight, it.reverse);
  }
  if (base >= 255) return { priority: 255, faults };
  return { priority: Math.max(1, Math.min(254, base + sum)), faults };
}

/** rise/fall hysteresis of a tracked script: returns the new status after one result. */
export class RiseFall {
  private streak = 0;
  private lastResult: boolean | undefined;
  constructor(
    private readonly rise: number,
    private readonly fall: number,
    public ok: boolean,
  ) {}

  /** Feed one result; returns true when the status changed. */
  push(success: boolean): boolean {
    if (success === this.lastResult) this.streak++;
    else this.streak = 1;
    this.lastResult = success;
    if (success && !this.ok && this.streak >= Math.max(1, this.rise)) {
      this.ok = true;
      return true;
    }
    if (!success && this.ok && this.streak >= Math.max(1, this.fall)) {
      this.ok = false;
      return true;
    }
    return false;
  }
}

/** Parse a track file's content as keepalived does: a leading integer, anything else is 0. */
export function parseTrackFileValue(text: string): number {
  const m = /^\s*([-+]?\d+)/.exec(text);
  if (!m) return 0;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n : 0;
}
