// The checkers engine: runs every health checker of every real server, keeps each real server's
// health and weight, each virtual server's quorum, and declares the resulting load-balancer state
// to the backend (coalescing bursts of changes into one apply).
import pino from 'pino';
import type { Checker, KeepalivedConfig, RealServer, ScriptSpec, VirtualServer } from '../config/model.js';
import { type Engine, type EngineEvent, type EngineEventListener, EngineListeners, type MetricSample } from '../engine-api/types.js';
import type { Destination, LbBackend, LbState, Service, ServiceKey } from '../lb/backend.js';
import { serviceKeyText } from '../lb/backend.js';
import { chooseBackend, createBackend } from '../lb/factory.js';
import { runScript } from '../util/run-script.js';
import { scriptSecurityProblem } from '../config/script-security.js';
import { tuneHeapForCheckers } from './heap-tuning.js';
import { abortHttpChecks } from './http.js';
import { checkersKey, realServerId, settingsKey, virtualServerId } from '../config/reload-identity.js';
import { type RealServerHealth, initialQuorum, liveWeight, nextQuorum, poolDestinations } from './pool.js';
import { type CheckEnv, isSchedulable, runCheck } from './run-check.js';
import { Limiter } from './limiter.js';
import { CheckerLoopBase, type LoopOptions, type LoopTiming, type Timers, firstDelay, realTimers } from './scheduler.js';
import { realServerText, virtualServerText } from '../config/server-text.js';
import { listOf } from '../config/exact.js';
import { serviceKeysOf } from './services.js';
import type { CheckResult } from './types.js';

type Logger = pino.Logger;

export interface CheckersEngineOptions {
  /** the load-balancer backend; absent = created on start from --lb-backend / lb_backend (default ipvs) */
  backend?: LbBackend;
  /** CLI options (--lb-backend) when the engine creates its backend */
  cli?: { lbBackend?: string };
  logger?: Logger;
  timers?: Timers;
  /** open() the backend on start and close() it on stop (default true) */
  manageBackend?: boolean;
  /** ms to wait before applying, so bursts of changes make one apply (default 10) */
  coalesceMs?: number;
  /** checks in flight at once; more wait their turn before their deadline starts (default 256) */
  maxConcurrentChecks?: number;
}

/** What the loops of an engine share: the engine's callbacks and the loops' options (one object per engine run). */
interface LoopLink {
  opts: LoopOptions;
  attempt(c: CheckerRt, signal: AbortSignal | undefined): Promise<CheckResult>;
  verdict(c: CheckerRt, up: boolean, res: CheckResult): void;
}

// bits of CheckerRt.flags
/** the engine's view of a checker's verdict (the loop's, or the health kept over a restart) */
const HEALTHY = 1;
/** RealRt: all its checkers are healthy */
const ALIVE = 2;
/** RealRt: removed by a reload or by stop(); late verdicts are ignored */
const STOPPED = 4;

/**
 * One checker of one real server: its loop (the loop's fields) and the engine's own state in the
 * same object. The first checker of a real server is the real server's object itself (RealRt), the
 * others hang from it in a list (`next`), so a real server with one checker is one object (see
 * docs/memory.md). A checker that cannot be scheduled (BFD_CHECK) has a loop that never starts.
 */
abstract class CheckerRt extends CheckerLoopBase {
  /** HEALTHY, and on the real server's object ALIVE and STOPPED */
  protected flags: number;
  /** weight set by the checker (misc_dynamic, FILE_CHECK) minus the configured weight */
  weightOffset = 0;
  /** the real server's next checker */
  next: CheckerRt | undefined = undefined;
  constructor(
    timing: LoopTiming,
    healthy: boolean,
    /** undefined only on the object of a real server without checkers */
    public checker: Checker | undefined,
  ) {
    super(timing, healthy);
    this.flags = healthy ? HEALTHY : 0;
  }
  /** the real server this checker belongs to */
  abstract get real(): RealRt;
  get healthy(): boolean {
    return (this.flags & HEALTHY) !== 0;
  }
  set healthy(up: boolean) {
    this.flags = up ? this.flags | HEALTHY : this.flags & ~HEALTHY;
  }
  protected loopOptions(): LoopOptions {
    return this.real.v.link.opts;
  }
  protected attempt(signal: AbortSignal | undefined): Promise<CheckResult> {
    return this.real.v.link.attempt(this, signal);
  }
  protected verdict(up: boolean, res: CheckResult): void {
    this.real.v.link.verdict(this, up, res);
  }
}

