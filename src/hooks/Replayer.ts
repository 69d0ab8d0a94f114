import { redactJson } from '../redaction/index.js';
import type { Clock } from '../clock.js';
import { LlmStateError } from '../errors.js';
import type { StorageBackend } from '../storage/index.js';
import type { Dispatcher } from './Dispatcher.js';
import { executionMeta, type ExecutionSubject } from './executionMeta.js';
import { newExecutionId } from './executionRecord.js';
import { shownExecution, type HookRedactionPaths } from './hookRedaction.js';
import type { HistoryFilter, HookHistory } from './HookHistory.js';
import { applyInputPatch, diffValues, type DiffOp } from './replayDiff.js';
import type { HookExecution, HookResult } from './types.js';

/** What {@link Hooks.replay} returns. */
export interface ReplayResult {
  original: HookExecution;
  replayed: HookExecution;
  /** RFC 6902 operations turning the original outcome into the replayed one; empty when equal. */
  diff: DiffOp[];
  equal: boolean;
}

export interface ReplayOptions {
  /** Changed input, for a "what if": an RFC 6902 patch (array) on the events, or a merge patch (object) applied to each event. */
  patch?: unknown;
}

export interface ReplayerDeps {
  storage: StorageBackend;
  clock: Clock;
  dispatcher: Dispatcher;
  redaction: HookRedactionPaths;
  history: HookHistory;
}

/** Replays run at once by {@link Replayer.replayMany}. */
const REPLAY_CONCURRENCY = 4;

/**
 * Runs recorded executions again, in the pool and in isolation: their actions are captured, not
 * applied. Each replay is recorded like any execution, with `replayOf`, and compared with the original.
 */
export class Replayer {
  readonly #deps: ReplayerDeps;

  constructor(deps: ReplayerDeps) {
    this.#deps = deps;
  }

  /** @throws {HOOK_FAILED} when the execution is not recorded, or its hook is no longer registered. */
  async replay(executionId: string, options: ReplayOptions): Promise<ReplayResult> {
    const original = await this.#deps.history.get(executionId);
    if (original === undefined) {
      throw new LlmStateError('HOOK_FAILED', `No hook execution ${executionId} is recorded, so it cannot be replayed`, { details: { executionId, reason: 'not_recorded' } });
    }
    return this.#replay(original, options);
  }

  /** Replays every execution a history filter selects (replays themselves excluded), a pool's worth at a time. */
  async replayMany(filter: HistoryFilter, options: ReplayOptions): Promise<ReplayResult[]> {
    const originals = await this.#deps.history.query({ ...filter, replays: 'exclude' });
    const results: ReplayResult[] = new Array(originals.length);
    let next = 0;
    const worker = async () => {
      while (next < originals.length) {
        const index = next++;
        results[index] = await this.#replay(originals[index], options);
      }
    };
    await Promise.all(Array.from({ length: Math.min(REPLAY_CONCURRENCY, originals.length) }, worker));
    return results;
  }

  async #replay(original: HookExecution, options: ReplayOptions): Promise<ReplayResult> {
    const { dispatcher, clock, history, storage } = this.#deps;
    const slot = dispatcher.slot(original.hookName);
    if (slot === undefined) {
      throw new LlmStateError('HOOK_FAILED', `The hook ${original.hookName} is not registered, so execution ${original.executionId} cannot be replayed`, {
        details: { executionId: original.executionId, hook: original.hookName, reason: 'not_registered' },
      });
    }
    const input = Array.isArray(original.input) ? original.input : [];
    const events = options.patch === undefined ? input : applyInputPatch(input, options.patch);
    const release = await dispatcher.acquire();
    // Read once a thread is free: the hook may have been registered again while the replay waited.
    const { definition } = slot;
    const subject: ExecutionSubject = {
      executionId: newExecutionId(clock.now()),
      hookName: original.hookName,
      correlationId: original.correlationId,
      correlationIds: original.correlationIds,
      causationId: original.causationId,
      eventIds: original.eventIds,
      attempt: original.attempt,
      priority: definition.priority,
      replayOf: original.executionId,
    };
    let run;
    try {
      run = await dispatcher.runner.run(definition, [{ eventsJson: JSON.stringify(events) }], subject);
    } finally {
      release();
    }
    const meta = executionMeta(subject, run);
    // Without an outcome (the replay failed) the worker redacted nothing: redact here, as a failed run does.
    const inputJson =
      run.outcome === undefined
        ? `[${events.map((event) => redactJson(JSON.stringify(event), definition.redact, event)).join(',')}]`
        : (run.outcome.inputJson ?? JSON.stringify(events));
    await storage.batch(history.recordOps(meta, inputJson, run.outcome?.resultJson));
    const replayed: HookExecution = {
      ...meta,
      input: JSON.parse(inputJson),
      ...(run.outcome === undefined ? {} : { result: JSON.parse(run.outcome.resultJson) as HookResult }),
    };
    const shown = { original: shownExecution(this.#deps.redaction, original), replayed: shownExecution(this.#deps.redaction, replayed) };
    // Compared as shown, so the diff holds nothing the executions hide.
    const diff = diffValues(outcomeOf(shown.original), outcomeOf(shown.replayed));
    return { ...shown, diff, equal: diff.length === 0 };
  }
}

/** What a replay is compared on: how it ended and what it returned, not when or how long. */
function outcomeOf(execution: HookExecution): unknown {
  return { status: execution.status, result: execution.result ?? null, error: execution.error ?? null };
}
