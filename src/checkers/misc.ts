// MISC_CHECK: run misc_path (no shell) with misc_timeout. Exit 0 = up; any other exit = down, except
// with misc_dynamic where 2..255 = up with weight (code - 2), as keepalived. A timeout or a signal is
// a failure. With enable_script_security an unsafe script (keepalived's rule: src/config/script-security.ts) is refused when we are root.
import type { MiscCheck } from '../config/model.js';
import { runScript } from '../util/run-script.js';
import { scriptSecurityProblem } from '../config/script-security.js';
import { type CheckContext, type CheckResult, fail, pass } from './types.js';

export interface MiscExitMeaning {
  ok: boolean;
  /** absolute weight when the exit code sets one */
  weight?: number;
}

export function miscExitMeaning(code: number, dynamic: boolean): MiscExitMeaning {
  if (code === 0) return { ok: true };
  if (dynamic && code >= 2 && code <= 255) return { ok: true, weight: code - 2 };
  return { ok: false };
}

export async function checkMisc(cfg: MiscCheck, ctx: CheckContext, timeoutMs: number): Promise<CheckResult> {
  const started = process.hrtime.bigint();
  if (!cfg.miscPath) return fail('no misc_path configured', started);
  const user = cfg.user ?? cfg.miscPath.user ?? ctx.scriptUser;
  const group = cfg.group ?? cfg.miscPath.group ?? ctx.scriptGroup;
  const runsAsRoot = process.getuid?.() === 0 && (user === undefined || user === 'root' || user === '0');
  if (ctx.enableScriptSecurity && runsAsRoot) {
    const problem = scriptSecurityProblem(cfg.miscPath.argv[0]);
    if (problem) return fail(`script security: ${problem}`, started);
  }
  const r = await runScript(cfg.miscPath, { timeoutMs, user, group });
  if (r.error) return fail(`cannot run ${cfg.miscPath.argv[0]}: ${r.error}`, started);
  if (r.timedOut) return fail(`timed out after ${timeoutMs} ms`, started);
  if (r.code === null) return fail(`killed by ${r.signal}`, started);
  const m = miscExitMeaning(r.code, cfg.miscDynamic);
  if (!m.ok) return fail(`exited with status ${r.code}`, started);
  return pass(`exited with status ${r.code}`, started, m.weight);
}
