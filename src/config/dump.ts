// Normalised JSON of the model: keys sorted, Buffers as hex, `undefined` dropped, the lists kept
// inline when of one element (OneOrMany: a real server's `checkers`, a checker's `urls`) as arrays.

const ONE_OR_MANY = new Set(['checkers', 'urls']);
export function toStableJson(value: unknown, indent = 2): string {
  return JSON.stringify(normalise(value), null, indent);
}

function normalise(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (Array.isArray(v)) return v.map(normalise);
  if (v instanceof Set) return [...v].map(normalise);
  if (v instanceof Map) return normalise(Object.fromEntries(v));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (x === undefined) continue;
    out[k] = ONE_OR_MANY.has(k) && x !== null && typeof x === 'object' && !Array.isArray(x) ? [normalise(x)] : normalise(x);
  }
  return out;
}
