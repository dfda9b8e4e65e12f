// Every error class derives from TskeepalivedError and carries its own stable code.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasErrorCode, TskeepalivedError } from '../src/util/errors.js';
import { AddressError, PrefixError, parseIP } from '../src/util/inet.js';
import { SystemError } from '../src/native/errno.js';
import { NativeUnavailableError } from '../src/native/addon.js';
import { NetNamespaceError } from '../src/native/netns.js';
import { NetlinkRequestError } from '../src/net/netlink.js';
import { NetlinkDecodeError } from '../src/net/netlink-codec.js';
import { GenlFamilyUnavailableError } from '../src/net/genetlink.js';
import { AddressSpecError } from '../src/net/rtnl-addr.js';
import { RouteSpecError } from '../src/net/rtnl-route.js';
import { RuleSpecError } from '../src/net/rtnl-rule.js';
import { GarpError } from '../src/net/arp.js';
import { NdiscError } from '../src/net/ndisc.js';
import { SysctlError } from '../src/net/sysctl.js';
import { VmacError } from '../src/net/vmac.js';
import { VipFilterError } from '../src/net/vip-filter.js';
import { VrrpSocketError } from '../src/net/vrrp-socket.js';
import { NetIoError } from '../src/daemon/vrrp-net-io.js';
import { LbStateError } from '../src/lb/state.js';
import { LbUnavailableError } from '../src/lb/backend.js';
import { LbBackendChoiceError } from '../src/lb/factory.js';
import { IpvsDecodeError } from '../src/lb/ipvs-codec.js';
import { NftError } from '../src/lb/nftables.js';
import { NftUnsupportedError } from '../src/lb/nft-ruleset.js';
import { UserspaceConfigError } from '../src/lb/userspace.js';
import { ServiceExpansionError } from '../src/checkers/services.js';
import { DbusWireError } from '../src/dbus/wire.js';
import { DbusError } from '../src/dbus/connection.js';
import { CliError, parseArgs } from '../src/cli/options.js';
import { BirdControlError } from '../src/bgp/bird-control.js';
import { FrrControlError } from '../src/bgp/frr-vty.js';
import { ListenParseError, parseListen } from '../src/status/server.js';
import { AgentxError } from '../src/snmp/agentx.js';
import { SnmpError } from '../src/snmp/subagent.js';

const own: [TskeepalivedError, string][] = [
  [new AddressError('x', 'r'), 'TSK_ERR_ADDRESS'],
  [new PrefixError('x', 'r'), 'TSK_ERR_PREFIX'],
  [new NativeUnavailableError([], 'c'), 'TSK_ERR_NATIVE_UNAVAILABLE'],
  [new NetNamespaceError('x', 'm'), 'TSK_ERR_NETNS'],
  [new NetlinkDecodeError('x'), 'TSK_ERR_NETLINK_DECODE'],
  [new GenlFamilyUnavailableError('IPVS'), 'TSK_ERR_GENL_FAMILY_UNAVAILABLE'],
  [new AddressSpecError('x'), 'TSK_ERR_ADDRESS_SPEC'],
  [new RouteSpecError('x'), 'TSK_ERR_ROUTE_SPEC'],
  [new RuleSpecError('x'), 'TSK_ERR_RULE_SPEC'],
  [new GarpError('x'), 'TSK_ERR_GARP'],
  [new NdiscError('x'), 'TSK_ERR_NDISC'],
  [new SysctlError('/proc/sys/x', new Error('c')), 'TSK_ERR_SYSCTL'],
  [new VmacError('x'), 'TSK_ERR_VMAC'],
  [new VipFilterError('x'), 'TSK_ERR_VIP_FILTER'],
  [new VrrpSocketError('x'), 'TSK_ERR_VRRP_SOCKET'],
  [new NetIoError('x'), 'TSK_ERR_NET_IO'],
  [new LbStateError('x'), 'TSK_ERR_LB_STATE'],
  [new LbUnavailableError('x'), 'TSK_ERR_LB_UNAVAILABLE'],
  [new LbBackendChoiceError('x'), 'TSK_ERR_LB_BACKEND_CHOICE'],
  [new IpvsDecodeError('x'), 'TSK_ERR_IPVS_DECODE'],
  [new NftError('x'), 'TSK_ERR_NFT'],
  [new NftUnsupportedError(['x']), 'TSK_ERR_NFT_UNSUPPORTED'],
  [new UserspaceConfigError(['x']), 'TSK_ERR_USERSPACE_CONFIG'],
  [new ServiceExpansionError('x', 'f', 1), 'TSK_ERR_SERVICE_EXPANSION'],
  [new BirdControlError('x'), 'TSK_ERR_BIRD_CONTROL'],
  [new FrrControlError('x'), 'TSK_ERR_FRR_CONTROL'],
  [new CliError('x'), 'TSK_ERR_CLI'],
  [new ListenParseError('x'), 'TSK_ERR_LISTEN_PARSE'],
  [new AgentxError('x'), 'TSK_ERR_AGENTX'],
  [new SnmpError('x'), 'TSK_ERR_SNMP'],
  [new DbusWireError('x'), 'TSK_ERR_DBUS_WIRE'],
  [new DbusError('x'), 'TSK_ERR_DBUS'],
];

