// An HTTP_GET whose connection never completes (SYNs dropped by an nftables rule in the server's
// namespace) must fail at connect_timeout, not at undici's coarser connect
// timer: bench:soak:checker-faults found HTTP_GET on a blackholed server detected up to 0.6 s past
// keepalived's bound (delay_loop + retry * delay_before_retry + (retry + 1) * connect_timeout).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { createLab, destroyLab, hasCommand, isRoot, jsonLines, modUrl, nodeInNs, type Lab } from './net-lab.js';

const CONNECT_TIMEOUT = 300;

const skip = !isRoot ? 'needs root (network namespaces)' : !hasCommand('nft') ? 'needs nft' : false;

describe('checker deadline on a connection that never completes', { skip }, () => {
  let lab: Lab;
  before(() => {
    lab = createLab('cdl', 177);
    const rules = 'table inet tkscdl { chain input { type filter hook input priority 0; tcp dport 9 drop; }; }\n';
    const r = spawnSync('ip', ['netns', 'exec', lab.b, 'nft', '-f', '-'], { input: rules, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    if (lab) await destroyLab(lab);
  });

  it(`HTTP_GET and TCP_CHECK fail within connect_timeout (${CONNECT_TIMEOUT} ms) + 100 ms`, { timeout: 30_000 }, async () => {
    const silent = lab.ipB;
    const code = `
      const { checkHttp } = await import(${JSON.stringify(modUrl('src/checkers/http.js'))});
      const { checkTcp } = await import(${JSON.stringify(modUrl('src/checkers/tcp.js'))});
      const loc = { file: 't', line: 1 };
      const target = { address: ${JSON.stringify(silent)}, port: 9, family: 4 };
      const http = { type: 'HTTP_GET', urls: [{ path: '/', statusCodes: [], loc }], enableSni: false, connectTimeout: ${CONNECT_TIMEOUT}, retry: 0, delayBeforeRetry: 1, loc };
      const tcp = { type: 'TCP_CHECK', connectTimeout: ${CONNECT_TIMEOUT}, retry: 0, delayBeforeRetry: 1, loc };
      for (let i = 0; i < 6; i++) {
        for (const [kind, run] of [['http', () => checkHttp(target, http)], ['tcp', () => checkTcp(target, tcp)]]) {
          const t0 = performance.now();
          const r = await run();
          console.log(JSON.stringify({ kind, ok: r.ok, reason: r.reason, ms: performance.now() - t0 }));
        }
      }
      process.exit(0);
    `;
    const child = nodeInNs(lab, lab.a, code);
    const exitCode = await child.exited;
    assert.equal(exitCode, 0, child.stderr());
    const results = jsonLines<{ kind: string; ok: boolean; reason: string; ms: number }>(child.stdout());
    assert.equal(results.length, 12, child.stdout() + child.stderr());
    for (const r of results) {
      assert.equal(r.ok, false, `${r.kind}: ${r.reason}`);
      assert.match(r.reason, /timeout/, `${r.kind}: ${r.reason}`);
      assert.ok(r.ms >= CONNECT_TIMEOUT - 5 && r.ms <= CONNECT_TIMEOUT + 100, `${r.kind} took ${r.ms.toFixed(0)} ms (${r.reason})`);
    }
  });
});
