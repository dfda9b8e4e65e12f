// Kernel IPVS, actually run: scripts/ipvs-vm.sh boots Debian's cloud kernel (IPVS as modules) in
// QEMU and runs test/lb-ipvs-kernel.test.ts inside, where its IPVS tests (the backend alone, the NAT
// web farm and DR examples with real traffic, keepalived 2.2.7 as the oracle) run instead of
// skipping, test/lb-ipvs-sched.test.ts (sh/dh/mh choices of the kernel against the userspace
// backend's), and test/vrrp-ipvlan.test.ts, whose use_ipvlan comparison with keepalived needs the
// kernel's ipvlan (absent from the development machines). This asserts they all ran and passed. 4-6 minutes under TCG (10 cold on a busy machine), so it runs in a
// CI step of its own (`npm run test:ipvs-vm`, which sets TSK_IPVS_VM_TEST=1), not in `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasCommand } from './net-lab.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'ipvs-vm.sh');

function why(): string | false {
  if (process.env.TSK_IPVS_VM_TEST !== '1') return 'the IPVS VM (4-10 min under TCG) runs in its own CI step: npm run test:ipvs-vm';
  if (process.env.TSK_IPVS_VM === '1') return 'already inside the VM';
  if (process.getuid?.() !== 0) return 'needs root (apt-get download into /var/cache)';
  for (const [c, pkg] of [
    ['qemu-system-x86_64', 'qemu-system-x86'],
    ['cpio', 'cpio'],
    ['busybox', 'busybox-static'],
    ['depmod', 'kmod'],
    ['ipvsadm', 'ipvsadm'],
    ['keepalived', 'keepalived'],
  ])
    if (!hasCommand(c!)) return `${c} not installed (apt-get install ${pkg})`;
  const dep = spawnSync('apt-cache', ['depends', 'linux-image-cloud-amd64'], { encoding: 'utf8' });
  if (!/Depends: linux-image-\d/.test(dep.stdout ?? '') && !process.env.TSK_IPVS_VM_KERNEL)
    return 'no downloadable kernel: apt-cache knows no linux-image-cloud-amd64 (Debian amd64 with apt-get update done)';
  return false;
}

interface VmResult {
  rc: number;
  kernel: string;
  ipvs: string;
  pass: number;
  fail: number;
  skip: number;
  seconds: number;
}

test('kernel IPVS in a VM: the IPVS tests of lb-ipvs-kernel.test.ts run there and pass', { skip: why(), timeout: 20 * 60_000 }, async (t) => {
  const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
    const child = spawn('bash', [SCRIPT, 'lb-ipvs-kernel.test.js', 'lb-ipvs-sched.test.js', 'vrrp-ipvlan.test.js'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TSK_IPVS_VM_TIMEOUT: '900' },
    });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (text += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 18 * 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, text });
    });
  });
  const line = /^TSK_IPVS_VM_RESULT (.*)$/m.exec(out.text);
  assert.ok(line, `no result line from the VM (exit ${out.code}):\n${out.text.slice(-6000)}`);
  const r = JSON.parse(line[1]!) as VmResult;
  const times = /^TSK_IPVS_VM_TIMES (.*)$/m.exec(out.text);
  t.diagnostic(`kernel ${r.kernel}: ${r.ipvs}; tests ${r.seconds} s in the VM; ${times?.[1] ?? ''}`);
  for (const m of out.text.matchAll(/^# ((?:tskeepalived|keepalived): .*|(?:weights|rs2) .*)$/gm)) t.diagnostic(m[1]!);
  assert.equal(r.fail, 0, `failures in the VM:\n${out.text.slice(-12000)}`);
  assert.equal(r.rc, 0, out.text.slice(-6000));
  assert.match(r.ipvs, /^IP Virtual Server version/);
  // the three IPVS tests, the nlctrl transport test and the sh/dh/mh comparison (lb-ipvs-sched) ran;
  // only the two "no IPVS here" tests skipped; vrrp-ipvlan: its four codec/config tests and the live
  // ipvlan comparison passed, its "no ipvlan" test skipped
  assert.equal(r.pass, 5 + 5, out.text.slice(-6000));
  assert.equal(r.skip, 2 + 1);
  assert.equal(out.code, 0);
});
