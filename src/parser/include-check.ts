// include_check [+|-]read|match|wildcard_match|brace_match ... (no argument = all).
import { INCLUDE_ALL, INCLUDE_B, INCLUDE_M, INCLUDE_R, INCLUDE_W } from './file-stack.js';

const FLAGS: Record<string, number> = {
  read: INCLUDE_R,
  match: INCLUDE_M,
  wildcard_match: INCLUDE_W,
  brace_match: INCLUDE_B,
};

/** New include_check value after `words` (words[0] is the keyword itself). */
export function includeCheckSet(current: number, words: string[]): number {
  if (words.length <= 1) return INCLUDE_ALL;
  let check = current;
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    let mode = 0;
    let name = word;
    if (word[0] === '-' || word[0] === '+') {
      mode = word[0] === '-' ? -1 : 1;
      name = word.slice(1);
    } else if (i === 1) check = 0;
    else continue; // "Duplicate include_check" (reported by the config builder)
    const flag = Object.hasOwn(FLAGS, name) ? FLAGS[name]! : 0;
    if (!flag) continue; // "Unknown include_check type" (reported by the config builder)
    if (mode === 0) check = INCLUDE_R | flag;
    else if (mode === 1) check |= flag;
    else check &= ~flag;
  }
  return check;
}
