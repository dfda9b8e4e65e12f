// tskeepalived -t / --check-config / --json / --dump-conf: exit codes and output shapes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { canUseNamespaces, haveKeepalived, KEEPALIVED, REPO_ROOT, TestNamespace, TSKEEPALIVED } from './config-netns.js';

const dir = mkdtempSync(join(tmpdir(), 'tkc-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], cwd = dir) {
  const r = spawnSync(process.execPath, [TSKEEPALIVED, ...args], { cwd, encoding: 'utf8', timeout: 20000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const VALID = `global_defs {
    router_id t1
}
virtual_server 192.0.2.10 80 {
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 198.51.100.1 8080 {
        weight 3
        HTTP_GET {
            url {
                path /health
            }
        }
    }
}
`;

describe('check-config exit codes (keepalived 2.2.7 classes)', () => {
  it('a missing file cannot run: exit 4 and the file is named', () => {
    const r = cli(['-t', '-f', 'no-such.conf']);
    assert.equal(r.status, 4);
    assert.match(r.stderr, /no-such\.conf/);
  });

  it('a directory cannot run: exit 4', () => {
    const r = cli(['--check-config', '-f', dir]);
    assert.equal(r.status, 4);
    assert.match(r.stderr, /is a directory/);
  });

  it('binary garbage: exit 5 with located messages, no stack trace', () => {
    const f = join(dir, 'garbage.conf');
    writeFileSync(f, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x01, 0xff, 0x7b, 0x0a, 0xfe, 0x7d, 0x20, 0x41]));
    const r = cli(['-t', '-f', f]);
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stderr, /Line \d+\) /);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
  });

  it('--config-test=FILE form and a valid config: exit 0, nothing printed', () => {
    const f = join(dir, 'valid.conf');
    writeFileSync(f, VALID);
    const r = cli([`--config-test=${f}`]);
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
  });

  it('unknown keywords: exit 5, printed exactly as keepalived prints them', () => {
    const text = VALID.replace('router_id t1', 'router_id t1\n    bogus_kw 1').replace('protocol TCP', 'protocol TCP\n    bogus_vs 2');
    writeFileSync(join(dir, 'unknown.conf'), text);
    const r = cli(['-t', '-f', 'unknown.conf']);
    assert.equal(r.status, 5);
    // keepalived's parent process (global_defs) names no file when only one file is read
    assert.match(r.stderr, /^\(Line 3\) Unknown keyword 'bogus_kw'$/m);
    assert.match(r.stderr, /^\(unknown\.conf: Line 9\) Unknown keyword 'bogus_vs'$/m);
  });

  it('an existing script without enable_script_security: exit 6 (SECURITY VIOLATION)', () => {
    writeFileSync(join(dir, 'sec.conf'), VALID.replace('weight 3', 'weight 3\n        notify_up /bin/true'));
    const r = cli(['-t', '-f', 'sec.conf']);
    assert.equal(r.status, 6, r.stderr);
    assert.match(r.stderr, /SECURITY VIOLATION/);
  });
});

describe('check-config stays light', () => {
  it('loads no logger and no engine code', () => {
    const probe = `
      const { createRequire } = await import('node:module');
      const require = createRequire(import.meta.url);
      const { runCheckConfig } = await import(${JSON.stringify(join(REPO_ROOT, 'dist/src/cli/check-config.js'))});
      const { defaultOptions } = await import(${JSON.stringify(join(REPO_ROOT, 'dist/src/cli/options.js'))});
      const o = defaultOptions(); o.configTest = true; o.useFile = ${JSON.stringify(join(dir, 'light.conf'))};
      process.stderr.write = () => true;
      await runCheckConfig(o);
      console.log(JSON.stringify(Object.keys(require.cache)));`;
    writeFileSync(join(dir, 'light.conf'), VALID);
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8', cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    const loaded: string[] = JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]');
    assert.deepEqual(
      loaded.filter((m) => /node_modules\/(pino|undici|nodemailer)\//.test(m)),
      [],
    );
  });
});

