// Test harness entry: `node dist/test/harness/vrrp-standalone-cli.js -f conf -n -l` runs only the
// VRRP engine (test/vrrp-helpers.ts startTsNode). `node --test dist/test/` also runs every file here,
// without arguments: then it does nothing.
import { parseArgs } from '../../src/cli/options.js';
import { hasErrorCode } from '../../src/util/errors.js';
import { runVrrpStandalone } from './vrrp-standalone.js';

if (process.argv.length > 2) {
  try {
    await runVrrpStandalone(parseArgs(process.argv.slice(2)));
  } catch (e) {
    process.stderr.write(`tskeepalived: ${hasErrorCode(e, 'TSK_ERR_CLI') ? e.message : (e as Error).stack}\n`);
    process.exit(4);
  }
}
