import { checkOptionsArgument } from '../checkOptions.js';
import { Serial } from '../Serial.js';
import type { StorageBackend, BatchOp, LeaseHold } from '../storage/index.js';
import type { CorrelationContext } from '../events/correlation.js';
import type { Clock } from '../clock.js';
import type { EventSpec } from '../events/eventLog.js';
import { ObservedMetrics, type InvalidationKeyspace } from './builtinSinks.js';
import type { Dispatcher } from './Dispatcher.js';
import { resolveHookDefinition, type HookDefinition, type HookRegistration } from './hookDefinition.js';
import { HookDeadLetters } from './HookDeadLetters.js';
import { checkHistoryFilter, type HistoryFilter, type HistoryRetention, type HookHistory, type PruneResult } from './HookHistory.js';
import { HookRegistry, type HookInfo } from './HookRegistry.js';
import { shownExecution, type HookRedactionPaths } from './hookRedaction.js';
import { Replayer, type ReplayOptions, type ReplayResult } from './Replayer.js';
import type { HookDeadLetter, HookExecution, HookExecutionMetadata } from './types.js';

export type { HookDeadLetter } from './types.js';
export type { HookInfo } from './HookRegistry.js';
export type { ReplayOptions, ReplayResult } from './Replayer.js';

export interface HooksDeps {
  storage: StorageBackend;
  clock: Clock;
  dispatcher: Dispatcher;
  /** The `redact` paths views apply, also those of hooks no longer registered. */
  redaction: HookRedactionPaths;
  history: HookHistory;
  historyRetention: Required<HistoryRetention>;
  /** Logs events through the commit path; with a `fence`, refused (LEASE_LOST) once one of its leases is lost. */
  recordEvents(events: EventSpec[], extraOps?: BatchOp[], context?: CorrelationContext, fence?: readonly LeaseHold[]): Promise<void>;
  /** Loads a module in the pool and checks its default export. */
  probe(module: string, timeoutMs: number): Promise<void>;
  assertWritable(): void;
  assertReadable(): void;
  /** Waits for acknowledged writes to reach the outbox. */
  commitsIdle(): Promise<void>;
}

/** A registration as {@link Hooks.register} takes it: a built-in `cacheInvalidation` also takes its keyspace. */
export type HookRegistrationInput = HookRegistration & { keyspace?: InvalidationKeyspace };

/**
 * `rt.hooks`: hooks run in worker threads on committed changes, fed by a transactional outbox. Their
 * executions are recorded, replayable, and part of the causal timeline.
 */
export class Hooks {
  readonly #deps: HooksDeps;
  readonly observed = new ObservedMetrics();
  readonly #registry: HookRegistry;
  readonly #replayer: Replayer;
  readonly #deadLetters: HookDeadLetters;
  /** Registry changes read a hook's state, wait, then write it: one at a time, so none undoes another. */
  readonly #changes = new Serial();

  /** @internal */
  constructor(deps: HooksDeps) {
    this.#deps = deps;
    this.#registry = new HookRegistry({ ...deps, observed: this.observed });
    this.#replayer = new Replayer(deps);
    this.#deadLetters = new HookDeadLetters(deps);
  }

  /** Reads registrations and what waited in the outbox. @internal */
  load(): Promise<void> {
    return this.#registry.load();
  }

  /**
   * Takes in what another process changed of the registrations named by `keys` (their names as stored),
   * or of all, in turn with this process's own changes (see {@link HookRegistry.refresh}). @internal
   */
  refresh(keys: readonly Buffer[] | 'all'): Promise<void> {
    const names = keys === 'all' ? 'all' : keys.map((key) => key.toString('utf8'));
    return this.#changes.run(() => this.#registry.refresh(names));
  }

  /**
   * Registers a hook, or replaces the registration of the same name (what waits for it is kept). The
   * module is loaded in a worker first, so a missing file or a missing default export fails here.
   *
   * @throws {TypeError} for an invalid registration. @throws {HOOK_FAILED} when the module cannot be loaded.
   * @throws {VALUE_INVALID} when a pattern of `on` matches no event kind. @throws {RUNTIME_CLOSED}
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
    return this.#changes.run(() => this.#registry.register(resolved, keyspace));
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
    return this.#changes.run(() => this.#registry.unregister(name));
  }

  /** Every registered hook, highest priority first. @throws {RUNTIME_CLOSED} */
  list(): HookInfo[] {
    this.#deps.assertReadable();
    return this.#registry.list();
  }

  /** One hook, or undefined. */
  get(name: string): HookInfo | undefined {
    this.#deps.assertReadable();
    return this.#registry.get(name);
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
    return this.#changes.run(() => this.#registry.setDisabled(name, disabled));
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
    return (await this.#deps.history.query(filter)).map((execution) => shownExecution(this.#deps.redaction, execution));
  }

  /**
   * What {@link history} selects, without each execution's input and result: for counts, outcomes and
   * durations over many executions, it reads only the metadata of each record.
   *
   * @throws {RUNTIME_CLOSED} @throws {DATA_CORRUPT}
   * @example const failed = await rt.hooks.historyMetadata({ status: 'failed', limit: 1000 })
   */
  async historyMetadata(filter: HistoryFilter = {}): Promise<HookExecutionMetadata[]> {
    this.#deps.assertReadable();
    checkOptionsArgument(filter, 'filter');
    checkHistoryFilter(filter);
    return (await this.#deps.history.queryMetadata(filter)).map((meta) => shownExecution(this.#deps.redaction, meta));
  }

  /** One recorded execution, or undefined. */
  async execution(executionId: string): Promise<HookExecution | undefined> {
    this.#deps.assertReadable();
    checkExecutionId(executionId);
    const execution = await this.#deps.history.get(executionId);
    return execution === undefined ? undefined : shownExecution(this.#deps.redaction, execution);
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
    return this.#replayer.replay(executionId, options);
  }

  /** Replays every execution a history filter selects (replays themselves excluded), a pool's worth at a time. */
  async replayMany(filter: HistoryFilter = {}, options: ReplayOptions = {}): Promise<ReplayResult[]> {
    this.#deps.assertWritable();
    checkOptionsArgument(filter, 'filter');
    checkOptionsArgument(options);
    checkHistoryFilter(filter);
    return this.#replayer.replayMany(filter, options);
  }

  /** Batches of events no hook run could take. */
  async deadLetters(filter: { hookName?: string; limit?: number } = {}): Promise<HookDeadLetter[]> {
    this.#deps.assertReadable();
    checkOptionsArgument(filter, 'filter');
    return this.#deadLetters.list(filter);
  }

  /**
   * Puts a registered hook's dead letters back in its outbox, with fresh attempts.
   *
   * @returns how many events were put back.
   */
  async redeliver(hookName: string): Promise<number> {
    this.#deps.assertWritable();
    checkName(hookName);
    return this.#changes.run(() => this.#deadLetters.redeliver(hookName));
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
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError(`Expected the hook name to be a non-empty string, got ${typeof name}`);
}

function checkExecutionId(executionId: unknown): asserts executionId is string {
  if (typeof executionId !== 'string' || executionId.length === 0) throw new TypeError(`Expected \`executionId\` to be a non-empty string, got ${typeof executionId}`);
}