describe('--check-config --json', () => {
  it('prints {file, exitCode, diagnostics[{file,line,severity,message}]} on stdout', () => {
    writeFileSync(join(dir, 'j.conf'), VALID.replace('weight 3', 'weight x'));
    const r = cli(['--check-config', '--json', '-f', 'j.conf']);
    assert.equal(r.status, 5);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(out), ['file', 'exitCode', 'diagnostics']);
    assert.equal(out.file, 'j.conf');
    assert.equal(out.exitCode, 5);
    assert.ok(out.diagnostics.length >= 1);
    for (const d of out.diagnostics) assert.deepEqual(Object.keys(d), ['file', 'line', 'severity', 'message']);
    assert.deepEqual(out.diagnostics[0], { file: 'j.conf', line: 9, severity: 'error', message: "invalid number 'x'" });
  });

  it('a missing file in JSON: exit 4, a fatal diagnostic that names the file', () => {
    const r = cli(['--check-config', '--json', '-f', 'missing.conf']);
    assert.equal(r.status, 4);
    const out = JSON.parse(r.stdout);
    assert.equal(out.exitCode, 4);
    assert.equal(out.diagnostics[0].severity, 'fatal');
    assert.equal(out.diagnostics[0].file, 'missing.conf');
  });
});

describe('--dump-conf', () => {
  it('prints the normalised model as JSON with sorted keys and keepalived defaults applied', () => {
    const f = join(dir, 'dump.conf');
    writeFileSync(f, VALID);
    const r = cli(['-d', '-f', f]);
    assert.equal(r.status, 0, r.stderr);
    const cfg = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(cfg), [...Object.keys(cfg)].sort());
    const vs = cfg.virtualServers[0];
    assert.equal(vs.delayLoop, 60000);
    assert.deepEqual(vs.key, { address: '192.0.2.10', family: 4, kind: 'addr', port: 80 });
    const rs = vs.realServers[0];
    assert.equal(rs.weight, 3);
    const chk = rs.checkers[0];
    assert.equal(chk.type, 'HTTP_GET');
    assert.equal(chk.connectTimeout, 5000);
    assert.equal(chk.retry, 1);
    assert.equal(chk.delayBeforeRetry, 3000);
    assert.equal(chk.urls[0].path, '/health');
    assert.equal(cfg.global.routerId, 't1');
    assert.equal(cfg.global.vrrpGarpMasterDelay, 5000);
    // identical output on a second run (stable order)
    assert.equal(cli(['-d', '-f', f]).stdout, r.stdout);
  });
});

const nsSkip = canUseNamespaces();

describe('examples/keepalived.conf', { skip: nsSkip }, () => {
  const ns = new TestNamespace('ex');
  before(() => ns.create());
  after(() => ns.destroy());
  it('passes --check-config with exit 0 and prints nothing', () => {
    const r = ns.run(process.execPath, [TSKEEPALIVED, '--check-config', '-f', 'examples/keepalived.conf'], REPO_ROOT);
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
  });
});

// Found by the daemon work: keepalived 2.2.7 accepts bare boolean keywords in global_defs and
// uses global_defs script_user as the default script user. Both tools on the same file.
describe('agrees with live keepalived -t on bare booleans and script_user', {
  skip: nsSkip ?? (haveKeepalived() ? undefined : 'keepalived not installed'),
}, () => {
  const ns = new TestNamespace('kv');
  before(() => ns.create());
  after(() => ns.destroy());
  const cases: Record<string, string> = {
    'bare-booleans': 'global_defs {\n    smtp_alert\n    smtp_alert_vrrp\n    smtp_alert_checker\n    vrrp_notify_priority_changes\n}\n',
    'script-user': `global_defs {\n    script_user root\n    enable_script_security\n}\nvrrp_script chk {\n    script "/bin/true"\n}\nvrrp_instance V {\n    interface eth0\n    virtual_router_id 5\n    track_script {\n        chk\n    }\n    virtual_ipaddress {\n        192.0.2.9/32\n    }\n}\n`,
    'bad-boolean': 'global_defs {\n    smtp_alert maybe\n}\n',
  };
  for (const [name, text] of Object.entries(cases)) {
    it(name, () => {
      const file = join(dir, `${name}.conf`);
      writeFileSync(file, text);
      const ours = ns.run(process.execPath, [TSKEEPALIVED, '-t', '-f', file]);
      const theirs = ns.run(KEEPALIVED, ['-t', '-f', file]);
      assert.equal(ours.status, theirs.status, `ours: ${ours.stderr}\nkeepalived: ${theirs.stderr}`);
      if (name !== 'bad-boolean') assert.equal(ours.status, 0, ours.stderr);
    });
  }
});