/**
 * A real server, and its first checker. Its id and text are computed when needed rather than kept
 * (two strings each).
 */
class RealRt extends CheckerRt {
  /** weight set by a manager (SNMP SET of realServerWeight): replaces the configured one until a reload */
  weightSet: number | undefined = undefined;
  constructor(
    public rs: RealServer,
    readonly v: VirtualRt,
    timing: LoopTiming,
    healthy: boolean,
    checker: Checker | undefined,
  ) {
    super(timing, healthy, checker);
  }
  get real(): RealRt {
    return this;
  }
  /** its first checker; the others follow through `next` */
  get first(): CheckerRt | undefined {
    return this.checker === undefined ? undefined : this;
  }
  get alive(): boolean {
    return (this.flags & ALIVE) !== 0;
  }
  set alive(up: boolean) {
    this.flags = up ? this.flags | ALIVE : this.flags & ~ALIVE;
  }
  get stopped(): boolean {
    return (this.flags & STOPPED) !== 0;
  }
  set stopped(s: boolean) {
    this.flags = s ? this.flags | STOPPED : this.flags & ~STOPPED;
  }
  get id(): string {
    return realServerId(this.rs);
  }
  get text(): string {
    return realServerText(this.rs, this.v.vs);
  }
}

/** A real server's second and further checkers. */
class MoreCheckerRt extends CheckerRt {
  constructor(
    timing: LoopTiming,
    healthy: boolean,
    checker: Checker,
    readonly real: RealRt,
  ) {
    super(timing, healthy, checker);
  }
}

interface VirtualRt {
  id: string;
  vs: VirtualServer;
  text: string;
  services: ServiceKey[];
  reals: RealRt[];
  quorumUp: boolean;
  /** the engine's callbacks and loop options */
  link: LoopLink;
  /** its pool may have changed since it was last compared */
  dirty: boolean;
  /**
   * Its destinations when last compared, as small numbers (which real server, what weight: the
   * rest follows from the configuration, and a configuration change applies anyway); undefined =
   * unknown. The destinations themselves are computed when the backend is called, not kept.
   */
  applied: number[] | undefined;
}

/** a real server's checkers in order */
function checkersOf(r: RealRt): CheckerRt[] {
  const out: CheckerRt[] = [];
  for (let c = r.first; c; c = c.next) out.push(c);
  return out;
}

/** the timing of the loop of a real server without checkers (never started) */
const NO_TIMING: LoopTiming = Object.freeze({ delayLoop: 0, retry: 0, delayBeforeRetry: 0 });

function checkerCommon(c: Checker): { delayLoop?: number; retry?: number; delayBeforeRetry?: number; warmup?: number; alpha?: boolean } {
  if (c.type === 'FILE_CHECK' || c.type === 'BFD_CHECK') return {};
  return c;
}

export function loopTiming(vs: VirtualServer, rs: RealServer, c: Checker): LoopTiming {
  const cc = checkerCommon(c);
  const isFile = c.type === 'FILE_CHECK';
  const delayLoop = cc.delayLoop ?? rs.delayLoop ?? vs.delayLoop;
  return {
    delayLoop,
    retry: isFile ? 0 : (cc.retry ?? rs.retry ?? vs.retry ?? 1),
    delayBeforeRetry: cc.delayBeforeRetry ?? rs.delayBeforeRetry ?? vs.delayBeforeRetry ?? 1000,
    warmup: cc.warmup ?? rs.warmup ?? vs.warmup,
    // keepalived's HTTP_GET/SSL_GET restore a failed server on the pass after its url succeeded
    ...(c.type === 'HTTP_GET' || c.type === 'SSL_GET' ? { confirmAfterFailure: c.fastRecovery ? 0 : delayLoop } : {}),
  };
}

function startsUp(vs: VirtualServer, rs: RealServer, c: Checker): boolean {
  return !(checkerCommon(c).alpha ?? rs.alpha ?? vs.alpha);
}

