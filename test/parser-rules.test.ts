// One test per keepalived lexical rule (reference: keepalived-parser-rules.md), with the
// reference's own examples. Every input is parsed twice (fast path on and off).
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { diagTexts, dump, parseBoth, parseText, words } from './parser-helpers.js';

test('§1 MAXBUF: a physical line over 1023 bytes becomes two logical lines', () => {
  const long = 'probe_long ' + 'A'.repeat(1012) + 'BB tail';
  const r = parseBoth(`first\n${long}\nbar1\nlast\n`);
  // fgets reads 1023 bytes; the child pass counts the copy line, then an empty read
  assert.deepEqual(dump(r.nodes), ['1 first', `1 probe_long|${'A'.repeat(1012)}`, '3 BB|tail', '4 bar1', '5 last']);
});

test('§1 a line of exactly 1023 characters plus newline', () => {
  const line = 'x'.repeat(1023);
  const r = parseBoth(`${line}\nnext\n`);
  assert.deepEqual(dump(r.nodes), [`0 ${line}`, '3 next']);
});

test('§2 comments: # and ! anywhere outside "...", single quotes do not protect', () => {
  const r = parseBoth('probe_a#c\n"probe_c#x"\n\'probe_d#x\'\nprobe_b ! bang\n   # only a comment\n\t! another\n');
  assert.deepEqual(dump(r.nodes), ['1 probe_a', '2 probe_c#x', "3 'probe_d", '4 probe_b']);
});

test('§2 \\# works only in the parent: the children cut the line there', () => {
  const r = parseBoth('probe_e\\#x\n"probe_f \\#x"\n');
  assert.deepEqual(words(r.nodes), ['probe_e', 'probe_f \\#x']);
});

test('§2 ${_HASH}/${_BANG} truncate the line unless inside "..."', () => {
  const r = parseBoth('probe_${_HASH}x\n"probe_${_HASH}x"\n"b_${_BANG}y"\nb_${_BANG}y\n');
  assert.deepEqual(words(r.nodes), ['probe_', 'probe_#x', 'b_!y', 'b_']);
});

test('§2 CRLF line ends and a missing final newline', () => {
  const r = parseBoth('a one\r\nb two\r\r\nc three');
  assert.deepEqual(dump(r.nodes), ['1 a|one', '2 b|two', '3 c|three']);
});

test('§2 unterminated quote is reported', () => {
  const r = parseBoth('probe "open\n');
  assert.ok(diagTexts(r).includes(`1 Unterminated quote 'probe "open'`), diagTexts(r).join('\n'));
  assert.ok(diagTexts(r).includes(`1 Unmatched quote: 'probe "open'`));
});

test('§3 tokens: "..." is one word, a quote inside a word ends it, \\f \\v split', () => {
  const r = parseBoth('pro"be h"\n"probe {i}"\nstate "MA STER" x\na\fb\vc\n"x"y\n');
  assert.deepEqual(words(r.nodes), ['pro|be h', 'probe {i}', 'state|MA STER|x', 'a|b|c', 'x|y']);
  assert.equal(r.nodes[2]!.text, 'state "MA STER" x');
});

test('§4 braces split lines: a { b c } => a, {, b c, }', () => {
  const r = parseBoth('a { b c }\n');
  assert.deepEqual(dump(r.nodes), ['1 a', '  1 b|c']);
  assert.equal(r.nodes[0]!.endLoc!.line, 1);
  assert.equal(r.nodes[0]!.openLoc!.line, 1);
});

test('§4 virtual_ipaddress { 192.0.2.1/32 192.0.2.2/32 } on one line', () => {
  const r = parseBoth('vrrp_instance V { virtual_router_id 51 interface eth0 }\nvirtual_ipaddress { 192.0.2.1/32 192.0.2.2/32 }\n');
  assert.deepEqual(dump(r.nodes), ['1 vrrp_instance|V', '  1 virtual_router_id|51|interface|eth0', '2 virtual_ipaddress', '  2 192.0.2.1/32|192.0.2.2/32']);
});

