// The IPVS backend against this machine's real kernel, through the native generic netlink socket.
// This kernel has no IPVS: open() must fail with the clear message; the transport itself is
// exercised with the always-present "nlctrl" family.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LbUnavailableError } from '../src/lb/backend.js';
import { createBackend } from '../src/lb/factory.js';
import { openGenlTransport } from '../src/lb/genl-native.js';
import type { GenlTransport } from '../src/lb/genl-transport.js';
import { NetlinkRequestError } from '../src/net/netlink.js';
import { decodeFamily, encodeGetFamily, GENL_ID_CTRL } from '../src/net/genetlink.js';
import { IPVS_UNAVAILABLE_MESSAGE } from '../src/lb/ipvs-netlink.js';

async function transportOrSkip(t: { skip: (m: string) => void }): Promise<GenlTransport | undefined> {
  try {
    return await openGenlTransport();
  } catch (e) {
    t.skip(`native socket layer unavailable: ${(e as Error).message}`);
    return undefined;
  }
}

test('generic netlink: resolve nlctrl, IPVS absent -> ENOENT, batched requests answer each', async (t) => {
  const tr = await transportOrSkip(t);
  if (!tr) return;
  try {
    const answer = await tr.request('resolve nlctrl', GENL_ID_CTRL, 0, encodeGetFamily('nlctrl'));
    assert.equal(decodeFamily(answer[0]!).id, GENL_ID_CTRL);
    if (!existsSync('/proc/net/ip_vs')) {
      await assert.rejects(tr.request('resolve IPVS', GENL_ID_CTRL, 0, encodeGetFamily('IPVS')), (e: unknown) => {
        assert.ok(e instanceof NetlinkRequestError);
        assert.equal(e.errno, 2);
        return true;
      });
      const results = await tr.batch(GENL_ID_CTRL, [encodeGetFamily('nlctrl'), encodeGetFamily('IPVS'), encodeGetFamily('nlctrl')]);
      assert.deepEqual(results, [0, 2, 0]);
    }
  } finally {
    tr.close();
  }
});

test('ipvs backend open() on a kernel without IPVS: LbUnavailableError with the exact message', async (t) => {
  if (existsSync('/proc/net/ip_vs')) return t.skip('this kernel has IPVS loaded');
  if (process.getuid?.() !== 0) return t.skip('needs root');
  const b = createBackend('ipvs');
  await assert.rejects(b.open(), (e: unknown) => {
    assert.ok(e instanceof LbUnavailableError);
    assert.equal(e.message, 'IPVS is not available in this kernel (generic netlink family IPVS not found); use --lb-backend=nftables, userspace or dry-run');
    return true;
  });
  assert.equal(IPVS_UNAVAILABLE_MESSAGE.startsWith('IPVS is not available'), true);
});

test('daemon -C with the default ipvs backend on a kernel without IPVS: exit 4, the message, no stack trace', (t) => {
  if (existsSync('/proc/net/ip_vs')) return t.skip('this kernel has IPVS loaded');
  if (process.getuid?.() !== 0) return t.skip('needs root');
  const dir = mkdtempSync(join(tmpdir(), 'tkl-ipvs-'));
  try {
    const conf = join(dir, 'k.conf');
    writeFileSync(
      conf,
      'virtual_server 127.0.0.1 18080 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  real_server 127.0.0.2 18081 {\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n}\n',
    );
    const bin = resolve(fileURLToPath(import.meta.url), '../../../bin/tskeepalived');
    const r = spawnSync(process.execPath, [bin, '-n', '-l', '-G', '-C', '-f', conf, '-p', join(dir, 'k.pid')], { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stderr, /IPVS is not available in this kernel .*use --lb-backend=nftables, userspace or dry-run/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(existsSync(join(dir, 'k.pid')), false, 'pid file removed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
