// Loading keepalived.conf for the daemon (start and SIGHUP), through the config builder
// (src/config/load.ts). A config is usable unless loading threw or reported a 'fatal' diagnostic:
// keepalived itself runs with 'error' and 'warning' diagnostics (it skips what it cannot use).
import { loadConfig, systemInterfaces } from '../config/load.js';
import type { NamespaceHook } from '../config/context.js';
import { enterNetNamespace } from '../native/netns.js';
import type { Diagnostic, DiagnosticCode, KeepalivedConfig } from '../config/model.js';

export interface LoadOutcome {
  config?: KeepalivedConfig;
  diagnostics: Diagnostic[];
  /** why the config cannot be used (fatal diagnostics or an exception) */
  refused?: string;
}

type LoadFn = (
  path: string,
  opts: { configId?: string; namespace?: string; enterNamespace?: NamespaceHook },
) => Promise<{ config: KeepalivedConfig; diagnostics: Diagnostic[] }> | { config: KeepalivedConfig; diagnostics: Diagnostic[] };

/** How the daemon's loads treat the network namespace (net_namespace, -s). */
export interface NamespaceLoad {
  /** -s NAME */
  namespace?: string;
  /**
   * true at start: enter the namespace (setns of the main thread, as keepalived after reading its
   * configuration). false on a reload: never move; the interfaces are those of the namespace the
   * daemon runs in (a reload that names another namespace is refused by reloadRefusal).
   */
  enter: boolean;
  /**
   * at start, just before the setns: what must stay in the initial namespace is made here (the
   * proc connector socket of track_process: the kernel serves process events there only)
   */
  beforeEnter?: () => void;
}

/** the network namespace this process entered at start */
let entered: string | undefined;

/** The network namespace the daemon entered at start (net_namespace or -s), if any. */
export function enteredNamespace(): string | undefined {
  return entered;
}

/**
 * The load hook of the daemon: enters the namespace at start, reads its interfaces; on a reload
 * that names another namespace, checks no interface (the reload is refused for the namespace).
 */
function namespaceHook(enter: boolean, beforeEnter?: () => void): NamespaceHook {
  return (name) => {
    if (enter && entered !== name) {
      try {
        if (entered === undefined) beforeEnter?.();
        enterNetNamespace(name);
        entered = name;
      } catch (e) {
        return { error: (e as Error).message };
      }
    }
    return entered === name ? { interfaces: systemInterfaces() } : {};
  };
}

let loader: LoadFn | undefined;

/** For tests and embedding: use another loader than src/config/load.ts. */
export function setConfigLoader(fn: LoadFn | undefined): void {
  loader = fn;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}${d.line ? `:${d.line}` : ''}: ` : '';
  return `${where}${d.severity}: ${d.message}`;
}

export async function loadConfiguration(path: string, configId?: string, ns: NamespaceLoad = { enter: false }): Promise<LoadOutcome> {
  const fn: LoadFn = loader ?? loadConfig;
  try {
    const { config, diagnostics } = await fn(path, { configId, namespace: ns.namespace, enterNamespace: namespaceHook(ns.enter, ns.beforeEnter) });
    const fatal = diagnostics.filter((d) => d.severity === 'fatal');
    if (fatal.length > 0) return { diagnostics, refused: fatal.map(formatDiagnostic).join('; ') };
    return { config, diagnostics };
  } catch (e) {
    return { diagnostics: [], refused: `${path}: ${(e as Error).message}` };
  }
}

/** Diagnostics that mean the file's block structure is broken. */
const STRUCTURAL = new Set<DiagnosticCode | undefined>(['BLOCK_UNCLOSED', 'BLOCK_EXTRA_CLOSE', 'BLOCK_UNEXPECTED_OPEN']);

function isEmpty(c: KeepalivedConfig): boolean {
  return c.vrrpInstances.length === 0 && c.virtualServers.length === 0 && c.staticIpaddress.length === 0;
}

/**
 * Why a reload must keep the running configuration, or undefined to apply it. keepalived applies
 * any file it can read; tskeepalived is stricter on SIGHUP, because a half-edited file would
 * release VIPs or real servers: it refuses
 *  - unreadable files and 'fatal' diagnostics (as at start),
 *  - files whose block structure is broken (unbalanced braces),
 *  - files with errors that would remove every instance and virtual server that is running.
 */
export function reloadRefusal(outcome: LoadOutcome, running: KeepalivedConfig): string | undefined {
  if (outcome.refused || !outcome.config) return outcome.refused ?? 'no configuration';
  // keepalived 2.2.7 keeps the running configuration when these change ("please restart")
  const was = running.root;
  const now = outcome.config.root;
  if (was?.netNamespace !== now?.netNamespace)
    return `Cannot change network namespace at a reload - please restart keepalived (running in ${was?.netNamespace ?? 'the initial namespace'}, the file says ${now?.netNamespace ?? 'none'})`;
  if (was?.instance !== now?.instance)
    return `Cannot change instance name at a reload - please restart keepalived (running as ${was?.instance ?? 'no instance'}, the file says ${now?.instance ?? 'none'})`;
  const structural = outcome.diagnostics.filter((d) => (d.severity === 'error' || d.severity === 'fatal') && STRUCTURAL.has(d.code));
  if (structural.length > 0) return `the file's block structure is broken: ${structural.map(formatDiagnostic).join('; ')}`;
  const errors = outcome.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0 && isEmpty(outcome.config) && !isEmpty(running))
    return `the file has errors and would remove every instance and virtual server: ${errors.slice(0, 3).map(formatDiagnostic).join('; ')}`;
  return undefined;
}
