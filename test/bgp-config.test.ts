// The bgp block (config model, -t messages with file:line) and the BIRD driver against a real
// BIRD 2 in a throwaway namespace: the rendered file is valid BIRD, routes appear and go, a BIRD
// that is down is retried until it answers, a refused configure is reported.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/load.js';
import { renderBirdRoutes } from '../src/bgp/bird-routes.js';
import { BirdDriver } from '../src/bgp/bird-driver.js';
import { birdCommand } from '../src/bgp/bird-control.js';
import { hasErrorCode } from '../src/util/errors.js';
import { hasBird } from './bgp-lab.js';
import { isRoot, waitFor } from './vrrp-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tkbgp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function load(text: string) {
  const p = join(dir, `k${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(p, text);
  return { path: p, ...loadConfig(p, { checkInterfaces: false }) };
}

const VS = `virtual_server 192.0.2.10 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 127.0.0.1 80 {
    TCP_CHECK {
    }
  }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.20/32
    2001:db8::20/128
  }
}
`;

describe('bgp block', () => {
  it('builds the model with defaults, per-entry attributes over the block defaults', () => {
    const r = load(`bgp {
  med 100
  community 65000:1
  virtual_server 192.0.2.10 80 {
    local_pref 200
  }
  vrrp_instance VI_1 {
    master_med 10
    backup_med 200
    large_community 65000:1:2
  }
}
${VS}`);
    assert.deepEqual(
      r.diagnostics.filter((d) => d.severity === 'error' || d.severity === 'fatal'),
      [],
    );
    const b = r.config.bgp!;
    assert.equal(b.driver, 'bird');
    assert.equal(b.controlSocket, '/run/bird/bird.ctl');
    assert.equal(b.protocolName, 'tskeepalived');
    assert.equal(b.errors, 0);
    assert.deepEqual(b.virtualServers[0]!.attrs, { med: 100, localPref: 200, communities: ['65000:1'], largeCommunities: [] });
    assert.equal(b.virtualServers[0]!.port, 80);
    assert.deepEqual(b.vrrpInstances[0]!.master, { med: 10, communities: ['65000:1'], largeCommunities: ['65000:1:2'] });
    assert.deepEqual(b.vrrpInstances[0]!.backup, { med: 200, communities: ['65000:1'], largeCommunities: ['65000:1:2'] });
  });

  it('reports bad values and dangling references with file and line; -t exits 5', () => {
    const text = `bgp {
  driver quagga
  control_socket relative.ctl
  protocol_name 9bad
  med -1
  community 65000:70000
  virtual_server 192.0.2.99 80
  virtual_server 192.0.2.10 80 {
    colour blue
  }
  vrrp_instance NOPE
  asn 65001
}
${VS}`;
    const r = load(text);
    const msgs = r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}: ${d.message}`);
    for (const want of [
      /^2: Unknown bgp driver 'quagga' - expected bird or frr/,
      /^12: bgp asn is for driver frr/,
      /^3: bgp control_socket 'relative.ctl' must be an absolute path/,
      /^4: Invalid bgp protocol_name '9bad'/,
      /^5: negative number '-1'/,
      /^6: Invalid community '65000:70000'/,
      /^7: bgp virtual_server 192.0.2.99 80 matches no virtual_server/,
      /^9: Unknown keyword 'colour'/,
      /^11: bgp vrrp_instance NOPE is not a vrrp_instance/,
    ])
      assert.ok(
        msgs.some((m) => want.test(m)),
        `${want} in ${msgs.join(' | ')}`,
      );
    for (const d of r.diagnostics) if (d.severity === 'error') assert.equal(d.file, r.path);
    assert.ok(r.config.bgp!.errors >= 8);
    const cli = spawnSync(process.execPath, ['bin/tskeepalived', '-t', '-f', r.path], { encoding: 'utf8' });
    assert.equal(cli.status, 5);
    assert.match(cli.stderr + cli.stdout, /Line 2\) Unknown bgp driver 'quagga'/);
    assert.match(cli.stderr + cli.stdout, /Line 7\) bgp virtual_server 192\.0\.2\.99 80 matches no virtual_server/);
  });

  it('driver frr: its defaults (bgpd vty socket, record file), asn, in any order; bad values with their line', () => {
    const r = load(`bgp {
  asn 65001
  virtual_server 192.0.2.10 80
  driver frr
}
${VS}`);
    assert.deepEqual(
      r.diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
    const b = r.config.bgp!;
    assert.equal(b.driver, 'frr');
    assert.equal(b.asn, 65001);
    assert.equal(b.controlSocket, '/run/frr/bgpd.vty');
    assert.equal(b.routesFile, '/run/tskeepalived/frr-routes.conf');
    const own = load(`bgp {
  driver frr
  control_socket /run/frr/lb/bgpd.vty
  routes_file /var/lib/tsk/frr.conf
  asn 0
  protocol_name has-dash
}
${VS}`);
    assert.equal(own.config.bgp!.controlSocket, '/run/frr/lb/bgpd.vty');
    assert.equal(own.config.bgp!.routesFile, '/var/lib/tsk/frr.conf');
    const msgs = own.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}: ${d.message}`);
    assert.ok(
      msgs.some((m) => /^5: /.test(m)),
      msgs.join(' | '),
    );
    assert.ok(
      msgs.some((m) => /^6: Invalid bgp protocol_name 'has-dash'/.test(m)),
      msgs.join(' | '),
    );
    const cli = spawnSync(process.execPath, ['bin/tskeepalived', '-t', '-f', own.path], { encoding: 'utf8' });
    assert.equal(cli.status, 5);
    assert.match(cli.stderr + cli.stdout, /Line 5\)/);
  });

  it('an ECMP address may not also be a VRRP-follow VIP', () => {
    const r = load(`bgp {
  virtual_server 192.0.2.20
  vrrp_instance VI_1
}
virtual_server 192.0.2.20 443 {
  protocol TCP
  real_server 127.0.0.1 443 {
  }
}
${VS}`);
    assert.ok(r.diagnostics.some((d) => d.line === 3 && /192\.0\.2\.20 is also announced by a bgp virtual_server/.test(d.message)));
  });
});

const skip = !isRoot() ? 'needs root (network namespaces)' : !hasBird() ? 'needs BIRD 2 (apt-get install bird2)' : false;

describe('BIRD driver against a real BIRD 2', { skip, timeout: 60_000 }, () => {
  const ns = `tkbd${process.pid % 100000}`;
  const sock = join(dir, 'bird.ctl');
  const routesFile = join(dir, 'routes.conf');
  const confPath = join(dir, 'bird.conf');
  const pidFile = join(dir, 'bird.pid');
  const log = pino({ level: 'silent' });
  const startBird = () => {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'bird', '-c', confPath, '-s', sock, '-P', pidFile], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  const killBird = () => {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      /* not running */
    }
  };
  after(() => {
    killBird();
    spawnSync('ip', ['netns', 'del', ns]);
  });

  it('the rendered file is valid BIRD 2 configuration (bird -p)', () => {
    writeFileSync(
      routesFile,
      renderBirdRoutes('tsk', [
        { prefix: '192.0.2.10/32', family: 4, attrs: { med: 5, localPref: 300, communities: ['65000:1'], largeCommunities: ['65000:1:2'] } },
        { prefix: '2001:db8::10/128', family: 6, attrs: { communities: [], largeCommunities: [] } },
      ]),
    );
    writeFileSync(confPath, `router id 10.0.0.1;\nprotocol device {}\ninclude "${routesFile}";\n`);
    const r = spawnSync('bird', ['-p', '-c', confPath], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('announce, withdraw and set reach BIRD; a BIRD that is down is retried until it answers', async () => {
    spawnSync('ip', ['netns', 'add', ns]);
    writeFileSync(routesFile, renderBirdRoutes('tsk', []));
    const d = new BirdDriver({ controlSocket: sock, routesFile, protocolName: 'tsk', commandTimeout: 2000, retryMs: 200, guard: false }, log);
    await d.start();
    assert.equal(d.health().ok, false, 'BIRD is not running yet');
    assert.ok(d.health().failures >= 1);
    await d.announce({ prefix: '192.0.2.10/32', family: 4, attrs: { med: 7, communities: [], largeCommunities: [] } });
    await assert.rejects(d.announced(), (e) => hasErrorCode(e, 'TSK_ERR_BIRD_CONTROL'));
    // BIRD starts later and reads the file as it is; the retry reconfigures it
    startBird();
    await waitFor('the driver healthy', () => d.health().ok, 5000);
    assert.deepEqual(await d.announced(), ['192.0.2.10/32']);
    const all = await birdCommand(sock, 'show route all');
    assert.match(all.lines.join('\n'), /BGP\.med: 7/);
    await d.announce({ prefix: '2001:db8::10/128', family: 6, attrs: { communities: [], largeCommunities: [] } });
    assert.deepEqual((await d.announced()).sort(), ['192.0.2.10/32', '2001:db8::10/128']);
    await d.withdraw('192.0.2.10/32');
    assert.deepEqual(await d.announced(), ['2001:db8::10/128']);
    await d.set([{ prefix: '192.0.2.11/32', family: 4, attrs: { communities: [], largeCommunities: [] } }]);
    assert.deepEqual(await d.announced(), ['192.0.2.11/32']);
    await d.stop({ withdraw: true });
    assert.deepEqual(await d.announced(), []);
    assert.doesNotMatch(readFileSync(routesFile, 'utf8'), /route /);
  });

  it('a BIRD whose configuration does not include the routes file is reported; the guard is restarted when killed', async () => {
    writeFileSync(confPath, `router id 10.0.0.1;\nprotocol device {}\n`);
    const r = await birdCommand(sock, 'configure');
    assert.ok(r.ok);
    const d = new BirdDriver({ controlSocket: sock, routesFile, protocolName: 'tsk', commandTimeout: 2000, retryMs: 60_000 }, log);
    await d.start();
    assert.equal(d.health().ok, false);
    assert.match(d.health().reason ?? '', /does not include .*routes\.conf \(no protocol tsk4\)/);
    const first = d.health().guardPid!;
    assert.ok(first > 0);
    process.kill(first, 'SIGKILL');
    await waitFor('a new guard', () => (d.health().guardPid ?? first) !== first, 5000);
    const second = d.health().guardPid!;
    await d.stop({ withdraw: false });
    const gone = () => {
      try {
        process.kill(second, 0);
        return false;
      } catch {
        return true;
      }
    };
    await waitFor('the guard gone after bye', gone, 3000);
  });

  it('a configure BIRD refuses is reported with its message', async () => {
    writeFileSync(confPath, `router id 10.0.0.1;\nprotocol device {}\ninclude "${routesFile}";\nthis is not bird;\n`);
    const d = new BirdDriver({ controlSocket: sock, routesFile, protocolName: 'tsk', commandTimeout: 2000, retryMs: 60_000, guard: false }, log);
    await d.start();
    const h = d.health();
    assert.equal(h.ok, false);
    assert.match(h.reason ?? '', /BIRD refused 'configure': .*bird\.conf:4/);
    await d.stop({ withdraw: false });
  });
});
