import type { CliOptions } from './options.js';

// Placeholder until the config builder lands (issue 2).
export async function runCheckConfig(_opts: CliOptions): Promise<number> {
  process.stderr.write('tskeepalived: --config-test is not implemented yet\n');
  return 4;
}