test('§4 { on the next line opens the block of the previous line', () => {
  const r = parseBoth('vrrp_instance X\n{\n  state MASTER\n}\n');
  assert.deepEqual(dump(r.nodes), ['1 vrrp_instance|X', '  3 state|MASTER']);
  assert.equal(r.nodes[0]!.openLoc!.line, 2);
  assert.equal(r.nodes[0]!.endLoc!.line, 4);
});

test('§4 stray {, extra }, missing }', () => {
  const stray = parseBoth('{\nx\n}\n');
  assert.deepEqual(diagTexts(stray), ["1 Unexpected '{' - ignoring"]);
  assert.deepEqual(dump(stray.nodes), ['2 x', '3 }']);
  const extra = parseBoth('a {\n}\n}\nb\n');
  assert.deepEqual(diagTexts(extra), ["3 Extra '}' found"]);
  assert.deepEqual(dump(extra.nodes), ['1 a', '3 }', '4 b']);
  const missing = parseBoth('a {\n b {\n  c\n');
  assert.deepEqual(diagTexts(missing), ["3 There are 2 missing '}'s or extra '{'s"]);
  assert.deepEqual(dump(missing.nodes), ['1 a', '  2 b', '    3 c']);
});

test('§4 braces inside "..." do not split; text keeps the quotes', () => {
  const r = parseBoth('script "/bin/echo {x}" { y }\n');
  assert.deepEqual(dump(r.nodes), ['1 script|/bin/echo {x}', '  1 y']);
  assert.equal(r.nodes[0]!.text, 'script "/bin/echo {x}"');
});

test('§6 @ID / @^ID conditional lines', () => {
  const text = '@main probe\n@^main probe_not\n@mai probe_prefix\n@main\n@ x\n@main{ x }\n@main a @backup b\n@main\tt tab\n';
  assert.deepEqual(dump(parseBoth(text, { configId: 'main' }).nodes), ['1 probe', '7 a|@backup|b', '8 t|tab']);
  assert.deepEqual(dump(parseBoth(text, { configId: 'other' }).nodes), ['2 probe_not']);
});

test('§6 @ID with definitions, and a substitution producing @ is re-evaluated', () => {
  const text = '@main $P=240\n$IFMAIN=@main\np $P\n$IFMAIN priority 240\n';
  assert.deepEqual(words(parseBoth(text, { configId: 'main' }).nodes), ['p|240', 'priority|240']);
  assert.deepEqual(words(parseBoth(text, { configId: 'backup' }).nodes), ['p|$P']);
});

test('§7 definitions: $NAME=VALUE, no space before =, redefinition', () => {
  const r = parseBoth('$X=xv\n$Y =bad\n$E=\np $X\ne [$E]\n$X=again\nq $X\n');
  assert.deepEqual(words(r.nodes), ['$Y|=bad', 'p|xv', 'e|[$E]', 'q|again']);
});

test('§7 reference forms and terminators', () => {
  const r = parseBoth('$X=v\np_$X\np_$X.y\np_$X_y\n"p_$X"\np_${X}.y\n"p_${X}"\na $X,b\nf($X)\n');
  assert.deepEqual(words(r.nodes), ['p_v', 'p_$X.y', 'p_$X_y', 'p_$X', 'p_v.y', 'p_v', 'a|v,b', 'f(v)']);
});

test('§7 late binding and recursion', () => {
  const r = parseBoth('$X=x\n$R=${X}_r\n$X=changed\np ${R}\n');
  assert.deepEqual(words(r.nodes), ['p|changed_r']);
});

test('§7 an undefined ${U} stays and its braces split the line', () => {
  const r = parseBoth('p_${U}\n');
  assert.deepEqual(dump(r.nodes), ['1 p_$', '  1 U']);
});

test('§7 built-ins can be overridden', () => {
  const r = parseBoth('$_INSTANCE=x\np ${_INSTANCE}\n', { configId: 'main' });
  assert.deepEqual(words(r.nodes), ['p|x']);
});

test('§8 multiline definitions', () => {
  const r = parseBoth('$M=a \\\nb \\\nc\n$M\n${M}\n@main $M\npre $M\n$M post\n');
  assert.deepEqual(dump(r.nodes), ['4 a', '4 b', '4 c', '5 a', '5 b', '5 c', '6 a', '6 b', '6 c', '7 pre|a', '7 b', '7 c', '8 $M|post']);
});

