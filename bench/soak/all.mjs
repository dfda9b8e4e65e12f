#!/usr/bin/env node
// `npm run bench:soak` (root): the five soak scenarios of issue 10, one after another, each with
// tskeepalived and keepalived 2.2.7 in the same run, then a table of how each ended.
//   node bench/soak/all.mjs [--quick] [--only a,b]
// Default: the figures (100 failovers per pair, 100 SIGHUPs, 100,000 datagrams, 10 minutes of
// flapping, a 30-minute long run: about 75 minutes in all). --quick: short runs of each (~12 minutes),
// for a check that the harness works, not for figures. Each scenario bounds itself in time and
// cleans up its own namespaces; see docs/reliability.md.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const quick = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt > 0 ? new Set(process.argv[onlyAt + 1].split(',')) : undefined;

const SCENARIOS = [
  ['failover-storm', [], ['--failovers', '20', '--advert', '0.5']],
  ['reload-storm', [], ['--sighups', '20', '--interval-ms', '300']],
  ['hostile-packets', [], ['--packets', '10000']],
  ['checker-faults', [], ['--minutes', '1', '--servers', '200']],
  ['long-run', [], ['--minutes', '3', '--real-servers', '200']],
];

const results = [];
for (const [name, full, short] of SCENARIOS) {
  if (only && !only.has(name)) continue;
  const args = [join(root, 'dist', 'bench', 'soak', `${name}.js`), ...(quick ? short : full)];
  process.stdout.write(`\n=== bench:soak ${name} ${args.slice(1).join(' ')}\n`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  results.push({ name, status: r.status ?? r.signal, seconds: Math.round((Date.now() - t0) / 1000) });
}
process.stdout.write('\n=== bench:soak: how each scenario ended (its own exit status: 0 when it completed with its goals met, see its figures above)\n');
for (const r of results) process.stdout.write(`  ${r.name.padEnd(16)} exit ${String(r.status).padEnd(4)} ${r.seconds} s\n`);
process.exitCode = results.every((r) => r.status === 0) ? 0 : 1;
