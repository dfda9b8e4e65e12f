// Which engine events produce an smtp_alert, and the subject/body keepalived 2.2.7 writes for them.
// Pure: (event, config, last emailed state) -> message or nothing.
import type { EngineEvent } from '../engine-api/types.js';
import type { KeepalivedConfig, RealServer, VirtualServer } from '../config/model.js';
import { realServerText, virtualServerText } from '../config/server-text.js';
import type { AlertMessage } from './email.js';

function hasRawKeyword(config: KeepalivedConfig, keyword: string): boolean {
  return config.global.raw.some((r) => r.keyword === keyword);
}

/** smtp_alert of a VRRP instance or sync group: own setting, else smtp_alert_vrrp, else smtp_alert, else off. */
export function vrrpAlertEnabled(config: KeepalivedConfig, own: boolean | undefined): boolean {
  return own ?? config.global.smtpAlertVrrp ?? config.global.smtpAlert ?? false;
}

/** smtp_alert of a virtual server: own, else smtp_alert_checker, else smtp_alert, else off. */
export function vsAlertEnabled(config: KeepalivedConfig, vs: VirtualServer | undefined): boolean {
  return vs?.smtpAlert ?? config.global.smtpAlertChecker ?? config.global.smtpAlert ?? false;
}

/** smtp_alert of a real server: own, else smtp_alert_checker, else smtp_alert, else ON (keepalived's compatibility default). */
export function rsAlertEnabled(config: KeepalivedConfig, rs: RealServer | undefined): boolean {
  return rs?.smtpAlert ?? config.global.smtpAlertChecker ?? config.global.smtpAlert ?? true;
}

export function findVirtualServer(config: KeepalivedConfig, text: string): VirtualServer | undefined {
  return config.virtualServers.find((v) => virtualServerText(v) === text);
}

export function findRealServer(config: KeepalivedConfig, vsText: string, rsText: string): RealServer | undefined {
  const vs = findVirtualServer(config, vsText);
  return vs?.realServers.find((r) => realServerText(r, vs) === rsText);
}

/** Body of a real-server alert, per checker type, as keepalived's checkers word it. */
export function checkerBody(checker: string | undefined, up: boolean, reason?: string): string {
  switch (checker) {
    case 'TCP_CHECK':
      return up ? '=> TCP CHECK succeed on service <=' : '=> TCP CHECK failed on service <=';
    case 'HTTP_GET':
    case 'SSL_GET':
      return up ? '=> CHECK succeed on service <=' : '=> CHECK failed on service : HTTP request failed <=';
    case 'SMTP_CHECK':
      return up ? '=> CHECK succeed on service <=' : reason ? `=> CHECK failed on service : ${reason} <=` : '=> CHECK failed on service <=';
    case 'DNS_CHECK':
      return up ? '=> DNS_CHECK: succeed on service <=' : '=> DNS_CHECK: failed on service <=';
    case 'PING_CHECK':
      return up ? '=> ICMP CHECK succeed on service <=' : '=> ICMP CHECK failed on service <=';
    case 'UDP_CHECK':
      return up ? '=> UDP CHECK succeed on service <=' : '=> UDP CHECK failed on service <=';
    case 'MISC_CHECK':
      return `=> MISC CHECK ${up ? 'succeeded' : reason === 'timeout' ? 'timed out' : 'failed'} on service <=`;
    case 'BFD_CHECK':
      return `=> BFD CHECK ${reason ?? ''}${reason ? ' ' : ''}${up ? 'succeeded' : 'failed'} on service <=`;
    default:
      return up ? '=> CHECK succeed on service <=' : '=> CHECK failed on service <=';
  }
}

const INSTANCE_TEXT: Record<string, [string, string] | undefined> = {
  MASTER: ['Entering MASTER state', '=> VRRP Instance is now owning VRRP VIPs <='],
  BACKUP: ['Entering BACKUP state', '=> VRRP Instance is no longer owning VRRP VIPs <='],
  FAULT: ['Entering FAULT state', '=> VRRP Instance is no longer owning VRRP VIPs <='],
  STOP: ['Stopping', '=> VRRP Instance stopping <='],
  DELETED: ['Deleted', '=> VRRP Deleted at reload <='],
};

const GROUP_TEXT: Record<string, [string, string] | undefined> = {
  MASTER: ['Entering MASTER state', '=> All VRRP group instances are now in MASTER state <='],
  BACKUP: ['Entering BACKUP state', '=> All VRRP group instances are now in BACKUP state <='],
  FAULT: ['Entering FAULT state', '=> All VRRP group instances are now in FAULT state <='],
  STOP: ['Stopping', '=> All VRRP group instances are now stopping <='],
};

/**
 * The alert an event produces, or undefined. `lastEmailed` is the state last emailed for this
 * instance/group (keepalived does not mail the same state twice in a row).
 */
export function alertFor(ev: EngineEvent, config: KeepalivedConfig, lastEmailed?: string): AlertMessage | undefined {
  const rid = config.global.routerId;
  const noFaults = hasRawKeyword(config, 'no_email_faults');
  switch (ev.kind) {
    case 'vrrp-instance': {
      const inst = config.vrrpInstances.find((i) => i.name === ev.name);
      if (!vrrpAlertEnabled(config, inst?.smtpAlert)) return undefined;
      if (noFaults && ev.state === 'FAULT') return undefined;
      if (lastEmailed === ev.state) return undefined;
      const t = INSTANCE_TEXT[ev.state];
      return t && { subject: `[${rid}] VRRP Instance ${ev.name} - ${t[0]}`, body: t[1] };
    }
    case 'vrrp-group': {
      const g = config.syncGroups.find((s) => s.name === ev.name);
      if (!vrrpAlertEnabled(config, g?.smtpAlert)) return undefined;
      if (noFaults && ev.state === 'FAULT') return undefined;
      if (lastEmailed === ev.state) return undefined;
      const t = GROUP_TEXT[ev.state];
      return t && { subject: `[${rid}] VRRP Group ${ev.name} - ${t[0]}`, body: t[1] };
    }
    case 'real-server': {
      const rs = findRealServer(config, ev.virtualServer, ev.realServer);
      if (!rsAlertEnabled(config, rs)) return undefined;
      return {
        subject: `[${rid}] Realserver ${ev.realServer} of virtual server ${ev.virtualServer} - ${ev.up ? 'UP' : 'DOWN'}`,
        body: checkerBody(ev.checker, ev.up, ev.reason),
      };
    }
    case 'virtual-server-quorum': {
      const vs = findVirtualServer(config, ev.virtualServer);
      if (!vsAlertEnabled(config, vs)) return undefined;
      const hysteresis = vs?.hysteresis ?? 0;
      const threshold = ev.up ? ev.quorum + hysteresis : ev.quorum - hysteresis;
      return {
        subject: `[${rid}] Virtualserver ${ev.virtualServer} - ${ev.up ? 'UP' : 'DOWN'}`,
        body: `=> ${ev.up ? 'Gained quorum' : 'Lost quorum'} ${ev.quorum}+${hysteresis}=${threshold} <= ${ev.alive} <=`,
      };
    }
  }
}
