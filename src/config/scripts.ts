// Script-like values (notify*, script, misc_path, quorum_up/down, ...): keepalived splits the whole
// line with its quoting rules (word 1 = command, 2 = user, 3 = group), then the command into argv.
import type { ConfNode } from '../parser/ast.js';
import type { BuildContext } from './context.js';
import type { ScriptUsers } from './script-users.js';
import type { ScriptSpec } from './model.js';
import { splitQuotedEscaped } from './script-words.js';

export function missingParameter(ctx: BuildContext, node: ConfNode, position: number): void {
  ctx.error(
    node,
    `*** Configuration line starting \`${node.keyword}\` is missing a parameter after keyword \`${node.keyword}\` at word position ${position + 1}`,
  );
}

/**
 * Read a script value from a node. `offset` = index in the whole line of the command word (1 for
 * `notify_master CMD`). Returns undefined (after reporting) when it cannot be parsed.
 */
export function readScript(ctx: BuildContext, users: ScriptUsers, node: ConfNode, offset = 1, deferDefaultUser = false): ScriptSpec | undefined {
  if (node.args.length < offset) {
    missingParameter(ctx, node, offset);
    return undefined;
  }
  const line = node.text?.length ? node.text : [node.keyword, ...node.args].join(' ');
  const whole = splitQuotedEscaped(line);
  if ('error' in whole) {
    ctx.error(node, whole.error);
    return undefined;
  }
  const command = whole.words[offset];
  if (command === undefined) {
    missingParameter(ctx, node, offset);
    return undefined;
  }
  const inner = splitQuotedEscaped(command);
  if ('error' in inner) {
    ctx.error(node, inner.error);
    return undefined;
  }
  if (inner.words.length === 0) {
    ctx.info(node, `Unable to parse script '${command}' - ignoring`);
    return undefined;
  }
  const spec: ScriptSpec = { command, argv: inner.words, loc: node.loc };
  const user = whole.words[offset + 1];
  const group = whole.words[offset + 2];
  if (user !== undefined) {
    spec.user = user;
    if (group !== undefined) spec.group = group;
  } else if (!deferDefaultUser) {
    users.checkDefaultUser(ctx, node);
    // keepalived: a script whose default user cannot be set is not kept ("Failed to set default user")
    if (users.defaultUserFailed) return undefined;
  }
  return spec;
}
