// parseConfig(): keepalived.conf (and its includes) -> ConfNode tree + diagnostics.
//
// keepalived reads the configuration twice: the parent process reads the files (following
// includes) and writes a decommented "consolidated copy"; the VRRP and checker processes,
// which build the configuration, parse that copy. Both passes are modelled here and run
// interleaved (the child pass pulls copy lines from the parent pass as it needs them), so
// memory stays bounded by the tree. Diagnostics come from the pass keepalived reports
// them in: include/file problems from the parent, everything else from the child.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Diagnostic, DiagnosticCode, Severity } from './diagnostic.js';
import type { ConfNode, ParseOptions, ParseResult } from './ast.js';
import { CopySource } from './copy-source.js';
import { FileStack, INCLUDE_ALL, INCLUDE_B, INCLUDE_M, INCLUDE_R, INCLUDE_W } from './file-stack.js';
import { glob } from './glob.js';
import { isIncludeLine, LineReader } from './reader.js';
import { MAX_NODES, TreeBuilder } from './tree.js';
import { tokenize } from './tokenize.js';
import { FastPath, ParentScope } from './fast-path.js';
import type { PhysicalRead } from './physical.js';
import { includeCheckSet } from './include-check.js';

export type { ConfNode, ParseOptions, ParseResult } from './ast.js';

export function defaultConfigId(): string {
  const h = hostname();
  const dot = h.indexOf('.');
  return dot === -1 ? h : h.slice(0, dot);
}

function formatWhere(file: string | null, line: number, message: string): string {
  if (file !== null) return `(${file}: Line ${line}) ${message}`;
  if (line) return `(Line ${line}) ${message}`;
  return message;
}

export function parseConfig(path: string, opts: ParseOptions = {}): ParseResult {
  const configId = opts.configId ?? defaultConfigId();
  const cwd = resolve(opts.cwd ?? process.cwd());
  const diagnostics: Diagnostic[] = [];
  const diag = (severity: Severity, message: string, file: string | null, line: number, bare = false, code?: DiagnosticCode): void => {
    const d: Diagnostic = {
      severity,
      message,
      file: file ?? path,
      line,
      keepalivedText: bare ? message : formatWhere(file, line, message),
    };
    if (code) d.code = code;
    diagnostics.push(d);
  };

  // keepalived's check_conf_file(): the top file must be exactly one readable regular file
  const top = checkTopFile(path, cwd, diag);
  if (top !== null) return { nodes: [], diagnostics, files: [], stopRc: top };

  let fileError = false;
  const files = new FileStack(cwd, path, {
    fileError(message, isError, where) {
      if (isError) fileError = true;
      diag(isError ? 'fatal' : 'info', message, where.file, where.line);
    },
  });
  if (opts.includeCheckAll) files.includeCheck = INCLUDE_ALL;

  // ---- parent pass: follows includes, writes the copy, tracks include_check
  let pushback: PhysicalRead | null = null;
  const parent = new LineReader(
    {
      read: () => {
        if (pushback !== null) {
          const r = pushback;
          pushback = null;
          return r;
        }
        return files.read();
      },
      decommented: (text) => {
        files.copy.push(isIncludeLine(text) >= 0 ? '' : text);
      },
      emptyLine: () => {
        files.copy.push('');
      },
      include: (buf) => {
        const off = isIncludeLine(buf);
        if (off < 0) return false;
        let p = off;
        while (buf.charCodeAt(p) === 32 || buf.charCodeAt(p) === 9) p++;
        files.openGlob(buf.slice(p), includeType(buf));
        return true;
      },
      cwd: () => files.cwd,
    },
    configId,
    () => {},
  );
  const scope = new ParentScope();
  let parentDone = false;
  const pullParent = (): boolean => {
    if (parentDone) return false;
    const line = parent.next();
    if (line === null) {
      parentDone = true;
      files.closeAll();
      return false;
    }
    if (scope.line(line)) files.includeCheck = includeCheckSet(files.includeCheck, tokenize(line).words);
    return true;
  };

  if (!files.openGlob(path, INCLUDE_R | INCLUDE_M | INCLUDE_W)) {
    const w = files.where();
    diag(fileError ? 'fatal' : 'info', 'Failed to open configuration file', w.file, w.line);
    return { nodes: [], diagnostics, files: files.files, stopRc: fileError ? 6 : 0 };
  }

  // ---- child pass: reads the copy and builds the tree
  const copySource = new CopySource(files.copy, pullParent, path, cwd);
  const childDiag = (message: string, severity: Severity, code?: DiagnosticCode): void => {
    const w = copySource.where();
    diag(severity, message, w.file, w.line, false, code);
  };
  const child = new LineReader(copySource, configId, childDiag);
  const tree = new TreeBuilder((message, severity, loc, code) => diag(severity, message, loc.file, loc.line, false, code), opts.onRoot);
  const fastOn = !opts.disableFastPath;
  const fast = new FastPath(tree, child, copySource, scope);
  let tooBig = false;
  for (;;) {
    if (tree.stopped) break;
    if (tree.count >= MAX_NODES) {
      const last = tree.lastLoc;
      diag('fatal', `configuration too large: more than ${MAX_NODES} lines - stopped reading`, last?.file ?? path, last?.line ?? 0);
      tooBig = true;
      break;
    }
    if (fastOn && pushback === null && !parentDone && child.isIdle() && copySource.drainMarkers()) {
      // let the parent pass finish what it holds (a '{' or '}' split off a line, ...)
      while (!parent.isIdle() && !parentDone && copySource.isEmpty()) pullParent();
    }
    if (fastOn && pushback === null && !parentDone && child.isIdle() && parent.isIdle() && copySource.drainMarkers()) {
      // plain lines in a row: the fast path changes none of the states just checked
      let r = files.read();
      while (r !== null) {
        if (!copySource.drainMarkers() || !fast.line(r.src, r.start, r.end)) {
          pushback = { text: r.text, newline: r.newline };
          break;
        }
        if (tree.stopped || tree.count >= MAX_NODES) break;
        r = files.read();
      }
      if (r !== null && pushback === null) continue;
    }
    const line = child.next();
    if (line === null) break;
    const w = copySource.where();
    tree.line(line, { file: w.file, line: w.line });
  }
  if (!tree.stopped) tree.finish();
  if (tree.stopped) {
    files.closeAll();
    return { nodes: [], diagnostics, files: files.files, streamStopped: true };
  }
  if (tooBig) files.closeAll();
  else if (child.blockDepth > 0) {
    // keepalived prints it without a location (all files are closed); we give the last line
    const last = tree.lastLoc;
    diag('error', `There are ${child.blockDepth} missing '}'s or extra '{'s`, last?.file ?? path, last?.line ?? 0, true, 'BLOCK_UNCLOSED');
  }
  const result: ParseResult = { nodes: tree.roots as ConfNode[], diagnostics, files: files.files };
  if (fileError) result.stopRc = 6;
  return result;
}

