import { TaskFailure, type HookRunner } from '../../workers/HookPool.js';
import { hookResultByteLimit, invalidResultMessage } from '../../workers/hookResult.js';
import type { RunOutcome, RunTask, TaskBatch } from '../../workers/protocol.js';
import { batchEvents } from '../../workers/taskEvents.js';
import type { Clock } from '../clock.js';
import { redact, redactJson } from '../redaction/index.js';
import { escapeForDisplay, shortenForDisplay } from '../displayText.js';
import { isLlmStateError, type LlmStateError } from '../errors.js';
import type { CorrelationContext } from '../events/correlation.js';
import type { EventSpec } from '../events/eventLog.js';
import type { Scope } from '../state/Scope.js';
import type { ScopeOwner } from '../state/StateManager.js';
import type { BatchOp, BatchOptions, LeaseHold, StorageBackend } from '../storage/index.js';
import type { BuiltinInputs } from './builtinInputs.js';
import type { BuiltinSink } from './builtinSinks.js';
import { executionMeta, runContext, type ExecutionSubject } from './executionMeta.js';
import { executionIdTime, newExecutionId, type ExecutionMeta } from './executionRecord.js';
import { applyActions, checkActions, type CheckedAction } from './hookActions.js';
import type { HookHistory } from './HookHistory.js';
import { definitionPut } from './hookRegistryRecords.js';
import type { HookDefinition } from './hookDefinition.js';
import type { BreakerTicket, HookSlot, StartedExecution } from './HookSlot.js';
import { deliveredEvents, deliveredTexts, eventIdsOf, taskBatch, type PendingEntry } from './pendingEntry.js';
import { encodeDeadLetter, encodeOutboxValue, hookSeqKey } from './outboxRecords.js';
import type { ExecutionError, ExecutionStatus, HookEvent } from './types.js';

export interface RunnerDeps {
  storage: StorageBackend;
  clock: Clock;
  pool(): HookRunner;
  history: HookHistory;
  random(): number;
  maxValueBytes: number;
  /** The single writer of a scope, for applying actions. */
  ownerOf(scope: Scope): ScopeOwner;
  recordEvents(events: EventSpec[], extraOps?: BatchOp[], context?: CorrelationContext): Promise<void>;
  onBackgroundError(error: unknown): void;
  /** Called after each execution is recorded (history retention counts them). */
  onRecorded(): void;
  /**
   * The `SUPERVISOR_SHUTDOWN` error with which the runtime refuses writes once its root supervisor has
   * failed (`runtime.fatal`); undefined until then. Hook actions are refused with it like any write.
   */
  writesRefused(): LlmStateError | undefined;
  /** What built-in hooks take from the main thread, by built-in; none when absent. */
  builtinInputs?: BuiltinInputs;
  /**
   * Checks one action against access control: every principal of `actingFor` must be allowed it
   * (undefined: system), and none of `triggeredBy` may be quarantined. Rejects, once the refusal is on
   * record, with ACCESS_DENIED or AGENT_QUARANTINED. Absent: every action is allowed.
   */
  authorizeAction?(action: CheckedAction, actingFor: readonly (string | undefined)[], triggeredBy: readonly (string | undefined)[]): Promise<void> | undefined;
  /** On a store several processes share: the delivery lease an execution of the hook records under. */
  fenceOf?(hookName: string): LeaseHold[] | undefined;
  /** Another process took the hook's delivery over: it delivers what was queued or running here. */
  deliveryLost?(hookName: string): void;
}

/** What one run in the pool came to, before it is recorded. */
export interface RunResult {
  executionId: string;
  startedAt: number;
  status: ExecutionStatus;
  outcome?: RunOutcome;
  error?: ExecutionError;
  durationMs: number;
}

/**
 * Runs one execution of a hook and records how it went. On success the actions are applied, then the
 * record and the removal of its outbox entries commit in one batch: a crash before that batch runs the
 * execution again (at least once), and a success is recorded exactly once. On failure the attempt is
 * recorded and the batch is retried with backoff, or dead-lettered once `maxAttempts` is spent.
 */
export class ExecutionRunner {
  readonly #deps: RunnerDeps;
  readonly #sinks = new Map<string, BuiltinSink>();
  /** Latency-budget disables still being written, and how many were begun (see {@link budgetDisablesBegun}). */
  readonly #budgetDisables = new Set<Promise<void>>();
  #budgetDisablesBegun = 0;
  #closing = false;
  #abandoning = false;

  constructor(deps: RunnerDeps) {
    this.#deps = deps;
  }

