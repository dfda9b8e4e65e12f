import type { CliOptions } from '../cli/options.js';

// Placeholder until the daemon lands (issue 5).
export async function runDaemon(_opts: CliOptions): Promise<void> {
  process.stderr.write('tskeepalived: the daemon is not implemented yet\n');
  process.exitCode = 4;
}
