// loadConfig = parse + build + validate. Never throws for bad input: every problem is a Diagnostic.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultConfigId, parseConfig } from '../parser/index.js';
import type { BuildState } from './build-state.js';
import { ConfigBuild, emptyConfig } from './build.js';
import { BuildContext, type NamespaceHook } from './context.js';
import type { Diagnostic, KeepalivedConfig } from './model.js';
import type { ConfNode } from '../parser/ast.js';
import { validateChecker, validateParent, validateVrrp } from './validate.js';
import { validateBgp } from './build-bgp.js';

export interface LoadOptions {
  /** for @ID conditionals and ${_INSTANCE}; default: host name up to the first '.' */
  configId?: string;
  /** directory the path resolves against; default process.cwd() */
  cwd?: string;
  /** check interface names against the running system (/sys/class/net); default true */
  checkInterfaces?: boolean;
  /** the interface names to check against (overrides /sys/class/net; for tests) */
  interfaces?: Iterable<string>;
  /**
   * false: a config test that needs only the messages. Virtual servers are then checked as they
   * are read and not kept, so `config.virtualServers` may lack some or all of them; the messages
   * and exit code are the same. Default true.
   */
  keepVirtualServers?: boolean;
  /** -s NAME: the network namespace, overriding net_namespace (and set as `root.netNamespace`) */
  namespace?: string;
  /**
   * Called with the network namespace (net_namespace or `namespace`) once the parent pass is
   * done, before any interface is checked: enters it (the config test and the daemon's start
   * setns, as keepalived) and gives its interface names, or the reason it cannot (a fatal
   * diagnostic). Without it the namespace is only recorded.
   */
  enterNamespace?: NamespaceHook;
}

export interface LoadResult {
  config: KeepalivedConfig;
  diagnostics: Diagnostic[];
  /** set when reading stopped before the configuration was built: the -t exit code (4 or 6) */
  stopRc?: number;
}

/**
 * The interface names of this process's network namespace: /proc/self/net/dev, which follows
 * the namespace of the main thread (a setns() of the running process included), unlike
 * /sys/class/net, which shows the namespace sysfs was mounted in.
 */
export function systemInterfaces(): Set<string> {
  try {
    const names = new Set<string>();
    for (const line of readFileSync('/proc/self/net/dev', 'utf8').split('\n').slice(2)) {
      const colon = line.indexOf(':');
      if (colon > 0) names.add(line.slice(0, colon).trim());
    }
    return names;
  } catch {
    try {
      return new Set(readdirSync('/sys/class/net'));
    } catch {
      return new Set();
    }
  }
}

export function loadConfig(path: string, opts: LoadOptions = {}): LoadResult {
  const cwd = opts.cwd ?? process.cwd();
  const configId = opts.configId ?? defaultConfigId();
  const interfaces = opts.checkInterfaces === false ? undefined : opts.interfaces ? new Set(opts.interfaces) : systemInterfaces();
  let config = emptyConfig(resolve(cwd, path), configId);
  // file names in diagnostics are the path as given (as keepalived prints them)
  const newContext = (): BuildContext => {
    const c = new BuildContext(path, interfaces && new Set(interfaces));
    c.namespaceOverride = opts.namespace;
    c.enterNamespace = opts.enterNamespace;
    return c;
  };
  let ctx = newContext();
  const diagnostics: Diagnostic[] = [];
  let stopRc: number | undefined;
  try {
    // build while reading (the nodes of each virtual_server are dropped once built); when the
    // configuration's order does not allow that, read it again and build from the whole tree
    let builder = new ConfigBuild(ctx, config, opts.keepVirtualServers === false);
    // (an internal error while streaming also falls back, so that it is reported as before)
    const onRoot = (n: ConfNode): boolean => {
      try {
        return builder.root(n);
      } catch {
        return false;
      }
    };
    let parsed = parseConfig(path, { configId, cwd, onRoot });
    let state: BuildState | undefined;
    if (parsed.streamStopped) {
      config = emptyConfig(resolve(cwd, path), configId);
      ctx = newContext();
      builder = new ConfigBuild(ctx, config);
      parsed = parseConfig(path, { configId, cwd });
      state = builder.all(parsed.nodes);
    }
    if (parsed.stopRc !== undefined) {
      if (parsed.files.length === 0) {
        // the top file is missing, a directory or not a regular non-executable file: keepalived
        // 2.2.7 prints the reason and exits 0; tskeepalived treats it as "cannot run" (exit 4)
        for (const d of parsed.diagnostics) diagnostics.push({ ...d, severity: 'fatal', file: d.file ?? path });
        if (diagnostics.length === 0) diagnostics.push({ severity: 'fatal', message: `Config files missing '${path}'.`, file: path });
        return { config: emptyConfig(resolve(cwd, path), configId), diagnostics, stopRc: 4 };
      }
      if (parsed.stopRc === 6) {
        // include/open errors: keepalived exits 6 without building the VRRP/checker configuration
        return { config: emptyConfig(resolve(cwd, path), configId), diagnostics: parsed.diagnostics, stopRc: 6 };
      }
    }
    diagnostics.push(...parsed.diagnostics);
    state ??= builder.finish();
    validateParent(ctx, config);
    validateChecker(ctx, config, state);
    validateVrrp(ctx, config, state);
    validateBgp(ctx, config, state.vsKeys);
  } catch (e) {
    // a bug of ours must still not crash a config check: report it as a fatal diagnostic
    ctx.fatal(undefined, `internal error while reading the configuration: ${e instanceof Error ? e.message : String(e)}`);
  }
  diagnostics.push(...ctx.diagnostics());
  const result: LoadResult = { config, diagnostics };
  if (stopRc !== undefined) result.stopRc = stopRc;
  return result;
}

/**
 * keepalived -t exit code: the loader's stop code when reading stopped early, else from the
 * diagnostics: 6 security, 5 errors/warnings, 4 fatal only, else 0.
 */
export function exitCodeFor(diagnostics: Diagnostic[], stopRc?: number): number {
  if (stopRc !== undefined) return stopRc;
  let code = 0;
  for (const d of diagnostics) {
    if (d.severity === 'security') return 6;
    if (d.severity === 'error' || d.severity === 'warning') code = 5;
    else if (d.severity === 'fatal' && code === 0) code = 4;
  }
  return code;
}
