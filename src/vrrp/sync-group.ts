// vrrp_sync_group: members move together. One member becoming MASTER takes the others to MASTER,
// one yielding to a higher priority takes the others to BACKUP, one FAULT faults them all.
import type { Logger } from 'pino';
import type { GlobalDefs, SyncGroup } from '../config/model.js';
import type { InstanceRuntime } from './instance.js';
import { runNotify, type NotifyState } from './notify.js';
import type { TransitionReason, VrrpStateName } from './state-machine.js';

/** a group is INIT until its members agree, then in the state they entered together */
export type GroupState = VrrpStateName;

export class SyncGroupRuntime {
  state: GroupState = 'INIT';
  private faultImposed = false;
  private propagating = false;

  constructor(
    public cfg: SyncGroup,
    public members: InstanceRuntime[],
    private readonly global: () => GlobalDefs,
    private readonly log: Logger,
    private readonly emit: (state: NotifyState, previous: GroupState) => void,
  ) {}

  onMemberTransition(rt: InstanceRuntime, _from: VrrpStateName, to: VrrpStateName, reason: TransitionReason): void {
    if (!this.propagating && reason !== 'sync-group') {
      this.propagating = true;
      try {
        if (to === 'MASTER') for (const m of this.members) if (m !== rt && m.state === 'BACKUP') m.machine.handle({ type: 'group-master' });
        if (to === 'BACKUP' && reason === 'higher-priority-advert')
          for (const m of this.members) if (m !== rt && m.state === 'MASTER') m.machine.handle({ type: 'group-backup' });
      } finally {
        this.propagating = false;
      }
    }
    this.updateState();
  }

  /** Re-evaluate group-imposed faults after a member's own faults changed. */
  onOwnFaultsChanged(): void {
    const anyFaulty = this.members.some((m) => m.ownFaultList.length > 0);
    if (anyFaulty === this.faultImposed) return;
    this.reconcileFaults();
  }

  /**
   * Impose (or lift) the group's fault on every member as the members are now: after a reload
   * rebuilt the group, a member that joined a faulty group faults, and a fault imposed before the
   * reload is lifted once no member is faulty (setGroupFault is idempotent).
   */
  reconcileFaults(): void {
    const anyFaulty = this.members.some((m) => m.ownFaultList.length > 0);
    this.faultImposed = anyFaulty;
    for (const m of this.members) m.setGroupFault(this.cfg.name, anyFaulty);
    this.updateState();
  }

  private updateState(): void {
    const states = this.members.map((m) => m.state);
    let next: NotifyState;
    if (states.some((s) => s === 'FAULT')) next = 'FAULT';
    else if (states.length && states.every((s) => s === 'MASTER')) next = 'MASTER';
    else if (states.length && states.every((s) => s === 'STOP')) next = 'STOP';
    else if (states.some((s) => s === 'BACKUP') && !states.some((s) => s === 'MASTER')) next = 'BACKUP';
    else return; // mixed while moving: keep the current state
    if (next === this.state) return;
    const prev = this.state;
    this.state = next;
    this.log.info(`(${this.cfg.name}) Sync group entering ${next} state`);
    {
      const prio = Math.max(0, ...this.members.map((m) => m.machine?.priority ?? 0));
      runNotify(this.cfg.notify, 'GROUP', this.cfg.name, next, prio, this.global(), this.log);
    }
    this.emit(next, prev);
  }
}
