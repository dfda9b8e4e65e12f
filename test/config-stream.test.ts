// loadConfig builds while the parser reads (streaming). Whatever the order of the root blocks,
// the result must be exactly what building from the whole tree gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { buildConfig, emptyConfig } from '../src/config/build.js';
import { BuildContext } from '../src/config/context.js';
import { validateChecker, validateParent, validateVrrp } from '../src/config/validate.js';
import { parseConfig } from '../src/parser/index.js';

/** the whole-tree pipeline (no streaming), as loadConfig did it before */
function loadWhole(path: string, interfaces: string[]) {
  const config = emptyConfig(path, 'x');
  const ctx = new BuildContext(path, new Set(interfaces));
  const parsed = parseConfig(path, { configId: 'x' });
  const state = buildConfig(ctx, parsed.nodes, config);
  validateParent(ctx, config);
  validateChecker(ctx, config, state);
  validateVrrp(ctx, config, state);
  return { config, diagnostics: [...parsed.diagnostics, ...ctx.diagnostics()] };
}

const VS = `virtual_server 10.0.0.1 80 {
  lb_algo rr
  protocol TCP
  real_server 10.0.0.2 80 {
    weight 2
    MISC_CHECK {
      misc_path "/bin/true"
    }
    FILE_CHECK {
      track_file tf1
    }
    BFD_CHECK {
      name b1
    }
  }
  real_server 10.0.0.2 80 {
  }
}
virtual_server 10.0.0.5 81 {
  real_server 10.0.0.6 82 {
    HTTP_GET {
      url {
        path /
        digest 9b3a0c85a887a256d6939da88aabd8cd
        status_code 200 301-302 99
      }
    }
  }
}
`;
const VRRP = `vrrp_instance A {
  interface lo
  virtual_router_id 1
  virtual_ipaddress {
    10.1.1.1/32
  }
  track_file {
    tf1
  }
}
`;
const GLOBAL = 'global_defs {\n  enable_script_security\n  script_user root\n}\n';
const TRACK = 'track_file tf1 {\n  file /tmp/tkv-stream-none\n}\n';
const BFD = 'bfd_instance b1 {\n  neighbor_ip 10.0.0.2\n}\n';
const UNKNOWN = `bogus {\n${VS.replace(/10\.0\.0\.1 80/, '10.0.0.9 80')}}\n`;
// servers the end-of-read checks have something to say about: no real servers, no protocol,
// zero port, one packet scheduling without UDP, no forwarding method
const ODD = `virtual_server 10.0.1.1 80 {
}
virtual_server 10.0.1.2 0 {
  ops
  real_server 10.0.1.3 80 {
  }
}
virtual_server fwmark 7 {
  protocol UDP
  real_server 10.0.1.4 80 {
    notify_up /bin/true
  }
}
`;
const GROUP = `virtual_server group G1 {
  protocol TCP
  real_server 10.0.2.2 80 {
  }
}
virtual_server group NOPE {
  real_server 10.0.2.3 80 {
  }
}
`;
const GROUP_DEF = 'virtual_server_group G1 {\n  10.0.2.1 80\n}\n';

const ORDERS: [string, string][] = [
  ['global, names, then servers', GLOBAL + TRACK + BFD + VRRP + VS],
  ['servers first', VS + VRRP + GLOBAL + TRACK + BFD],
  ['global_defs after a virtual_server', VS + GLOBAL + VRRP + TRACK],
  ['only global_defs after the servers', TRACK + BFD + VS + GLOBAL],
  ['track_file after a virtual_server', GLOBAL + VS + TRACK + VRRP],
  ['bfd_instance after a virtual_server', GLOBAL + TRACK + VS + BFD],
  ['unknown root keyword after a virtual_server', GLOBAL + VS + UNKNOWN],
  ['unknown root keyword before the servers', UNKNOWN + GLOBAL + TRACK + VS],
  ['vrrp after the servers', GLOBAL + TRACK + BFD + VS + VRRP + 'vrrp_script s {\n  script "/bin/true"\n}\n'],
  ['extra closing brace at the end', GLOBAL + VS + '}\n'],
  ['missing closing brace at the end', GLOBAL + VS + 'virtual_server 10.0.0.7 80 {\n  real_server 10.0.0.8 80 {\n'],
  ['only virtual servers', VS],
  ['servers with end-of-read messages', ODD + VS],
  ['a group server between others, its group defined last', VS + GROUP + ODD + GROUP_DEF],
  ['a group defined first', GROUP_DEF + GROUP + VS + ODD],
  ['secured scripts in servers', GLOBAL + ODD + VS],
];

test('streamed build equals the whole-tree build for any order of root blocks, with or without keeping virtual servers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tkv-stream-'));
  try {
    for (const [name, text] of ORDERS) {
      const path = join(dir, 'keepalived.conf');
      writeFileSync(path, text);
      const streamed = loadConfig(path, { configId: 'x', interfaces: ['lo'] });
      const whole = loadWhole(path, ['lo']);
      assert.equal(streamed.stopRc, undefined, name);
      assert.deepEqual(JSON.parse(JSON.stringify(streamed.config)), JSON.parse(JSON.stringify(whole.config)), name);
      assert.deepEqual(streamed.diagnostics, whole.diagnostics, name);
      // a config test keeps no virtual servers: the same messages, in the same order
      const released = loadConfig(path, { configId: 'x', interfaces: ['lo'], keepVirtualServers: false });
      assert.deepEqual(released.diagnostics, whole.diagnostics, `${name} (virtual servers not kept)`);
      assert.ok(streamed.config.virtualServers.length > 0 || streamed.diagnostics.length > 0, name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parseConfig with onRoot hands over every root node once complete, and stops on false', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tkv-stream-'));
  try {
    const path = join(dir, 'keepalived.conf');
    writeFileSync(path, GLOBAL + VS + VRRP);
    const seen: string[] = [];
    const r = parseConfig(path, {
      configId: 'x',
      onRoot: (n) => {
        // a root node is complete: its block (if any) is closed
        seen.push(`${n.keyword}:${n.children?.length ?? -1}:${n.endLoc ? 'closed' : 'open'}`);
        return true;
      },
    });
    assert.deepEqual(r.nodes, []);
    assert.equal(r.streamStopped, undefined);
    assert.deepEqual(seen, ['global_defs:2:closed', 'virtual_server:4:closed', 'virtual_server:1:closed', 'vrrp_instance:4:closed']);
    let calls = 0;
    const stopped = parseConfig(path, { configId: 'x', onRoot: () => ++calls < 2 });
    assert.equal(stopped.streamStopped, true);
    assert.equal(calls, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a config test keeps no virtual server it could check while reading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tkv-stream-'));
  try {
    const path = join(dir, 'keepalived.conf');
    writeFileSync(path, VS + GROUP + ODD + GROUP_DEF);
    const kept = loadConfig(path, { configId: 'x', interfaces: ['lo'] });
    const released = loadConfig(path, { configId: 'x', interfaces: ['lo'], keepVirtualServers: false });
    const keys = (r: typeof kept) => r.config.virtualServers.map((v) => JSON.stringify(v.key));
    // kept: every server that passed the checks; released: those from the first group server on
    assert.equal(kept.config.virtualServers.length, 5);
    assert.deepEqual(keys(released), keys(kept).slice(2));
    assert.deepEqual(released.diagnostics, kept.diagnostics);
    assert.ok(released.diagnostics.some((d) => d.message.includes('has no real servers')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
