// The parent pass's stack of open configuration files (keepalived's include_stack):
// glob matches of each include, file checks, directory changes, include_check levels,
// and the consolidated copy it writes for the child pass.
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PhysicalFile, type RawRead } from './physical.js';
import { glob } from './glob.js';

export const INCLUDE = 0;
export const INCLUDE_R = 1;
export const INCLUDE_M = 2;
export const INCLUDE_W = 4;
export const INCLUDE_B = 8;
export const INCLUDE_ALL = INCLUDE_R | INCLUDE_M | INCLUDE_W | INCLUDE_B;

/** tskeepalived bound: keepalived recurses until it runs out of file descriptors */
export const MAX_INCLUDE_DEPTH = 32;
/** tskeepalived bound on the number of files opened (a file including itself twice would never end) */
export const MAX_FILES_OPENED = 10_000;

interface Entry {
  pattern: string;
  matches: string[];
  nextMatch: number;
  includeType: number;
  savedIncludeCheck: number;
  numMatches: number;
  /** keepalived's current_file_name: set when more than one file is involved */
  displayName: string | null;
  path: string;
  lineNo: number;
  file: PhysicalFile | null;
  /** working directory to return to when this file ends (null: unchanged) */
  savedCwd: string | null;
}

export interface FileErrorSink {
  /** file_config_error(): `isError` when the include type / include_check makes it an error */
  fileError(message: string, isError: boolean, where: { file: string | null; line: number }): void;
}

export class FileStack {
  private readonly stack: Entry[] = [];
  cwd: string;
  includeCheck = 0;
  /** the consolidated copy written for the child pass */
  readonly copy: string[] = [];
  /** absolute paths of the files opened, in order */
  readonly files: string[] = [];
  private readonly topName: string;

  constructor(
    cwd: string,
    topName: string,
    private readonly sink: FileErrorSink,
  ) {
    this.cwd = cwd;
    this.topName = topName;
  }

  get depth(): number {
    return this.stack.length;
  }

  /** the location keepalived's report_config_error() would print */
  where(): { file: string | null; line: number } {
    let e = this.stack[this.stack.length - 1];
    if (e && e.displayName === null && this.stack.length > 1) e = this.stack[this.stack.length - 2];
    if (!e) return { file: null, line: 0 };
    return { file: e.displayName, line: e.lineNo };
  }

  currentPath(): string {
    const e = this.stack[this.stack.length - 1];
    return e ? e.path : this.topName;
  }

  private error(type: number, message: string): void {
    const top = this.stack[this.stack.length - 1];
    const isError = ((this.includeCheck | (top ? top.includeType : 0)) & type) !== 0;
    this.sink.fileError(message, isError, this.where());
    this.copy.push('#! ' + message);
  }

  /** open_glob_file(): returns false when nothing could be opened */
  openGlob(pattern: string, includeType: number): boolean {
    if (this.stack.length >= MAX_INCLUDE_DEPTH) {
      this.sink.fileError(`include depth exceeded (more than ${MAX_INCLUDE_DEPTH} levels) - not including '${pattern}'`, true, this.where());
      return false;
    }
    const entry: Entry = {
      pattern,
      matches: [],
      nextMatch: 0,
      includeType,
      savedIncludeCheck: this.includeCheck,
      numMatches: 0,
      displayName: null,
      path: '',
      lineNo: 0,
      file: null,
      savedCwd: null,
    };
    this.stack.push(entry);
    const g = glob(pattern, this.cwd);
    const check = this.includeCheck | includeType;
    const hasBrace = /(^|[^\\]){/.test(pattern);
    if (g.paths.length === 0) {
      if (g.missingFiles || g.missingDirs) {
        this.error(hasBrace ? INCLUDE_B : INCLUDE_M, `Config files missing '${pattern}'.`);
      } else if (g.haveWildcards && check & INCLUDE_W) {
        this.error(INCLUDE_W, `No config files matched '${pattern}'.`);
      }
      this.stack.pop();
      return false;
    }
    if (g.missingFiles || g.missingDirs) {
      this.error(INCLUDE_B, `Some config files missing: "${pattern}".`);
      if (check & INCLUDE_B) {
        this.stack.pop();
        return false;
      }
    }
    entry.matches = g.paths;
    if (!this.openNextMatch(entry)) {
      this.stack.pop();
      return false;
    }
    return true;
  }

  private openNextMatch(entry: Entry): boolean {
    while (entry.nextMatch < entry.matches.length) {
      const name = entry.matches[entry.nextMatch++]!;
      if (name.endsWith('/')) {
        this.error(INCLUDE_R, `Configuration file '${name}' is a directory - skipping`);
        continue;
      }
      const abs = resolve(this.cwd, name);
      let ok = false;
      try {
        const st = statSync(abs);
        ok = st.isFile() && (st.mode & 0o111) === 0;
      } catch {
        ok = false;
      }
      if (!ok) {
        this.error(INCLUDE_R, `Configuration file '${name}' is not a regular non-executable file - skipping`);
        continue;
      }
      const loop = this.stack.find((e) => e.file !== null && e.path === abs);
      if (loop) {
        this.sink.fileError(`include loop: '${name}' is already being read - not including it again`, true, this.where());
        continue;
      }
      if (this.files.length >= MAX_FILES_OPENED) {
        this.sink.fileError(`more than ${MAX_FILES_OPENED} configuration files opened - not including '${name}'`, true, this.where());
        continue;
      }
      let file: PhysicalFile;
      try {
        accessSync(abs, constants.R_OK);
        file = new PhysicalFile(abs);
      } catch (e) {
        const why = e instanceof Error && 'code' in e ? describeErrno(String((e as NodeJS.ErrnoException).code)) : String(e);
        this.error(INCLUDE_R, `Configuration file '${name}' open problem (${why}) - skipping`);
        continue;
      }
      this.copy.push('# ' + name);
      entry.file = file;
      entry.numMatches++;
      entry.path = abs;
      this.files.push(abs);
      if (this.stack.length > 1 || entry.matches.length > 1) entry.displayName = name;
      entry.lineNo = 0;
      if (name.includes('/')) {
        entry.savedCwd = this.cwd;
        this.cwd = dirname(abs);
      } else entry.savedCwd = null;
      return true;
    }
    return false;
  }

  private endFile(entry: Entry): void {
    entry.file?.close();
    entry.file = null;
    this.copy.push('!');
    this.includeCheck = entry.savedIncludeCheck;
    if (entry.savedCwd !== null) {
      this.cwd = entry.savedCwd;
      entry.savedCwd = null;
    }
  }

  /**
   * The next fgets() read of the current file, moving on to the next glob match or back
   * to the including file at end of file. null when every file is done.
   */
  read(): RawRead | null {
    for (;;) {
      const entry = this.stack[this.stack.length - 1];
      if (!entry) return null;
      const r = entry.file ? entry.file.next() : null;
      if (r) {
        if (r.newline) entry.lineNo++;
        return r;
      }
      this.endFile(entry);
      if (this.openNextMatch(entry)) continue;
      this.stack.pop();
    }
  }

  /** close everything (after an error) */
  closeAll(): void {
    for (const e of this.stack) e.file?.close();
    this.stack.length = 0;
  }
}

function describeErrno(code: string): string {
  switch (code) {
    case 'EACCES':
      return 'Permission denied';
    case 'ENOENT':
      return 'No such file or directory';
    case 'EMFILE':
      return 'Too many open files';
    case 'EISDIR':
      return 'Is a directory';
    default:
      return code;
  }
}
