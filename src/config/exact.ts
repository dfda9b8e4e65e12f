// Long-lived model arrays at their exact size. An array grown by push() keeps room for 16 more
// elements (about 150 bytes for one element); with tens of thousands of real servers, checkers
// and urls that was a third of a large configuration's model. Lists are grown with append()
// (most hold one element: it starts as a one-element array) and copied with exact() once
// complete when longer.

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
