// The announcer's decisions (which prefixes, with which attributes, and why) from real parsed
// configurations and engine events, with a driver that records the sets it is given (the BIRD
// driver itself is tested against a real BIRD in bgp-config and bgp-lab).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/load.js';
import type { KeepalivedConfig } from '../src/config/model.js';
import { BgpAnnouncer, seedFromSnapshots } from '../src/bgp/announcer.js';
import type { BgpDriver, BgpRoute, DriverHealth } from '../src/bgp/types.js';
import type { EngineEvent } from '../src/engine-api/types.js';

const dir = mkdtempSync(join(tmpdir(), 'tkbgpa-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function config(bgp: string): KeepalivedConfig {
  const p = join(dir, `k${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(
    p,
    `bgp {
${bgp}
}
virtual_server 192.0.2.10 80 {
  protocol TCP
  real_server 127.0.0.1 80 {
  }
}
virtual_server 192.0.2.10 443 {
  protocol TCP
  real_server 127.0.0.1 443 {
  }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.20/24
    2001:db8::20/64
  }
}
`,
  );
  const r = loadConfig(p, { checkInterfaces: false });
  assert.deepEqual(
    r.diagnostics.filter((d) => d.severity === 'error' && /bgp/.test(d.message)),
    [],
  );
  return r.config;
}

class RecordingDriver implements BgpDriver {
  readonly name = 'bird' as const;
  sets: BgpRoute[][] = [];
  stopped?: { withdraw: boolean };
  async start(): Promise<void> {}
  async announce(): Promise<void> {}
  async withdraw(): Promise<void> {}
  async set(routes: BgpRoute[]): Promise<void> {
    this.sets.push(routes);
  }
  async announced(): Promise<string[]> {
    return (this.sets.at(-1) ?? []).map((r) => r.prefix);
  }
  health(): DriverHealth {
    return { ok: true, applies: this.sets.length, failures: 0 };
  }
  async stop(opts: { withdraw: boolean }): Promise<void> {
    this.stopped = opts;
  }
  get last(): Record<string, number | undefined> {
    return Object.fromEntries((this.sets.at(-1) ?? []).map((r) => [r.prefix, r.attrs.med]));
  }
}

const log = pino({ level: 'silent' });
const quorum = (vs: string, up: boolean): EngineEvent => ({
  kind: 'virtual-server-quorum',
  virtualServer: vs,
  up,
  alive: up ? 1 : 0,
  quorum: 1,
  at: Date.now(),
});
const vrrp = (state: 'MASTER' | 'BACKUP' | 'FAULT'): EngineEvent => ({
  kind: 'vrrp-instance',
  name: 'VI_1',
  state,
  previous: 'INIT',
  priority: 100,
  at: Date.now(),
});
type Snap = { announcements: { prefix: string; state: string; why: string; source: string }[] };

function setup(bgp: string) {
  const d = new RecordingDriver();
  const a = new BgpAnnouncer(config(bgp).bgp!, config(bgp), log, () => d);
  return { a, d, snap: () => a.snapshot() as Snap };
}

describe('BGP announcer', () => {
  it('ECMP without a port: announced only while every virtual server on the address has quorum', async () => {
    const { a, d, snap } = setup('  virtual_server 192.0.2.10 {\n    med 5\n  }');
    await a.start({ quorum: new Map([['[192.0.2.10]:tcp:80', true]]), vrrp: new Map() });
    assert.deepEqual(d.last, {}, 'the quorum of port 443 is not known yet');
    assert.match(snap().announcements[0]!.why, /quorum not known yet: \[192\.0\.2\.10\]:tcp:443/);
    a.handle(quorum('[192.0.2.10]:tcp:443', true));
    assert.deepEqual(d.last, { '192.0.2.10/32': 5 });
    a.handle(quorum('[192.0.2.10]:tcp:80', false));
    assert.deepEqual(d.last, {});
    assert.equal(snap().announcements[0]!.state, 'withdrawn');
    assert.match(snap().announcements[0]!.why, /quorum lost: \[192\.0\.2\.10\]:tcp:80/);
    const n = d.sets.length;
    a.handle(quorum('[192.0.2.10]:tcp:80', false));
    assert.equal(d.sets.length, n, 'no change, no hand-over');
  });

  it('VRRP-follow: MASTER attributes, BACKUP attributes when configured, nothing in FAULT; IPv4 and IPv6 host routes', async () => {
    const { a, d, snap } = setup('  vrrp_instance VI_1 {\n    master_med 10\n    backup_med 200\n  }');
    await a.start(seedFromSnapshots(null, { instances: [{ name: 'VI_1', state: 'BACKUP' }] }));
    assert.deepEqual(d.last, { '192.0.2.20/32': 200, '2001:db8::20/128': 200 });
    assert.match(snap().announcements[0]!.why, /VI_1 is BACKUP \(the less preferred path\)/);
    a.handle(vrrp('MASTER'));
    assert.deepEqual(d.last, { '192.0.2.20/32': 10, '2001:db8::20/128': 10 });
    a.handle(vrrp('FAULT'));
    assert.deepEqual(d.last, {});
    const families = d.sets[1]!.map((r) => r.family).sort();
    assert.deepEqual(families, [4, 6]);
  });

  it('VRRP-follow without backup attributes: the BACKUP announces nothing', async () => {
    const { a, d } = setup('  vrrp_instance VI_1 {\n    master_med 10\n  }');
    await a.start({ quorum: new Map(), vrrp: new Map([['VI_1', 'BACKUP']]) });
    assert.deepEqual(d.last, {});
    a.handle(vrrp('MASTER'));
    assert.deepEqual(d.last, { '192.0.2.20/32': 10, '2001:db8::20/128': 10 });
  });

  it('reload: changed attributes are re-announced, a removed entry is withdrawn, stop withdraws', async () => {
    const { a, d, snap } = setup('  virtual_server 192.0.2.10 80 {\n    med 5\n  }\n  vrrp_instance VI_1 {\n    master_med 10\n  }');
    await a.start({ quorum: new Map([['[192.0.2.10]:tcp:80', true]]), vrrp: new Map([['VI_1', 'MASTER']]) });
    assert.deepEqual(d.last, { '192.0.2.10/32': 5, '192.0.2.20/32': 10, '2001:db8::20/128': 10 });
    await a.reload(config('  virtual_server 192.0.2.10 80 {\n    med 7\n  }'), { quorum: new Map(), vrrp: new Map() });
    assert.deepEqual(d.last, { '192.0.2.10/32': 7 });
    assert.equal(snap().announcements.length, 1);
    await a.stop({ withdraw: true });
    assert.deepEqual(d.stopped, { withdraw: true });
    assert.equal(snap().announcements[0]!.state, 'withdrawn');
    assert.equal(snap().announcements[0]!.why, 'tskeepalived is stopping');
    const m = a.metrics().find((s) => s.name === 'tskeepalived_bgp_announced');
    assert.equal(m?.value, 0);
  });

  it('the running bgp block against a configuration whose virtual server is gone: withdrawn', async () => {
    const { a, d, snap } = setup('  virtual_server 192.0.2.10 80');
    await a.start({ quorum: new Map([['[192.0.2.10]:tcp:80', true]]), vrrp: new Map() });
    assert.deepEqual(Object.keys(d.last), ['192.0.2.10/32']);
    // what the daemon does on a reload whose bgp block has errors: the running block, the new virtual servers
    const next = config('  virtual_server 192.0.2.10 80');
    await a.reload({ ...next, virtualServers: [], bgp: a.config }, { quorum: new Map(), vrrp: new Map() });
    assert.deepEqual(d.last, {});
    assert.equal(snap().announcements[0]!.why, 'no matching virtual_server');
  });
});
