// Build context: collects diagnostics in keepalived's order (parent pass, checker, vrrp, bfd).
import type { ConfNode } from '../parser/ast.js';
import type { DiagnosticCode } from '../parser/diagnostic.js';
import type { Diagnostic, Severity, SourceLoc } from './model.js';
import { ScriptUsers } from './script-users.js';

/**
 * Enter network namespace NAME (or check that the process is in it) and give its interface
 * names (none: do not check them), or why it cannot be entered.
 */
export type NamespaceHook = (name: string) => { interfaces?: Iterable<string> } | { error: string };

/** keepalived reads the config in several passes; messages are printed pass by pass. */
export enum Pass {
  Parent = 0,
  Checker = 1,
  Vrrp = 2,
  Bfd = 3,
}

export class BuildContext {
  private readonly byPass: Diagnostic[][] = [[], [], [], []];
  pass: Pass = Pass.Parent;
  readonly scripts = new ScriptUsers();
  /** set when a configured interface does not exist (keepalived: CONFIG_BAD_IF at the end) */
  missingInterface = false;
  /** -s NAME: overrides net_namespace */
  namespaceOverride?: string;
  /** enters the network namespace (see LoadOptions.enterNamespace) */
  enterNamespace?: NamespaceHook;
  /** names of track_group blocks (static addresses, routes and rules may refer to them) */
  trackGroups = new Set<string>();

  constructor(
    readonly topFile: string,
    /** interface names of the running system; undefined = do not check */
    public interfaces: Set<string> | undefined,
  ) {}

  report(severity: Severity, message: string, at?: ConfNode | SourceLoc, code?: DiagnosticCode): void {
    const loc = at === undefined ? undefined : 'loc' in at ? at.loc : at;
    // whole-config checks have no line (keepalived prints none); they still name the file
    const d: Diagnostic = { severity, message, file: loc ? loc.file : this.topFile };
    if (code) d.code = code;
    if (loc) {
      d.line = loc.line;
      // keepalived's parent process names no file for lines of the top file itself
      if (this.pass === Pass.Parent && loc.file === this.topFile) d.keepalivedText = `(Line ${loc.line}) ${message}`;
    }
    (this.diverted ?? this.byPass[this.pass]).push(d);
  }

  private diverted: Diagnostic[] | undefined;

  /** while `to` is set, messages go there instead (undefined: back to the pass's list) */
  divert(to: Diagnostic[] | undefined): void {
    this.diverted = to;
  }

  /** messages collected elsewhere (see divert), appended to the current pass's list in order */
  append(ds: readonly Diagnostic[]): void {
    const list = this.byPass[this.pass];
    for (let i = 0; i < ds.length; i++) list.push(ds[i]!);
  }

  error(at: ConfNode | SourceLoc | undefined, message: string, code?: DiagnosticCode): void {
    this.report('error', message, at, code);
  }

  warning(at: ConfNode | SourceLoc | undefined, message: string): void {
    this.report('warning', message, at);
  }

  info(at: ConfNode | SourceLoc | undefined, message: string): void {
    this.report('info', message, at);
  }

  fatal(at: ConfNode | SourceLoc | undefined, message: string): void {
    this.report('fatal', message, at);
  }

  /**
   * true when the interface exists (or interfaces are not checked). A missing interface makes
   * keepalived end its VRRP checks with "Non-existent interface specified in configuration".
   */
  hasInterface(name: string): boolean {
    if (this.interfaces === undefined || this.interfaces.has(name)) return true;
    this.missingInterface = true;
    return false;
  }

  diagnostics(): Diagnostic[] {
    return this.byPass.flat();
  }
}
