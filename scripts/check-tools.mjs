#!/usr/bin/env node
// Checks, before anything runs, that the commands a use needs are installed (scripts/tools.tsv) and,
// for uses that build network namespaces, that we are root. Prints one line per missing tool with the
// command that installs it and exits 1; prints nothing and exits 0 when all is there.
//   node scripts/check-tools.mjs USE [--root]     USE: a use named in tools.tsv (test, demo, bench:failover, ...);
//                                                 --root: the use builds network namespaces, so it needs root
// TSK_SKIP_TOOL_CHECK=1 runs anyway (the tests that need a missing tool then skip, each saying why).
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const SYSTEM_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

/** @returns {{ command: string, pkg: string, uses: string[] }[]} */
export function readTools(file = join(here, 'tools.tsv')) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => {
      const [command, pkg, uses = ''] = l.split('\t');
      return { command, pkg, uses: uses.split(/\s+/).filter(Boolean) };
    });
}

export function findCommand(command, path = process.env.PATH ?? '') {
  for (const dir of [...path.split(delimiter).filter(Boolean), ...SYSTEM_DIRS]) {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The problems for one use, each one line: a missing tool and how to install it, or not being root. */
export function missingFor(use, { needRoot = false, root = process.getuid?.() === 0 } = {}) {
  const lines = [];
  const missing = readTools().filter((t) => t.uses.includes(use) && !findCommand(t.command));
  const pkgs = [...new Set(missing.map((t) => t.pkg))];
  for (const t of missing) lines.push(`missing: ${t.command} (Debian package ${t.pkg}): install it with  apt-get install ${t.pkg}`);
  if (pkgs.length > 1) lines.push(`all at once: npm run setup   (as root; or apt-get install ${pkgs.join(' ')})`);
  else if (pkgs.length === 1) lines.push('or: npm run setup   (as root: installs every package in scripts/tools.tsv that is missing)');
  if (needRoot && !root)
    lines.push(
      `not root: ${use === 'test' ? 'the tests build' : `'npm run ${use}' builds`} network namespaces; run it as root (sudo npm ${use === 'test' ? 'test' : `run ${use}`})`,
    );
  return lines;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const use = process.argv[2] ?? 'test';
  if (process.env.TSK_SKIP_TOOL_CHECK === '1') process.exit(0);
  const lines = missingFor(use, { needRoot: process.argv.includes('--root') });
  if (lines.length > 0) {
    process.stderr.write(`${use === 'test' ? 'npm test' : `npm run ${use}`}: cannot start, something it needs is not here:\n`);
    for (const l of lines) process.stderr.write(`  ${l}\n`);
    process.stderr.write('  (TSK_SKIP_TOOL_CHECK=1 runs anyway; what needs a missing tool is then skipped or fails)\n');
    process.exit(1);
  }
}
