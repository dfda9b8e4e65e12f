#!/usr/bin/env node
// Build step after tsc: the config test's modules (cli/check-config and everything it imports
// statically: parser and config model, about 40 files) as one ES module. Node's ES module
// loader resolves, reads and links each file separately; one file loads in about half the time,
// which is a tenth of `tskeepalived -t` on a large configuration. cli/main.ts loads the bundle
// when it is there and the separate modules otherwise.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: [join(root, 'dist/src/cli/check-config.js')],
  outfile: join(root, 'dist/src/cli/check-config.bundle.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // loaded lazily, only for ~SEQ expressions (src/parser/generator-grammar.ts)
  external: ['chevrotain'],
  logLevel: 'warning',
});
