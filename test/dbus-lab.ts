// A private D-Bus system bus for the D-Bus tests: Debian's dbus-daemon on a socket in a Lan's temp
// dir (every name ownable, every call allowed: a test bus), dbus-monitor capturing keepalived's
// signals, gdbus to introspect and call. The daemons reach the bus through DBUS_SYSTEM_BUS_ADDRESS
// (a unix socket is a file: reachable from inside the lab's network namespaces).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Lan, Node, startKeepalived, startTsDaemon } from './vrrp-helpers.js';

export const DBUS_TOOLS = ['/usr/bin/dbus-daemon', '/usr/bin/dbus-monitor', '/usr/bin/gdbus', '/usr/sbin/keepalived'];
export const haveDbusTools = (): boolean => DBUS_TOOLS.every((t) => existsSync(t));

export const DEST = 'org.keepalived.Vrrp1';
export const ROOT = '/org/keepalived/Vrrp1';

/** One signal dbus-monitor saw: "PATH MEMBER ARGS" once the sender is dropped. */
export interface SeenSignal {
  path: string;
  iface: string;
  member: string;
  args: string[];
}

export class DbusLab {
  readonly socket: string;
  readonly address: string;
  bus?: ChildProcess;
  monitor?: Node;
  /** the service name gdbus calls (dbus_service_name) */
  dest = DEST;

  constructor(
    readonly lan: Lan,
    tag = 'bus',
  ) {
    this.socket = join(lan.dir, tag);
    this.address = `unix:path=${this.socket}`;
    writeFileSync(
      join(lan.dir, `${tag}.conf`),
      [
        '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"',
        ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">',
        '<busconfig>',
        '  <type>system</type>',
        `  <listen>${this.address}</listen>`,
        '  <auth>EXTERNAL</auth>',
        '  <policy context="default">',
        '    <allow user="*"/>',
        '    <allow own="*"/>',
        '    <allow send_destination="*" eavesdrop="true"/>',
        '    <allow receive_sender="*"/>',
        '    <allow eavesdrop="true"/>',
        '  </policy>',
        '</busconfig>',
        '',
      ].join('\n'),
    );
  }

  get env(): NodeJS.ProcessEnv {
    return { DBUS_SYSTEM_BUS_ADDRESS: this.address };
  }

  /** Start dbus-daemon; resolves once it listens. */
  async startBus(): Promise<void> {
    const p = spawn('dbus-daemon', [`--config-file=${join(this.lan.dir, `${this.socket.split('/').pop()}.conf`)}`, '--nofork', '--print-address'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.lan.procs.push(p);
    this.bus = p;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('dbus-daemon did not start within 10 s')), 10_000);
      p.stdout.once('data', () => {
        clearTimeout(t);
        resolve();
      });
      p.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`dbus-daemon exited with ${code}`));
      });
    });
    p.stderr.resume();
  }

  async stopBus(): Promise<void> {
    const p = this.bus;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    this.bus = undefined;
  }

  /** dbus-monitor on keepalived's two interfaces' signals; resolves once it is monitoring. */
  async startMonitor(): Promise<void> {
    const p = spawn(
      'dbus-monitor',
      ['--address', this.address, "type='signal',interface='org.keepalived.Vrrp1.Vrrp'", "type='signal',interface='org.keepalived.Vrrp1.Instance'"],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.lan.procs.push(p);
    this.monitor = new Node(p);
    const start = Date.now();
    // it prints its own NameAcquired / NameLost lines once it became a monitor
    while (!this.monitor.lines.some((l) => l.includes('NameLost')) && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 50));
  }

  get monitorMark(): number {
    return this.monitor?.lines.length ?? 0;
  }

  /** keepalived's signals dbus-monitor printed since `from` (a monitorMark). */
  signalsSince(from: number): SeenSignal[] {
    const out: SeenSignal[] = [];
    let cur: SeenSignal | undefined;
    for (const l of (this.monitor?.lines ?? []).slice(from)) {
      const m = /^signal .* path=([^;]+); interface=([^;]+); member=(\S+)/.exec(l);
      if (m) {
        cur = { path: m[1], iface: m[2], member: m[3], args: [] };
        if (m[2].startsWith('org.keepalived.')) out.push(cur);
        else cur = undefined;
        continue;
      }
      if (/^\S/.test(l)) cur = undefined;
      else if (cur && l.trim()) cur.args.push(l.trim());
    }
    return out;
  }

  /** gdbus with the lab's bus as the system bus, asynchronously (the test keeps reading the daemons' pipes). */
  gdbus(args: string[], timeoutMs = 30_000): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
      const p = spawn('gdbus', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.env } });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
      p.on('close', (code) => {
        clearTimeout(t);
        resolve({ code, out });
      });
    });
  }

  call(path: string, method: string, ...args: string[]): Promise<{ code: number | null; out: string }> {
    return this.gdbus(['call', '--system', '--dest', this.dest, '--object-path', path, '--method', method, ...args]);
  }

  introspect(path = ROOT): Promise<{ code: number | null; out: string }> {
    return this.gdbus(['introspect', '--system', '--dest', this.dest, '--object-path', path, '-r']);
  }

  /** keepalived 2.2.7 (-P) in the lab's first namespace on this bus (its gdbus reads DBUS_SYSTEM_BUS_ADDRESS). */
  startKeepalived(confPath: string, tag: string): Node {
    return startKeepalived(this.lan, 0, confPath, tag, this.env);
  }

  /** bin/tskeepalived (-P) likewise; its dumps go to the lab's dir (TMPDIR). */
  startTskeepalived(confPath: string, tag: string, env: NodeJS.ProcessEnv = {}): Node {
    return startTsDaemon(this.lan, 0, confPath, tag, { TMPDIR: this.lan.dir, ...this.env, ...env });
  }

  /** The State property's number, or undefined when the object or the bus does not answer. */
  async state(path: string): Promise<number | undefined> {
    const r = await this.call(path, 'org.freedesktop.DBus.Properties.Get', 'org.keepalived.Vrrp1.Instance', 'State');
    const m = /\(<\(uint32 (\d+), '/.exec(r.out);
    return m ? Number(m[1]) : undefined;
  }
}
