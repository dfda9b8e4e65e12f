// The BGP lab (test/bgp-*.test.ts and bench/bgp-withdraw.ts): a router namespace running BIRD 2
// (eBGP AS 65000, kernel protocol with `merge paths on`), load-balancer namespaces on one LAN
// each running its own BGP daemon (AS 65001) and tskeepalived, and a client namespace behind the
// router. The load balancers' BGP daemon is the lab's driver: BIRD 2 (exporting tskeepalived's
// static protocols) or FRR's bgpd (without zebra, its own vty socket directory, tskeepalived's
// network statements). Every process is killed by pid and every namespace deleted by name in cleanup().
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lan, Node, sh } from './vrrp-helpers.js';
import { renderBirdRoutes } from '../src/bgp/bird-routes.js';
import { birdCommand } from '../src/bgp/bird-control.js';

export const hasBird = (): boolean => ['bird', 'birdc'].every((c) => spawnSync('sh', ['-c', `command -v ${c} || test -x /usr/sbin/${c}`]).status === 0);
const BIRD = existsSync('/usr/sbin/bird') ? '/usr/sbin/bird' : 'bird';
/** Debian's frr puts its daemons here */
const BGPD = '/usr/lib/frr/bgpd';
export const hasFrr = (): boolean => existsSync(BGPD);

export type LabDriver = 'bird' | 'frr';

export interface LbNode {
  index: number;
  ns: string;
  address: string;
  driver: LabDriver;
  /** the node's BGP daemon's control socket: BIRD's, or bgpd's vty socket */
  controlSocket: string;
  birdSocket: string;
  routesFile: string;
  confPath: string;
  daemon?: Node;
  server?: ChildProcess;
}

// A TCP server answering its name on connect (the real server of each load balancer).
const SERVER_JS = `
const net = require('net');
const [name, port] = [process.argv[1], Number(process.argv[2])];
const srv = net.createServer((s) => { s.on('error', () => {}); s.end(name + '\\n'); });
srv.listen(port, '0.0.0.0', () => process.stdout.write('ready\\n'));
setTimeout(() => process.exit(0), 300000).unref();
`;

// Connections from the client, each from a new source port; prints a JSON array of replies.
const CLIENT_JS = `
const net = require('net');
const [host, port, count] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
function once() {
  return new Promise((res) => {
    const s = net.connect({ host, port });
    let buf = '';
    const t = setTimeout(() => { s.destroy(); res('timeout'); }, 2000);
    s.on('data', (d) => { buf += d; });
    s.on('end', () => { clearTimeout(t); res(buf.trim()); });
    s.on('error', (e) => { clearTimeout(t); res('error:' + e.code); });
  });
}
(async () => { const out = []; for (let i = 0; i < count; i++) out.push(await once()); process.stdout.write(JSON.stringify(out)); })();
`;

export class BgpLab {
  readonly lan: Lan;
  readonly router: string;
  readonly client: string;
  readonly routerSocket: string;
  readonly lbs: LbNode[] = [];
  private readonly birdPidFiles: string[] = [];
  private readonly frrPidFiles: string[] = [];
  private readonly extra: ChildProcess[] = [];

