// Test entry: `node dist/src/vrrp/run-standalone-cli.js -f conf -n -l` runs only the VRRP engine.
import { parseArgs } from '../cli/options.js';
import { hasErrorCode } from '../util/errors.js';
import { runVrrpStandalone } from './run-standalone.js';

try {
  await runVrrpStandalone(parseArgs(process.argv.slice(2)));
} catch (e) {
  process.stderr.write(`tskeepalived: ${hasErrorCode(e, 'TSK_ERR_CLI') ? e.message : (e as Error).stack}\n`);
  process.exit(4);
}
