import type { TaskContext } from '../../workers/protocol.js';
import type { ExecutionMeta } from './executionRecord.js';
import type { HookDefinition } from './hookDefinition.js';
import type { HookExecution } from './types.js';

/**
 * What an execution is about, fixed before it runs. A delivery derives it from the entries it took; a
 * replay copies it from the execution it replays, with a new id and `replayOf`.
 */
export type ExecutionSubject = Pick<
  HookExecution,
  'executionId' | 'hookName' | 'correlationId' | 'correlationIds' | 'causationId' | 'eventIds' | 'attempt' | 'priority' | 'replayOf'
>;

/** How a run went, as far as its record's metadata says. */
export type RunSummary = Pick<HookExecution, 'status' | 'error' | 'startedAt' | 'durationMs'>;

/** The context a hook receives for this execution. */
export function runContext(subject: ExecutionSubject, definition: HookDefinition): TaskContext {
  return {
    hookName: subject.hookName,
    executionId: subject.executionId,
    attempt: subject.attempt,
    correlationId: subject.correlationId,
    causationId: subject.causationId,
    replay: subject.replayOf !== undefined,
    options: definition.options ?? null,
  };
}

/** The metadata an execution is recorded with: the one builder for deliveries and replays alike. */
export function executionMeta(subject: ExecutionSubject, run: RunSummary): Omit<ExecutionMeta, 'bytes'> {
  return {
    executionId: subject.executionId,
    hookName: subject.hookName,
    correlationId: subject.correlationId,
    correlationIds: subject.correlationIds,
    causationId: subject.causationId,
    eventIds: subject.eventIds,
    attempt: subject.attempt,
    status: run.status,
    ...(run.error === undefined ? {} : { error: run.error }),
    startedAt: run.startedAt,
    durationMs: run.durationMs,
    ...(subject.replayOf === undefined ? {} : { replayOf: subject.replayOf }),
    priority: subject.priority,
  };
}
