// What one build carries from reading to validation: the drafts the validator needs and the virtual
// servers already checked. Its own file so that build.ts (which fills it) and validate.ts (which
// reads it) both import it, and neither imports the other.
import type { Diagnostic } from './model.js';
import type { VsDraft } from './build-lvs.js';
import type { InstanceDraft, SyncGroupDraft } from './build-vrrp.js';

/** Whether any of the scripts would be executed, and whether any of those is insecure. */
export interface ScriptFlags {
  isScript: boolean;
  insecure: boolean;
}

/**
 * Virtual servers checked while reading (a config test that keeps no model): their messages,
 * in order, and what their scripts add to the security check. See ConfigBuild.
 */
export interface EarlyChecked {
  count: number;
  scripts: ScriptFlags;
  diagnostics: Diagnostic[];
}

export interface BuildState {
  /** names of objects as registered while building (for the validator) */
  syncGroupDrafts: SyncGroupDraft[];
  instanceDrafts: InstanceDraft[];
  vsDrafts: VsDraft[];
  /** virtual servers checked as soon as read and not kept (ConfigBuild's releaseVirtualServers) */
  early: EarlyChecked;
  /** "ADDRESS PORT" of every address virtual server read, kept or not (the bgp block refers to them) */
  vsKeys: Set<string>;
}
