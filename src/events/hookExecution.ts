/*
 * The shape of a recorded hook execution. The hooks layer records executions and the timeline, built in
 * this layer below it, shows them, so the shape lives here; `src/hooks/types.ts` re-exports it.
 */

/** A follow-up write a hook asks for. The runtime applies it with `causationId` set to the triggering event. */
export type HookAction =
  | { type: 'set'; scope: string; key: string; value: unknown; causedBy?: string }
  | { type: 'delete'; scope: string; key: string; causedBy?: string }
  | { type: 'clear'; scope: string; causedBy?: string };

/** What a hook returns (or an array of these, merged in order). */
export interface HookResult {
  /** Follow-up writes. `causedBy` names the triggering event id; by default it is the batch's last event. */
  actions?: HookAction[];
  /** Anything JSON the hook wants recorded in its history. */
  output?: unknown;
}

export type ExecutionStatus = 'succeeded' | 'failed' | 'timed_out';

/** Why an execution failed, as stored: an error code from DESIGN §12 and a message. */
export interface ExecutionError {
  code: string;
  message: string;
}

/**
 * One recorded execution of a hook: every attempt, and every replay, is one. Inputs and results are
 * stored redacted.
 */
export interface HookExecution {
  /** Time-ordered: sorting ids sorts executions by start time. */
  executionId: string;
  hookName: string;
  /** The correlation of the first triggering event. */
  correlationId: string;
  /** Every distinct correlation among the triggering events, first one first. */
  correlationIds: string[];
  /** The first triggering event. */
  causationId: string;
  /** Every triggering event, oldest first. */
  eventIds: string[];
  attempt: number;
  status: ExecutionStatus;
  /** The events the hook received, redacted. */
  input: unknown;
  /** The hook's merged result, redacted; absent when it failed. */
  result?: HookResult;
  error?: ExecutionError;
  startedAt: number;
  durationMs: number;
  /** The execution this one replayed; replays never apply their actions. */
  replayOf?: string;
  /** The hook's priority when it ran; higher priority extends retention. */
  priority: number;
}

/** A recorded execution without its input and result: what `rt.hooks.historyMetadata()` returns. */
export type HookExecutionMetadata = Omit<HookExecution, 'input' | 'result'>;
