// A glob(3) work-alike for keepalived's include patterns: GLOB_BRACE | GLOB_MARK, with the
// counters keepalived gets from GLOB_ALTDIRFUNC (missing files / directories, wildcards seen).
// Each brace alternative is matched and sorted on its own; results keep the pattern's form
// (relative patterns give relative paths), resolved against `cwd`.
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

export interface GlobResult {
  paths: string[];
  missingFiles: number;
  missingDirs: number;
  haveWildcards: boolean;
}

/** Expand {a,b} alternatives (nested, with backslash escapes); invalid braces stay literal. */
export function expandBraces(pattern: string): string[] {
  const open = findUnescaped(pattern, '{', 0);
  if (open === -1) return [pattern];
  let depth = 0;
  const commas: number[] = [];
  let close = -1;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) {
        close = i;
        break;
      }
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  if (close === -1) return [pattern];
  const prefix = pattern.slice(0, open);
  const suffix = pattern.slice(close + 1);
  const out: string[] = [];
  let s = open + 1;
  for (const cut of [...commas, close]) {
    for (const alt of expandBraces(prefix + pattern.slice(s, cut) + suffix)) out.push(alt);
    s = cut + 1;
  }
  return out;
}

function findUnescaped(s: string, ch: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === ch) return i;
  }
  return -1;
}

export function hasMagic(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

function unescapeGlob(s: string): string {
  return s.includes('\\') ? s.replace(/\\(.)/g, '$1') : s;
}

/** fnmatch() of one path component, with FNM_PERIOD (a leading '.' must be explicit). */
export function componentRegExp(pat: string): RegExp {
  let re = '^';
  for (let i = 0; i < pat.length; i++) {
    const c = pat[i]!;
    if (c === '\\' && i + 1 < pat.length) re += escapeRe(pat[++i]!);
    else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      let j = i + 1;
      let negate = false;
      if (pat[j] === '!' || pat[j] === '^') {
        negate = true;
        j++;
      }
      let body = '';
      let first = true;
      while (j < pat.length && (pat[j] !== ']' || first)) {
        const d = pat[j]!;
        body += d === '\\' || d === ']' || d === '[' || d === '^' ? '\\' + d : d;
        first = false;
        j++;
      }
      if (j >= pat.length) re += '\\[';
      else {
        re += (negate ? '[^' : '[') + body + ']';
        i = j;
      }
    } else re += escapeRe(c);
  }
  return new RegExp(re + '$', 's');
}

function escapeRe(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? '\\' + c : c;
}

function isDir(abs: string): boolean {
  try {
    return statSync(abs).isDirectory();
  } catch {
    return false;
  }
}

export function glob(pattern: string, cwd: string): GlobResult {
  const res: GlobResult = { paths: [], missingFiles: 0, missingDirs: 0, haveWildcards: false };
  for (const alt of expandBraces(pattern)) {
    const found = globOne(alt, cwd, res);
    found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const f of found) res.paths.push(f);
  }
  return res;
}

function globOne(pattern: string, cwd: string, res: GlobResult): string[] {
  if (pattern === '') return [];
  if (!hasMagic(pattern)) {
    const plain = unescapeGlob(pattern);
    const abs = resolve(cwd, plain);
    try {
      lstatSync(abs);
    } catch {
      res.missingFiles++;
      return [];
    }
    return [isDir(abs) && !plain.endsWith('/') ? plain + '/' : plain];
  }
  const absolute = pattern.startsWith('/');
  const parts = pattern.split('/').filter((p, i) => p !== '' || i === 0);
  let prefixes: string[] = [absolute ? '/' : ''];
  if (absolute) parts.shift();
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const prefix of prefixes) {
      if (!hasMagic(part)) {
        const cand = prefix + unescapeGlob(part);
        if (last) {
          try {
            lstatSync(resolve(cwd, cand));
            next.push(cand);
          } catch {
            res.missingFiles++;
          }
        } else next.push(cand + '/');
        continue;
      }
      res.haveWildcards = true;
      let names: string[];
      try {
        names = readdirSync(resolve(cwd, prefix === '' ? '.' : prefix));
      } catch {
        res.missingDirs++;
        continue;
      }
      const re = componentRegExp(part);
      const dotOk = part.startsWith('.');
      for (const name of names) {
        if (name.startsWith('.') && !dotOk) continue;
        if (!re.test(name)) continue;
        const cand = prefix + name;
        if (last) next.push(cand);
        else if (isDir(resolve(cwd, cand))) next.push(cand + '/');
      }
    }
    prefixes = next;
  }
  return prefixes.map((p) => (!p.endsWith('/') && isDir(resolve(cwd, p)) ? p + '/' : p));
}