  /**
   * The runtime is closing: a success that then cannot be recorded is not the hook's failure (the pool
   * and store are being torn down), so its batch stays in the outbox to run after the next open.
   */
  close(): void {
    this.#closing = true;
  }

  /** The close's grace is over: executions that settle from now on record nothing and stay in the outbox. */
  abandon(): void {
    this.#abandoning = true;
  }

  /**
   * How many latency-budget disables were begun. Such a disable changes a registration here before the
   * store has it, so a refresh from the store that saw this count move while it read must read again,
   * once {@link budgetDisablesSettled}: else it would enable in memory a hook the store has disabled.
   */
  get budgetDisablesBegun(): number {
    return this.#budgetDisablesBegun;
  }

  async budgetDisablesSettled(): Promise<void> {
    await Promise.all(this.#budgetDisables);
  }

  setSink(hookName: string, sink: BuiltinSink | undefined): void {
    if (sink === undefined) this.#sinks.delete(hookName);
    else this.#sinks.set(hookName, sink);
  }

  /**
   * Runs a hook on events in the pool, without recording anything. Its start time is the one its
   * execution id carries, so a history query by time and by id agree: make the id just before this.
   */
  async run(definition: HookDefinition, batches: TaskBatch[], subject: ExecutionSubject): Promise<RunResult> {
    const { executionId } = subject;
    const startedAt = executionIdTime(executionId);
    const started = performance.now();
    try {
      const task: RunTask = {
        kind: 'run',
        module: definition.module,
        batches,
        context: runContext(subject, definition),
        redact: definition.redact,
        maxResultBytes: hookResultByteLimit(this.#deps.maxValueBytes),
        ...(await this.#builtinInput(definition, batches)),
      };
      const outcome = await this.#deps.pool().run(task, definition.timeoutMs);
      return { executionId, startedAt, status: 'succeeded', outcome, durationMs: roundMs(outcome.durationMs) };
    } catch (error) {
      const timedOut = error instanceof TaskFailure && error.reason === 'timeout';
      return {
        executionId,
        startedAt,
        status: timedOut ? 'timed_out' : 'failed',
        error: describeError(error),
        durationMs: timedOut ? definition.timeoutMs : roundMs(performance.now() - started),
      };
    }
  }

  /** Parses the events on this thread only for a built-in that takes something from it. */
  async #builtinInput(definition: HookDefinition, batches: TaskBatch[]): Promise<Pick<RunTask, 'builtinInput'>> {
    const provide = definition.builtin === undefined ? undefined : this.#deps.builtinInputs?.[definition.builtin];
    if (provide === undefined) return {};
    return { builtinInput: await provide(batches.flatMap(batchEvents) as unknown as HookEvent[]) };
  }

  async execute(slot: HookSlot, { entries, ticket }: StartedExecution): Promise<void> {
    const definition = slot.definition;
    const eventIds = entries.flatMap(eventIdsOf);
    const correlations = entries.flatMap((entry) => entry.correlations);
    const subject: ExecutionSubject = {
      executionId: newExecutionId(this.#deps.clock.now()),
      hookName: definition.name,
      correlationId: correlations[0],
      correlationIds: [...new Set(correlations)],
      causationId: eventIds[0],
      eventIds,
      attempt: Math.max(...entries.map((entry) => entry.attempts)) + 1,
      priority: definition.priority,
    };
    const { executionId } = subject;
    // Taken now: if the delivery lease is lost while the hook runs, the record must still be refused.
    const recordOptions = this.#fence(definition.name);
    let run = await this.run(definition, entries.map(taskBatch), subject);
    if (this.#abandoning) {
      slot.putBack(entries);
      return;
    }
    if (run.status === 'succeeded') {
      const outcome = run.outcome!;
      try {
        const sink = this.#sinks.get(definition.name);
        let actions: ReturnType<typeof checkActions> = [];
        // Each action acts as the principal the hook was registered with, else as the one whose write caused it.
        let principals: (string | undefined)[] = [];
        /** Who wrote each triggering event. */
        let writers: (string | undefined)[] = [];
        if (outcome.actions.length > 0) {
          const events = entries.flatMap(deliveredEvents);
          actions = checkActions(outcome.actions, { eventIds, scopes: events.map((event) => event.scope), hops: events.map((event) => event.hop ?? 0) }, this.#deps.maxValueBytes);
          principals = events.map((event) => (definition.principal === undefined ? event.principal : named(definition.principal)));
          writers = events.map((event) => event.principal);
        }
        await sink?.beforeRecord?.(outcome.output);
        await applyActions(
          actions,
          this.#deps.ownerOf,
          (action) => {
            const cause = eventIds.indexOf(action.causedBy);
            const principal = principals[cause];
            return { correlationId: correlations[cause], causationId: action.causedBy, executionId, hop: action.hop, ...(principal === undefined ? {} : { principal }) };
          },
          () => this.#assertWritable(),
          this.#deps.authorizeAction === undefined ? undefined : (action) => this.#authorize(action, definition.principal, principals, writers, eventIds),
        );
        // Unredacted input is read back from the event log, unless an entry was carried inline (its
        // events may be older than what the log keeps).
        const inputJson = outcome.inputJson ?? (entries.some((entry) => entry.inline) ? JSON.stringify(entries.flatMap(deliveredEvents)) : null);
        const ops = this.#deps.history.recordOps(executionMeta(subject, run), inputJson, outcome.resultJson);
        for (const entry of entries) ops.push({ type: 'del', sublevel: 'outbox', key: hookSeqKey(definition.name, entry.seq) });
        if (sink?.ops !== undefined) ops.push(...sink.ops(outcome.output, executionId));
        await this.#deps.storage.batch(ops, recordOptions);
        this.#deps.onRecorded();
        slot.settle(ticket, eventIds.length, run.durationMs);
        sink?.afterRecord?.(outcome.output);
        await this.#checkBudget(slot);
        return;
      } catch (error) {
        if (this.#deliveredElsewhere(slot, entries, error)) return;
        if (this.#closing) {
          // The runtime is shutting down under this execution: it stays in the outbox and runs again.
          slot.interrupt(ticket, entries);
          return;
        }
        run = { ...run, status: 'failed', error: describeError(error) };
        if (error === this.#deps.writesRefused()) {
          // Not the hook's failure: the runtime takes no more writes until it is opened again, so the
          // batch stays in the outbox for then, whatever its attempts, and the breaker does not count it.
          await this.#failed(slot, entries, run, executionMeta(subject, run), undefined, recordOptions);
          return;
        }
      }
    }
    await this.#failed(slot, entries, run, executionMeta(subject, run), ticket, recordOptions);
  }

  /**
   * An action acts as its principal (see above). When the hook named no `causedBy`, the cause was only
   * guessed: in a batch of several writers it must then be allowed to each of them, or a write of one
   * could borrow another's rights. Whoever wrote its triggering events must not be quarantined, even
   * when the hook names its own principal.
   */
  #authorize(action: CheckedAction, named: string | undefined, principals: (string | undefined)[], writers: (string | undefined)[], eventIds: string[]): Promise<void> | undefined {
    const cause = eventIds.indexOf(action.causedBy);
    const everyWriter = [...new Set(writers)];
    const actingFor = named === undefined && action.causePicked ? everyWriter : [principals[cause]];
    const triggeredBy = action.causePicked ? everyWriter : [writers[cause]];
    return this.#deps.authorizeAction!(action, actingFor, triggeredBy);
  }

  /**
   * The batch options of an execution's record: fenced by the hook's delivery lease on a shared store. A
   * shared store's execution without that lease must record nothing: its fence is one that cannot hold.
   */
  #fence(hookName: string): BatchOptions {
    if (this.#deps.fenceOf === undefined) return {};
    return { fence: this.#deps.fenceOf(hookName) ?? [{ resource: `hook:${hookName}`, owner: '', epoch: -1 }] };
  }

  /**
   * Whether `error` says that another process delivers the hook now (its delivery lease was taken over,
   * so this execution's record was refused): the entries are left to that process, which runs them again
   * and records them once.
   */
  #deliveredElsewhere(slot: HookSlot, entries: PendingEntry[], error: unknown): boolean {
    if (!isLlmStateError(error, 'LEASE_LOST')) return false;
    slot.abandon(entries);
    this.#deps.deliveryLost?.(slot.name);
    return true;
  }

  #assertWritable(): void {
    const refusal = this.#deps.writesRefused();
    if (refusal !== undefined) throw refusal;
  }

  /**
   * Records a failed attempt; the batch is retried later, or dead-lettered once its attempts are spent.
   * Without a breaker `ticket` the failure was not the hook's: the breaker does not count it, and the
   * batch stays in the outbox whatever its attempts.
   */
  async #failed(slot: HookSlot, entries: PendingEntry[], run: RunResult, meta: Omit<ExecutionMeta, 'bytes'>, ticket: BreakerTicket | undefined, recordOptions: BatchOptions): Promise<void> {
    const definition = slot.definition;
    const { attempt } = meta;
    slot.fail(run.status, ticket);
    const texts = entries.map(deliveredTexts);
    const inputJson = `[${texts.flat().map((event) => redactJson(event, definition.redact)).join(',')}]`;
    const ops = this.#deps.history.recordOps(meta, inputJson, undefined);
    const exhausted = ticket !== undefined && attempt >= definition.maxAttempts;
    const now = this.#deps.clock.now();
    for (const [position, entry] of entries.entries()) {
      const key = hookSeqKey(definition.name, entry.seq);
      if (exhausted) {
        ops.push({ type: 'del', sublevel: 'outbox', key });
        ops.push({
          type: 'put',
          sublevel: 'hookDeadLetters',
          key,
          value: encodeDeadLetter({ hookName: definition.name, seq: entry.seq, reason: 'attempts_exhausted', error: run.error, attempts: attempt, at: now, events: texts[position] }),
        });
      } else {
        const value = entry.inline ? { events: texts[position], attempts: attempt } : { indexes: [...entry.indexes], attempts: attempt };
        ops.push({ type: 'put', sublevel: 'outbox', key, value: encodeOutboxValue(entry.seq, entry.at, value) });
      }
    }
    try {
      await this.#deps.storage.batch(ops, recordOptions);
    } catch (error) {
      if (this.#deliveredElsewhere(slot, entries, error)) return;
      // Not even the failure could be recorded (the store is failing): retry the batch later as it was.
      this.#deps.onBackgroundError(error);
      slot.scheduleRetry(entries, now + this.#backoff(definition, attempt));
      return;
    }
    this.#deps.onRecorded();
    const events = meta.eventIds.length;
    if (exhausted) {
      slot.deadLettered(events);
      // Awaited, so that the execution settles (and idle() resolves) only once the event is committed
      // and any hook listening for it has it queued.
      await this.#deps
        .recordEvents(
          [{ kind: 'hook.dead_lettered', data: { hook: definition.name, executionId: meta.executionId, events, attempts: attempt, error: run.error } }],
          undefined,
          { correlationId: meta.correlationId, causationId: meta.causationId },
        )
        .catch((error: unknown) => this.#deps.onBackgroundError(error));
    } else {
      slot.scheduleRetry(entries, now + this.#backoff(definition, attempt), attempt);
    }
    await this.#checkBudget(slot);
  }

  /** Exponential, with jitter so that hooks failing together do not retry in lockstep. */
  #backoff(definition: HookDefinition, attempt: number): number {
    const { initialMs, maxMs } = definition.backoff;
    const base = Math.min(maxMs, initialMs * 2 ** (attempt - 1));
    return Math.round(base * (0.5 + this.#deps.random() / 2));
  }

  /** Disables a hook whose p95 is over its budget; its executions wait in the outbox. */
  async #checkBudget(slot: HookSlot): Promise<void> {
    const p95 = slot.overBudget();
    if (p95 === undefined || slot.definition.disabled !== undefined) return;
    const { budgetMs } = slot.definition;
    const definition = slot.disable({ reason: `p95 ${p95.toFixed(1)} ms is over the ${budgetMs} ms budget`, at: this.#deps.clock.now() });
    this.#budgetDisablesBegun++;
    const written = this.#deps
      .recordEvents([{ kind: 'hook.disabled', data: { hook: slot.name, reason: 'latency', p95Ms: p95, budgetMs } }], [definitionPut(definition)])
      .catch((error: unknown) => this.#deps.onBackgroundError(error));
    this.#budgetDisables.add(written);
    try {
      await written;
    } finally {
      this.#budgetDisables.delete(written);
    }
  }
}

/** Durations are kept to the microsecond. */
function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** An error as history stores it: a stable code and a message, with secret-looking strings redacted. */
export function describeError(error: unknown): ExecutionError {
  if (error instanceof TaskFailure) {
    const { problem } = error;
    // A path into a result can be thousands of characters long: shown shortened, as value paths are.
    const message = problem === undefined ? error.message : escapeForDisplay(invalidResultMessage(shortenForDisplay(problem.path), problem.reason));
    return { code: error.reason === 'timeout' ? 'HOOK_TIMEOUT' : 'HOOK_FAILED', message: redact(message) as string };
  }
  if (isLlmStateError(error)) return { code: error.code, message: redact(error.message) as string };
  return { code: 'HOOK_FAILED', message: redact(error instanceof Error ? error.message : String(error)) as string };
}

/** A principal named at registration, as a context holds it: `system` is no principal at all. */
function named(principal: string | undefined): string | undefined {
  return principal === 'system' ? undefined : principal;
}
