import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { runNotify } from '../src/vrrp/notify.js';
import { globalDefs, sleep } from './vrrp-helpers.js';

const loc = { file: 't', line: 1 };
const log = pino({ level: 'silent' });

test('notify scripts: specific script without args, `notify` with TYPE NAME STATE PRIORITY; enable_script_security blocks unsafe scripts', {
  skip: process.getuid?.() === 0 ? false : 'needs root for the script-security rule',
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tkv-notify-'));
  try {
    const out = join(dir, 'out');
    const script = join(dir, 'n.sh');
    writeFileSync(script, `#!/bin/sh\necho "$0 $*" >> ${out}\n`);
    chmodSync(script, 0o755);
    chmodSync(dir, 0o755);
    const spec = { command: script, argv: [script], loc };
    runNotify({ master: spec, notify: spec }, 'INSTANCE', 'VI_1', 'MASTER', 150, globalDefs(), log);
    const deadline = Date.now() + 10_000;
    while ((!existsSync(out) || readFileSync(out, 'utf8').split('\n').length < 3) && Date.now() < deadline) await sleep(20);
    await sleep(200); // let both writers finish
    const lines = readFileSync(out, 'utf8').trim().split('\n').sort();
    assert.deepEqual(lines, [`${script} `, `${script} INSTANCE VI_1 MASTER 150`].sort());
    // a script in a directory writable by others is refused with enable_script_security
    rmSync(out);
    chmodSync(dir, 0o777);
    runNotify({ notify: spec }, 'GROUP', 'G', 'FAULT', 0, globalDefs({ enableScriptSecurity: true }), log);
    await sleep(1000);
    assert.ok(!existsSync(out), 'unsafe script not run');
    runNotify({ notify: spec }, 'GROUP', 'G', 'FAULT', 0, globalDefs({ enableScriptSecurity: false }), log);
    const d2 = Date.now() + 10_000;
    while (!existsSync(out) && Date.now() < d2) await sleep(20);
    assert.equal(readFileSync(out, 'utf8').trim(), `${script} GROUP G FAULT 0`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