test('§8 an empty line ends a multiline definition; so does a comment-only line (child pass)', () => {
  const r = parseBoth('$M=a \\\nb \\\n\nc\n$M\n$N=x \\\n# comment\ny\n$N\n');
  assert.deepEqual(words(r.nodes), ['c', 'a', 'b', 'y', 'x']);
});

test('§8 nested multiline values', () => {
  const r = parseBoth('$IN=i1 \\\ni2\n$OUT=o1 \\\n$IN\n$OUT\n');
  assert.deepEqual(words(r.nodes), ['o1', 'i1', 'i2']);
});

test('§9 ~SEQ forms and strtol base 0', () => {
  const r = parseBoth('~SEQ(C,0) c_${C}\n~SEQ(A, 3) a_${A}\n~SEQ(B,5,3) b_$B\n~SEQ(H,0x10,0x11) h_$H\n~SEQ(O,010,011) o_$O\n~SEQ(S,1,3,7) s_$S\n');
  assert.deepEqual(words(r.nodes), ['c_1', 'c_0', 'a_1', 'a_2', 'a_3', 'b_5', 'b_4', 'b_3', 'h_16', 'h_17', 'o_8', 'o_9', 's_1', 's_4', 's_7']);
});

test('§9 ~SEQ errors: 08, bad step, ~SEQx negative, too-long arguments', () => {
  const r = parseBoth(`~SEQ(B,08) x\n~SEQ(B,1,-1,5) x\n~SEQx(E,-1,2) x\n~SEQ(L,${'1'.repeat(70)}) x\n`);
  assert.deepEqual(diagTexts(r), [
    "1 Invalid ~SEQ definition '~SEQ(B,08) x'",
    "1 Invalid ~SEQ specification '~SEQ(B,08) x'",
    "2 Invalid ~SEQ values '~SEQ(B,1,-1,5) x'",
    "2 Invalid ~SEQ specification '~SEQ(B,1,-1,5) x'",
    "3 ~SEQx is only valid for positive numbers '~SEQx(E,-1,2) x'",
    "3 Invalid ~SEQ specification '~SEQx(E,-1,2) x'",
    `4 ~SEQ parameter strings too long '~SEQ(L,${'1'.repeat(70)}) x'`,
    `4 Invalid ~SEQ specification '~SEQ(L,${'1'.repeat(70)}) x'`,
  ]);
  assert.equal(r.nodes.length, 0);
});

test('§9 ~SEQ arguments use $definitions; the variable keeps its last value', () => {
  const r = parseBoth('$MAX=3\n~SEQ(H,1,$MAX) h${H}\nafter ${H}\n');
  assert.deepEqual(words(r.nodes), ['h1', 'h2', 'h3', 'after|3']);
});

test('§9 ~SEQx hex and nesting (leftmost is the outer loop)', () => {
  const r = parseBoth('~SEQx(E,9,2,12) e_${E}\n~SEQ(I,1,2) ~SEQ(J,1,2) p_${I}_${J}\n');
  assert.deepEqual(words(r.nodes), ['e_9', 'e_b', 'p_1_1', 'p_1_2', 'p_2_1', 'p_2_2']);
});

test('§9 ~LST', () => {
  const r = parseBoth('~LST(v,a,b) l_$v\n~LST({P,Q},{a,1},{b,2}) p_${P}${Q}\n~LST({X,Y},{1},{2,3}) q_${X}_${Y}\n');
  assert.deepEqual(words(r.nodes), ['l_a', 'l_b', 'p_a1', 'p_b2', 'q_1_', 'q_2_3']);
});

test('§9 the whole rest of the line is repeated, braces included', () => {
  const r = parseBoth('virtual_ipaddress { ~SEQ(N,1,3) 1.2.3.${N}/32 }\n');
  assert.deepEqual(dump(r.nodes), ['1 virtual_ipaddress', '  1 1.2.3.1/32', '1 1.2.3.2/32', '1 }', '1 1.2.3.3/32', '1 }']);
  assert.deepEqual(diagTexts(r), ["1 Extra '}' found", "1 Extra '}' found"]);
});

