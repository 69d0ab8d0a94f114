import type { TaskContext } from '../../workers/protocol.js';
import type { LoggedEvent } from '../events/eventLog.js';
import type { DeadLetterValue } from './outboxRecords.js';

export type { HookAction, HookResult, ExecutionStatus, ExecutionError, HookExecution, HookExecutionMetadata } from '../events/hookExecution.js';

/**
 * An event as a hook receives it: a logged event, with its id (`<seq>.<index>`), commit time and
 * correlation. Hooks receive events in batches, oldest first.
 */
export type HookEvent = LoggedEvent;

/** What a hook's second argument carries: plain data, as it crosses into a worker thread. */
export type HookContext = TaskContext;

/** A batch of events a hook could not take: its attempts ran out, its outbox was full, or it was unregistered. */
export interface HookDeadLetter {
  hookName: string;
  seq: number;
  reason: DeadLetterValue['reason'];
  error?: { code: string; message: string };
  attempts: number;
  at: number;
  eventIds: string[];
  events: unknown[];
}
