// The IPVS backend against this machine's real kernel, through the native generic netlink socket.
// This kernel has no IPVS: open() must fail with the clear message; the transport itself is
// exercised with the always-present "nlctrl" family.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { LbUnavailableError } from '../src/ipvs/backend.js';
import { createBackend } from '../src/ipvs/factory.js';
import { openGenlTransport } from '../src/ipvs/genl-native.js';
import type { GenlTransport } from '../src/ipvs/genl-transport.js';
import { NetlinkErrnoError } from '../src/ipvs/genl-transport.js';
import { decodeFamilyId, encodeGetFamily, GENL_ID_CTRL } from '../src/ipvs/genl.js';
import { IPVS_UNAVAILABLE_MESSAGE } from '../src/ipvs/ipvs-netlink.js';

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
    assert.equal(decodeFamilyId(answer[0]!.payload), GENL_ID_CTRL);
    if (!existsSync('/proc/net/ip_vs')) {
      await assert.rejects(tr.request('resolve IPVS', GENL_ID_CTRL, 0, encodeGetFamily('IPVS')), (e: unknown) => {
        assert.ok(e instanceof NetlinkErrnoError);
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
    assert.equal(
      e.message,
      'IPVS is not available in this kernel (generic netlink family IPVS not found); use --lb-backend=nftables, userspace or dry-run',
    );
    return true;
  });
  assert.equal(IPVS_UNAVAILABLE_MESSAGE.startsWith('IPVS is not available'), true);
});
