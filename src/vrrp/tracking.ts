// Effective priority and fault state from tracked objects, computed as keepalived does:
// - interface / script / bfd: weight 0 -> failure puts the instance in FAULT; weight > 0 is added while
//   the object is OK; weight < 0 is added while it has failed; `reverse` swaps OK and failed
//   (bfd with a weight: `reverse` negates the amount instead, as keepalived's track_bfd).
// - track file: weight 0 -> a non-zero value is a FAULT; otherwise value x weight (negated with
//   `reverse`) is added, and a contribution below -253 is a FAULT.
// - effective priority = base + sum, clamped to 1..254; an address owner (255) is never changed.

export type TrackKind = 'interface' | 'script' | 'file' | 'bfd';

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

export function computeEffectivePriority(base: number, items: TrackedStatus[]): PriorityResult {
  const faults: string[] = [];
  let sum = 0;
  for (const it of items) {
    const label = `${it.kind} ${it.name}`;
    if (it.kind === 'file') {
      const v = it.value ?? 0;
      if (it.weight === 0) {
        if (v !== 0) faults.push(label);
        continue;
      }
      const contribution = v * it.weight * (it.reverse ? -1 : 1);
      if (contribution < -253) faults.push(label);
      else sum += contribution;
      continue;
    }
    if (it.kind === 'bfd' && it.weight !== 0) {
      // keepalived's track_bfd (initialise_track_bfd_state, vrrp_handle_bfd_event): a positive weight
      // counts while Up, a negative one while Down; `reverse` negates the amount, not the state
      const m = it.reverse ? -1 : 1;
      if (it.ok ? it.weight > 0 : it.weight < 0) sum += it.weight * m;
      continue;
    }
    const ok = it.reverse ? !it.ok : !!it.ok;
    if (it.weight === 0) {
      if (!ok) faults.push(label);
    } else if (it.weight > 0) {
      if (ok) sum += it.weight;
    } else if (!ok) sum += it.weight;
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
