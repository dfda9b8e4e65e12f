// smtp_alert emails, sent through nodemailer from a bounded queue.
// enqueue() never blocks and never throws: the engines call it from their event path.
// One message is in flight at a time; when the queue is full the oldest pending message is
// dropped (and logged). Delivery failures are logged with the SMTP reply code and text.
import { hostname } from 'node:os';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import type { GlobalDefs } from '../config/model.js';

export interface AlertMessage {
  subject: string;
  body: string;
}

export interface MailSettings {
  host: string;
  port: number;
  from: string;
  to: string[];
  heloName?: string;
  /** ms */
  connectTimeoutMs: number;
}

/** The mail settings from global_defs, or undefined when keepalived would not send mail. */
export function mailSettingsFrom(g: GlobalDefs): MailSettings | undefined {
  if (!g.smtpServer || g.notificationEmail.length === 0) return undefined;
  return {
    host: g.smtpServer.host,
    port: g.smtpServer.port,
    from: g.notificationEmailFrom ?? `keepalived@${hostname()}`,
    to: [...g.notificationEmail],
    heloName: g.smtpHeloName,
    connectTimeoutMs: g.smtpConnectTimeout > 0 ? g.smtpConnectTimeout : 30000,
  };
}

export interface MailerStats {
  queued: number;
  sent: number;
  failed: number;
  dropped: number;
}

export interface SendFailure {
  message: string;
  responseCode?: number;
  response?: string;
}

export class AlertMailer {
  private readonly queue: AlertMessage[] = [];
  private busy = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  readonly stats: MailerStats = { queued: 0, sent: 0, failed: 0, dropped: 0 };

  constructor(
    private settings: MailSettings,
    private readonly log: Logger,
    readonly maxPending = 100,
  ) {}

  /** New settings after a reload; pending messages go to the new server. */
  update(settings: MailSettings): void {
    this.settings = settings;
  }

  /** Queue a message; returns at once. */
  enqueue(msg: AlertMessage): void {
    if (this.closed) return;
    if (this.queue.length >= this.maxPending) {
      const dropped = this.queue.shift()!;
      this.stats.dropped++;
      this.log.warn({ subject: dropped.subject, pending: this.queue.length }, 'smtp alert queue full: dropped the oldest message');
    }
    this.queue.push(msg);
    this.stats.queued++;
    if (!this.busy) setImmediate(() => void this.drain());
  }

  get pending(): number {
    return this.queue.length + (this.busy ? 1 : 0);
  }

  /** Resolves when nothing is queued or in flight (tests, shutdown). */
  idle(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stop sending; pending messages are abandoned after `graceMs`. */
  async close(graceMs = 0): Promise<void> {
    if (graceMs > 0) await Promise.race([this.idle(), new Promise((r) => setTimeout(r, graceMs).unref())]);
    this.closed = true;
    this.queue.length = 0;
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        const msg = this.queue.shift()!;
        const failure = await this.send(msg);
        if (failure) {
          this.stats.failed++;
          this.log.error(
            { subject: msg.subject, smtpServer: `${this.settings.host}:${this.settings.port}`, ...failure },
            `Error sending SMTP alert: ${failure.responseCode ? `${failure.responseCode} ` : ''}${failure.response ?? failure.message}`,
          );
        } else {
          this.stats.sent++;
          this.log.info({ subject: msg.subject, to: this.settings.to }, 'SMTP alert successfully sent');
        }
      }
    } finally {
      this.busy = false;
      if (this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async send(msg: AlertMessage): Promise<SendFailure | undefined> {
    const s = this.settings;
    const transport = nodemailer.createTransport({
      host: s.host,
      port: s.port,
      secure: false,
      ignoreTLS: true, // keepalived speaks plain SMTP
      name: s.heloName ?? 'localhost',
      connectionTimeout: s.connectTimeoutMs,
      greetingTimeout: s.connectTimeoutMs,
      socketTimeout: s.connectTimeoutMs,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
    try {
      await transport.sendMail({
        from: s.from,
        to: s.to.join(', '),
        subject: msg.subject,
        text: msg.body,
        headers: { 'X-Mailer': 'Keepalived' },
        date: new Date(),
      });
      return undefined;
    } catch (e) {
      const err = e as Error & { responseCode?: number; response?: string; code?: string };
      return { message: err.message, responseCode: err.responseCode, response: err.response };
    } finally {
      transport.close();
    }
  }
}