describe('errors carry a code', () => {
  it('each class its own TSK_ERR_* code, its own name, the base class', () => {
    const codes = new Set<string>();
    for (const [e, code] of own) {
      assert.ok(e instanceof TskeepalivedError, e.name);
      assert.equal(e.code, code, e.name);
      assert.equal(e.name, e.constructor.name);
      assert.ok(!codes.has(code), `${code} twice`);
      codes.add(code);
      assert.ok(hasErrorCode(e, code as never));
    }
  });
  it('a failed system call or kernel answer: the errno name', () => {
    assert.equal(new SystemError('bind', -98).code, 'EADDRINUSE');
    assert.equal(new NetlinkRequestError('add address', 17).code, 'EEXIST');
    assert.ok(hasErrorCode(new NetlinkRequestError('x', 19), 'ENOENT', 'ENODEV'));
    assert.ok(!hasErrorCode(new Error('ENODEV'), 'ENODEV'));
    assert.ok(!hasErrorCode(Object.assign(new Error('x'), { code: 'ENODEV' }), 'ENODEV'), 'only our errors');
  });
  it('thrown errors carry theirs', () => {
    assert.throws(
      () => parseIP('nope'),
      (e) => hasErrorCode(e, 'TSK_ERR_ADDRESS'),
    );
    assert.throws(
      () => parseArgs(['--bogus']),
      (e) => hasErrorCode(e, 'TSK_ERR_CLI'),
    );
    assert.throws(
      () => parseListen('host:port'),
      (e) => hasErrorCode(e, 'TSK_ERR_LISTEN_PARSE'),
    );
  });
  it('no error class in src derives from Error but the base, and the list above names every one', () => {
    const root = new URL('../../src/', import.meta.url).pathname;
    const offenders: string[] = [];
    const classes: string[] = [];
    const walk = (dir: string): void => {
      for (const d of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, d.name);
        if (d.isDirectory()) walk(p);
        else if (p.endsWith('.ts')) {
          const text = readFileSync(p, 'utf8');
          if (/ extends Error\b/.test(text) && !p.endsWith('util/errors.ts')) offenders.push(p);
          for (const m of text.matchAll(/class (\w+) extends (?:TskeepalivedError|SystemError)\b/g)) classes.push(m[1]!);
        }
      }
    };
    walk(root);
    assert.deepEqual(offenders, []);
    const listed = [...own.map(([e]) => e.name), 'SystemError', 'NetlinkRequestError'];
    assert.deepEqual(classes.sort(), listed.sort());
  });
});
