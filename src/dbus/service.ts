// The D-Bus service as keepalived 2.2.7's VRRP process runs it: on the system bus (or
// DBUS_SYSTEM_BUS_ADDRESS), the objects of objects.ts answered from the live VRRP engine, the
// Vrrp object's methods (PrintData, PrintStats, PrintStatsClear, ReloadConfig), the instances'
// SendGarp, Name and State, and the signals VrrpStarted, VrrpReloaded, VrrpStopped and
// VrrpStatusChange. A bus that is missing or goes away costs one warning, then reconnects with
// backoff (1 s doubling to 30 s); on each connection the current states are signalled again, as
// keepalived does when it acquires the bus. No VRRP timer waits on the bus.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { EngineEvent } from '../engine-api/types.js';
import { BusConnection, DbusError, DEFAULT_SYSTEM_BUS, type IncomingCall, parseBusAddress } from './connection.js';
import {
  basePath,
  type DbusInstance,
  INSTANCE_INTERFACE,
  INTERFACES,
  instancePath,
  introspect,
  objectTree,
  stateCode,
  stateText,
  VRRP_INTERFACE,
  vrrpPath,
} from './objects.js';
import type { DbusSettings } from './settings.js';
import { type DbusValue, variant } from './wire.js';
import { OutageBackoff } from '../util/outage-backoff.js';

/** What the service reads and asks of the daemon. */
export interface DbusSources {
  /** the VRRP engine's instances now (empty when it does not run) */
  instances(): DbusInstance[];
  printData(): void;
  /** write the stats file; `clear`: then zero the counters (PrintStatsClear) */
  printStats(clear: boolean): void;
  /** reload the configuration, as SIGHUP */
  reload(): void;
  /** one round of gratuitous ARPs / unsolicited NAs for the instance's VIPs; false when no such instance */
  sendGarp(name: string): boolean;
}

export interface DbusServiceOptions {
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** ms for connect + auth + Hello, and for each call to the bus */
  timeoutMs?: number;
  /** the bus address; default DBUS_SYSTEM_BUS_ADDRESS, else the system bus */
  address?: string;
}

/** ms a read of the instances answers calls for (a walk of the tree is one read, not one per node); any engine event drops it */
export const CACHE_MS = 250;

const ERR = {
  unknownMethod: 'org.freedesktop.DBus.Error.UnknownMethod',
  invalidArgs: 'org.freedesktop.DBus.Error.InvalidArgs',
  notImplemented: 'org.freedesktop.DBus.Error.MatchRuleNotFound',
};

function machineId(): string {
  for (const f of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const t = readFileSync(f, 'utf8').trim();
      if (t) return t;
    } catch {
      /* next */
    }
  }
  return '';
}

export class DbusService {
  private conn?: BusConnection;
  private timer?: NodeJS.Timeout;
  private readonly backoff: OutageBackoff;
  private stopped = false;
  private ready = false;
  private readonly log: Logger;
  readonly stats = { connects: 0, calls: 0, signals: 0, failures: 0 };
  /** instance object paths in the order they were exported (Introspect lists children in this order, as keepalived's GDBus) */
  private exported: string[] = [];
  /** the last instances seen by name: a reload's DELETED event names one the engine no longer lists */
  private known = new Map<string, DbusInstance>();
  /** the daemon is stopping: its instances' STOP transitions are signalled (98), as keepalived's at exit */
  private daemonStopping = false;
  /** the instances read for the calls being answered: reused for CACHE_MS, dropped on any event or reload */
  private cache?: { list: DbusInstance[]; at: number };

  constructor(
    private settings: DbusSettings,
    private readonly sources: DbusSources,
    logger: Logger,
    private readonly opts: DbusServiceOptions = {},
  ) {
    this.log = logger;
    this.backoff = new OutageBackoff(opts.backoffMinMs, opts.backoffMaxMs);
  }

  get connected(): boolean {
    return this.ready && (this.conn?.connected ?? false);
  }

  private get base(): string {
    return basePath(this.settings);
  }

