#!/usr/bin/env node
// Benchmark: `tskeepalived -t` vs `keepalived -t` on a large generated configuration
// (255 vrrp_instances; 2,000 virtual_servers x 10 real_servers with HTTP_GET checks),
// plus the parser alone (dist/src/parser/index.js) in this process.
// Usage: npm run bench:check-config [-- --runs N] (run `npm run build` first)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

export function generateConfig({ vrrp = 255, vs = 2000, rs = 10 } = {}) {
  const out = [];
  out.push('global_defs {', '    router_id bench', '}');
  for (let i = 1; i <= vrrp; i++) {
    out.push(
      `vrrp_instance VI_${i} {`,
      '    state BACKUP',
      '    interface eth0',
      `    virtual_router_id ${i}`,
      '    priority 100',
      '    advert_int 1',
      '    virtual_ipaddress {',
      `        10.200.${i >> 8}.${i & 255}/32`,
      '    }',
      '}',
    );
  }
  for (let v = 0; v < vs; v++) {
    const vip = `10.10.${v >> 8}.${v & 255}`;
    out.push(`virtual_server ${vip} 80 {`, '    delay_loop 6', '    lb_algo rr', '    lb_kind NAT', '    protocol TCP');
    for (let r = 1; r <= rs; r++) {
      out.push(
        `    real_server 10.20.${v >> 8}.${v & 255} ${8000 + r} {`,
        '        weight 1',
        '        HTTP_GET {',
        '            url {',
        `              path /health/${r}`,
        r % 2 ? '              status_code 200' : '              digest 9b3a0c85a887a256d6939da88aabd8cd',
        '            }',
        '            connect_timeout 3',
        '        }',
        '    }',
      );
    }
    out.push('}');
  }
  return out.join('\n') + '\n';
}

// Runs a command through python's getrusage wrapper: wall time of the child and its peak RSS.
const WRAP = [
  'import resource, subprocess, sys, time',
  't = time.perf_counter()',
  'p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)',
  'dt = time.perf_counter() - t',
  'ru = resource.getrusage(resource.RUSAGE_CHILDREN)',
  'sys.stdout.write("%d %.6f %d %.6f\\n" % (p.returncode, dt, ru.ru_maxrss, ru.ru_utime + ru.ru_stime))',
  'sys.stderr.buffer.write(p.stderr[-2000:])',
].join('\n');

function timed(cmd) {
  const r = spawnSync('python3', ['-c', WRAP, ...cmd], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout) throw new Error(`wrapper failed: ${r.stderr}`);
  const [rc, secs, rssKb, cpuSecs] = r.stdout.trim().split(' ').map(Number);
  return { rc, ms: secs * 1000, rssKb, cpuMs: cpuSecs * 1000, stderr: r.stderr };
}

