// The production VrrpNetIo adapter (src/daemon/vrrp-net-io.ts) against a real namespace.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { broadcastOf, protocolNumber, ruleSpec } from '../src/daemon/vrrp-net-io.js';
import { createLab, destroyLab, isRoot, jsonLines, modUrl, nodeInNs, type Lab } from './net-lab.js';

const skip = isRoot ? false : 'needs root (network namespaces)';
const loc = { file: 'keepalived.conf', line: 1, col: 1 };

describe('net-io mapping', () => {
  it('maps keepalived words to netlink specs', () => {
    assert.equal(broadcastOf('10.1.2.3', 24), '10.1.2.255');
    assert.equal(broadcastOf('10.1.2.3', 30), '10.1.2.3');
    assert.equal(broadcastOf('10.1.2.3', 0), '255.255.255.255');
    assert.equal(protocolNumber('keepalived'), 18);
    assert.equal(protocolNumber('77'), 77);
    assert.throws(() => protocolNumber('bogus'), /unknown route protocol "bogus"/);
    const r = ruleSpec({
      family: 4,
      from: { address: '10.0.0.0', prefixLen: 8, family: 4 },
      table: 100,
      preference: 200,
      options: { fwmark: '0x10/0xff', iif: 'eth0', not: '' },
      loc,
    } as never);
    assert.deepEqual(r, { family: 4, from: '10.0.0.0/8', table: 100, preference: 200, fwmark: 16, fwmask: 255, iif: 'eth0', invert: true });
    assert.throws(() => ruleSpec({ family: 4, options: { uidrange: '1-2' }, loc } as never), /rule option "uidrange" is not supported/);
  });
});

describe('VrrpNetIo in a namespace', { skip }, () => {
  let lab: Lab;
  before(() => {
    lab = createLab('io', 176);
  });
  after(() => (lab ? destroyLab(lab) : undefined));

  it('adds/removes VIPs, routes and rules idempotently, reports interfaces and net events', async () => {
    const dev = JSON.stringify(lab.va);
    const child = nodeInNs(
      lab,
      lab.a,
      `
      const { execFileSync } = await import('node:child_process');
      const { createNetIo } = await import(${JSON.stringify(modUrl('src/daemon/vrrp-net-io.js'))});
      const ip = (...a) => execFileSync('ip', a, { encoding: 'utf8' });
      const out = (o) => console.log(JSON.stringify(o));
      const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      const loc = { file: 'k.conf', line: 1, col: 1 };
      const io = await createNetIo();
      const events = [];
      const stop = await io.monitor((e) => events.push(e));
      const v4 = { prefix: { address: '${lab.net4}.100', prefixLen: 24, family: 4 }, brd: '+', label: ${JSON.stringify(lab.va + ':vip')}, noTrack: false, loc };
      const v6 = { prefix: { address: '${lab.net6}100', prefixLen: 64, family: 6 }, noTrack: false, loc };
      await io.addAddress(${dev}, v4);
      await io.addAddress(${dev}, v4); // already there: fine
      await io.addAddress(${dev}, v6);
      out({ addrs: ip('-o', 'addr', 'show', 'dev', ${dev}) });
      out({ info: await io.interfaceInfo(${dev}) });
      out({ none: (await io.interfaceInfo('nope0')) ?? null });
      const route = { dst: { address: '10.220.0.0', prefixLen: 16, family: 4 }, via: '${lab.ipB}', metric: 5, noTrack: false, options: {}, loc };
      const bh = { dst: { address: '10.221.0.0', prefixLen: 16, family: 4 }, type: 'blackhole', table: 50, noTrack: false, options: {}, loc };
      const devRoute = { dst: { address: '10.222.0.0', prefixLen: 16, family: 4 }, src: '${lab.net4}.100', noTrack: false, options: {}, loc };
      for (const r of [route, bh, devRoute]) { await io.addRoute(r, ${dev}); await io.addRoute(r, ${dev}); }
      const rule = { family: 4, from: { address: '${lab.net4}.100', prefixLen: 32, family: 4 }, table: 50, preference: 500, options: { fwmark: '7' }, loc };
      await io.addRule(rule);
      await io.addRule(rule);
      out({ routes: ip('route', 'show', 'table', 'all') });
      out({ rules: ip('rule', 'show') });
      ip('addr', 'del', '${lab.net4}.100/24', 'dev', ${dev});
      ip('link', 'set', ${dev}, 'down');
      ip('link', 'set', ${dev}, 'up');
      for (let i = 0; i < 40 && !(events.some((e) => e.kind === 'address-removed') && events.filter((e) => e.kind === 'link').length >= 2); i++) await sleep(50);
      for (const r of [route, bh, devRoute]) { await io.delRoute(r, ${dev}); await io.delRoute(r, ${dev}); }
      await io.delRule(rule);
      await io.delRule(rule);
      await io.delAddress(${dev}, v4); // removed by hand already: fine
      await io.delAddress(${dev}, v6);
      out({ afterRoutes: ip('route', 'show', 'table', 'all') });
      out({ afterRules: ip('rule', 'show') });
      out({ events });
      io.sendGratuitousArp(${dev}, '${lab.ipA}');
      stop();
      io.close();
      out({ done: true });
    `,
    );
    await child.exited;
    const lines = jsonLines<Record<string, any>>(child.stdout());
    const get = (k: string): any => lines.find((l) => k in l)?.[k];
    assert.ok(get('done'), child.stderr() + child.stdout());
    assert.match(get('addrs'), new RegExp(`inet ${lab.net4}\\.100/24 brd ${lab.net4}\\.255 scope global secondary ${lab.va}:vip`));
    assert.match(get('addrs'), new RegExp(`inet6 ${lab.net6}100/64 scope global nodad`));
    const info = get('info');
    assert.equal(info.name, lab.va);
    assert.equal(info.up, true);
    assert.ok(info.addresses.some((a: { address: string }) => a.address === `${lab.net4}.100`));
    assert.equal(get('none'), null);
    const routes = get('routes') as string;
    assert.match(routes, new RegExp(`10\\.220\\.0\\.0/16 via ${lab.ipB.replace(/\./g, '\\.')} dev ${lab.va} proto keepalived metric 5`));
    assert.match(routes, /blackhole 10\.221\.0\.0\/16 table 50 proto keepalived/);
    assert.match(routes, new RegExp(`10\\.222\\.0\\.0/16 dev ${lab.va} proto keepalived scope link src ${lab.net4.replace(/\./g, '\\.')}\\.100`));
    assert.match(get('rules'), new RegExp(`500:\\s+from ${lab.net4.replace(/\./g, '\\.')}\\.100 fwmark 0x7 lookup 50 proto keepalived`));
    assert.ok(!/10\.22[0-2]\./.test(get('afterRoutes')), get('afterRoutes'));
    assert.ok(!/^500:/m.test(get('afterRules')), get('afterRules'));
    const events = get('events') as { kind: string; ifname: string; address?: string; up?: boolean }[];
    assert.ok(
      events.some((e) => e.kind === 'address-removed' && e.ifname === lab.va && e.address === `${lab.net4}.100`),
      JSON.stringify(events),
    );
    const linkEv = events.filter((e) => e.kind === 'link' && e.ifname === lab.va).map((e) => e.up);
    assert.deepEqual(linkEv.slice(0, 2), [false, true], JSON.stringify(events));
  });
});
