// $NAME=VALUE definitions and their substitution (keepalived's check_definition /
// find_definition / replace_param), including the built-ins and multiline values.

export const MAXBUF = 1024;
/** separator of the lines of a multiline definition value */
export const DEF_LINE_END = '\n';
/** guards against definitions that refer to each other forever ($A=$B, $B=$A) */
const MAX_REPLACEMENTS_PER_LINE = 10_000;

export interface Definition {
  name: string;
  value: string;
  multiline: boolean;
  /** built-in computed value (_PWD, _INSTANCE, _RANDOM) */
  fn?: (params: string | null) => string;
  maxParams: number;
}

export interface MultilinePtr {
  value: string;
  pos: number;
}

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isNameChar(c: number): boolean {
  return isAlpha(c) || isDigit(c) || c === 95;
}

export interface DefinitionHooks {
  cwd(): string;
  configId(): string;
}

export class Definitions {
  private readonly defs = new Map<string, Definition>();

  constructor(hooks: DefinitionHooks) {
    this.addBuiltin('_PWD', () => hooks.cwd(), 0);
    this.addBuiltin('_INSTANCE', () => hooks.configId(), 0);
    this.addBuiltin('_RANDOM', randomValue, 2);
    this.defs.set('_HASH', { name: '_HASH', value: '#', multiline: false, maxParams: 0 });
    this.defs.set('_BANG', { name: '_BANG', value: '!', multiline: false, maxParams: 0 });
  }

  private addBuiltin(name: string, fn: (p: string | null) => string, maxParams: number): void {
    this.defs.set(name, { name, value: '', multiline: false, fn, maxParams });
  }

  get(name: string): Definition | undefined {
    return this.defs.get(name);
  }

  /** set_definition(): used by ~SEQ / ~LST for their variables */
  set(name: string, value: string): void {
    const def = this.defs.get(name);
    if (def) {
      def.value = value;
      def.fn = undefined;
      def.multiline = false;
    } else this.defs.set(name, { name, value, multiline: false, maxParams: 0 });
  }

  /**
   * check_definition(): if `line` is `$NAME=VALUE`, store it and return the definition
   * (multiline when VALUE ends with '\'); otherwise null.
   */
  define(line: string): Definition | null {
    if (line.charCodeAt(0) !== 36) return null;
    const c1 = line.charCodeAt(1);
    if (!isAlpha(c1) && c1 !== 95) return null;
    let p = 2;
    const n = line.length;
    for (; p < n; p++) {
      const c = line.charCodeAt(p);
      if (c === 61) break;
      if (!isNameChar(c)) return null;
    }
    if (p >= n) return null;
    const name = line.slice(1, p);
    p++;
    while (p < n && (line.charCodeAt(p) === 32 || line.charCodeAt(p) === 9)) p++;
    let value = line.slice(p);
    let multiline = false;
    if (value.length > 0 && value.charCodeAt(value.length - 1) === 92) {
      multiline = true;
      let len = value.length;
      while (len >= 2 && (value.charCodeAt(len - 2) === 32 || value.charCodeAt(len - 2) === 9)) len--;
      value = len < 2 ? '' : value.slice(0, len - 1) + DEF_LINE_END;
    }
    let def = this.defs.get(name);
    if (def) {
      def.value = value;
      def.multiline = multiline;
      def.fn = undefined;
    } else {
      def = { name, value, multiline, maxParams: 0 };
      this.defs.set(name, def);
    }
    return def;
  }