  private address(): string {
    return this.opts.address ?? process.env.DBUS_SYSTEM_BUS_ADDRESS ?? DEFAULT_SYSTEM_BUS;
  }

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  private async connect(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    const address = this.address();
    let conn: BusConnection;
    try {
      conn = new BusConnection({
        paths: parseBusAddress(address),
        timeoutMs: this.opts.timeoutMs,
        onCall: (c) => this.onCall(c),
        onClose: (err) => {
          // before it was up, open()'s rejection schedules the retry
          if (this.conn !== conn || !this.ready) return;
          this.ready = false;
          this.conn = undefined;
          this.retry(`lost the D-Bus connection (${err?.message ?? 'closed'})`, err);
        },
      });
      this.conn = conn;
      await conn.open();
    } catch (e) {
      this.conn = undefined;
      this.stats.failures++;
      this.retry(`cannot connect to the D-Bus system bus at ${address}: ${(e as Error).message}`, e);
      return;
    }
    if (this.stopped) {
      await conn.close();
      return;
    }
    this.stats.connects++;
    this.ready = true;
    // as keepalived on acquiring the bus: the objects are there, VrrpStarted, the states, then the name
    this.exported = [];
    this.cache = undefined;
    const instances = this.instancesInExportOrder();
    if (instances.length) this.signal(vrrpPath(this.base), VRRP_INTERFACE, 'VrrpStarted');
    for (const i of instances) this.statusSignal(i, i.state);
    const name = this.settings.serviceName;
    try {
      const r = await conn.requestName(name);
      if (r === 1 || r === 4) this.log.info({ name, bus: conn.uniqueName }, `Acquired the D-Bus name ${name}`);
      else this.log.warn({ name, reply: r }, `the D-Bus name ${name} is owned by another connection: ${r === 2 ? 'queued for it' : 'not acquired'}`);
    } catch (e) {
      this.log.warn({ err: e, name }, `cannot own the D-Bus name ${name}: ${(e as Error).message}`);
    }
    if (this.backoff.connected()) this.log.info('D-Bus connection re-established');
  }

  /** One warning per outage, then quiet retries with backoff. */
  private retry(message: string, err: unknown): void {
    if (this.stopped) return;
    const { first, waitMs } = this.backoff.failed();
    if (first) this.log.warn({ err, retryMs: waitMs }, `${message}; retrying with backoff`);
    else this.log.debug({ err }, message);
    this.timer = setTimeout(() => void this.connect(), waitMs);
    this.timer.unref();
  }

  private signal(path: string, iface: string, member: string, sig = '', body: DbusValue[] = []): void {
    if (!this.connected) return;
    this.stats.signals++;
    this.conn?.signal(path, iface, member, sig, body);
  }

  private statusSignal(i: Pick<DbusInstance, 'interface' | 'vrid' | 'family'>, state: string): void {
    const code = stateCode(state);
    if (code !== undefined) this.signal(instancePath(this.base, i), INSTANCE_INTERFACE, 'VrrpStatusChange', 'u', [code]);
  }

  /** The engines' events: a VRRP instance's transition is a VrrpStatusChange on its object. */
  onEvent(ev: EngineEvent): void {
    this.cache = undefined;
    if (ev.kind !== 'vrrp-instance' || !this.connected) return;
    const i = this.sources.instances().find((x) => x.name === ev.name) ?? this.known.get(ev.name);
    if (!i) return;
    this.known.set(i.name, i);
    // an instance a reload removes: keepalived 2.2.7 signals 3 once and deletes the object; the
    // STOP on the way there (also a reload's restart of a changed instance) is not signalled
    if (ev.state === 'DELETED') {
      this.known.delete(i.name);
      this.statusSignal(i, 'FAULT');
      return;
    }
    if (ev.state === 'STOP' && !this.daemonStopping) return;
    this.statusSignal(i, ev.state);
  }

  /** The daemon begins to stop (before its engines): their STOP transitions are signalled from now on. */
  stopping(): void {
    this.daemonStopping = true;
  }

  /** After a reload was applied: VrrpReloaded (the new instances' objects exist from now on). */
  reloaded(settings: DbusSettings): void {
    this.cache = undefined;
    const moved = settings.serviceName !== this.settings.serviceName || basePath(settings) !== this.base;
    this.settings = settings;
    if (moved && this.conn) {
      // another name or path prefix: a new connection exports them
      const old = this.conn;
      this.conn = undefined;
      this.ready = false;
      void old.close().then(() => this.connect());
      return;
    }
    this.instancesInExportOrder();
    this.signal(vrrpPath(this.base), VRRP_INTERFACE, 'VrrpReloaded');
  }

  /** keepalived at stop: VrrpStopped, the name released, the connection closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    if (this.ready && conn.connected) {
      conn.signal(vrrpPath(this.base), VRRP_INTERFACE, 'VrrpStopped');
      await conn.releaseName(this.settings.serviceName).catch(() => undefined);
    }
    this.ready = false;
    await conn.close();
  }

  // ---------------------------------------------------------------- incoming calls

  private onCall(c: IncomingCall): void {
    this.stats.calls++;
    try {
      this.handle(c);
    } catch (e) {
      this.log.error({ err: e }, `D-Bus call ${c.message.interface}.${c.message.member} failed`);
      c.error('org.freedesktop.DBus.Error.Failed', (e as Error).message);
    }
  }

  /** The instances now, in export order: kept ones where they were, new ones after them (keepalived registers a reload's new instances last). */
  private instancesInExportOrder(): DbusInstance[] {
    const t = Date.now();
    if (this.cache && t - this.cache.at < CACHE_MS) return this.cache.list;
    const now = this.sources.instances();
    const byPath = new Map(now.map((i) => [instancePath(this.base, i), i]));
    this.exported = this.exported.filter((p) => byPath.has(p));
    for (const p of byPath.keys()) if (!this.exported.includes(p)) this.exported.push(p);
    for (const i of now) this.known.set(i.name, i);
    const list = this.exported.map((p) => byPath.get(p) as DbusInstance);
    this.cache = { list, at: t };
    return list;
  }

