/**
 * Every kind of event the runtime logs, with the fields each carries: the one list that producers, hook
 * registrations, event queries, the CLI and the docs read. A producer that logs a kind missing from it,
 * or the wrong fields for its kind, does not compile; a hook's `on` pattern or a query's `kinds` that
 * matches none of its kinds is refused (see checkKindPatterns.ts).
 *
 * To add a kind, add one entry to EVENT_FIELDS, next to the others of its family (the part before the
 * dot): its name, and the fields its events carry besides `kind` and the fields every logged event has
 * (id, seq, at, correlationId, causationId, executionId, hop). Then describe it in the table in
 * docs/timeline.md, which a test compares with this list. A new family needs nothing more: `family.*`
 * patterns follow from the names.
 *
 * The values are types only (`{} as …`, as xstate's `setup({ types })` does); at run time the object
 * supplies the names.
 */

/** A hook's circuit breaker moving between its states; a move to `open` carries `code: 'CIRCUIT_OPEN'`. */
type CircuitMove = { hook: string; from: CircuitState; to: CircuitState; code?: 'CIRCUIT_OPEN' };

type CircuitState = 'closed' | 'open' | 'half_open';

/**
 * What was thrown, as it is logged: the message of an `Error`, any other value as it was. A supervisor
 * reports it through its `emit` option as thrown.
 */
type Thrown = unknown;