  /**
   * find_definition() for a reference starting at line[k] === '$'. Returns the
   * definition, the end of the reference text and the built-in parameters.
   */
  findRef(line: string, k: number, state: SubstState): RefMatch | null {
    const n = line.length;
    let p = k + 1;
    const braces = line.charCodeAt(p) === 123;
    if (braces) p++;
    const nameStart = p;
    const c0 = line.charCodeAt(p);
    if (!isAlpha(c0) && c0 !== 95) return null;
    p++;
    while (p < n && isNameChar(line.charCodeAt(p))) p++;
    const name = line.slice(nameStart, p);
    let params: string | null = null;
    let end: number;
    let allowMultiline: boolean;
    if (braces) {
      let ps = -1,
        pe = -1;
      while (p < n) {
        const c = line.charCodeAt(p);
        if (c === 32) {
          p++;
          continue;
        }
        if (!isDigit(c)) break;
        if (ps < 0) ps = p;
        pe = p;
        p++;
      }
      if (ps >= 0 && pe + 1 !== p) return null;
      if (line.charCodeAt(p) !== 125) return null;
      if (ps >= 0) params = line.slice(ps, pe + 1);
      end = p + 1;
      allowMultiline = p === nameStart + name.length && end === n;
    } else {
      if (p < n) {
        const c = line.charCodeAt(p);
        if (c !== 32 && c !== 9 && c !== 44 && c !== 41) return null;
      }
      end = p;
      allowMultiline = p === n;
    }
    const def = this.defs.get(name);
    if (!def) return null;
    if (def.multiline && !allowMultiline) return null;
    if (def.multiline && !state.multilineAllowed) return null;
    if (params !== null && def.maxParams === 0) return null;
    return { def, end, params };
  }

  /**
   * replace_param(): substitute every reference in `line`, rescanning replaced text.
   * `state.multiline` is the pending multiline expansion (read_line's next_ptr).
   */
  replace(line: string, state: SubstState, maxLen = MAXBUF): SubstResult {
    let cur = 0;
    let found = false;
    let nextPtr: MultilinePtr | null = null;
    let multilinePtr = state.multiline;
    let count = 0;
    for (;;) {
      const k = line.indexOf('$', cur);
      if (k === -1 || k + 1 >= line.length) break;
      const ref = this.findRef(line, k, state);
      if (!ref) {
        cur = k + 1;
        continue;
      }
      if (++count > MAX_REPLACEMENTS_PER_LINE) {
        return { text: line, changed: false, problem: 'loop' };
      }
      found = true;
      const def = ref.def;
      nextPtr = multilinePtr;
      if (def.multiline && multilinePtr) state.pushMultiline(multilinePtr);
      if (def.multiline) state.multilineStarted();
      let value = def.fn ? def.fn(ref.params) : def.value;
      if (def.fn) def.value = value;
      if (def.multiline) {
        const nl = value.indexOf(DEF_LINE_END);
        const first = nl === -1 ? value : value.slice(0, nl);
        nextPtr = { value, pos: nl === -1 ? value.length : nl + 1 };
        multilinePtr = nextPtr;
        value = first;
      }
      const newLen = line.length - (ref.end - k) + value.length;
      if (newLen >= maxLen) {
        return { text: line, changed: false, problem: 'too-long' };
      }
      line = line.slice(0, k) + value + line.slice(ref.end);
      cur = k;
      let b = 0;
      const dv = def.value;
      while (b < dv.length && (dv.charCodeAt(b) === 32 || dv.charCodeAt(b) === 9)) b++;
      if (dv.charCodeAt(b) === 126) break;
    }
    if (found) state.multiline = nextPtr;
    return { text: line, changed: found, problem: null };
  }
}

export interface RefMatch {
  def: Definition;
  end: number;
  params: string | null;
}

export interface SubstState {
  multiline: MultilinePtr | null;
  /** false: multiline definitions are not expanded (after a runaway self-reference) */
  multilineAllowed: boolean;
  pushMultiline(p: MultilinePtr): void;
  multilineStarted(): void;
}

export interface SubstResult {
  text: string;
  changed: boolean;
  problem: 'too-long' | 'loop' | null;
}

function randomValue(params: string | null): string {
  let min = 0;
  let max = 32767;
  if (params !== null) {
    const parts = params.split(/ +/);
    min = Number.parseInt(parts[0]!, 10);
    if (parts.length > 1) max = Number.parseInt(parts[1]!, 10);
  }
  if (!(max >= min)) max = min;
  return String(min + Math.floor(Math.random() * (max - min + 1)));
}
