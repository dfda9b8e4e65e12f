// The checkers run standalone from a keepalived.conf (loadConfig + the dry-run backend), in a child
// process: ipvsadm lines on stdout follow real servers' health, SIGTERM stops it cleanly.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { TestHttpServer, waitFor } from './checkers-fixtures.js';

const runStandalone = fileURLToPath(new URL('./harness/checkers-standalone.js', import.meta.url));
const cliOptions = fileURLToPath(new URL('../src/cli/options.js', import.meta.url));

describe('checkers standalone', () => {
  let dir: string;
  let web: TestHttpServer;
  let tcp: TestHttpServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tkk-standalone-'));
    web = await new TestHttpServer('127.0.0.51').listen();
    tcp = await new TestHttpServer('127.0.0.52').listen();
  });
  after(async () => {
    await web.stop().catch(() => undefined);
    await tcp.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs from keepalived.conf with --lb-backend=dry-run and stops on SIGTERM', async () => {
    const conf = join(dir, 'keepalived.conf');
    writeFileSync(
      conf,
      `global_defs {
  router_id tkk-standalone
}
virtual_server 10.255.9.1 80 {
  delay_loop 0.2
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  real_server 127.0.0.51 ${web.port} {
    weight 2
    HTTP_GET {
      url {
        path /
        status_code 200
      }
      connect_timeout 1
      retry 0
    }
  }
  real_server 127.0.0.52 ${tcp.port} {
    weight 3
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
`,
    );
    const script = `
      const { defaultOptions } = await import(${JSON.stringify(cliOptions)});
      const { runCheckersStandalone } = await import(${JSON.stringify(runStandalone)});
      await runCheckersStandalone({ ...defaultOptions(), useFile: ${JSON.stringify(conf)}, lbBackend: 'dry-run' });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const webLine = `-a -t 10.255.9.1:80 -r 127.0.0.51:${web.port} -m -w 2`;
      const tcpLine = `-a -t 10.255.9.1:80 -r 127.0.0.52:${tcp.port} -m -w 3`;
      await waitFor(`both real servers printed (stdout: ${out} stderr: ${err})`, () => out.includes(webLine) && out.includes(tcpLine), 5000);
      assert.match(out, /-A -t 10\.255\.9\.1:80 -s wrr/);
      // the HTTP real server starts failing: the next dump has only the TCP one
      web.mode = 'status500';
      const mark = out.length;
      await waitFor(
        'dump without the failing server',
        () => {
          const later = out.slice(mark);
          return later.includes(tcpLine) && !later.includes(webLine);
        },
        3000,
      );
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 3000))]);
      assert.equal(code, 0, `exit code (stderr: ${err})`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('reports a missing configuration file clearly with exit code 4', async () => {
    const script = `
      const { defaultOptions } = await import(${JSON.stringify(cliOptions)});
      const { runCheckersStandalone } = await import(${JSON.stringify(runStandalone)});
      await runCheckersStandalone({ ...defaultOptions(), useFile: ${JSON.stringify(join(dir, 'nope.conf'))}, lbBackend: 'dry-run' });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 4);
    assert.match(err, /nope\.conf/);
    assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
  });
});
