// Differential tests: keepalived -t (in a throwaway netns) against parseConfig on probe
// configurations whose keywords are all unknown, so that every message keepalived's
// children print ("(FILE: Line N) msg") is one the parser layer decides: where each logical
// line is, what its keyword is, and the brace / ~SEQ / quote diagnostics.
import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { parseConfig } from '../src/parser/index.js';
import { childMessages, emulateUnknownTopLevel, haveKeepalived, keepalivedTest, TempDir } from './parser-helpers.js';

const skip = haveKeepalived ? false : 'needs root and /usr/sbin/keepalived';
let dir: TempDir;
before(() => {
  dir = new TempDir('tkp-diff-');
});
after(() => dir?.remove());

function compare(name: string, files: Record<string, string | Buffer>, configId = 'main'): void {
  for (const [rel, content] of Object.entries(files)) dir.write(`${name}/${rel}`, content);
  const cwd = `${dir.path}/${name}`;
  const ka = keepalivedTest(cwd, 'keepalived.conf', ['-i', configId]);
  const ours = parseConfig('keepalived.conf', { cwd, configId });
  const expected = childMessages(ka).filter((l) => !/Unable to load ipset library|ipvs|IPVS|Netlink/.test(l));
  assert.deepEqual(emulateUnknownTopLevel(ours), expected, `keepalived output:\n${ka.lines.join('\n')}`);
}

const probes: Record<string, Record<string, string | Buffer>> = {
  comments_tokens: {
    'keepalived.conf':
      'probe_a#c\n"probe_c#x"\n\'probe_d#x\'\nprobe_e\\#x\n"probe_f \\#x"\npro"be h"\n"probe {i}"\n  ! c\n\t# c\n' +
      'probe_${_HASH}x\n"probe_${_HASH}x"\np "open\n',
  },
  long_lines: {
    'keepalived.conf': `first\nprobe_long ${'A'.repeat(1012)}BB tail\nbar1\n${'x'.repeat(1023)}\nafter\n${'y'.repeat(2100)}\nend`,
  },
  crlf_nul: {
    'keepalived.conf': Buffer.from('a1 x\r\nb1\r\r\nc1\0hidden\nd1 \xff\n\ne1', 'latin1'),
  },
  braces: {
    'keepalived.conf': 'a { b c }\nd\n{\n e\n}\n{\nf\n}\n}\ng {\n h {\n',
  },
  conditionals: {
    'keepalived.conf': '@main probe\n@^main probe_not\n@mai probe_prefix\n@main\n@ x\n@main{ x }\n@main a @backup b\n',
  },
  definitions: {
    'keepalived.conf':
      '$X=xv\np_$X\np_$X.y\np_$X_y\n"p_$X"\np_${X}.y\n"p_${X}"\n$R=${X}_r\n$X=changed\nr_${R}\np_${U}\n$Y =bad\n' +
      '@main $Q=7\nq_$Q\n$IFMAIN=@main\n$IFMAIN im\n$A=${A}x\np ${A}\n',
  },
  multiline: {
    'keepalived.conf': '$M=a \\\nb \\\nc\n$M\npre $M\n$M post\n$N=x \\\n# comment\ny\n$N\n$E=e1 \\\n\ne2\n$E\n',
  },
  sequences: {
    'keepalived.conf':
      '~SEQ(C,0) s_${C}\n~SEQ(I,1,2) ~SEQ(J,1,2) p_${I}_${J}\n~LST(v,a,b) l_$v\n~LST({P,Q},{a,1},{b,2}) p_${P}${Q}\n' +
      '~SEQx(E,9,2,12) x_${E}\n~SEQ(B,08) bad\n~SEQ(B,1,-1,5) bad2\nafter_seq ${C} ${I}\n$MAX=3\n~SEQ(H,1,$MAX) h${H}\n' +
      'v { ~SEQ(N,1,3) 1.2.3.${N}/32 }\n',
  },
  includes: {
    'keepalived.conf': 'top1\ninclude sub/a.conf\ntop2\ninclude sub/*.inc\ntop3 ${_PWD}x\n',
    'sub/a.conf': 'a1\ninclude ../sub2/x.conf\na2 {\n',
    'sub2/x.conf': 'x1\n}\n}\n',
    'sub/1.inc': 'i1\n',
    'sub/2.inc': 'i2 {\n',
  },
};

for (const [name, files] of Object.entries(probes)) {
  test(`keepalived agrees: ${name}`, { skip, timeout: 30_000 }, () => compare(name, files));
}

test('keepalived agrees with another config id', { skip, timeout: 30_000 }, () => compare('conditionals_backup', probes.conditionals!, 'backup'));