test('§9 the reference working example', () => {
  const text = `$IF=eth0
$INST=\\
vrrp_instance VI_\${N} { \\
    interface $IF \\
    virtual_router_id \${N} \\
    priority 100 \\
    virtual_ipaddress { \\
        192.0.2.\${N}/32 \\
    } \\
}
~SEQ(N, 1, 3) $INST
vrrp_instance VI_10 {
    interface eth0
    virtual_router_id 10
    priority 100
    virtual_ipaddress {
        ~SEQ(H, 1, 4) 198.51.100.\${H}/32
    }
    virtual_ipaddress_excluded {
        ~SEQx(X, 0xa, 0xc) 2001:db8::\${X}/128
    }
}
`;
  const r = parseBoth(text);
  assert.deepEqual(r.diagnostics, []);
  const d = dump(r.nodes);
  const inst = (n: number) => [
    `11 vrrp_instance|VI_${n}`,
    '  11 interface|eth0',
    `  11 virtual_router_id|${n}`,
    '  11 priority|100',
    '  11 virtual_ipaddress',
    `    11 192.0.2.${n}/32`,
  ];
  assert.deepEqual(d, [
    ...inst(1),
    ...inst(2),
    ...inst(3),
    '12 vrrp_instance|VI_10',
    '  13 interface|eth0',
    '  14 virtual_router_id|10',
    '  15 priority|100',
    '  16 virtual_ipaddress',
    '    17 198.51.100.1/32',
    '    17 198.51.100.2/32',
    '    17 198.51.100.3/32',
    '    17 198.51.100.4/32',
    '  19 virtual_ipaddress_excluded',
    '    20 2001:db8::a/128',
    '    20 2001:db8::b/128',
    '    20 2001:db8::c/128',
  ]);
});

test('§10 built-ins: _PWD, _INSTANCE, _RANDOM', () => {
  const r = parseText('a ${_INSTANCE}\nb ${_RANDOM 5 7}\nc ${_RANDOM}\nd ${_PWD}\n', { configId: 'node1' });
  const w = words(r.nodes);
  assert.equal(w[0], 'a|node1');
  const b = Number(w[1]!.split('|')[1]);
  assert.ok(b >= 5 && b <= 7, w[1]);
  const c = Number(w[2]!.split('|')[1]);
  assert.ok(c >= 0 && c <= 32767, w[2]);
  assert.equal(w[3], `d|${r.dir.path}`);
});

test('§7 substitution that would exceed the line length is abandoned (info)', () => {
  const r = parseBoth('$A=${A}x\np ${A}\n$L=' + 'y'.repeat(600) + '\nq $L $L\n');
  const ds = r.diagnostics.map((d) => [d.line, d.severity, d.message.slice(0, 40)].join(' '));
  assert.deepEqual(
    words(r.nodes).map((w) => w.slice(0, 8)),
    ['p|$', 'A', 'xxxxxxxx', 'q|yyyyyy'],
  );
  assert.equal(words(r.nodes)[3]!.slice(-3), '|$L');
  assert.ok(
    ds.some((d) => d.startsWith('2 info Parameter substitution on line')),
    ds.join('\n'),
  );
  assert.ok(r.diagnostics.every((d) => d.message.endsWith('would exceed maximum line length')));
});

test('mutually recursive definitions are bounded and reported', () => {
  const r = parseBoth('$A=$B\n$B=$A\np $A\n');
  assert.equal(r.nodes.length, 1);
  assert.match(diagTexts(r)[0]!, /^3 Parameter substitution on line .* does not terminate/);
});

test('NUL bytes end the line like strlen(); invalid UTF-8 is read as bytes', () => {
  const buf = Buffer.concat([Buffer.from('a\0hidden\nb \xff\xfe\n', 'latin1'), Buffer.from('c\n')]);
  const r = parseBoth(buf);
  assert.deepEqual(words(r.nodes), ['a', 'b|\xff\xfe', 'c']);
  // the line holding the NUL is not counted by keepalived (its '\n' is never seen)
  assert.deepEqual(
    r.nodes.map((n) => n.loc.line),
    [1, 2, 3],
  );
});
