// Test entry: `node dist/src/vrrp/run-standalone-cli.js -f conf -n -l` runs only the VRRP engine.
import { parseArgs, CliError } from '../cli/options.js';
import { runVrrpStandalone } from './run-standalone.js';

try {
  await runVrrpStandalone(parseArgs(process.argv.slice(2)));
} catch (e) {
  process.stderr.write(`tskeepalived: ${e instanceof CliError ? e.message : (e as Error).stack}\n`);
  process.exit(4);
}