// the least a node process does to check a file: read it in 64 KB chunks and count its lines
const READ_FILE = [
  "const fs = require('node:fs');",
  'const fd = fs.openSync(process.argv[1], "r");',
  'const b = Buffer.alloc(65536);',
  'let n, lines = 0;',
  'while ((n = fs.readSync(fd, b, 0, 65536, null)) > 0) for (let i = 0; i < n; i++) if (b[i] === 10) lines++;',
  'if (lines < 0) console.log(lines);',
].join('\n');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'tkp-bench-'));
  const file = join(dir, 'keepalived.conf');
  const text = generateConfig();
  writeFileSync(file, text);
  const lines = text.split('\n').length - 1;
  console.log(`config: ${file} (${lines} lines, ${(text.length / 1e6).toFixed(1)} MB)`);

  const isRoot = process.getuid?.() === 0;
  const ns = `tkp-bench-${process.pid}`;
  const haveKeepalived = existsSync('/usr/sbin/keepalived');
  // Both tools run in the same throwaway namespace whose only interfaces are lo and eth0 (a veth),
  // so the config (VRRP on eth0) is valid for both and neither sees the host's interfaces.
  const inNs = (cmd) => (isRoot ? ['ip', 'netns', 'exec', ns, ...cmd] : cmd);
  if (isRoot) {
    spawnSync('ip', ['netns', 'add', ns]);
    spawnSync('ip', ['link', 'add', `tkpb${process.pid % 100000}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    spawnSync('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  }
  const kaCmd = inNs(['keepalived', '-t', '-f', file]);
  const tsCmd = inNs([process.execPath, join(root, 'bin/tskeepalived'), '-t', '-f', file]);

  try {
    const ts = [],
      ka = [];
    console.log(
      `load average: ${(await import('node:os'))
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} on ${(await import('node:os')).cpus().length} cpus`,
    );
    for (let i = 0; i < RUNS; i++) {
      ts.push(timed(tsCmd));
      if (haveKeepalived) ka.push(timed(kaCmd));
    }
    const report = (name, rs) => {
      console.log(
        `${name.padEnd(14)} median ${median(rs.map((r) => r.ms)).toFixed(1)} ms (cpu ${median(rs.map((r) => r.cpuMs)).toFixed(0)} ms)` +
          `  (runs: ${rs.map((r) => r.ms.toFixed(0)).join(', ')})  peak RSS ${(Math.max(...rs.map((r) => r.rssKb)) / 1024).toFixed(1)} MB` +
          `  rc ${[...new Set(rs.map((r) => r.rc))].join('/')}`,
      );
    };
    report('tskeepalived', ts);
    if (ka.length) {
      report('keepalived', ka);
      const ratio = median(ts.map((r) => r.ms)) / median(ka.map((r) => r.ms));
      const cpuRatio = median(ts.map((r) => r.cpuMs)) / median(ka.map((r) => r.cpuMs));
      console.log(`ratio tskeepalived/keepalived: ${ratio.toFixed(2)} wall, ${cpuRatio.toFixed(2)} cpu`);
      // memory: peak RSS beside keepalived's, and node's own floor measured in the same run (an empty
      // node process, and one that only reads the file in 64 KB chunks and counts bytes: see docs/memory.md)
      const peak = (rs) => Math.max(...rs.map((r) => r.rssKb)) / 1024;
      const floor = [];
      const reader = [];
      for (let i = 0; i < RUNS; i++) {
        floor.push(timed([process.execPath, '-e', '0']));
        reader.push(timed([process.execPath, '-e', READ_FILE, file]));
      }
      console.log(
        `peak RSS tskeepalived/keepalived: ${(peak(ts) / peak(ka)).toFixed(2)} (target <= 1.3); node's floor: node -e 0 ${peak(floor).toFixed(1)} MB` +
          ` (${(peak(floor) / peak(ka)).toFixed(2)} x keepalived), node reading the file ${peak(reader).toFixed(1)} MB (${(peak(reader) / peak(ka)).toFixed(2)} x)`,
      );
      if (isRoot) console.log('(both ran inside one throwaway network namespace with an eth0; `ip netns exec` adds a few ms to each)');
    } else console.log('keepalived not installed: no comparison');
    if (ts[0].rc !== 0) console.log(`tskeepalived rc ${ts[0].rc}; stderr tail:\n${ts[0].stderr.slice(-600)}`);

    // the parser alone, in this process
    const { parseConfig } = await import(join(root, 'dist/src/parser/index.js'));
    const times = [];
    const cpus = [];
    let nodes = 0;
    for (let i = 0; i < RUNS; i++) {
      const t = process.hrtime.bigint();
      const c = process.cpuUsage();
      const r = parseConfig(file, { configId: 'bench' });
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
      const u = process.cpuUsage(c);
      cpus.push((u.user + u.system) / 1000);
      nodes = r.nodes.length;
      if (r.diagnostics.length) console.log('parser diagnostics:', r.diagnostics.slice(0, 3));
    }
    console.log(
      `parser only    first ${times[0].toFixed(1)} ms, median ${median(times).toFixed(1)} ms, median cpu ${median(cpus).toFixed(1)} ms (${nodes} top-level nodes)` +
        `  heap used ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`,
    );
  } finally {
    if (isRoot) spawnSync('ip', ['netns', 'del', ns]); // deletes the veth pair with it
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
