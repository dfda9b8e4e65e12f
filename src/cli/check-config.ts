// -t / --config-test[=FILE] / --check-config, and -d / --dump-conf: keepalived's config check.
// Prints diagnostics as keepalived does (`(FILE: Line N) message` on stderr) and returns its
// exit codes: 0 fine, 4 cannot run, 5 errors or warnings it would run with, 6 scripts without
// enable_script_security. Loads no engine code.
import { setFlagsFromString } from 'node:v8';
import { exitCodeFor, loadConfig, systemInterfaces } from '../config/load.js';
import type { NamespaceHook } from '../config/context.js';
import { enterNetNamespace } from '../native/netns.js';
import { toStableJson } from '../config/dump.js';
import type { Diagnostic } from '../config/model.js';
import type { CliOptions } from './options.js';

/** keepalived's form: "(FILE: Line N) message"; the top file is shown as given on the command line. */
export function formatDiagnostic(d: Diagnostic): string {
  if (d.keepalivedText !== undefined) return d.keepalivedText;
  if (d.line === undefined) return d.message;
  return `(${d.file}: Line ${d.line}) ${d.message}`;
}

const enterForCheck: NamespaceHook = (name) => {
  try {
    enterNetNamespace(name);
  } catch (e) {
    return { error: (e as Error).message };
  }
  return { interfaces: systemInterfaces() };
};

export async function runCheckConfig(opts: CliOptions): Promise<number> {
  const given = opts.useFile;
  // A config check is one short burst. Keep the young generation at its initial size: growing
  // it only adds fresh pages, and first touching a page costs more here than the scavenges it
  // saves (it was about 30% of a large check). Inline less in optimized code: the hot parser
  // functions otherwise pull the whole builder into their compiles, which then finish too late
  // to help (about 20% less CPU on a large check).
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--max-inlined-bytecode-size-cumulative=150');
  // the model is only printed with --dump-conf: otherwise virtual servers need not be kept
  // as keepalived -t: the interfaces are checked inside the network namespace (net_namespace or
  // -s), which the check enters (setns) once it knows it
  const { config, diagnostics, stopRc } = loadConfig(given, {
    configId: opts.configId,
    keepVirtualServers: opts.dumpConf,
    namespace: opts.namespace,
    enterNamespace: enterForCheck,
  });
  const code = exitCodeFor(diagnostics, stopRc);
  if (opts.configTest) {
    if (opts.json) {
      const out = {
        file: given,
        exitCode: code,
        diagnostics: diagnostics.map((d) => ({
          file: d.file ?? given,
          line: d.line ?? null,
          severity: d.severity,
          message: d.message,
        })),
      };
      process.stdout.write(JSON.stringify(out) + '\n');
    } else {
      let text = '';
      for (const d of diagnostics) text += formatDiagnostic(d) + '\n';
      if (text) process.stderr.write(text);
    }
  }
  if (opts.dumpConf) process.stdout.write(toStableJson(config) + '\n');
  return opts.configTest ? code : code === 4 ? 4 : 0;
}
