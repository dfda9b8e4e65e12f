// Which users scripts may run as in one build (keepalived's default script user handling). The
// build context owns one; it reports through the context's error(), named here by its shape so that
// this file does not import context.ts (which imports it).
import { readFileSync } from 'node:fs';
import type { ConfNode } from '../parser/ast.js';
import type { SourceLoc } from './model.js';

interface ErrorReporter {
  error(at: ConfNode | SourceLoc, message: string): void;
}

/** Script-security state shared by one build (keepalived's default script user handling). */
export class ScriptUsers {
  private names?: Set<string>;
  defaultUserFailed = false;
  private defaultUserChecked = false;
  enableScriptSecurity = false;
  /** global_defs script_user, when set: the default user instead of keepalived_script */
  defaultUser?: string;

  userExists(name: string): boolean {
    if (!this.names) {
      this.names = new Set();
      try {
        for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
          const c = line.indexOf(':');
          if (c > 0) this.names.add(line.slice(0, c));
        }
      } catch {
        /* no passwd file: no users known */
      }
    }
    return this.names.has(name) || /^[0-9]+$/.test(name);
  }

  /** keepalived: with script security on, the default user keepalived_script must exist (checked once). */
  checkDefaultUser(ctx: ErrorReporter, node: ConfNode | SourceLoc): void {
    if (this.defaultUserChecked) return;
    this.defaultUserChecked = true;
    const user = this.defaultUser ?? 'keepalived_script';
    if (!this.userExists(user) && this.enableScriptSecurity) {
      ctx.error(node, `Unable to set default user ${user} for script`);
      this.defaultUserFailed = true;
    }
  }
}