const EVENT_FIELDS = {
  // State changes, written by the commit path from the writes themselves (see STATE_EVENT_KINDS).
  /** A key was written; `schema` names the version (`name@version`) it was validated against, where a schema is bound. */
  'state.set': {} as { scope: string; key: string; value: unknown; schema?: string },
  /** A key was deleted. */
  'state.delete': {} as { scope: string; key: string },
  /** Every key of a scope was deleted, `count` of them, in one batch. */
  'scope.clear': {} as { scope: string; count: number },

  // Agent lifecycle, committed with the agent's record.
  /** `rt.agents.spawn` saved the new record. */
  'agent.spawned': {} as { agentId: string; data: { type: string; supervisor: string } },
  /** `rt.agents.restore` brought a saved agent back. */
  'agent.restored': {} as { agentId: string; data: { supervisor: string } },
  /** `save()`, `update()` (with the fields it changed), or the save on close. */
  'agent.saved': {} as { agentId: string; data?: { fields: string[] } },
  'agent.paused': {} as { agentId: string },
  'agent.resumed': {} as { agentId: string },
  'agent.stopped': {} as { agentId: string },
  /** A message crashed the agent; committed with its dead letter. */
  'agent.crashed': {} as { agentId: string; data: { event: string; error: string; crashes: number } },
  /** A poison message was refused; committed with its dead letter. */
  'agent.poison_message': {} as { agentId: string; data: { event: string; error: string; crashes: number } },
  /** A new incarnation reloaded the agent from the store. */
  'agent.restarted': {} as { agentId: string; data: { incarnation: number } },
  /** A temporary agent crashed and will not run again. */
  'agent.retired': {} as { agentId: string; data: { status: 'crashed' } },
  /** `rt.agents.delete` removed the agent. */
  'agent.deleted': {} as { agentId: string },

  // Supervision. `agentId` is set when the child is an agent; `supervisor` is the id of the one reporting.
  /** A child started for the first time (by start() or startChild()). */
  'supervisor.child_started': {} as { agentId?: string; data: { supervisor: string; child: string } },
  /** A restart of a child failed to start it; it is retried within the restart budget. */
  'supervisor.child_start_failed': {} as { agentId?: string; data: { supervisor: string; child: string; error: Thrown } },
  /** A child stopped on its own; `reason` is `normal`, `shutdown` or `error: <message>`. */
  'supervisor.child_exited': {} as { agentId?: string; data: { supervisor: string; child: string; reason: string } },
  /** A child was started again, by its strategy or by restartChild(); `restarts` counts its restarts so far. */
  'supervisor.child_restarted': {} as { agentId?: string; data: { supervisor: string; child: string; restarts: number } },
  /**
   * The supervisor stopped a child: `how` says whether stop() completed or it was killed, `timedOut` whether
   * its grace period ran out first, and `error` what stop() or kill() threw, if anything.
   */
  'supervisor.child_terminated': {} as {
    agentId?: string;
    data: { supervisor: string; child: string; how: 'stopped' | 'killed'; timedOut: boolean; error?: Thrown };
  },
  /** More than `intensity` restarts within `period`: the supervisor gives up, after `child` stopped once too often. */
  'supervisor.restart_intensity_reached': {} as {
    agentId?: string;
    data: { supervisor: string; child: string; intensity: number; period: number };
  },
  /** The supervisor has stopped all its children and is down for good; `child` is absent after stop() or kill(). */
  'supervisor.shutdown': {} as {
    agentId?: string;
    data: {
      supervisor: string;
      child?: string;
      reason: 'shutdown' | 'killed' | 'reached_max_restart_intensity' | 'failed_to_start_child' | 'internal_error';
    };
  },

  // Injected faults, logged as they are armed.
  'fault.injected': {} as {
    agentId?: string;
    data:
      | { fault: 'crashActor'; agentId: string }
      | { fault: 'failStorage'; id: number; scope?: string; op?: 'batch' | 'get'; count?: number; probability?: number; delayMs?: number };
  },

  // The root supervisor failed: the runtime refuses writes from now on.
  'runtime.fatal': {} as { data: { reason: string } },

  // Hooks.
  'hook.registered': {} as { data: { hook: string; module: string; on: string[] } },
  /** What still waited for the hook was dead-lettered: `deadLettered` events. */
  'hook.unregistered': {} as { data: { hook: string; deadLettered: number } },
  'hook.enabled': {} as { data: { hook: string } },
  /** By hand (`reason` as given), or by the latency budget (`reason: 'latency'`, with the p95 and the budget). */
  'hook.disabled': {} as { data: { hook: string; reason: string; p95Ms?: number; budgetMs?: number } },
  /** The breaker opened, with `code: 'CIRCUIT_OPEN'`: the hook's executions wait in the outbox. */
  'hook.circuit_opened': {} as { data: CircuitMove },
  /** The cooldown is over: one probe execution may run. */
  'hook.circuit_half_open': {} as { data: CircuitMove },
  /** The probe succeeded. */
  'hook.circuit_closed': {} as { data: CircuitMove },
  /** An execution ran out of attempts: its `events` events were dead-lettered. */
  'hook.dead_lettered': {} as {
    data: { hook: string; executionId: string; events: number; attempts: number; error?: { code: string; message: string } };
  },
  /** `rt.hooks.redeliver` put `events` dead-lettered events back in the hook's outbox. */
  'hook.redelivered': {} as { data: { hook: string; events: number } },
  /** An error that belongs to no caller, such as a failure to record an attempt. */
  'hook.error': {} as { data: { message: string } },

  // Backups (see docs/backups.md).
  /** `rt.backups.create`, by hand, on the schedule, or as the safety backup before a restore. */
  'backup.created': {} as {
    data: { id: string; kind: 'full' | 'incremental'; parentId: string | null; seq: number; records: number; bytes: number; reason: string };
  },
  /** A scheduled backup (or its pruning) failed; the schedule goes on. `code` is the LlmStateError code, if any. */
  'backup.failed': {} as { data: { message: string; code?: string } },
  /** `rt.backups.verify` checked a backup and every backup its chain needs. */
  'backup.verified': {} as { data: { id: string; chain: string[] } },
  /**
   * A restore finished: `mode` is `full` (every namespace replaced by backup `id`, whose log ends at
   * `restoredSeq`: the commits between that and this event belong to the history it replaced),
   * `pointInTime` (the same, brought forward to `restoredSeq` from the log) or `scopes` (only those
   * scopes replaced, their changes logged beside this event). `safetyBackupId` is the backup taken
   * just before.
   */
  'backup.restored': {} as {
    data: { id: string; mode: 'full' | 'pointInTime' | 'scopes'; restoredSeq: number; scopes?: string[]; safetyBackupId: string };
  },
  /** `rt.backups.prune` deleted backups, or found none to delete: every decision with its reasons. */
  'backup.pruned': {} as {
    data: { deleted: Array<{ id: string; reasons: string[] }>; kept: Array<{ id: string; reasons: string[] }> };
  },

  // Schemas and migrations (see docs/schemas.md).
  /** `rt.schemas.register` stored a new schema version. Registering the same version again logs nothing. */
  'schema.registered': {} as { data: { name: string; version: string; hash: string } },
  /** `rt.schemas.bind` bound a schema to where it applies. */
  'schema.bound': {} as { data: { schema: string; scopeKind?: string; keyPrefix?: string } },
  /** `rt.migrations.define` stored (or replaced) a migration between two versions. */
  'migration.defined': {} as { data: { schema: string; from: string; to: string; steps: string[] } },
  /** `rt.migrations.run` began, after the backup it took first. `records`, counted when progress is reported, is how many its schema is bound to. */
  'migration.started': {} as { data: { id: string; schema: string; to: string; records?: number; backupId?: string } },
  /**
   * Every record of the migration was written, but for `skipped` ones: on a store that several processes
   * share, records another process wrote after the migration read them, left as that process wrote them.
   * Its records were changed by the commits after `committedSeq` up to this event; a point in time
   * between them is refused.
   */
  'migration.completed': {} as {
    data: { id: string; schema: string; to: string; migrated: number; skipped?: number; byVersion: Record<string, number>; committedSeq: number; durationMs: number; resumed?: boolean };
  },
  /** The migration stopped before its commit; the store is as it was. `key` and `scope` name the first bad record. */
  'migration.failed': {} as { data: { id: string; schema: string; to: string; message: string; code?: string; scope?: string; key?: string } },

  // Access (see docs/access.md). `scope` is the scope a grant or a decision is about.
  /** `rt.access.grant` stored a grant. */
  'access.granted': {} as { scope?: string; data: { grantId: string; principal: string; scopePattern?: string; permissions: string[]; expiresAt?: number; includeSteps?: boolean; grantedBy: string } },
  /** `rt.access.revoke` removed a grant. */
  'access.revoked': {} as { scope?: string; data: { grantId: string; principal: string; scopePattern?: string; revokedBy: string } },
  /** An operation was refused; the audit log holds the same decision. */
  'access.denied': {} as { scope?: string; data: { principal: string; operation: string; key?: string; rule: string; code: 'ACCESS_DENIED' | 'AGENT_QUARANTINED' } },
  /** `rt.access.quarantine` cut an agent off. */
  'access.quarantined': {} as { agentId: string; scope: string; data: { reason?: string; by: string } },
  /** `rt.access.release` lifted a quarantine. */
  'access.released': {} as { agentId: string; scope: string; data: { by: string } },

  // Sessions and artifacts (see docs/sessions.md). `scope` is the session's scope.
  /** `rt.sessions.start` opened a session. */
  'session.started': {} as { scope: string; data: { id: string; expiresAt?: number; metadata?: Record<string, unknown>; participants?: string[] } },
  /** `rt.sessions.end` closed a session; its state is kept until it is collected. */
  'session.ended': {} as { scope: string; data: { id: string } },
  /** A session past its time to live, or ended, was collected: its state was cleared in the same batch. */
  'session.expired': {} as { scope: string; data: { id: string; cleared: number; reason: 'ttl' | 'ended' } },
  /** `rt.sessions.linkArtifact` linked state changes to an artifact. */
  'artifact.linked': {} as { scope?: string; data: { artifactId: string; key?: string; kind?: string; sessionId?: string; changes: number; linkedCorrelationId?: string } },

  // LangGraph (see docs/langgraph.md). `scope` is the thread's scope; committed with the records they describe.
  /** A checkpoint was stored, with the channels whose values it wrote (those in `newVersions`). */
  'langgraph.checkpoint': {} as {
    scope: string;
    data: { threadId: string; checkpointNs: string; checkpointId: string; parentCheckpointId?: string; step?: number; source?: string; channels: string[] };
  },
  /** A task's pending writes were stored against a checkpoint; `stored` counts those kept (a repeated ordinary write is not). */
  'langgraph.writes': {} as {
    scope: string;
    data: { threadId: string; checkpointNs: string; checkpointId: string; taskId: string; taskPath?: string; channels: string[]; stored: number };
  },
  /** A thread was deleted: its `cleared` records removed in one batch. */
  'langgraph.thread_deleted': {} as { scope: string; data: { threadId: string; cleared: number } },
};