  private handle(c: IncomingCall): void {
    const m = c.message;
    const path = m.path ?? '/';
    const member = m.member ?? '';
    const instances = this.instancesInExportOrder();
    const tree = objectTree(this.base, instances);
    const argsAre = (want: string): boolean => {
      if (m.signature === want) return true;
      c.error(ERR.invalidArgs, `Type of message, “(${m.signature})”, does not match expected type “(${want})”`);
      return false;
    };
    // answered for every path, as GDBus does
    if (m.interface === 'org.freedesktop.DBus.Introspectable' || (!m.interface && member === 'Introspect')) {
      if (member !== 'Introspect') {
        c.error(ERR.unknownMethod, `No such method “${member}”`);
        return;
      }
      if (argsAre('')) c.reply('s', [introspect(path, tree)]);
      return;
    }
    if (m.interface === 'org.freedesktop.DBus.Peer' || (!m.interface && (member === 'Ping' || member === 'GetMachineId'))) {
      if (member === 'Ping') {
        c.reply();
        return;
      }
      if (member === 'GetMachineId') {
        c.reply('s', [machineId()]);
        return;
      }
      c.error(ERR.unknownMethod, `No such method “${member}”`);
      return;
    }
    const iface = tree.get(path);
    if (!iface) {
      c.error(ERR.unknownMethod, `Object does not exist at path “${path}”`);
      return;
    }
    if (m.interface === 'org.freedesktop.DBus.Properties') {
      this.properties(c, path, iface, instances, argsAre);
      return;
    }
    if (m.interface && m.interface !== iface) {
      c.error(ERR.unknownMethod, `No such interface “${m.interface}” on object at path ${path}`);
      return;
    }
    if (!INTERFACES[iface].methods.includes(member)) {
      c.error(ERR.unknownMethod, `No such method “${member}”`);
      return;
    }
    if (!argsAre('')) return;
    if (iface === VRRP_INTERFACE) {
      if (member === 'ReloadConfig') {
        // keepalived answers first, then signals its parent to reload
        c.reply();
        this.log.info('Reloading the configuration on DBus request');
        this.sources.reload();
        return;
      }
      if (member === 'PrintData') {
        this.log.info('Printing VRRP data on DBus request');
        this.sources.printData();
      } else {
        this.log.info('Printing VRRP stats on DBus request');
        this.sources.printStats(member === 'PrintStatsClear');
      }
      c.reply();
      return;
    }
    // SendGarp
    const inst = instances.find((i) => instancePath(this.base, i) === path);
    if (!inst || !this.sources.sendGarp(inst.name)) {
      c.error(ERR.invalidArgs, `Instance '${path.split('/').slice(-3).join('/')}' not found`);
      return;
    }
    this.log.info(`Sending garps on ${inst.name} on DBus request`);
    c.reply();
  }

  private properties(c: IncomingCall, path: string, iface: string, instances: DbusInstance[], argsAre: (s: string) => boolean): void {
    const m = c.message;
    const member = m.member ?? '';
    const want = { Get: 'ss', GetAll: 's', Set: 'ssv' }[member];
    if (!want) {
      c.error(ERR.unknownMethod, `No such method “${member}”`);
      return;
    }
    if (!argsAre(want)) return;
    const asked = m.body[0] as string;
    if (asked !== iface) {
      c.error(ERR.invalidArgs, `No such interface “${asked}”`);
      return;
    }
    const props = INTERFACES[iface].properties;
    const inst = instances.find((i) => instancePath(this.base, i) === path);
    // keepalived's values: Name is a one-string struct, State (number, text)
    const value = (name: string): DbusValue | undefined => {
      if (!inst) return undefined;
      if (name === 'Name') return variant('(s)', [inst.name]);
      if (name === 'State') return variant('(us)', [stateCode(inst.state) ?? 0, stateText(inst.state)]);
      return undefined;
    };
    if (member === 'GetAll') {
      const out: DbusValue[] = [];
      for (const name of Object.keys(props)) {
        const v = value(name);
        if (v !== undefined) out.push([name, v]);
      }
      c.reply('a{sv}', [out]);
      return;
    }
    const prop = m.body[1] as string;
    if (!(prop in props)) {
      c.error(ERR.invalidArgs, `No such property “${prop}”`);
      return;
    }
    if (member === 'Set') {
      c.error(ERR.invalidArgs, `Property “${prop}” is not writable`);
      return;
    }
    const v = value(prop);
    if (v === undefined) {
      c.error(ERR.invalidArgs, `Instance '${path.split('/').slice(-3).join('/')}' not found`);
      return;
    }
    c.reply('v', [v]);
  }
}

export { DbusError };