/** The load-balancer backend chosen by --lb-backend, else lb_backend, else ipvs (src/lb/factory.ts). */
export async function createBackendFor(cliName: string | undefined, config: KeepalivedConfig, log: Logger): Promise<LbBackend> {
  const { name } = chooseBackend({ lbBackend: cliName }, config.global);
  return createBackend(name, { logger: log.child({ subsystem: 'lb' }) });
}

export class CheckersEngine implements Engine {
  readonly name = 'checkers' as const;
  private backend: LbBackend | undefined;
  private readonly cliBackend: string | undefined;
  private readonly log: Logger;
  private readonly timers: Timers;
  private readonly manageBackend: boolean;
  private readonly coalesceMs: number;
  private readonly limiter: Limiter;
  /** aborted on stop: in-flight checks end at once */
  private stopSignal = new AbortController();
  /** callbacks and options shared by every loop (one object, not one per loop); rebuilt with a new stop signal */
  private loopLink: LoopLink | undefined;
  private readonly timings = new Map<string, LoopTiming>();
  private readonly listeners = new EngineListeners((err) => this.log.error({ err }, 'event listener failed'));
  private vss = new Map<string, VirtualRt>();
  private config: KeepalivedConfig | undefined;
  private ctxBase: CheckEnv = { enableScriptSecurity: false, trackFiles: new Map() };
  /** the loops' callbacks and options (a loop finds them through its virtual server) */
  private link(): LoopLink {
    this.loopLink ??= {
      opts: { timers: this.timers, limiter: this.limiter, signal: this.stopSignal.signal },
      attempt: (c, signal) => {
        const r = c.real;
        const p = runCheck(r.rs, c.checker!, this.ctxBase, r.v.vs.virtualhost, c.loopTiming.delayLoop, signal);
        return this.logAllFailures ? p.then((res) => this.logFailure(c, res)) : p;
      },
      verdict: (c, up, res) => this.onVerdict(c.real.v, c.real, c, up, res),
    };
    return this.loopLink;
  }
  private applyTimer: NodeJS.Timeout | undefined;
  private applying: Promise<void> | undefined;
  private applyAgain = false;
  private structureChanged = true;
  private running = false;
  private appliesCount = 0;
  private applyErrors = 0;

  constructor(o: CheckersEngineOptions) {
    this.backend = o.backend;
    this.cliBackend = o.cli?.lbBackend;
    this.log = o.logger ?? pino({ name: 'checkers' });
    this.timers = o.timers ?? realTimers;
    this.manageBackend = o.manageBackend ?? true;
    this.coalesceMs = o.coalesceMs ?? 10;
    this.limiter = new Limiter(o.maxConcurrentChecks ?? 256);
  }

  on(listener: EngineEventListener): void {
    this.listeners.add(listener);
  }

  /** Resolves once every pending change has been applied to the backend. */
  async settled(): Promise<void> {
    while (this.applyTimer || this.applying) {
      if (this.applying) await this.applying;
      else await new Promise((r) => setTimeout(r, this.coalesceMs + 1));
    }
  }

  get applyCount(): number {
    return this.appliesCount;
  }

  async start(config: KeepalivedConfig): Promise<void> {
    if (this.stopSignal.signal.aborted) {
      this.stopSignal = new AbortController();
      this.loopLink = undefined;
    }
    if (config.virtualServers.length > 0) tuneHeapForCheckers();
    this.backend ??= await createBackendFor(this.cliBackend, config, this.log);
    if (this.manageBackend) await this.backend.open();
    this.running = true;
    this.setConfig(config);
    for (const vs of config.virtualServers) this.addVirtual(vs);
    this.applyNow();
    await this.settled();
  }

  async reload(config: KeepalivedConfig): Promise<void> {
    this.setConfig(config);
    const next = new Map(config.virtualServers.map((vs) => [virtualServerId(vs), vs]));
    for (const [id, v] of [...this.vss]) {
      if (!next.has(id)) {
        this.log.info({ vs: v.text }, 'removing virtual server');
        for (const r of v.reals) this.stopReal(r);
        this.vss.delete(id);
      }
    }
    for (const [id, vs] of next) {
      const v = this.vss.get(id);
      if (!v) this.addVirtual(vs);
      else this.updateVirtual(v, vs);
    }
    this.markDirty();
    await this.settled();
  }

