// No leaks: 10,000+ checks against failing servers (refused, timing out, ICMP unreachable, failing
// scripts) in-process must not leave a growing number of file descriptors, sockets or children.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CheckersEngine } from '../src/checkers/engine.js';
import type { Checker, RealServer } from '../src/config/model.js';
import { RecordingBackend, closedPort, config, httpCheck, loc, rs, shScript, silentLogger, tcpCheck, vs, waitFor } from './checkers-fixtures.js';
import { createInterface } from 'node:readline';

/**
 * The failing servers live in a child process so that their sockets do not count in ours: a TCP
 * server that accepts and never answers (reporting how many connections it holds) and a UDP
 * socket that never replies.
 */
const SERVERS = `
const net = require('node:net'), dgram = require('node:dgram');
const held = new Set();
const srv = net.createServer((s) => { held.add(s); s.on('close', () => held.delete(s)); s.on('error', () => {}); s.resume(); });
const udp = dgram.createSocket('udp4');
srv.listen(0, process.argv[1], () => udp.bind(0, process.argv[1], () =>
  process.stdout.write(JSON.stringify({ tcp: srv.address().port, udp: udp.address().port }) + '\\n')));
process.stdin.on('data', () => process.stdout.write(JSON.stringify({ held: held.size }) + '\\n'));
process.stdin.on('end', () => process.exit(0));
`;

async function startServers(addr: string) {
  const child = spawn(process.execPath, ['-e', SERVERS, addr], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
  await waitFor('servers up', () => lines.length > 0, 5000);
  const ports = JSON.parse(lines.shift()!) as { tcp: number; udp: number };
  return {
    ...ports,
    async held(): Promise<number> {
      child.stdin.write('?');
      await waitFor('held answer', () => lines.length > 0, 5000);
      return (JSON.parse(lines.shift()!) as { held: number }).held;
    },
    async stop() {
      child.stdin.end();
      await new Promise((r) => child.once('exit', r));
    },
  };
}

const fdCount = () => readdirSync('/proc/self/fd').length;
function childCount(): number {
  let n = 0;
  for (const t of readdirSync('/proc/self/task')) {
    try {
      n += readFileSync(`/proc/self/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).length;
    } catch {
      /* thread gone */
    }
  }
  return n;
}

describe('checkers resource hygiene', () => {
  it('10,000 failing checks leave no growing fds, sockets or child processes', { timeout: 120_000 }, async () => {
    const addr = '127.0.0.41';
    const refusedPort = await closedPort(addr);
    const servers = await startServers(addr);
    const hold = { port: servers.tcp };
    const silentPort = servers.udp;
    const fast = { connectTimeout: 30, retry: 0, delayBeforeRetry: 1, delayLoop: 1 };
    const reals: RealServer[] = [];
    const add = (port: number, c: Checker) =>
      reals.push(rs(addr, port + reals.length * 0, [c], { address: `127.0.${1 + Math.floor(reals.length / 250)}.${1 + (reals.length % 250)}` }));
    for (let i = 0; i < 30; i++) add(refusedPort, httpCheck({ ...fast, connectIp: addr, connectPort: refusedPort }));
    for (let i = 0; i < 15; i++) add(hold.port, httpCheck({ ...fast, connectIp: addr, connectPort: hold.port }));
    for (let i = 0; i < 20; i++) add(refusedPort, tcpCheck({ ...fast, connectIp: addr, connectPort: refusedPort }));
    for (let i = 0; i < 8; i++) add(silentPort, { type: 'UDP_CHECK', requireReply: true, ...fast, connectIp: addr, connectPort: silentPort, loc });
    for (let i = 0; i < 8; i++)
      add(refusedPort, { type: 'DNS_CHECK', queryType: 'A', name: 'x.test', ...fast, connectIp: addr, connectPort: refusedPort, loc });
    for (let i = 0; i < 2; i++)
      add(0, { type: 'MISC_CHECK', miscPath: shScript('exit 1'), miscTimeout: 1000, miscDynamic: false, ...fast, delayLoop: 20, loc });

    const baselineFds = fdCount();
    const baselineChildren = childCount() - 1; // minus the servers' process
    const backend = new RecordingBackend();
    const engine = new CheckersEngine({ backend, logger: silentLogger });
    await engine.start(config([vs(reals, { delayLoop: 1 })]));
    const totalChecks = () => {
      const snap = engine.snapshot() as { virtualServers: { realServers: { checkers: { checks: number }[] }[] }[] };
      return snap.virtualServers[0].realServers.reduce((a, r) => a + r.checkers[0].checks, 0);
    };
    // the fd count at one instant is the checks in flight then (it swings between ~20 and ~120), so
    // growth is judged on the floor: the fewest fds seen early (2,000-4,000 checks) and late
    // (8,000-10,000 checks); a leak raises the floor
    const early: number[] = [];
    const late: number[] = [];
    const t0 = Date.now();
    await waitFor(
      '10,000 checks',
      () => {
        const done = totalChecks();
        if (done >= 2000 && done < 4000) early.push(fdCount());
        if (done >= 8000) late.push(fdCount());
        return done >= 10_000;
      },
      90_000,
      5,
    );
    if (late.length === 0) late.push(fdCount());
    const fdSamples = [...early, ...late];
    const checks = totalChecks();
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(backend.dests().length, 0, 'every failing server is out of the pool');
    await engine.stop({ release: true });
    // sockets close asynchronously; children are reaped on exit
    await waitFor('fds back to baseline', () => fdCount() <= baselineFds + 2, 3000, 20).catch(() => undefined);
    await waitFor('children reaped', () => childCount() <= baselineChildren, 3000, 20).catch(() => undefined);
    let heldOpen = await servers.held();
    for (let i = 0; i < 100 && heldOpen > 0; i++) {
      await new Promise((r) => setTimeout(r, 30));
      heldOpen = await servers.held();
    }
    const after = fdCount();
    await servers.stop();
    const children = childCount();
    const floor = (xs: number[]) => Math.min(...xs);
    process.stdout.write(
      `# leak: ${checks} checks in ${seconds.toFixed(1)} s; fds baseline ${baselineFds}, during ${floor(fdSamples)}-${Math.max(...fdSamples)} (floor early ${floor(early)}, late ${floor(late)}; ${fdSamples.length} samples), after ${after}\n`,
    );
    // during the run the fd count is bounded by the checks in flight (one each), not by the checks done
    assert.ok(early.length > 0, 'fds sampled between 2,000 and 4,000 checks');
    assert.ok(Math.max(...fdSamples) <= baselineFds + reals.length * 2 + 20, `fds during run up to ${Math.max(...fdSamples)}`);
    assert.ok(floor(late) - floor(early) <= reals.length, `fds grow: floor ${floor(early)} early, ${floor(late)} late`);
    assert.ok(after <= baselineFds + 2, `fds after stop ${after} > baseline ${baselineFds}`);
    assert.equal(heldOpen, 0, 'the timing-out server still holds connections from the checker');
    assert.ok(children <= baselineChildren, `child processes left: ${children}`);
  });
});
