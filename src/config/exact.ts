// Long-lived model arrays at their exact size. An array grown by push() keeps room for 16 more
// elements (about 150 bytes for one element); with tens of thousands of real servers, checkers
// and urls that was a third of a large configuration's model. Copy such an array once complete.

/** `a` itself when empty (an empty literal holds no storage), else a copy of exactly its length */
export function exact<T>(a: T[]): T[] {
  return a.length === 0 ? a : a.slice();
}