  async stop(opts: { release: boolean }): Promise<void> {
    this.running = false;
    this.stopSignal.abort();
    for (const v of this.vss.values()) {
      for (const r of v.reals) this.stopReal(r);
      // omega: on shutdown, run the down notifiers of what was up
      if (v.vs.omega) {
        for (const r of v.reals) if (r.alive && r.rs.notifyDown) this.runNotify(r.rs.notifyDown, `${r.text} notify_down`);
        if (v.quorumUp && v.vs.quorumDown) this.runNotify(v.vs.quorumDown, `${v.text} quorum_down`);
      }
    }
    if (this.applyTimer) clearTimeout(this.applyTimer);
    this.applyTimer = undefined;
    if (this.applying) await this.applying;
    if (this.manageBackend) {
      try {
        await this.backend?.close({ release: opts.release });
      } catch (e) {
        this.log.error({ err: e }, 'closing the load-balancer backend failed');
      }
    }
    this.vss.clear();
    await abortHttpChecks();
  }

  // ------------------------------------------------------------------ building

  /** global_defs checker_log_all_failures: log every failed attempt, not only state changes */
  private logAllFailures = false;

  private logFailure(c: CheckerRt, res: CheckResult): CheckResult {
    if (!res.ok) this.log.info({ vs: c.real.v.text, rs: c.real.text, checker: c.checker?.type, reason: res.reason }, 'check failed');
    return res;
  }

  private setConfig(config: KeepalivedConfig): void {
    this.config = config;
    this.logAllFailures = config.global.checkerLogAllFailures === true;
    this.ctxBase = {
      enableScriptSecurity: config.global.enableScriptSecurity,
      scriptUser: config.global.scriptUser,
      scriptGroup: config.global.scriptGroup,
      trackFiles: new Map(config.trackFiles.map((t) => [t.name, { file: t.file, weight: t.weight, weightReverse: t.weightReverse }])),
      ssl: config.ssl,
    };
  }

  private expandServices(vs: VirtualServer): ServiceKey[] {
    try {
      return serviceKeysOf(vs, this.config!);
    } catch (e) {
      this.log.error({ err: e }, 'virtual server skipped');
      return [];
    }
  }

  private addVirtual(vs: VirtualServer): void {
    const v: VirtualRt = {
      id: virtualServerId(vs),
      vs,
      text: virtualServerText(vs),
      services: this.expandServices(vs),
      reals: [],
      quorumUp: true,
      link: this.link(),
      dirty: true,
      applied: undefined,
    };
    for (const rs of vs.realServers) v.reals.push(this.makeReal(v, rs, undefined));
    v.quorumUp = initialQuorum(liveWeight(this.health(v)), vs);
    this.vss.set(v.id, v);
    if (!v.quorumUp && vs.sorryServer) {
      this.log.info({ vs: v.text }, 'starting with quorum down');
      if (vs.quorumDown) this.runNotify(vs.quorumDown, `${v.text} quorum_down`);
      this.emitQuorum(v);
    }
    for (const r of v.reals) this.startReal(v, r);
  }

  private updateVirtual(v: VirtualRt, vs: VirtualServer): void {
    v.vs = vs;
    v.text = virtualServerText(vs);
    v.services = this.expandServices(vs);
    const wanted = new Map(vs.realServers.map((rs) => [realServerId(rs), rs]));
    const had = new Map<string, RealRt>();
    for (const r of v.reals) {
      const id = r.id;
      if (wanted.has(id)) had.set(id, r);
      else {
        this.log.info({ vs: v.text, rs: r.text }, 'removing real server');
        this.stopReal(r);
      }
    }
    const reals: RealRt[] = [];
    for (const [id, rs] of wanted) {
      const old = had.get(id);
      if (old && checkersKey(old.rs.checkers) === checkersKey(rs.checkers)) {
        // unchanged checkers: keep running loops and health; pick up new weights/timings
        old.rs = rs;
        old.weightSet = undefined; // a reload goes back to the configured weight, as keepalived
        for (let c = old.first; c; c = c.next) {
          const cfg = listOf(rs.checkers).find((x) => settingsKey(x) === settingsKey(c!.checker));
          if (cfg) c.checker = cfg;
          c.retime(this.sharedTiming(loopTiming(vs, rs, c.checker!)));
        }
        old.alive = this.computeAlive(old);
        reals.push(old);
        continue;
      }
      if (old) {
        this.log.info({ vs: v.text, rs: old.text }, 'checkers changed: restarting them, keeping the health state');
        this.stopReal(old);
      }
      const r = this.makeReal(v, rs, old?.alive);
      reals.push(r);
      this.startReal(v, r);
    }
    v.reals = reals;
    this.updateQuorum(v);
  }