function includeType(buf: string): number {
  switch (buf[7]) {
    case 'r':
      return INCLUDE_R;
    case 'a':
      return INCLUDE_R | INCLUDE_M | INCLUDE_B | INCLUDE_W;
    case 'w':
      return INCLUDE_R | INCLUDE_M | INCLUDE_W;
    case 'm':
      return INCLUDE_R | INCLUDE_M;
    case 'b':
      return INCLUDE_R | INCLUDE_B;
    default:
      return 0;
  }
}

/** keepalived's check_conf_file(); returns the exit code when keepalived -t stops here */
function checkTopFile(path: string, cwd: string, diag: (s: Severity, m: string, f: string | null, l: number) => void): number | null {
  const g = glob(path, cwd);
  if (g.paths.length === 0) {
    if (g.missingFiles || g.missingDirs) diag('info', `Config files missing '${path}'.`, null, 0);
    return 0;
  }
  let ok = true;
  let count = 0;
  for (const p of g.paths) {
    if (p.endsWith('/')) {
      diag('info', `Configuration file '${p}' is a directory - skipping`, null, 0);
      ok = false;
      continue;
    }
    if (!isRegularNonExec(resolve(cwd, p))) {
      diag('info', `Configuration file '${p}' is not a regular non-executable file - skipping`, null, 0);
      ok = false;
      continue;
    }
    count++;
  }
  if (!ok) return 0;
  if (count > 1) {
    diag('warning', `WARNING, multiple configuration file matches of ${path}, starting with ${g.paths[0]}`, null, 0);
  }
  return null;
}

import { statSync } from 'node:fs';
function isRegularNonExec(abs: string): boolean {
  try {
    const st = statSync(abs);
    return st.isFile() && (st.mode & 0o111) === 0;
  } catch {
    return false;
  }
}

export { INCLUDE_B };
