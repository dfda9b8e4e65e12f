// One string per distinct short word. The fast path reads a keyword from every line; slicing it
// afresh each time made a new string per line (a large configuration has hundreds of thousands
// of lines and a few dozen keywords), and every keyword-table lookup then hashed it again. The
// pool keeps the last string seen for each hash slot, so it stays small whatever the input, and
// its strings are copies that keep no part of the file in memory.
const SLOTS = 1024; // a power of two
const MAX_LEN = 40; // longer words are sliced as they are

const pool: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);

/** src.slice(start, end), shared with earlier equal words when short */
export function internSlice(src: string, start: number, end: number): string {
  const len = end - start;
  if (len > MAX_LEN || len <= 0) return src.slice(start, end);
  let h = len;
  for (let i = start; i < end; i++) h = (Math.imul(h, 31) + src.charCodeAt(i)) | 0;
  const slot = (h ^ (h >>> 10)) & (SLOTS - 1);
  const hit = pool[slot];
  if (hit !== undefined && hit.length === len && src.startsWith(hit, start)) return hit;
  const word = detachedSlice(src, start, end);
  pool[slot] = word;
  return word;
}

/**
 * src.slice(start, end) that does not keep `src` alive: V8 makes a slice of 13 or more characters
 * a view of its parent, and the pool (or the model: a digest, an IPv6 address, a long path) outlives
 * the 64 KB chunk the word was read from. Slicing a concatenation copies the characters first (the
 * result views that small copy). Measured on the 215,000-line bench config: the model kept about
 * fifty 64 KB chunks alive through 10,000 digests (about 190 bytes per real server).
 */
export function detachedSlice(src: string, start: number, end: number): string {
  return end - start < 13 ? src.slice(start, end) : (src.slice(start, end) + ' ').slice(0, -1);
}

const SHARED_SLOTS = 4096; // a power of two
const SHARED_MAX_LEN = 64;
const shared: (string | undefined)[] = new Array<string | undefined>(SHARED_SLOTS).fill(undefined);

/**
 * One string for equal values the model keeps per real server (its address, a url's path, a
 * digest): 20,000 real servers on ten backends held 20,000 copies of the same few addresses and
 * paths (about 90 bytes per real server). Like the word pool, the last string seen per hash slot
 * is kept, so the table stays at 4,096 entries whatever the input; longer strings are returned as
 * they are.
 */
export function shareString(s: string): string {
  const len = s.length;
  if (len > SHARED_MAX_LEN || len === 0) return s;
  let h = len;
  for (let i = 0; i < len; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  const slot = (h ^ (h >>> 12)) & (SHARED_SLOTS - 1);
  const hit = shared[slot];
  if (hit === s) return hit;
  shared[slot] = s;
  return s;
}
