// One script-security rule for `-t` and the running daemon, checked against keepalived -t on real
// files with other owners, modes and links. The cases marked 'disagreed' are where the config copy
// and the daemon's copy of the rule used to give different answers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lchownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkScript, scriptSecurityProblem } from '../src/config/script-security.js';

const KEEPALIVED = '/usr/sbin/keepalived';
const NOBODY = 65534;
const loc = { file: 't', line: 1 };

interface Case {
  name: string;
  insecure: boolean;
  /** the two former copies gave different answers here */
  disagreed?: boolean;
  make(dir: string): string;
}

function script(path: string, mode: number, uid = 0, gid = 0): string {
  writeFileSync(path, '#!/bin/sh\nexit 0\n');
  chownSync(path, uid, gid);
  chmodSync(path, mode);
  return path;
}

const cases: Case[] = [
  { name: 'root 0755', insecure: false, make: (d) => script(join(d, 's'), 0o755) },
  { name: 'owned by nobody, 0555', insecure: true, disagreed: true, make: (d) => script(join(d, 's'), 0o555, NOBODY, NOBODY) },
  { name: 'root:root 0775 (group root may write)', insecure: false, disagreed: true, make: (d) => script(join(d, 's'), 0o775) },
  { name: 'root:nogroup 0775', insecure: true, make: (d) => script(join(d, 's'), 0o775, 0, NOBODY) },
  { name: 'world writable', insecure: true, make: (d) => script(join(d, 's'), 0o757) },
  { name: 'owned by nobody, not executable', insecure: false, make: (d) => script(join(d, 's'), 0o644, NOBODY, NOBODY) },
  {
    name: 'directory owned by nobody',
    insecure: true,
    make: (d) => {
      mkdirSync(join(d, 'sub'));
      chownSync(join(d, 'sub'), NOBODY, NOBODY);
      return script(join(d, 'sub', 's'), 0o755);
    },
  },
  {
    name: 'sticky world-writable directory',
    insecure: false,
    make: (d) => {
      mkdirSync(join(d, 'sub'));
      chmodSync(join(d, 'sub'), 0o1777);
      return script(join(d, 'sub', 's'), 0o755);
    },
  },
  {
    name: 'root link to a file owned by nobody',
    insecure: true,
    disagreed: true,
    make: (d) => {
      script(join(d, 'target'), 0o755, NOBODY, NOBODY);
      symlinkSync('target', join(d, 's'));
      return join(d, 's');
    },
  },
  {
    name: 'link owned by nobody to a root file',
    insecure: true,
    disagreed: true,
    make: (d) => {
      script(join(d, 'target'), 0o755);
      symlinkSync('target', join(d, 's'));
      lchownSync(join(d, 's'), NOBODY, NOBODY);
      return join(d, 's');
    },
  },
  {
    name: 'root link to a directory owned by nobody',
    insecure: true,
    disagreed: true,
    make: (d) => {
      mkdirSync(join(d, 'real'));
      chownSync(join(d, 'real'), NOBODY, NOBODY);
      script(join(d, 'real', 's'), 0o755);
      symlinkSync('real', join(d, 'link'));
      return join(d, 'link', 's');
    },
  },
];

function conf(file: string): string {
  return `vrrp_instance V {\n    interface lo\n    virtual_router_id 5\n    priority 100\n    notify_master ${file}\n    virtual_ipaddress {\n        192.0.2.9/32\n    }\n}\n`;
}

describe('script security: one rule, as keepalived', { skip: process.getuid?.() === 0 ? false : 'needs root to own files as others' }, () => {
  let base: string;
  before(() => {
    base = mkdtempSync(join(tmpdir(), `tks-${process.pid}-scriptsec-`));
    chmodSync(base, 0o755);
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  cases.forEach((c, i) => {
    it(`${c.name}${c.disagreed ? ' (the copies disagreed)' : ''}`, () => {
      const dir = join(base, String(i));
      mkdirSync(dir, { mode: 0o755 });
      const file = c.make(dir);
      const check = checkScript({ command: file, argv: [file], loc });
      assert.equal(check.isScript, true);
      assert.equal(check.insecure, c.insecure, '-t: insecure');
      const problem = scriptSecurityProblem(file);
      if (c.name.includes('not executable')) assert.match(problem ?? '', /not executable/);
      else assert.equal(problem !== undefined, c.insecure, `daemon: ${problem}`);
      if (!existsSync(KEEPALIVED)) return;
      writeFileSync(join(dir, 'k.conf'), conf(file));
      const ka = spawnSync(KEEPALIVED, ['-t', '-f', join(dir, 'k.conf')], { encoding: 'utf8', timeout: 10_000 });
      assert.match(ka.stderr + ka.stdout, /SECURITY VIOLATION/);
      assert.equal(/There are insecure scripts/.test(ka.stderr + ka.stdout), c.insecure, 'keepalived -t agrees');
    });
  });

  it('a directory, a file test and a bare name found in PATH', () => {
    const dir = join(base, 'misc');
    mkdirSync(dir, { mode: 0o755 });
    assert.deepEqual(checkScript({ command: dir, argv: [dir], loc }), { isScript: true, insecure: false, problem: `'${dir}' is not a file` });
    assert.deepEqual(checkScript({ command: '</etc/hostname', argv: ['</etc/hostname'], loc }), { isScript: false, insecure: false });
    script(join(dir, 'tks-bare'), 0o755, NOBODY, NOBODY);
    const prev = process.env.PATH;
    process.env.PATH = `${dir}:/usr/bin`;
    try {
      assert.equal(checkScript({ command: 'tks-bare', argv: ['tks-bare'], loc }).insecure, true);
      assert.match(scriptSecurityProblem('tks-missing') ?? '', /cannot find script 'tks-missing' in PATH/);
    } finally {
      process.env.PATH = prev;
    }
  });
});
