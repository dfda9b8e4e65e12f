#!/usr/bin/env node
// Build step after tsc: the command line (cli/main) with the config test and everything it
// imports statically (parser and config model, about 40 files) as one CommonJS file,
// dist/src/cli/main.bundle.cjs, which bin/tskeepalived loads when it is there. Node's ES module
// loader resolves, reads and links each file separately, and starting the loader at all costs
// about 12 ms here: a config test of a large configuration loads about 35 ms faster this way.
// The daemon and its engines stay separate ES modules, imported when the daemon starts.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist/src/cli/main.bundle.cjs');
rmSync(outfile, { force: true });

let build;
try {
  ({ build } = await import('esbuild'));
} catch (e) {
  // not fatal: bin/tskeepalived then loads the separate ES modules (slower to start)
  process.stderr.write(`bundle: esbuild unavailable (${e.message}); the CLI runs from dist/ modules\n`);
  process.exit(0);
}

await build({
  entryPoints: [join(root, 'dist/src/cli/main.js')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: [
    // the daemon: ES modules, loaded by import() relative to dist/src/cli/ as from main.js
    '../daemon/run.js',
    // --signum=JSON / STATS_CLEAR: SIGRTMIN / SIGRTMAX from the native addon, loaded as from main.js
    '../native/signals.js',
    // loaded lazily, only for ~SEQ expressions (src/parser/generator-grammar.ts)
    'chevrotain',
  ],
  // import.meta.url of the modules bundled (to find chevrotain): this file's URL
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "var __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
