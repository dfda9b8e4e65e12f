// keepalived's notify scripts for instances and sync groups: notify_master / notify_backup /
// notify_fault / notify_stop (no arguments) and `notify` with TYPE NAME STATE PRIORITY.
import type { Logger } from 'pino';
import type { GlobalDefs, NotifyScripts, ScriptSpec } from '../config/model.js';
import { runScript } from '../util/run-script.js';
import { scriptSecurityProblem } from '../config/script-security.js';
import type { EnteredState } from './state-machine.js';

/** the states a notify script is told of: those an instance or a group enters */
export type NotifyState = EnteredState;

export function runNotify(
  scripts: NotifyScripts,
  kind: 'INSTANCE' | 'GROUP',
  name: string,
  state: NotifyState,
  priority: number,
  global: GlobalDefs,
  log: Logger,
): void {
  const specific: ScriptSpec | undefined =
    state === 'MASTER' ? scripts.master : state === 'BACKUP' ? scripts.backup : state === 'FAULT' ? scripts.fault : scripts.stop;
  const jobs: { spec: ScriptSpec; args: string[] }[] = [];
  if (specific) jobs.push({ spec: specific, args: [] });
  if (scripts.notify) jobs.push({ spec: scripts.notify, args: [kind, name, state, String(priority)] });
  for (const job of jobs) {
    const user = job.spec.user ?? global.scriptUser;
    if (global.enableScriptSecurity && (user === undefined || user === 'root') && job.spec.argv[0]) {
      const problem = scriptSecurityProblem(job.spec.argv[0]);
      if (problem) {
        log.warn({ script: job.spec.command, reason: problem }, 'notify script not run (enable_script_security)');
        continue;
      }
    }
    runScript(job.spec, { args: job.args, user, group: job.spec.group ?? global.scriptGroup }).then((r) => {
      if (r.error) log.warn({ script: job.spec.command, err: r.error }, 'notify script could not run');
      else if (r.code !== 0) log.debug({ script: job.spec.command, code: r.code, signal: r.signal }, 'notify script exited non-zero');
    });
  }
}
