import { redactDeadLetter, redactError, redactExecution, redactJson } from '../redaction/index.js';
import { checkOptionsArgument } from '../checkOptions.js';
import { LlmStateError } from '../errors.js';
import { Serial } from '../Serial.js';
import type { StorageBackend, BatchOp } from '../storage/index.js';
import type { Clock } from '../clock.js';
import type { EventSpec } from '../events/eventLog.js';
import { auditSink, cacheInvalidationSink, metricsSink, ObservedMetrics, type BuiltinSink, type InvalidationKeyspace } from './builtinSinks.js';
import type { Dispatcher, HookStatus } from './Dispatcher.js';
import { newExecutionId, type ExecutionMeta } from './executionRecord.js';
import { resolveHookDefinition, type HookDefinition, type HookRegistration } from './hookDefinition.js';
import { checkHistoryFilter, type HistoryFilter, type HistoryRetention, type HookHistory, type PruneResult } from './HookHistory.js';
import { definitionDel, definitionPut, readDefinitions } from './hookRegistryRecords.js';
import type { HookSlot } from './HookSlot.js';
import { loadOutbox } from './loadOutbox.js';
import { deliveredTexts, eventCount, inlineEntry } from './pendingEntry.js';
import { decodeDeadLetter, decodeHookSeqKey, encodeDeadLetter, encodeOutboxValue, hookRange, hookSeqKey, type DeadLetterValue } from './outboxRecords.js';
import { redactPathsOf } from './redactPathsOf.js';
import { applyInputPatch, diffValues, type DiffOp } from './replayDiff.js';
import type { HookExecution, HookResult } from './types.js';

export interface HooksDeps {
  storage: StorageBackend;
  clock: Clock;
  dispatcher: Dispatcher;
  history: HookHistory;
  historyRetention: Required<HistoryRetention>;
  recordEvents(events: EventSpec[], extraOps?: BatchOp[]): Promise<void>;
  /** Loads a module in the pool and checks its default export. */
  probe(module: string, timeoutMs: number): Promise<void>;
  assertWritable(): void;
  assertReadable(): void;
  /** Waits for acknowledged writes to reach the outbox. */
  commitsIdle(): Promise<void>;
}

/** A registration as {@link Hooks.register} takes it: a built-in `cacheInvalidation` also takes its keyspace. */
export type HookRegistrationInput = HookRegistration & { keyspace?: InvalidationKeyspace };

/** A registered hook: its definition and how it is doing. */
export interface HookInfo extends HookStatus {
  definition: HookDefinition;
}

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

/**
 * `rt.hooks`: hooks run in worker threads on committed changes, fed by a transactional outbox. Their
 * executions are recorded, replayable, and part of the causal timeline.
 */
export class Hooks {
  readonly #deps: HooksDeps;
  readonly observed = new ObservedMetrics();
  /** Registry changes read a hook's state, wait, then write it: one at a time, so none undoes another. */
  readonly #registry = new Serial();

  /** @internal */
  constructor(deps: HooksDeps) {
    this.#deps = deps;
  }