  private makeReal(v: VirtualRt, rs: RealServer, previousAlive: boolean | undefined): RealRt {
    const cs = listOf(rs.checkers);
    const timing = (checker: Checker) => this.sharedTiming(loopTiming(v.vs, rs, checker));
    const up = (checker: Checker) => previousAlive ?? startsUp(v.vs, rs, checker);
    // a real server without checkers gets a loop that never starts (and timing it never reads)
    const r = cs.length > 0 ? new RealRt(rs, v, timing(cs[0]!), up(cs[0]!), cs[0]) : new RealRt(rs, v, NO_TIMING, true, undefined);
    let last: CheckerRt = r;
    for (let i = 1; i < cs.length; i++) last = last.next = new MoreCheckerRt(timing(cs[i]!), up(cs[i]!), cs[i]!, r);
    r.alive = this.computeAlive(r);
    return r;
  }

  private startReal(v: VirtualRt, r: RealRt): void {
    let i = 0;
    for (let c = r.first; c; c = c.next, i++) {
      const checker = c.checker!;
      if (checker.type === 'BFD_CHECK') {
        // event-driven: the BFD engine's session state (through the daemon, bfdState())
        const known = checker.name === undefined ? undefined : this.bfdSessions.get(checker.name);
        if (known !== undefined) c.healthy = known;
        continue;
      }
      if (!isSchedulable(checker)) {
        this.log.warn({ rs: r.text, checker: checker.type }, 'checker type not supported: ignored');
        c.healthy = true;
        continue;
      }
      c.start(firstDelay(`${v.id}|${r.id}|${i}`, c.loopTiming));
    }
    r.alive = this.computeAlive(r);
  }

  /** Loops with the same timing share one timing object (tens of thousands of loops, few timings). */
  private sharedTiming(t: LoopTiming): LoopTiming {
    const key = `${t.delayLoop}|${t.retry}|${t.delayBeforeRetry}|${t.warmup}|${t.confirmAfterFailure}`;
    let shared = this.timings.get(key);
    if (!shared) this.timings.set(key, (shared = t));
    return shared;
  }

  private stopReal(r: RealRt): void {
    r.stopped = true;
    for (let c = r.first; c; c = c.next) c.stop();
  }

  // ------------------------------------------------------------------ BFD_CHECK

  /** bfd_instance states as the BFD engine reported them */
  private readonly bfdSessions = new Map<string, boolean>();

  /** BFD_CHECK: the real servers checking session `name` follow it (keepalived's check_bfd). */
  bfdState(name: string, up: boolean): void {
    this.bfdSessions.set(name, up);
    for (const v of this.vss.values())
      for (const r of v.reals)
        for (let c = r.first; c; c = c.next) {
          if (c.checker!.type !== 'BFD_CHECK' || c.checker!.name !== name || c.healthy === up) continue;
          this.log.info({ vs: v.text, rs: r.text, bfd: name }, `BFD check of [${name}] RS(${r.text}) is ${up ? 'UP' : 'DOWN'}`);
          this.onVerdict(v, r, c, up, { ok: up, reason: name, latencyMs: 0 });
        }
  }

  // ------------------------------------------------------------------ health

  private computeAlive(r: RealRt): boolean {
    for (let c = r.first; c; c = c.next) if (!c.healthy) return false;
    return true;
  }

  private effectiveWeight(r: RealRt): number {
    let w = r.weightSet ?? r.rs.weight;
    for (let c = r.first; c; c = c.next) w += c.weightOffset;
    return Math.max(0, w);
  }

