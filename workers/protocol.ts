/**
 * The messages between the dispatcher and a hook worker. Plain data only: tasks cross a thread
 * boundary by structured clone.
 */

/** The context a hook receives (`HookContext` in the public API). */
export interface TaskContext {
  hookName: string;
  executionId: string;
  /** 1 for the first try; retries count up to the hook's `maxAttempts`. */
  attempt: number;
  /** The correlation of the first event in the batch. */
  correlationId: string;
  /** The id of the first event in the batch: what caused this execution. */
  causationId: string;
  /** True when the execution is a replay: its actions are captured, not applied. */
  replay: boolean;
  /** The options given at registration (`options`), as JSON data; null when none were. */
  options: unknown;
}

export interface RunTask {
  kind: 'run';
  /** A `file:` URL, or `builtin:<name>`. */
  module: string;
  /** The events, batch by batch, oldest first. */
  batches: TaskBatch[];
  context: TaskContext;
  /**
   * What a built-in hook needs from the main thread, which a worker cannot see (the schemas bound to the
   * events' keys, for `schemaReport`): its third argument. Never recorded, and never given to a module.
   */
  builtinInput?: unknown;
  /** Extra JSON paths to redact in the recorded input and result. */
  redact: readonly string[];
  /** The largest result, as JSON, the hook may return (`hookResultByteLimit(maxValueBytes)`). */
  maxResultBytes: number;
  /**
   * Sent back in a {@link StartedMessage} when the hook is loaded and about to run: its time limit
   * starts then, not while a replacement worker starts up.
   */
  startToken?: string;
}

/**
 * Some of a task's events, as one JSON array: parsing is the worker's job, not the main thread's, and
 * one string crosses the thread boundary far more cheaply than an array of them.
 */
export interface TaskBatch {
  eventsJson: string;
  /**
   * Where the events were committed: each gets its id, sequence and commit time from here. Absent when
   * the events carry them already (a replay's input), and are delivered as they are.
   */
  from?: { seq: number; at: number; indexes: readonly number[] };
}

/** Loads a module and checks its default export, without running it. */
export interface ProbeTask {
  kind: 'probe';
  module: string;
}

export type HookTask = RunTask | ProbeTask;

export interface RunOutcome {
  /** The follow-up writes the hook asked for, unredacted: they are applied, not recorded. */
  actions: unknown[];
  /** The hook's `output`, unredacted, for the main-thread half of a built-in hook. */
  output: unknown;
  /** The recorded input: JSON text, redacted; null when redaction changed nothing, so the events stand. */
  inputJson: string | null;
  /** The recorded result (`{ actions?, output? }`): JSON text, redacted. */
  resultJson: string;
  /** The hook's own running time, without queueing or thread hand-off. */
  durationMs: number;
}

/** What a run returns instead of a {@link RunOutcome} when the hook's result breaks a rule. */
export interface RejectedOutcome {
  rejected: { path: string; reason: string };
}

/** Posted by a worker (on its parent port) as a hook starts running. */
export interface StartedMessage {
  hookStarted: string;
}

export interface ProbeOutcome {
  ok: true;
}

/** What every worker of a pool is started with (piscina's `workerData`). */
export interface HookWorkerData {
  /** Sends what the worker writes to stdout (a hook's console.log) to stderr. */
  printToStderr?: boolean;
}
