// The typed model: values, units and the defaults keepalived applies.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { toStableJson } from '../src/config/dump.js';
import { itemAt, listOf } from '../src/config/exact.js';
import { loadConfig } from '../src/config/load.js';
import type { HttpCheck, MiscCheck } from '../src/config/model.js';

const dir = mkdtempSync(join(tmpdir(), 'tkc-model-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function load(text: string) {
  const f = join(dir, `m${n++}.conf`);
  writeFileSync(f, text);
  return loadConfig(f, { interfaces: ['lo', 'eth0'], configId: 'test' });
}

describe('vrrp_instance model and defaults', () => {
  const { config, diagnostics } = load(`
global_defs {
    vrrp_garp_master_delay 7
    vrrp_garp_master_repeat 3
    vrrp_rx_bufs_multiplier 4
    lb_backend nftables
    status_listen 127.0.0.1:9650
}
vrrp_instance A {
    state MASTER
    interface eth0
    virtual_router_id 10
    advert_int 0.5
    authentication {
        auth_type PASS
        auth_pass 0123456789
    }
    virtual_ipaddress {
        192.0.2.1/24 label eth0:1
        192.0.2.2 dev lo
    }
    use_ipvlan
    kernel_rx_buf_size 65536
    notify "/usr/local/bin/notify.sh 'two words'" root
}
vrrp_instance B {
    interface eth0
    virtual_router_id 11
    nopreempt
    preempt_delay 2.5
    virtual_ipaddress {
        2001:db8::1/64
    }
    track_interface {
        eth0 weight -20
    }
}
`);
  const [a, b] = config.vrrpInstances;
  it('has no diagnostics', () => assert.deepEqual(diagnostics, []));
  it('MASTER without priority is the address owner (255); others default to 100', () => {
    assert.equal(a.priority, 255);
    assert.equal(b.priority, 100);
    assert.equal(b.state, 'BACKUP');
  });
  it('durations are milliseconds', () => {
    assert.equal(a.advertInt, 500);
    assert.equal(b.advertInt, 1000);
    assert.equal(b.preemptDelay, 2500);
    assert.equal(a.garpMasterDelay, 7000);
    assert.equal(a.garpMasterRepeat, 3);
  });
  it('IPv6 instances use VRRP version 3, IPv4 the global version 2', () => {
    assert.equal(a.version, 2);
    assert.equal(a.family, 4);
    assert.equal(b.version, 3);
    assert.equal(b.family, 6);
  });
  it('auth_pass is cut to 8 characters', () => assert.deepEqual(a.auth, { type: 'PASS', pass: '01234567' }));
  it('addresses: prefix, label, dev defaulting to the instance interface', () => {
    assert.deepEqual(
      a.virtualIpaddress.map((x) => [x.prefix.address, x.prefix.prefixLen, x.dev, x.label]),
      [
        ['192.0.2.1', 24, 'eth0', 'eth0:1'],
        ['192.0.2.2', 32, 'lo', undefined],
      ],
    );
    assert.equal(b.virtualIpaddress[0].prefix.address, '2001:db8::1');
  });
  it('scripts are split with keepalived quoting, user kept', () => {
    assert.deepEqual(a.notify.notify?.argv, ['/usr/local/bin/notify.sh', 'two words']);
    assert.equal(a.notify.notify?.user, 'root');
  });
  it('track_interface weights, nopreempt', () => {
    assert.deepEqual(
      b.trackInterface.map((t) => [t.name, t.weight]),
      [['eth0', -20]],
    );
    assert.equal(b.nopreempt, true);
  });
  it('unmodelled keywords are kept raw; extensions are parsed', () => {
    assert.deepEqual(
      a.raw?.map((r) => r.keyword),
      ['kernel_rx_buf_size'],
    );
    assert.deepEqual(a.useIpvlan, { flags: 'bridge' });
    assert.ok(config.global.raw.some((r) => r.keyword === 'vrrp_rx_bufs_multiplier' && r.args[0] === '4'));
    assert.equal(config.global.lbBackend, 'nftables');
    assert.equal(config.global.statusListen, '127.0.0.1:9650');
  });
});

describe('virtual_server / real_server / checker model and defaults', () => {
  const { config, diagnostics } = load(`
virtual_server 192.0.2.10 443 {
    delay_loop 20
    lb_algo wlc
    lb_kind DR
    protocol TCP
    persistence_timeout
    retry 4
    real_server 198.51.100.1 443 {
        weight 5
        inhibit_on_failure
        delay_before_retry 7
        SSL_GET {
            url {
                path /
                digest 9B3A0C85A887A256D6939DA88AABD8CD
                status_code 200-299 302
            }
        }
        DNS_CHECK {
            name example.com
            type AAAA
        }
        MISC_CHECK {
            misc_path "/bin/check 'a b' c"
            misc_timeout 4
        }
        UDP_CHECK {
            payload 0a0b
            require_reply 0A
        }
    }
}
`);
  const vs = config.virtualServers[0];
  const rs = vs.realServers[0];
  it('has no diagnostics', () => assert.deepEqual(diagnostics, []));
  it('virtual server fields', () => {
    assert.equal(vs.delayLoop, 20000);
    assert.equal(vs.lbAlgo, 'wlc');
    assert.equal(vs.lbKind, 'DR');
    assert.equal(vs.persistenceTimeout, 360);
    assert.equal(rs.lbKind, 'DR');
    assert.equal(rs.weight, 5);
    assert.equal(rs.inhibitOnFailure, true);
  });
  it('checker timers: explicit, else real server, else virtual server, else type default', () => {
    const [ssl, dns, misc, udp] = listOf(rs.checkers);
    assert.equal(ssl.type, 'SSL_GET');
    assert.equal((ssl as HttpCheck).connectTimeout, 5000);
    assert.equal((ssl as HttpCheck).retry, 4);
    assert.equal((ssl as HttpCheck).delayBeforeRetry, 7000);
    assert.equal((ssl as HttpCheck).delayLoop, 20000);
    assert.deepEqual(itemAt((ssl as HttpCheck).urls, 0).statusCodes, [
      { from: 200, to: 299 },
      { from: 302, to: 302 },
    ]);
    assert.equal(itemAt((ssl as HttpCheck).urls, 0).digest, '9b3a0c85a887a256d6939da88aabd8cd');
    assert.equal(dns.type === 'DNS_CHECK' && dns.queryType, 'AAAA');
    assert.equal(dns.type === 'DNS_CHECK' && dns.name, 'example.com');
    assert.deepEqual((misc as MiscCheck).miscPath?.argv, ['/bin/check', 'a b', 'c']);
    assert.equal((misc as MiscCheck).miscTimeout, 4000);
    assert.equal(udp.type === 'UDP_CHECK' && udp.payload?.toString('hex'), '0a0b');
    assert.equal(udp.type === 'UDP_CHECK' && udp.requireReply, true);
  });
  it('the dump shows Buffers as hex and sorts keys', () => {
    const dump = JSON.parse(toStableJson(config));
    const u = dump.virtualServers[0].realServers[0].checkers[3];
    assert.equal(u.payload, '0a0b');
    assert.deepEqual(Object.keys(u), [...Object.keys(u)].sort());
  });
  it('type defaults without inherited values', () => {
    const { config: c2 } = load(`
virtual_server 192.0.2.10 53 {
    lb_algo rr
    protocol UDP
    real_server 198.51.100.1 53 {
        DNS_CHECK {
        }
        MISC_CHECK {
            misc_path /bin/true
        }
        TCP_CHECK {
        }
    }
}
`);
    const [dns, misc, tcp] = c2.virtualServers[0].realServers[0].checkers as MiscCheck[];
    assert.deepEqual([dns.retry, dns.delayBeforeRetry, dns.connectTimeout], [3, 60000, 5000]);
    assert.deepEqual([misc.retry, misc.delayBeforeRetry], [0, 1000]);
    assert.deepEqual([tcp.retry, tcp.delayBeforeRetry, tcp.delayLoop], [1, 1000, 60000]);
  });
});

describe('tskeepalived extensions', () => {
  it('reject bad lb_backend and status_listen values with their line', () => {
    const { diagnostics } = load('global_defs {\n    lb_backend magic\n    status_listen nowhere\n}\n');
    assert.deepEqual(
      diagnostics.map((d) => [d.line, d.severity]),
      [
        [2, 'error'],
        [3, 'error'],
      ],
    );
  });
});