  private health(v: VirtualRt): RealServerHealth[] {
    return v.reals.map((r) => ({
      address: r.rs.address,
      family: r.rs.family,
      port: r.rs.port,
      alive: r.alive,
      weight: this.effectiveWeight(r),
      inhibitOnFailure: r.rs.inhibitOnFailure || v.vs.inhibitOnFailure,
      lbKind: r.rs.lbKind ?? v.vs.lbKind,
      uthreshold: r.rs.uthreshold,
      lthreshold: r.rs.lthreshold,
    }));
  }

  private onVerdict(v: VirtualRt, r: RealRt, c: CheckerRt, up: boolean, res: CheckResult): void {
    if (!this.running || this.vss.get(v.id) !== v || r.stopped) return;
    const oldWeight = this.effectiveWeight(r);
    c.healthy = up;
    if (up) c.weightOffset = res.weight === undefined ? 0 : res.weight - r.rs.weight;
    const wasAlive = r.alive;
    r.alive = this.computeAlive(r);
    const weight = this.effectiveWeight(r);
    if (wasAlive !== r.alive) {
      this.log.info({ vs: v.text, rs: r.text, checker: c.checker?.type, reason: res.reason }, r.alive ? 'real server up' : 'real server down');
      const script = r.alive ? r.rs.notifyUp : r.rs.notifyDown;
      if (script) this.runNotify(script, `${r.text} ${r.alive ? 'notify_up' : 'notify_down'}`);
    } else if (weight !== oldWeight) {
      this.log.info({ vs: v.text, rs: r.text, from: oldWeight, to: weight }, 'real server weight changed');
    } else return;
    this.emit({
      kind: 'real-server',
      virtualServer: v.text,
      realServer: r.text,
      up: r.alive,
      weight,
      checker: c.checker!.type,
      reason: res.reason,
      at: Date.now(),
    });
    this.updateQuorum(v);
    this.markDirty(v);
  }

  private updateQuorum(v: VirtualRt): void {
    const live = liveWeight(this.health(v));
    const up = nextQuorum(v.quorumUp, live, v.vs);
    if (up === v.quorumUp) return;
    v.quorumUp = up;
    this.log.info({ vs: v.text, live, quorum: v.vs.quorum, hysteresis: v.vs.hysteresis }, up ? 'gained quorum' : 'lost quorum');
    const script = up ? v.vs.quorumUp : v.vs.quorumDown;
    if (script) this.runNotify(script, `${v.text} ${up ? 'quorum_up' : 'quorum_down'}`);
    this.emitQuorum(v);
  }

  private emitQuorum(v: VirtualRt): void {
    this.emit({ kind: 'virtual-server-quorum', virtualServer: v.text, up: v.quorumUp, alive: liveWeight(this.health(v)), quorum: v.vs.quorum, at: Date.now() });
  }

  private emit(ev: EngineEvent): void {
    this.listeners.emit(ev);
  }

  /** notify_up/down and quorum_up/down: never awaited, never blocking the checkers. */
  private runNotify(spec: ScriptSpec, what: string): void {
    const user = spec.user ?? this.ctxBase.scriptUser;
    const group = spec.group ?? this.ctxBase.scriptGroup;
    if (this.ctxBase.enableScriptSecurity && process.getuid?.() === 0 && (user === undefined || user === 'root')) {
      const problem = scriptSecurityProblem(spec.argv[0] ?? '');
      if (problem) {
        this.log.warn({ script: spec.command, problem }, `${what}: refused by script security`);
        return;
      }
    }
    void runScript(spec, { user, group }).then((r) => {
      if (r.error || r.code !== 0) this.log.warn({ script: spec.command, code: r.code, signal: r.signal, err: r.error }, `${what} script failed`);
    });
  }

  // ------------------------------------------------------------------ load balancer state

  /** The load-balancer state the engine wants: computed from the health of each real server, not kept. */
  desiredState(): LbState {
    const services: Service[] = [];
    for (const v of this.vss.values()) this.servicesOf(v, services);
    return { services };
  }

