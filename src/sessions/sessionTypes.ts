import type { Scope } from '../state/Scope.js';

/** What `rt.sessions.start` takes. */
export interface SessionStartOptions {
  /** The session's id; its state lives in `Scope.session(id)`. @default 21 random letters and digits */
  id?: string;
  /**
   * Time to live in ms from the start: past it the session is expired and its state is collected. `null`
   * for none, whatever the runtime's `sessions.defaultTtlMs`. @default `sessions.defaultTtlMs`, else none
   */
  ttlMs?: number | null;
  /** Plain JSON data about the session, kept in its record and in its `session.started` event. @default {} */
  metadata?: Record<string, unknown>;
  /** The principals taking part (`agent:ada`, a custom name); access rules may read them. @default [] */
  participants?: string[];
}

/** A session as `rt.sessions` reports it. */
export interface SessionInfo {
  id: string;
  startedAt: number;
  /** When the session expires, in ms since the epoch; null for never. */
  expiresAt: number | null;
  metadata: Record<string, unknown>;
  participants: string[];
  /**
   * `expired` once `expiresAt` has passed (by the runtime's clock), whether or not it has been collected
   * yet, and for an ended session that was collected.
   */
  status: 'active' | 'ended' | 'expired';
  endedAt?: number;
  /** The principal that started it: `system` for calls on `rt`. */
  startedBy: string;
  /** Set once its state was cleared: when, how many keys, and why. The record stays as a tombstone. */
  collected?: { at: number; cleared: number; reason: 'ttl' | 'ended' };
}

export interface SessionListOptions {
  status?: SessionInfo['status'];
  /** At most this many sessions, in id order. @default 1000 */
  limit?: number;
}

export interface SessionGcOptions {
  /** Collect ended sessions too, whatever their time to live. @default false */
  ended?: boolean;
}

/** What `rt.sessions.linkArtifact` takes: `scope` and `key`, or `correlationId`. */
export interface LinkArtifactOptions {
  /** The session the artifact belongs to; `artifactsOf({ sessionId })` finds the link. */
  sessionId?: string;
  /** With `key`: the link names the change that produced the key's value when the link is made. */
  scope?: Scope | string;
  key?: string;
  /** Instead of `scope` and `key`: every state change recorded under this id, including later ones. */
  correlationId?: string;
  /** What the artifact is (`file`, `message` …), for people reading the link. */
  kind?: string;
  /** Plain JSON data about the artifact. @default {} */
  metadata?: Record<string, unknown>;
}

/** One state change that produced an artifact. */
export interface ArtifactChange {
  /**
   * The change's event id (`<seq>.<index>`). Null only for a key link made after event retention had
   * removed the commit record of the key's value; `seq` and `at` still say when it was written.
   */
  eventId: string | null;
  scope: string;
  /** Absent for a `scope.clear`. */
  key?: string;
  kind: 'state.set' | 'state.delete' | 'scope.clear';
  correlationId: string | null;
  seq: number;
  at: number;
}

/** A link between an artifact and state changes, as `linkArtifact` made it. */
export interface ArtifactLink {
  artifactId: string;
  /** Tells apart the links of one artifact, in the order they were made. */
  linkId: string;
  linkedAt: number;
  kind?: string;
  metadata: Record<string, unknown>;
  sessionId?: string;
  /** For a key link: its scope (string form), its key and the change it names. */
  scope?: string;
  key?: string;
  change?: ArtifactChange;
  /** For a correlation link. */
  correlationId?: string;
}

/** What the access policy reads about a session, synchronously. @internal */
export interface SessionAccessInfo {
  participants: readonly string[];
  startedBy: string;
  status: 'active' | 'ended' | 'expired';
}