/** The name of every event kind, such as `state.set` or `agent.crashed`. */
export type EventKind = keyof typeof EVENT_FIELDS;

/** Every event kind, in the order of the list (families together). */
export const EVENT_KINDS: readonly EventKind[] = Object.freeze(Object.keys(EVENT_FIELDS) as EventKind[]);

/** The fields an event of kind `K` carries besides `kind` and the fields every logged event has. */
export type EventFields<K extends EventKind> = (typeof EVENT_FIELDS)[K];

/** The `data` of an event of kind `K` (`undefined` for kinds without it). */
export type EventData<K extends EventKind> = EventFields<K> extends { data?: infer D } ? D : undefined;

/** The kinds the commit path writes for state changes; every other kind is logged through an {@link EventSpec}. */
export const STATE_EVENT_KINDS = ['state.set', 'state.delete', 'scope.clear'] as const satisfies readonly EventKind[];

export type StateEventKind = (typeof STATE_EVENT_KINDS)[number];

/** The part of a kind before the dot: `state`, `agent`, `hook`… */
export type EventFamily = FamilyOf<EventKind>;

type FamilyOf<K> = K extends `${infer Family}.${string}` ? Family : never;

/** What a hook's `on` and a query's `kinds` are made of: a kind, a whole family, or every kind. */
export type EventKindPattern = EventKind | `${EventFamily}.*` | '*';

/** The events a unit committed through `rt.state.commitUnit` may log (see src/langgraph/). */
export type LangGraphEventSpec = Extract<EventSpec, { kind: `langgraph.${string}` }>;

export type SupervisorEventKind = Extract<EventKind, `supervisor.${string}`>;

export type AgentEventKind = Extract<EventKind, `agent.${string}`>;

/**
 * An event other than a state change, as a producer hands it to the commit path: its kind and that
 * kind's fields. A kind that is not in the list, or fields that do not fit it, do not compile. `data`
 * must be JSON data.
 */
export type EventSpec = { [K in RecordedKind]: SpecOf<K> }[RecordedKind];

/** The kinds that producers log through an {@link EventSpec}. */
type RecordedKind = Exclude<EventKind, StateEventKind>;

/**
 * A kind's fields, plus those it lacks as optional and undefined, so that the commit path can read
 * `agentId`, `scope` and `data` on any spec without narrowing it first.
 */
type SpecOf<K extends RecordedKind> = { kind: K } & EventFields<K> & Omit<{ scope?: string; agentId?: undefined; data?: undefined }, keyof EventFields<K>>;