  private destinationsOf(v: VirtualRt, sources?: number[]): Destination[] {
    return poolDestinations(
      { quorum: v.vs.quorum, hysteresis: v.vs.hysteresis, lbKind: v.vs.lbKind, sorryServer: v.vs.sorryServer, sorryServerInhibit: v.vs.sorryServerInhibit },
      this.health(v),
      v.quorumUp,
      sources,
    );
  }

  /**
   * `v.applied` brought up to date: false when it already described its destinations. Each is a
   * number weight × 2^21 + (index of its real server + 1, 0 = the sorry server); undefined (never
   * equal) when one does not fit.
   */
  private compareApplied(v: VirtualRt): boolean {
    const sources: number[] = [];
    const ds = this.destinationsOf(v, sources);
    let next: number[] | undefined = [];
    for (let i = 0; i < ds.length; i++) {
      const w = ds[i]!.weight;
      const src = sources[i]! + 1;
      if (!Number.isInteger(w) || w < 0 || w >= 2 ** 31 || src >= 2 ** 21) {
        next = undefined;
        break;
      }
      next.push(w * 2 ** 21 + src);
    }
    const prev = v.applied;
    if (next !== undefined && prev !== undefined && prev.length === next.length && prev.every((x, i) => x === next[i])) return false;
    v.applied = next;
    return true;
  }

  private servicesOf(v: VirtualRt, services: Service[]): void {
    {
      const destinations = this.destinationsOf(v);
      const first = services.length;
      for (const key of v.services) {
        const persistenceTimeout = v.vs.persistenceTimeout;
        services.push({
          key,
          scheduler: v.vs.lbAlgo,
          // persistence_timeout is kept in seconds by the config model, as the load balancer wants it
          ...(persistenceTimeout !== undefined ? { persistenceTimeout } : {}),
          ...(v.vs.persistenceGranularity ? { persistenceNetmask: v.vs.persistenceGranularity } : {}),
          ops: v.vs.ops,
          // computed for this call: the first service takes them, the others (a group's) copies
          destinations: services.length === first ? destinations : destinations.map((d) => ({ ...d })),
        });
      }
    }
  }

  /** A virtual server's pool may have changed (or, without one, the set of virtual servers). */
  private markDirty(v?: VirtualRt): void {
    if (v) v.dirty = true;
    else for (const x of this.vss.values()) x.dirty = true;
    this.structureChanged ||= v === undefined;
    this.scheduleApply();
  }

  private scheduleApply(): void {
    if (!this.running || this.applyTimer) return;
    this.applyTimer = setTimeout(() => {
      this.applyTimer = undefined;
      this.applyNow();
    }, this.coalesceMs);
  }

  private applyNow(): void {
    if (this.applying) {
      this.applyAgain = true;
      return;
    }
    // only virtual servers whose pool changed are recomputed; an unchanged result is not re-applied
    let changed = this.structureChanged;
    for (const v of this.vss.values()) {
      if (!v.dirty) continue;
      v.dirty = false;
      if (this.compareApplied(v)) changed = true;
    }
    if (!changed) return;
    this.structureChanged = false;
    const state = this.desiredState();
    this.applying = (async () => {
      try {
        await this.backend!.apply(state);
        this.appliesCount++;
      } catch (e) {
        this.applyErrors++;
        this.structureChanged = true; // retry the whole state on the next change
        this.log.error({ err: e }, 'load-balancer apply failed; will retry on the next change');
      } finally {
        this.applying = undefined;
        if (this.applyAgain) {
          this.applyAgain = false;
          this.scheduleApply();
        }
      }
    })();
  }

  /**
   * A manager sets a real server's weight (keepalived's SNMP SET of realServerWeight): applied to the
   * load balancer like a checker's weight change, kept until a reload. False when there is no such
   * real server.
   */
  setRealServerWeight(virtualServer: string, realServer: string, weight: number): boolean {
    const v = [...this.vss.values()].find((x) => x.text === virtualServer);
    const r = v?.reals.find((x) => x.text === realServer);
    if (!v || !r) return false;
    const from = this.effectiveWeight(r);
    r.weightSet = weight;
    this.log.info({ vs: v.text, rs: r.text, from, to: this.effectiveWeight(r) }, 'real server weight set by a manager');
    this.updateQuorum(v);
    this.markDirty(v);
    return true;
  }