  /** Reads registrations and what waited in the outbox. @internal */
  async load(): Promise<void> {
    const { storage, dispatcher, clock } = this.#deps;
    const slots = new Map<string, HookSlot>();
    for (const definition of await readDefinitions(storage)) {
      slots.set(definition.name, dispatcher.upsert(definition));
      dispatcher.setSink(definition.name, this.#sinkFor(definition, undefined), definition.builtin === 'cacheInvalidation');
    }
    const { ops } = await loadOutbox(storage, slots, clock.now());
    if (ops.length > 0) await storage.batch(ops);
  }

  /**
   * Registers a hook, or replaces the registration of the same name (what waits for it is kept). The
   * module is loaded in a worker first, so a missing file or a missing default export fails here.
   *
   * @throws {TypeError} for an invalid registration. @throws {HOOK_FAILED} when the module cannot be loaded.
   * @throws {RUNTIME_CLOSED}
   * @example await rt.hooks.register({ name: 'audit-topic', module: './audit.js', on: ['state.set'], filter: { keyPrefix: 'topic' } })
   */
  async register(registration: HookRegistrationInput): Promise<HookInfo> {
    this.#deps.assertWritable();
    checkOptionsArgument(registration, 'registration', 'required');
    const { keyspace, ...rest } = registration;
    const resolved = resolveHookDefinition(rest, this.#deps.clock.now());
    if (resolved.builtin === 'cacheInvalidation' && (typeof keyspace !== 'object' || keyspace === null || typeof keyspace.invalidate !== 'function')) {
      throw new TypeError('Expected `keyspace` to be an object with an invalidate(changes) method, for the cacheInvalidation built-in');
    }
    return this.#registry.run(() => this.#register(resolved, keyspace));
  }

  async #register(resolved: HookDefinition, keyspace: InvalidationKeyspace | undefined): Promise<HookInfo> {
    let definition = resolved;
    if (definition.builtin === undefined) {
      try {
        await this.#deps.probe(definition.module, Math.max(definition.timeoutMs, 10_000));
      } catch (error) {
        // A module that throws at import may quote a secret in its message.
        const shown = redactError(error) as Error;
        throw new LlmStateError('HOOK_FAILED', `The hook ${definition.name} cannot be registered: ${shown.message}`, {
          cause: shown,
          details: { hook: definition.name, module: definition.module },
        });
      }
    }
    // A hook disabled by its latency budget (or by hand) stays disabled until enable() says otherwise.
    const disabled = this.#deps.dispatcher.slot(definition.name)?.definition.disabled;
    if (disabled !== undefined) definition = { ...definition, disabled };
    await this.#deps.recordEvents([{ kind: 'hook.registered', data: { hook: definition.name, module: definition.module, on: definition.on } }], [definitionPut(definition)]);
    const slot = this.#deps.dispatcher.upsert(definition);
    this.#deps.dispatcher.setSink(definition.name, this.#sinkFor(definition, keyspace), false);
    return this.#info(slot);
  }

  /**
   * Removes a hook. What still waited for it is dead-lettered (reason `unregistered`), not dropped: a
   * later registration of the same name can take it back with {@link Hooks.redeliver}.
   *
   * @returns false when no hook has that name.
   */
  async unregister(name: string): Promise<boolean> {
    this.#deps.assertWritable();
    checkName(name);
    return this.#registry.run(() => this.#unregister(name));
  }

  async #unregister(name: string): Promise<boolean> {
    // Batches already routed to the hook commit into its queue first, so they are dead-lettered too.
    const waiting = await this.#deps.dispatcher.remove(name, this.#deps.commitsIdle);
    const known = waiting.length > 0 || (await this.#deps.storage.get('hooks', Buffer.from(name, 'utf8'))) !== undefined;
    if (!known) return false;
    const now = this.#deps.clock.now();
    const ops: BatchOp[] = [definitionDel(name)];
    for (const entry of waiting) {
      const key = hookSeqKey(name, entry.seq);
      ops.push({ type: 'del', sublevel: 'outbox', key });
      ops.push({ type: 'put', sublevel: 'hookDeadLetters', key, value: encodeDeadLetter({ hookName: name, seq: entry.seq, reason: 'unregistered', attempts: entry.attempts, at: now, events: deliveredTexts(entry) }) });
    }
    const count = waiting.reduce((sum, entry) => sum + eventCount(entry), 0);
    await this.#deps.recordEvents([{ kind: 'hook.unregistered', data: { hook: name, deadLettered: count } }], ops);
    return true;
  }

  /** Every registered hook, highest priority first. @throws {RUNTIME_CLOSED} */
  list(): HookInfo[] {
    this.#deps.assertReadable();
    return this.#deps.dispatcher.slots.map((slot) => this.#info(slot));
  }

  /** One hook, or undefined. */
  get(name: string): HookInfo | undefined {
    this.#deps.assertReadable();
    const slot = this.#deps.dispatcher.slot(name);
    return slot === undefined ? undefined : this.#info(slot);
  }

  /** Stops running a hook; what arrives for it waits in the outbox. @returns false for an unknown name. */
  async disable(name: string, reason = 'disabled by hand'): Promise<boolean> {
    return this.#setDisabled(name, { reason, at: this.#deps.clock.now() });
  }

  /** Runs a disabled hook again, with a fresh latency window and a closed breaker. @returns false for an unknown name. */
  async enable(name: string): Promise<boolean> {
    return this.#setDisabled(name, undefined);
  }

  async #setDisabled(name: string, disabled: HookDefinition['disabled']): Promise<boolean> {
    this.#deps.assertWritable();
    checkName(name);
    return this.#registry.run(async () => {
      const slot = this.#deps.dispatcher.slot(name);
      if (slot === undefined) return false;
      const { disabled: _previous, ...base } = slot.definition;
      const definition: HookDefinition = disabled === undefined ? base : { ...base, disabled };
      const data = { hook: name, ...(disabled === undefined ? {} : { reason: disabled.reason }) };
      await this.#deps.recordEvents([{ kind: disabled === undefined ? 'hook.enabled' : 'hook.disabled', data }], [definitionPut(definition)]);
      if (disabled === undefined) slot.enableAgain();
      this.#deps.dispatcher.upsert(definition);
      return true;
    });
  }


  /**
   * Recorded executions, oldest first (or newest first), each with its redacted input and result.
   *
   * @throws {RUNTIME_CLOSED} @throws {DATA_CORRUPT}
   * @example await rt.hooks.history({ hookName: 'audit-topic', status: 'failed', limit: 20 })
   */
  async history(filter: HistoryFilter = {}): Promise<HookExecution[]> {
    this.#deps.assertReadable();
    checkOptionsArgument(filter, 'filter');
    checkHistoryFilter(filter);
    return (await this.#deps.history.query(filter)).map((execution) => this.#shown(execution));
  }

  /** One recorded execution, or undefined. */
  async execution(executionId: string): Promise<HookExecution | undefined> {
    this.#deps.assertReadable();
    checkExecutionId(executionId);
    const execution = await this.#deps.history.get(executionId);
    return execution === undefined ? undefined : this.#shown(execution);
  }

  /**
   * Runs a recorded execution again, in the pool and in isolation: its actions are captured, not
   * applied. The replay is recorded with `replayOf`. With `patch`, the input is changed first.
   *
   * @throws {HOOK_FAILED} when the execution is not recorded, or its hook is no longer registered.
   * @throws {VALUE_INVALID} for a patch that does not apply.
   * @example const { equal, diff } = await rt.hooks.replay(executionId, { patch: { value: { name: 'rain' } } })
   */
  async replay(executionId: string, options: ReplayOptions = {}): Promise<ReplayResult> {
    this.#deps.assertWritable();
    checkOptionsArgument(options);
    checkExecutionId(executionId);
    // As recorded, not as shown: the replay is recorded on the original's own correlation ids.
    const original = await this.#deps.history.get(executionId);
    if (original === undefined) {
      throw new LlmStateError('HOOK_FAILED', `No hook execution ${executionId} is recorded, so it cannot be replayed`, { details: { executionId, reason: 'not_recorded' } });
    }
    return this.#replay(original, options);
  }

  /** Replays every execution a history filter selects (replays themselves excluded), a pool's worth at a time. */
  async replayMany(filter: HistoryFilter = {}, options: ReplayOptions = {}): Promise<ReplayResult[]> {
    this.#deps.assertWritable();
    checkOptionsArgument(filter, 'filter');
    checkOptionsArgument(options);
    checkHistoryFilter(filter);
    const originals = await this.#deps.history.query({ ...filter, replays: 'exclude' });
    const results: ReplayResult[] = new Array(originals.length);
    let next = 0;
    const worker = async () => {
      while (next < originals.length) {
        const index = next++;
        results[index] = await this.#replay(originals[index], options);
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, originals.length) }, worker));
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
    const executionId = newExecutionId(clock.now());
    let run;
    try {
      run = await dispatcher.runner.run(slot.definition, [{ eventsJson: JSON.stringify(events) }], {
        hookName: original.hookName,
        executionId,
        attempt: original.attempt,
        correlationId: original.correlationId,
        causationId: original.causationId,
        replay: true,
        options: slot.definition.options ?? null,
      });
    } finally {
      release();
    }
    const meta: Omit<ExecutionMeta, 'bytes'> = {
      executionId,
      hookName: original.hookName,
      correlationId: original.correlationId,
      correlationIds: original.correlationIds,
      causationId: original.causationId,
      eventIds: original.eventIds,
      attempt: original.attempt,
      status: run.status,
      ...(run.error === undefined ? {} : { error: run.error }),
      startedAt: run.startedAt,
      durationMs: run.durationMs,
      replayOf: original.executionId,
      priority: slot.definition.priority,
    };
    // Without an outcome (the replay failed) the worker redacted nothing: redact here, as a failed run does.
    const inputJson =
      run.outcome === undefined
        ? `[${events.map((event) => redactJson(JSON.stringify(event), slot.definition.redact, event)).join(',')}]`
        : (run.outcome.inputJson ?? JSON.stringify(events));
    await storage.batch(history.recordOps(meta, inputJson, run.outcome?.resultJson));
    const replayed: HookExecution = {
      ...meta,
      input: JSON.parse(inputJson),
      ...(run.outcome === undefined ? {} : { result: JSON.parse(run.outcome.resultJson) as HookResult }),
    };
    const shown = { original: this.#shown(original), replayed: this.#shown(replayed) };
    // Compared as shown, so the diff holds nothing the executions hide.
    const diff = diffValues(outcomeOf(shown.original), outcomeOf(shown.replayed));
    return { ...shown, diff, equal: diff.length === 0 };
  }

  /** Batches of events no hook run could take. */
  async deadLetters(filter: { hookName?: string; limit?: number } = {}): Promise<HookDeadLetter[]> {
    this.#deps.assertReadable();
    checkOptionsArgument(filter, 'filter');
    const range = filter.hookName === undefined ? {} : hookRange(filter.hookName);
    const letters: HookDeadLetter[] = [];
    for await (const [key, record] of this.#deps.storage.iterate('hookDeadLetters', { ...range, limit: filter.limit ?? 1000 })) {
      const { hookName, seq } = decodeHookSeqKey(key);
      const letter = decodeDeadLetter(record, { 'hook dead letter': `${hookName}@${seq}` });
      const events = letter.events.map((json) => JSON.parse(json) as { id: string });
      const shown: HookDeadLetter = { hookName, seq, reason: letter.reason, ...(letter.error === undefined ? {} : { error: letter.error }), attempts: letter.attempts, at: letter.at, eventIds: events.map((e) => e.id), events };
      letters.push(redactDeadLetter(shown, redactPathsOf(this.#deps.dispatcher, hookName)));
    }
    return letters;
  }

  /**
   * Puts a registered hook's dead letters back in its outbox, with fresh attempts.
   *
   * @returns how many events were put back.
   */
  async redeliver(hookName: string): Promise<number> {
    this.#deps.assertWritable();
    checkName(hookName);
    return this.#registry.run(() => this.#redeliver(hookName));
  }

  async #redeliver(hookName: string): Promise<number> {
    const slot = this.#deps.dispatcher.slot(hookName);
    if (slot === undefined) {
      throw new LlmStateError('HOOK_FAILED', `The hook ${hookName} is not registered; register it before redelivering its dead letters`, { details: { hook: hookName, reason: 'not_registered' } });
    }
    const ops: BatchOp[] = [];
    const letters: DeadLetterValue[] = [];
    for await (const [key, record] of this.#deps.storage.iterate('hookDeadLetters', hookRange(hookName))) {
      const letter = decodeDeadLetter(record, { 'hook dead letter': `${hookName}` });
      letters.push(letter);
      ops.push({ type: 'del', sublevel: 'hookDeadLetters', key });
      ops.push({ type: 'put', sublevel: 'outbox', key, value: encodeOutboxValue(letter.seq, letter.at, { events: letter.events, attempts: 0 }) });
    }
    if (letters.length === 0) return 0;
    const count = letters.reduce((sum, letter) => sum + letter.events.length, 0);
    await this.#deps.recordEvents([{ kind: 'hook.redelivered', data: { hook: hookName, events: count } }], ops);
    for (const letter of letters) {
      slot.queue.push(inlineEntry(letter.seq, letter.at, letter.events, 0));
      slot.pendingEvents += letter.events.length;
    }
    this.#deps.dispatcher.poke();
    return count;
  }

  /**
   * Resolves once every acknowledged write's hooks have run: the outbox of every enabled hook is empty
   * and nothing runs. Disabled hooks, and built-ins waiting for their keyspace, are parked and not
   * waited for. After `runtime.fatal` nothing more starts, so it resolves once nothing runs; what waits
   * stays in the outbox for the next open.
   */
  async idle(): Promise<void> {
    this.#deps.assertReadable();
    await this.#deps.commitsIdle();
    await this.#deps.dispatcher.idle();
  }

  /** Applies the history retention policy now (it also runs on its own). */
  async prune(policy: HistoryRetention = {}): Promise<PruneResult> {
    this.#deps.assertWritable();
    checkOptionsArgument(policy, 'policy');
    return this.#deps.history.prune({ ...this.#deps.historyRetention, ...policy }, this.#deps.clock.now());
  }

  /** Applies the history retention policy if it would remove anything. @internal */
  pruneIfDue(): Promise<PruneResult | undefined> {
    return this.#deps.history.pruneIfDue(this.#deps.historyRetention, this.#deps.clock.now());
  }

  /** An execution as every view shows it. */
  #shown(execution: HookExecution): HookExecution {
    return redactExecution(execution, redactPathsOf(this.#deps.dispatcher, execution.hookName));
  }

  #info(slot: HookSlot): HookInfo {
    return { definition: slot.definition, ...this.#deps.dispatcher.status(slot) };
  }

  #sinkFor(definition: HookDefinition, keyspace: InvalidationKeyspace | undefined): BuiltinSink | undefined {
    switch (definition.builtin) {
      case 'audit':
        return definition.options !== undefined && (definition.options as { file?: unknown }).file !== undefined ? undefined : auditSink();
      case 'metrics':
        return metricsSink(this.observed);
      case 'cacheInvalidation':
        return keyspace === undefined ? undefined : cacheInvalidationSink(keyspace);
      default:
        return undefined;
    }
  }
}

/** What a replay is compared on: how it ended and what it returned, not when or how long. */
function outcomeOf(execution: HookExecution): unknown {
  return { status: execution.status, result: execution.result ?? null, error: execution.error ?? null };
}

function checkExecutionId(executionId: unknown): asserts executionId is string {
  if (typeof executionId !== 'string' || executionId.length === 0) throw new TypeError(`Expected \`executionId\` to be a non-empty string, got ${typeof executionId}`);
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError(`Expected the hook name to be a non-empty string, got ${typeof name}`);
}

