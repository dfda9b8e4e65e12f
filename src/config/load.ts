// loadConfig = parse + build + validate. Never throws for bad input: every problem is a Diagnostic.
import { readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseConfig } from '../parser/index.js';
import { buildConfig, emptyConfig } from './build.js';
import { BuildContext } from './context.js';
import type { Diagnostic, KeepalivedConfig } from './model.js';
import { validateChecker, validateParent, validateVrrp } from './validate.js';

export interface LoadOptions {
  /** for @ID conditionals and ${_INSTANCE}; default: host name up to the first '.' */
  configId?: string;
  /** directory the path resolves against; default process.cwd() */
  cwd?: string;
  /** check interface names against the running system (/sys/class/net); default true */
  checkInterfaces?: boolean;
  /** the interface names to check against (overrides /sys/class/net; for tests) */
  interfaces?: Iterable<string>;
}

export interface LoadResult {
  config: KeepalivedConfig;
  diagnostics: Diagnostic[];
}

export function systemInterfaces(): Set<string> {
  try {
    return new Set(readdirSync('/sys/class/net'));
  } catch {
    return new Set();
  }
}

export function defaultConfigId(): string {
  const h = hostname();
  const dot = h.indexOf('.');
  return dot >= 0 ? h.slice(0, dot) : h;
}

export function loadConfig(path: string, opts: LoadOptions = {}): LoadResult {
  const cwd = opts.cwd ?? process.cwd();
  const abs = resolve(cwd, path);
  const configId = opts.configId ?? defaultConfigId();
  const config = emptyConfig(abs, configId);
  const fileDiag = (message: string): LoadResult => ({
    config,
    diagnostics: [{ severity: 'fatal', message, file: path }],
  });
  try {
    const st = statSync(abs);
    if (st.isDirectory()) return fileDiag(`Configuration file '${path}' is a directory - skipping`);
  } catch {
    return fileDiag(`Config files missing '${path}'.`);
  }
  const interfaces = opts.checkInterfaces === false ? undefined : opts.interfaces ? new Set(opts.interfaces) : systemInterfaces();
  const ctx = new BuildContext(abs, interfaces);
  const diagnostics: Diagnostic[] = [];
  try {
    const parsed = parseConfig(abs, { configId, cwd });
    diagnostics.push(...parsed.diagnostics);
    const state = buildConfig(ctx, parsed.nodes, config);
    validateParent(ctx, config);
    validateChecker(ctx, config, state);
    validateVrrp(ctx, config, state);
  } catch (e) {
    // a bug of ours must still not crash a config check: report it as a fatal diagnostic
    ctx.fatal(undefined, `internal error while reading the configuration: ${e instanceof Error ? e.message : String(e)}`);
  }
  diagnostics.push(...ctx.diagnostics());
  return { config, diagnostics };
}

/** keepalived -t exit code from diagnostics: 6 security, 5 errors/warnings, 4 fatal only, else 0. */
export function exitCodeFor(diagnostics: Diagnostic[]): number {
  let code = 0;
  for (const d of diagnostics) {
    if (d.severity === 'security') return 6;
    if (d.severity === 'error' || d.severity === 'warning') code = 5;
    else if (d.severity === 'fatal' && code === 0) code = 4;
  }
  return code;
}