  // ------------------------------------------------------------------ introspection

  snapshot(): unknown {
    return {
      virtualServers: [...this.vss.values()].map((v) => ({
        virtualServer: v.text,
        services: v.services.map(serviceKeyText),
        quorumUp: v.quorumUp,
        quorum: v.vs.quorum,
        hysteresis: v.vs.hysteresis,
        liveWeight: liveWeight(this.health(v)),
        realServers: v.reals.map((r) => ({
          realServer: r.text,
          alive: r.alive,
          weight: this.effectiveWeight(r),
          checkers: checkersOf(r).map((c) => {
            const s = c.stats;
            return { type: c.checker!.type, up: c.healthy, checks: s.checks, failures: s.failures, lastLatencyMs: s.lastLatencyMs, lastReason: s.lastReason };
          }),
        })),
      })),
      applies: this.appliesCount,
      applyErrors: this.applyErrors,
    };
  }

  dumpData(): string {
    const lines: string[] = ['------< Health checkers >------'];
    for (const v of this.vss.values()) {
      lines.push(` VS = ${v.text}`, `   delay_loop = ${v.vs.delayLoop / 1000}, lb_algo = ${v.vs.lbAlgo}, lb_kind = ${v.vs.lbKind}`);
      lines.push(`   quorum = ${v.vs.quorum}, hysteresis = ${v.vs.hysteresis}, quorum state = ${v.quorumUp ? 'UP' : 'DOWN'}`);
      if (v.vs.sorryServer) lines.push(`   sorry server = [${v.vs.sorryServer.address}]:${v.vs.sorryServer.port}`);
      for (const r of v.reals) {
        lines.push(`   RS = ${r.text}, weight = ${this.effectiveWeight(r)}, ${r.alive ? 'alive' : 'down'}`);
        for (let c = r.first; c; c = c.next) lines.push(`     ${c.checker!.type}: ${c.healthy ? 'up' : 'down'}`);
      }
    }
    return lines.join('\n') + '\n';
  }

  dumpStats(): string {
    const lines: string[] = ['------< Health checker statistics >------'];
    for (const v of this.vss.values())
      for (const r of v.reals)
        for (let c = r.first; c; c = c.next) {
          const s = c.stats;
          lines.push(
            `${v.text} ${r.text} ${c.checker!.type}: checks ${s.checks}, failures ${s.failures}, last latency ${s.lastLatencyMs?.toFixed(1) ?? '-'} ms`,
          );
        }
    return lines.join('\n') + '\n';
  }

  metrics(): MetricSample[] {
    const out: MetricSample[] = [];
    for (const v of this.vss.values()) {
      out.push({
        name: 'tskeepalived_virtual_server_quorum_up',
        help: 'Virtual server quorum state (1 = up)',
        type: 'gauge',
        labels: { virtual_server: v.text },
        value: v.quorumUp ? 1 : 0,
      });
      for (const r of v.reals) {
        const labels = { virtual_server: v.text, real_server: r.text };
        out.push({ name: 'tskeepalived_real_server_up', help: 'Real server health (1 = alive)', type: 'gauge', labels, value: r.alive ? 1 : 0 });
        out.push({ name: 'tskeepalived_real_server_weight', help: 'Real server effective weight', type: 'gauge', labels, value: this.effectiveWeight(r) });
        let checks = 0;
        let failures = 0;
        let latency: number | undefined;
        for (let c = r.first; c; c = c.next) {
          const s = c.stats;
          checks += s.checks;
          failures += s.failures;
          latency = s.lastLatencyMs ?? latency;
        }
        out.push({ name: 'tskeepalived_real_server_checks_total', help: 'Health checks run', type: 'counter', labels, value: checks });
        out.push({ name: 'tskeepalived_real_server_check_failures_total', help: 'Health checks failed', type: 'counter', labels, value: failures });
        if (latency !== undefined)
          out.push({
            name: 'tskeepalived_real_server_check_latency_seconds',
            help: 'Latency of the last health check',
            type: 'gauge',
            labels,
            value: latency / 1000,
          });
      }
    }
    return out;
  }
}