  /** prefix: unique (with the pid), at most 9 characters; lbCount load balancers, their BGP daemon `driver`. */
  constructor(
    readonly prefix: string,
    lbCount: number,
    readonly vips: string[],
    readonly driver: LabDriver = 'bird',
  ) {
    this.lan = new Lan(prefix, lbCount + 1, '10.77.0', 'fd77::');
    this.router = this.lan.namespaces[0]!;
    this.client = `${prefix}-cl`;
    this.routerSocket = join(this.lan.dir, 'router.ctl');
    const ipn = (ns: string, ...a: string[]) => sh('ip', ['-n', ns, ...a]);
    // client <-> router
    sh('ip', ['netns', 'add', this.client]);
    this.lan.namespaces.push(this.client);
    ipn(this.router, 'link', 'add', 'cl0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.client);
    ipn(this.router, 'addr', 'add', '10.78.0.1/24', 'dev', 'cl0');
    ipn(this.router, 'link', 'set', 'cl0', 'up');
    ipn(this.client, 'link', 'set', 'lo', 'up');
    ipn(this.client, 'addr', 'add', '10.78.0.2/24', 'dev', 'eth0');
    ipn(this.client, 'link', 'set', 'eth0', 'up');
    ipn(this.client, 'route', 'add', 'default', 'via', '10.78.0.1');
    const sysctl = (ns: string, kv: string) => sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', kv]);
    sysctl(this.router, 'net.ipv4.ip_forward=1');
    sysctl(this.router, 'net.ipv4.fib_multipath_hash_policy=1');
    sysctl(this.router, 'net.ipv4.conf.all.send_redirects=0');
    sysctl(this.router, 'net.ipv4.conf.eth0.send_redirects=0');
    for (let i = 1; i <= lbCount; i++) {
      const ns = this.lan.namespaces[i]!;
      const lb: LbNode = {
        index: i,
        ns,
        address: this.lan.addr4(i),
        driver,
        controlSocket: driver === 'frr' ? join(this.lan.dir, `lb${i}-frr`, 'bgpd.vty') : join(this.lan.dir, `lb${i}.ctl`),
        birdSocket: join(this.lan.dir, `lb${i}.ctl`),
        routesFile: join(this.lan.dir, `lb${i}-routes.conf`),
        confPath: join(this.lan.dir, `lb${i}.conf`),
      };
      // the VIPs are served locally (on lo); replies go back through the router
      for (const v of vips) ipn(ns, 'addr', 'add', `${v}/32`, 'dev', 'lo');
      ipn(ns, 'route', 'add', '10.78.0.0/24', 'via', this.lan.addr4(0));
      this.lbs.push(lb);
    }
  }

  /** BIRD of the router: one eBGP session per load balancer, ECMP into the kernel. */
  startRouterBird(): void {
    const peers = this.lbs.map((lb) => `protocol bgp lb${lb.index} from lbs { neighbor ${lb.address} as 65001; }`).join('\n');
    const conf = `router id ${this.lan.addr4(0)};
protocol device { scan time 2; }
protocol kernel { ipv4 { import none; export all; }; merge paths on; }
template bgp lbs {
  local ${this.lan.addr4(0)} as 65000;
  ipv4 { import all; export none; };
  connect delay time 1; connect retry time 1; error wait time 1, 4;
}
${peers}
`;
    this.startBird(this.router, 'router', conf, this.routerSocket);
  }

  /** The load balancer's BGP daemon (the lab's driver). */
  startLbBgp(lb: LbNode): void {
    if (lb.driver === 'frr') this.startLbFrr(lb);
    else this.startLbBird(lb);
  }

  /**
   * FRR's bgpd of a load balancer: no zebra (-Z: it installs nothing), no TCP vty (-P 0), its vty
   * socket, pid file and log in its own directory; tskeepalived adds its network statements.
   * Graceful restart off: the router's BIRD would otherwise keep a killed bgpd's routes (stale) for
   * the restart time.
   */
  startLbFrr(lb: LbNode): void {
    const dir = join(this.lan.dir, `lb${lb.index}-frr`);
    mkdirSync(dir, { recursive: true });
    const conf = join(dir, 'bgpd.conf');
    const pidFile = join(dir, 'bgpd.pid');
    writeFileSync(
      conf,
      `hostname lb${lb.index}
router bgp 65001
 bgp router-id ${lb.address}
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp graceful-restart-disable
 neighbor ${this.lan.addr4(0)} remote-as 65000
 neighbor ${this.lan.addr4(0)} timers connect 1
`,
    );
    this.frrPidFiles.push(pidFile);
    const r = sh('ip', [
      'netns',
      'exec',
      lb.ns,
      BGPD,
      '-d',
      '-S',
      '-Z',
      '-P',
      '0',
      '--vty_socket',
      dir,
      '-i',
      pidFile,
      '-f',
      conf,
      '--log',
      `file:${join(dir, 'bgpd.log')}`,
    ]);
    if (r.code !== 0) throw new Error(`bgpd in ${lb.ns} did not start: ${r.out}`);
  }

  /** Kill the load balancer's bgpd (SIGKILL, by its pid file). */
  killLbFrr(lb: LbNode): void {
    this.killPidFile(join(this.lan.dir, `lb${lb.index}-frr`, 'bgpd.pid'));
  }

  /** BIRD of a load balancer: includes tskeepalived's routes file, exports its static protocols. */
  startLbBird(lb: LbNode): void {
    if (!existsSync(lb.routesFile)) writeFileSync(lb.routesFile, renderBirdRoutes('tskeepalived', []));
    const conf = `router id ${lb.address};
protocol device { scan time 2; }
include "${lb.routesFile}";
protocol bgp up {
  local ${lb.address} as 65001;
  neighbor ${this.lan.addr4(0)} as 65000;
  ipv4 { import none; export filter tskeepalived_export; };
  connect delay time 1; connect retry time 1; error wait time 1, 4;
}
`;
    this.startBird(lb.ns, `lb${lb.index}`, conf, lb.birdSocket);
  }

  private startBird(ns: string, tag: string, conf: string, socket: string): void {
    const confPath = join(this.lan.dir, `${tag}-bird.conf`);
    const pidFile = join(this.lan.dir, `${tag}-bird.pid`);
    writeFileSync(confPath, conf);
    this.birdPidFiles.push(pidFile);
    const r = sh('ip', ['netns', 'exec', ns, BIRD, '-c', confPath, '-s', socket, '-P', pidFile]);
    if (r.code !== 0) throw new Error(`bird in ${ns} did not start: ${r.out}`);
  }

  /** the real server of a load balancer, on every address, port 80 */
  async startServer(lb: LbNode, port = 80): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', lb.ns, process.execPath, '-e', SERVER_JS, `lb${lb.index}`, String(port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.extra.push(child);
    lb.server = child;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`server of lb${lb.index} did not start`)), 10_000);
      child.stdout!.on('data', (d: Buffer) => {
        if (String(d).includes('ready')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
  }

  stopServer(lb: LbNode): void {
    lb.server?.kill('SIGKILL');
    lb.server = undefined;
  }

  /** tskeepalived (the full daemon, foreground) on the load balancer's configuration */
  startDaemon(lb: LbNode, extra: string[] = []): Node {
    const tag = `lb${lb.index}-tsk`;
    const p = spawn(
      'ip',
      [
        'netns',
        'exec',
        lb.ns,
        process.execPath,
        'bin/tskeepalived',
        '-n',
        '-l',
        '-G',
        '-f',
        lb.confPath,
        '-p',
        join(this.lan.dir, `${tag}.pid`),
        '-r',
        join(this.lan.dir, `${tag}-vrrp.pid`),
        '-c',
        join(this.lan.dir, `${tag}-check.pid`),
        ...extra,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.lan.procs.push(p);
    lb.daemon = new Node(p);
    return lb.daemon;
  }

  /** the router's kernel route to a VIP: the next hops (empty: no route) */
  nexthops(vip: string): string[] {
    const r = sh('ip', ['-n', this.router, 'route', 'show', `${vip}/32`]);
    return [...r.out.matchAll(/via (\S+)/g)].map((m) => m[1]!).sort();
  }

  /** BIRD's view on the router: every path it has for a prefix (protocol, next hop, MED, best) */
  async routerPaths(vip: string): Promise<{ proto: string; via?: string; med?: number; best: boolean }[]> {
    const r = await birdCommand(this.routerSocket, `show route ${vip}/32 all`, 3000);
    const out: { proto: string; via?: string; med?: number; best: boolean }[] = [];
    for (const l of r.lines) {
      const h = /\[(\w+) [^\]]*\]( \*)?/.exec(l);
      if (h && /unicast|blackhole/.test(l)) {
        out.push({ proto: h[1]!, best: h[2] !== undefined });
        continue;
      }
      const last = out[out.length - 1];
      if (!last) continue;
      const via = /^\s*via (\S+) on/.exec(l);
      if (via) last.via = via[1];
      const med = /BGP\.med: (\d+)/.exec(l);
      if (med) last.med = Number(med[1]);
    }
    return out;
  }

  /** count connections from the client to the VIP by the name that answered */
  requests(vip: string, count: number): Record<string, number> {
    const r = spawnSync('ip', ['netns', 'exec', this.client, process.execPath, '-e', CLIENT_JS, vip, '80', String(count)], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const t: Record<string, number> = {};
    for (const x of JSON.parse(r.stdout || '[]') as string[]) t[x] = (t[x] ?? 0) + 1;
    return t;
  }

  killPidFile(p: string): void {
    try {
      const pid = Number(readFileSync(p, 'utf8').trim());
      if (pid > 1) process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }

  cleanup(): void {
    for (const c of this.extra) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    // the daemons (by their ChildProcess), then the guards and BIRDs by their pid files
    for (const p of this.lan.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const lb of this.lbs) this.killPidFile(`${lb.routesFile}.guard.pid`);
    for (const f of [...this.birdPidFiles, ...this.frrPidFiles]) this.killPidFile(f);
    this.lan.cleanup();
  }
}

/** The lab's ECMP and VRRP-follow addresses (the router's ECMP route, the VRRP instance's VIP). */
export const ECMP_VIP = '192.0.2.10';
export const VRRP_VIP = '192.0.2.20';

/**
 * A load balancer's keepalived.conf in the lab (the test's and bench:bgp's): a virtual server with a
 * TCP_CHECK on the node's own real server (ECMP), a VRRP instance (VRRP-follow, lb1 the MASTER) and
 * the bgp block announcing both through the node's BGP daemon (BIRD or FRR). `ecmpAttrs`: lines for the ECMP entry's
 * block (med, community); `extra`: lines after it; `statusListen`: the status endpoint.
 */
export function lbConfig(lb: LbNode, o: { statusListen?: string; ecmpAttrs?: string; extra?: string } = {}): string {
  return `global_defs {
  router_id lb${lb.index}
  lb_backend dry-run
${o.statusListen ? `  status_listen ${o.statusListen}\n` : ''}}
virtual_server ${ECMP_VIP} 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 127.0.0.1 80 {
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority ${lb.index === 1 ? 150 : 100}
  advert_int 1
  virtual_ipaddress {
    ${VRRP_VIP}/32 dev lo
  }
}
bgp {
  driver ${lb.driver}
  control_socket ${lb.controlSocket}
  routes_file ${lb.routesFile}
  virtual_server ${ECMP_VIP} 80${o.ecmpAttrs ? ` {\n${o.ecmpAttrs}  }` : ''}${o.extra ?? ''}
  vrrp_instance VI_1 {
    master_med 10
    backup_med 200
  }
}
`;
}
