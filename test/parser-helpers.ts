// Shared helpers for the parser tests: temp dirs, compact tree dumps, keepalived runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ConfNode, ParseOptions, ParseResult } from '../src/parser/ast.js';
import { parseConfig } from '../src/parser/index.js';

export class TempDir {
  readonly path: string;
  constructor(prefix = 'tkp-parser-') {
    this.path = mkdtempSync(join(tmpdir(), prefix));
  }
  write(rel: string, content: string | Buffer, mode?: number): string {
    const p = join(this.path, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content, mode === undefined ? undefined : { mode });
    return p;
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** every node, depth-first in order, with its depth (iterative: any depth) */
export function walk(nodes: ConfNode[], visit: (n: ConfNode, depth: number) => void): void {
  const stack: { nodes: ConfNode[]; i: number; depth: number }[] = [{ nodes, i: 0, depth: 0 }];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top.i >= top.nodes.length) {
      stack.pop();
      continue;
    }
    const n = top.nodes[top.i++]!;
    visit(n, top.depth);
    if (n.children) stack.push({ nodes: n.children, i: 0, depth: top.depth + 1 });
  }
}

/** "line keyword args..." for every node, depth-first, children indented by two spaces */
export function dump(nodes: ConfNode[]): string[] {
  const out: string[] = [];
  walk(nodes, (n, depth) => out.push(`${'  '.repeat(depth)}${n.loc.line} ${[n.keyword, ...n.args].join('|')}`));
  return out;
}

/** keywords only, flattened */
export function words(nodes: ConfNode[]): string[] {
  return dump(nodes).map((l) => l.trim().replace(/^\d+ /, ''));
}

export function parseText(text: string | Buffer, opts: ParseOptions = {}, name = 'keepalived.conf'): ParseResult & { dir: TempDir } {
  const dir = new TempDir();
  dir.write(name, text);
  try {
    const r = parseConfig(name, { configId: 'main', cwd: dir.path, ...opts });
    return { ...r, dir };
  } finally {
    dir.remove();
  }
}

/** parse with and without the fast path; both must agree */
export function parseBoth(text: string | Buffer, opts: ParseOptions = {}): ParseResult {
  const a = parseText(text, opts);
  const b = parseText(text, { ...opts, disableFastPath: true });
  const da = canon(a);
  const db = canon(b);
  if (da !== db) throw new Error(`fast path and general path differ:\n${da}\n${db}`);
  return a;
}

/** a full, order-preserving text form of a result (iterative: any depth) */
export function canon(r: ParseResult): string {
  const out: string[] = [];
  walk(r.nodes, (n, depth) => out.push(JSON.stringify([depth, n.keyword, n.args, n.text, n.loc, n.openLoc ?? null, n.endLoc ?? null, !!n.children])));
  return out.join('\n') + '\n' + JSON.stringify(r.diagnostics);
}

export function diagTexts(r: ParseResult): string[] {
  return r.diagnostics.map((d) => `${d.line} ${d.message}`);
}

// ------------------------------------------------------------------ keepalived oracle

export const haveKeepalived = existsSync('/usr/sbin/keepalived') && process.getuid?.() === 0;

export interface KeepalivedRun {
  rc: number;
  lines: string[];
}

/** keepalived -t -f FILE inside a throwaway network namespace (cwd = dir) */
export function keepalivedTest(dir: string, file: string, extra: string[] = []): KeepalivedRun {
  const ns = `tkp-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  spawnSync('ip', ['netns', 'add', ns]);
  try {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'keepalived', '-t', ...extra, '-f', file], {
      cwd: dir,
      encoding: 'latin1',
      timeout: 20_000,
    });
    const text = (r.stderr ?? '') + (r.stdout ?? '');
    return { rc: r.status ?? -1, lines: text.split('\n').filter((l) => l !== '') };
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

/** the child-process messages ("(FILE: Line N) msg") as a sorted unique list "FILE:N msg" */
export function childMessages(run: KeepalivedRun): string[] {
  const set = new Set<string>();
  for (const l of run.lines) {
    const m = /^\((.+?): Line (\d+)\) (.*)$/.exec(l);
    if (m) set.add(`${m[1]}:${m[2]} ${m[3]}`);
    else if (!l.startsWith('(')) set.add(l);
  }
  return [...set].sort();
}

/**
 * What keepalived's children print for a config whose keywords are all unknown at the top
 * level: every node "Unknown keyword", a block's '{' "Unexpected '{' - ignoring", its '}'
 * "Unknown keyword '}'" (all at keyword level 0), plus the parser's own diagnostics.
 */
export function emulateUnknownTopLevel(r: ParseResult): string[] {
  const set = new Set<string>();
  const walk = (nodes: ConfNode[]): void => {
    for (const n of nodes) {
      set.add(`${n.loc.file}:${n.loc.line} Unknown keyword '${n.keyword}'`);
      if (n.children) {
        set.add(`${n.openLoc!.file}:${n.openLoc!.line} Unexpected '{' - ignoring`);
        walk(n.children);
        if (n.endLoc) set.add(`${n.endLoc.file}:${n.endLoc.line} Unknown keyword '}'`);
      }
    }
  };
  walk(r.nodes);
  for (const d of r.diagnostics) {
    if (d.severity === 'info') continue;
    set.add(d.keepalivedText?.startsWith('(') ? `${d.file}:${d.line} ${d.message}` : d.message);
  }
  return [...set].sort();
}
