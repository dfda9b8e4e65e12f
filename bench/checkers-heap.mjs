#!/usr/bin/env node
// Where the checker process's bytes per real server go: heap snapshots (v8.writeHeapSnapshot) of the
// bench:checkers configuration (HTTP_GET on /health, V virtual servers x R real servers) taken
// before loading it, after loading it (the model) and after the engine started on it with the
// dry-run backend (no real server listens: checks fail fast on 127.0.1.x ports nobody has), each
// grouped by node type and constructor with its property names (objects) or its first retainer
// (strings, arrays), printed as bytes per real server, largest first. The snapshots are all
// written before any is read, so the reading does not count.
// Usage: npm run build && npm run bench:checkers-heap -- [--vs 500] [--rs 10] [--top 25]
//    (that is node --expose-gc bench/checkers-heap.mjs ...)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const opt = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const VS = opt('vs', 500);
const RS = opt('rs', 10);
const TOP = opt('top', 25);
if (typeof globalThis.gc !== 'function') {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(2);
}
const gc = () => {
  globalThis.gc();
  globalThis.gc();
  globalThis.gc();
};

const { loadConfig } = await import(join(root, 'dist/src/config/load.js'));
const { CheckersEngine } = await import(join(root, 'dist/src/checkers/engine.js'));
const { DryRunBackend } = await import(join(root, 'dist/src/lb/dry-run.js'));
const pino = createRequire(join(root, 'package.json'))('pino');

/** the config of bench:checkers (bench/checkers-config.ts): VS x RS HTTP_GET checkers on /health */
const { benchConfig } = await import(join(root, 'dist/bench/checkers-config.js'));
const conf = (nvs, nrs) =>
  benchConfig(
    nvs,
    nrs,
    5,
    Array.from({ length: nrs }, (_, r) => ({ address: `127.0.1.${r + 1}`, port: 20000 + r })),
  );

const dir = mkdtempSync(join(tmpdir(), `tkp-heap-${process.pid}-`));
try {
  const logger = pino({ level: 'silent' });
  const backend = () => new DryRunBackend({ out: { write: () => true } });
  const load = (f) => loadConfig(f, { checkInterfaces: false, configId: 'heap' }).config;
  // warm-up: code compiled and modules loaded once are not per real server
  writeFileSync(join(dir, 'one.conf'), conf(1, 1));
  const w = new CheckersEngine({ backend: backend(), logger });
  await w.start(load(join(dir, 'one.conf')));
  await w.stop({ release: true });
  writeFileSync(join(dir, 'k.conf'), conf(VS, RS));
  gc();
  const before = v8.writeHeapSnapshot(join(dir, 'a.heapsnapshot'));
  const config = load(join(dir, 'k.conf'));
  gc();
  const model = v8.writeHeapSnapshot(join(dir, 'b.heapsnapshot'));
  const engine = new CheckersEngine({ backend: backend(), logger });
  await engine.start(config);
  await new Promise((r) => setTimeout(r, 300));
  gc();
  const running = v8.writeHeapSnapshot(join(dir, 'c.heapsnapshot'));
  await engine.stop({ release: true });
  const a = groups(before);
  const b = groups(model);
  const c = groups(running);
  const n = VS * RS;
  print(`model (${VS} x ${RS} real servers)`, a, b, n);
  print('engine, checks in flight, dry-run backend', b, c, n);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** bytes and count per group of one snapshot */
function groups(file) {
  const s = JSON.parse(readFileSync(file, 'utf8'));
  const meta = s.snapshot.meta;
  const nf = meta.node_fields.length;
  const [ti, ni, si, ei] = ['type', 'name', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f));
  const ef = meta.edge_fields.length;
  const [eti, eni, eto] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f));
  const types = meta.node_types[0];
  const etypes = meta.edge_types[0];
  const count = s.nodes.length / nf;
  const props = new Array(count);
  const parent = new Int32Array(count).fill(-1);
  for (let j = 0, e = 0; j < count; j++) {
    const names = [];
    for (let k = 0; k < s.nodes[j * nf + ei]; k++, e += ef) {
      const et = etypes[s.edges[e + eti]];
      if (et === 'property') names.push(s.strings[s.edges[e + eni]]);
      const to = s.edges[e + eto] / nf;
      if (parent[to] < 0 && et !== 'weak' && et !== 'shortcut') parent[to] = j;
    }
    props[j] = names.filter((x) => !x.startsWith('__')).slice(0, 8);
  }
  const label = (j) => {
    const t = types[s.nodes[j * nf + ti]];
    const name = s.strings[s.nodes[j * nf + ni]];
    return `${t}:${t === 'object' ? `${name}{${props[j].join(',')}}` : name}`.slice(0, 80);
  };
  const out = new Map();
  for (let j = 0; j < count; j++) {
    const t = types[s.nodes[j * nf + ti]];
    const name = s.strings[s.nodes[j * nf + ni]];
    const byParent = t.endsWith('string') || t === 'array' || (t === 'object' && name === 'Array');
    const key = byParent ? `${t} in ${parent[j] >= 0 ? label(parent[j]) : '?'}` : label(j);
    const g = out.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += s.nodes[j * nf + si];
    out.set(key, g);
  }
  return out;
}

function print(title, from, to, n) {
  const rows = [];
  for (const [k, g] of to) {
    const f = from.get(k) ?? { count: 0, bytes: 0 };
    rows.push({ k, count: g.count - f.count, perRs: (g.bytes - f.bytes) / n });
  }
  rows.sort((x, y) => y.perRs - x.perRs);
  const total = rows.reduce((t, r) => t + r.perRs, 0);
  process.stdout.write(`== ${title}: ${total.toFixed(0)} B per real server\n`);
  for (const r of rows.slice(0, TOP)) process.stdout.write(`${r.perRs.toFixed(1).padStart(8)} B  ${String(r.count).padStart(7)} x  ${r.k}\n`);
}
