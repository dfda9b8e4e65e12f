// Long-lived model arrays at their exact size. An array grown by push() keeps room for 16 more
// elements (about 150 bytes for one element); with tens of thousands of real servers, checkers
// and urls that was a third of a large configuration's model. Lists are grown with append()
// (most hold one element: it starts as a one-element array) and copied with exact() once
// complete when longer. A list that is usually of one element is kept inline (OneOrMany,
// src/config/model.ts: addOne, exactList, read with listOf, countOf, itemAt).

/** `a` with `x` added: a new one-element array when `a` is empty, else `a` itself after push */
export function append<T>(a: T[], x: T): T[] {
  if (a.length === 0) return [x];
  a.push(x);
  return a;
}

/** `a` itself when it has at most one element (see append), else a copy of exactly its length */
export function exact<T>(a: T[]): T[] {
  return a.length <= 1 ? a : a.slice();
}

/** a shared empty list (frozen: append() and addOne() replace it rather than push into it) */
export const EMPTY: readonly never[] = Object.freeze([]);

// OneOrMany (src/config/model.ts): one element inline or an array

export function isMany<T extends object>(x: T | readonly T[]): x is readonly T[] {
  return Array.isArray(x);
}

/** the elements as an array (a new one-element array for an inline element) */
export function listOf<T extends object>(x: T | readonly T[]): readonly T[] {
  return isMany(x) ? x : [x];
}

export function countOf<T extends object>(x: T | readonly T[]): number {
  return isMany(x) ? x.length : 1;
}

/** element i (0 <= i < countOf(x)) */
export function itemAt<T extends object>(x: T | readonly T[], i: number): T {
  return isMany(x) ? x[i]! : x;
}

/** `x` with `y` added, while building: inline when it is the first, an array from the second on (see exactList) */
export function addOne<T extends object>(x: T | readonly T[], y: T): T | readonly T[] {
  if (!isMany(x)) return [x, y];
  if (x.length === 0) return y;
  (x as T[]).push(y);
  return x;
}

/** once complete: an array of two or more at its exact size (see exact) */
export function exactList<T extends object>(x: T | readonly T[]): T | readonly T[] {
  return isMany(x) && x.length > 1 ? x.slice() : x;
}
