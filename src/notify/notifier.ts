// Turns engine events into notify-fifo lines and smtp_alert emails.
// handle() is synchronous and cheap: fifo writes are non-blocking, mails are only queued.
// Nothing here can throw into an engine.
import type { Logger } from 'pino';
import type { FifoSpec, KeepalivedConfig } from '../config/model.js';
import type { EngineEvent } from '../engine-api/types.js';
import { alertFor } from './alerts.js';
import { AlertMailer, mailSettingsFrom } from './email.js';
import { FifoSet } from './fifo.js';

function fifoKey(s?: FifoSpec): string {
  return s ? `${s.path}\0${s.script?.command ?? ''}` : '';
}

function fifoSpecsKey(c: KeepalivedConfig): string {
  return [c.global.notifyFifo, c.global.vrrpNotifyFifo, c.global.lvsNotifyFifo].map(fifoKey).join('\n');
}

export interface NotifierOptions {
  /** which engines run here: VRRP events only feed vrrp fifos, checker events lvs ones */
  vrrp: boolean;
  checkers: boolean;
  maxPendingMails?: number;
}

export class Notifier {
  private config: KeepalivedConfig;
  private mailer?: AlertMailer;
  private fifos?: FifoSet;
  private readonly lastEmailed = new Map<string, string>();

  constructor(
    config: KeepalivedConfig,
    private readonly log: Logger,
    private readonly opts: NotifierOptions = { vrrp: true, checkers: true },
  ) {
    this.config = config;
  }

  start(): void {
    this.setupMail();
    this.openFifos();
  }

  get mail(): AlertMailer | undefined {
    return this.mailer;
  }

  handle(ev: EngineEvent): void {
    try {
      this.fifos?.handle(ev);
    } catch (e) {
      this.log.error({ err: e }, 'notify fifo failure');
    }
    try {
      const key = ev.kind === 'vrrp-instance' ? `i:${ev.name}` : ev.kind === 'vrrp-group' ? `g:${ev.name}` : undefined;
      const msg = alertFor(ev, this.config, key ? this.lastEmailed.get(key) : undefined);
      if (!msg) return;
      if (key && (ev.kind === 'vrrp-instance' || ev.kind === 'vrrp-group')) this.lastEmailed.set(key, ev.state);
      if (!this.mailer) {
        this.log.debug({ subject: msg.subject }, 'smtp_alert applies but no smtp_server/notification_email configured');
        return;
      }
      this.mailer.enqueue(msg);
    } catch (e) {
      this.log.error({ err: e }, 'smtp alert failure');
    }
  }

  reload(config: KeepalivedConfig): void {
    const fifosChanged = fifoSpecsKey(config) !== fifoSpecsKey(this.config);
    this.config = config;
    this.setupMail();
    if (fifosChanged) {
      this.fifos?.close();
      this.openFifos();
    }
  }

  async stop(graceMs = 2000): Promise<void> {
    this.fifos?.close();
    this.fifos = undefined;
    await this.mailer?.close(graceMs);
  }

  private setupMail(): void {
    const settings = mailSettingsFrom(this.config.global);
    if (!settings) {
      this.mailer = undefined;
      return;
    }
    if (this.mailer) this.mailer.update(settings);
    else this.mailer = new AlertMailer(settings, this.log.child({ subsystem: 'smtp' }), this.opts.maxPendingMails ?? 100);
  }

  private openFifos(): void {
    const g = this.config.global;
    const set = new FifoSet(
      {
        notify: g.notifyFifo,
        vrrp: this.opts.vrrp ? g.vrrpNotifyFifo : undefined,
        lvs: this.opts.checkers ? g.lvsNotifyFifo : undefined,
      },
      this.log.child({ subsystem: 'fifo' }),
    );
    set.open();
    this.fifos = set;
  }
}
