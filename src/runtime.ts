import { resolve } from 'node:path';
import { ActorSystem, type ActorMetrics } from '../actors/ActorSystem.js';
import { CommitScheduler, type CommitMetrics } from '../actors/CommitScheduler.js';
import { SystemEventLog } from '../actors/SystemEventLog.js';
import { FaultInjector } from '../supervisors/FaultInjector.js';
import { SupervisorTree } from '../supervisors/SupervisorTree.js';
import { repeatEvery } from './timers.js';
import { seededRandom } from './seededRandom.js';
import { Agents } from './agents/Agents.js';
import { Supervisors } from './agents/Supervisors.js';
import { LlmStateError } from './errors.js';
import { newCorrelationId, runCorrelated, currentCorrelation, type CorrelationContext } from './events/correlation.js';
import type { EventSpec } from './events/eventLog.js';
import type { BatchOp } from './storage/index.js';
import { readLastSeq } from './events/eventLog.js';
import { Events } from './events/Events.js';
import { resolveRuntimeOptions, type ResolvedRuntimeOptions, type RuntimeOptions } from './runtimeOptions.js';
import { checkCorrelationId, StateManager } from './state/StateManager.js';
import { ensureStoreFormat } from './state/storeFormat.js';
import { readStoreStats, type StoreStats } from './storeStats.js';
import { createDiskBackend, createMemoryBackend, type StorageBackend } from './storage/index.js';
import { prepareDataDirectory, type StoreAccess } from './storage/dataDirectory.js';
import { HookPool, type HookPoolOptions, type HookRunner } from '../workers/HookPool.js';
import { Dispatcher } from './hooks/Dispatcher.js';
import { HookHistory } from './hooks/HookHistory.js';
import { Hooks } from './hooks/Hooks.js';
import { oldestReferencedSeq } from './hooks/loadOutbox.js';
import { HookRedactionPaths } from './hooks/hookRedaction.js';
import type { HookMetrics } from './hooks/hookMetrics.js';
import { hookMetrics } from './hooks/hookMetrics.js';

const EVENT_RETENTION_INTERVAL_MS = 60 * 60 * 1000;

export interface RuntimeMetrics {
  actors: ActorMetrics;
  commits: CommitMetrics;
  hooks: HookMetrics;
}

export interface CorrelateResult<T> {
  correlationId: string;
  result: T;
}

/** A running llmstate runtime. Create one with {@link createRuntime}; close it with {@link Runtime.close}. */
export interface Runtime {
  /** Scoped, durable JSON state. */
  readonly state: StateManager;
  /** The event log: every committed change and lifecycle event. */
  readonly events: Events;
  /** Agents: actors with a record and an optional xstate machine, under supervisors. */
  readonly agents: Agents;
  /** The supervisor tree (OTP semantics) and the dead letters of crashed messages. */
  readonly supervisors: Supervisors;
  /** Rehearse failures: crash an agent, fail or delay the store. */
  readonly faults: FaultInjector;
  /** Hooks in worker threads, fed by the transactional outbox; their history, replay and dead letters. */
  readonly hooks: Hooks;
  /** Where the store lives: the LevelDB directory, or `memory`. */
  readonly location: string;
  /** True once {@link Runtime.close} has begun. */
  readonly closed: boolean;
  /**
   * Runs `fn` in a new correlation context: every write it makes, directly or through awaits, records
   * `correlationId`.
   *
   * @example const { correlationId } = await rt.correlate(() => rt.state.set(scope, 'k', 1))
   */
  correlate<T>(fn: () => Promise<T> | T, correlationId?: string): Promise<CorrelateResult<T>>;
  /** Counters for actors, caches and commits. */
  metrics(): RuntimeMetrics;
  /**
   * What the store holds: its format and creation time, the last commit sequence, scopes, keys and value
   * bytes per scope kind, event-log records, and the size of the data directory. It reads every state
   * key, so it takes time in proportion to the store; what `llmstate stats` prints.
   *
   * @throws {RUNTIME_CLOSED} @throws {DATA_CORRUPT} when the store's format record is damaged.
   * @example const { total, lastCommitSeq } = await rt.stats()
   */
  stats(): Promise<StoreStats>;
  /** Drains every mailbox, waits for the last commit and closes the store. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens (or creates) a store and starts the runtime.
 *
 * @throws {TypeError} for invalid options, as ``Expected `idleMs` to be a positive integer, got `-1` (number)``.
 * @throws {STORAGE_FAILED} when the store cannot be opened, for example because another process holds it.
 * @example
 * const rt = await createRuntime({ dataDir: './.llmstate' });
 * await rt.state.set(Scope.agent('a1'), 'topic', { name: 'weather' });
 * await rt.close();
 */
export async function createRuntime(options?: RuntimeOptions): Promise<Runtime> {
  return openRuntime(options, 'create');
}

/**
 * {@link createRuntime}, where `existing` refuses a data directory that holds no store and creates
 * nothing in it: the CLI's reading commands. @internal
 */
export async function openRuntime(options: RuntimeOptions | undefined, access: StoreAccess, internals: RuntimeInternals = {}): Promise<Runtime> {
  const resolved = resolveRuntimeOptions(options);
  const storage = internals.storage ?? (await openStorage(resolved, access));
  if (internals.storage !== undefined) await storage.open();
  try {
    await ensureStoreFormat(storage, resolved.clock.now(), access);
    const scheduler = new CommitScheduler({
      storage,
      clock: resolved.clock,
      durability: resolved.durability,
      maxBatchOps: resolved.maxBatchOps,
      maxBatchBytes: resolved.maxBatchBytes,
      lastSeq: await readLastSeq(storage),
    });
    const actors = new ActorSystem({
      storage,
      scheduler,
      clock: resolved.clock,
      maxValueBytes: resolved.maxValueBytes,
      transactionTimeoutMs: resolved.transactionTimeoutMs,
      timers: resolved.timers,
      idleMs: resolved.idleMs,
      memoryBudgetBytes: resolved.memoryBudgetBytes,
    });
    const runtime = new LlmStateRuntime(resolved, storage, scheduler, actors, internals);
    try {
      await runtime.started();
    } catch (error) {
      await runtime.abortStart();
      throw error;
    }
    return runtime;
  } catch (error) {
    await storage.close();
    throw error;
  }
}

/**
 * Seams through which the simulator of `llmstate/testing` runs a real runtime under its own control.
 * Not part of the public API. @internal
 */
export interface RuntimeInternals {
  /** A store to open and use, instead of the one the options name (the options must say `memory: true`). */
  storage?: StorageBackend;
  /** What runs hooks, instead of the worker pool. */
  hookRunner?: (options: HookPoolOptions) => HookRunner;
  /** Asked as each message reaches an agent, beside `rt.faults`: true crashes the agent on it. */
  crashAgent?: (agentId: string) => boolean;
}

async function openStorage(options: ResolvedRuntimeOptions, access: StoreAccess): Promise<StorageBackend> {
  const storage = options.memory ? createMemoryBackend() : createDiskBackend(await prepareDataDirectory(resolve(options.dataDir!), access));
  await storage.open();
  return storage;
}

class LlmStateRuntime implements Runtime {
  readonly state: StateManager;
  readonly events: Events;
  readonly agents: Agents;
  readonly supervisors: Supervisors;
  readonly faults: FaultInjector;
  readonly hooks: Hooks;
  readonly #storage: StorageBackend;
  readonly #options: ResolvedRuntimeOptions;
  readonly #dispatcher: Dispatcher;
  #pool: HookRunner | undefined;
  readonly #internals: RuntimeInternals;
  #backgroundErrors = 0;
  #recordedSincePrune = 0;
  #pruning: Promise<unknown> | undefined;
  #stopRetention: (() => void) | undefined;
  readonly #scheduler: CommitScheduler;
  readonly #actors: ActorSystem;
  readonly #systemLog: SystemEventLog;
  readonly #tree: SupervisorTree;
  #closing: Promise<void> | undefined;
  #fatal: LlmStateError | undefined;

  constructor(options: ResolvedRuntimeOptions, storage: StorageBackend, scheduler: CommitScheduler, actors: ActorSystem, internals: RuntimeInternals) {
    this.#storage = storage;
    this.#internals = internals;
    this.#options = options;
    this.#scheduler = scheduler;
    this.#actors = actors;
    const assertReadable = () => this.#assertOpen();
    const assertWritable = () => this.#assertWritable();
    this.state = new StateManager({
      ownerOf: (scope) => actors.ownerOf(scope),
      assertWritable,
      assertReadable,
      maxValueBytes: options.maxValueBytes,
    });
    const systemLog = new SystemEventLog(scheduler);
    this.#systemLog = systemLog;
    const history = new HookHistory(storage);
    const recordEvents = (events: EventSpec[], extraOps?: BatchOp[], context?: CorrelationContext) =>
      systemLog.append(events, context ?? currentCorrelation(), extraOps);
    this.#dispatcher = new Dispatcher({
      storage,
      clock: options.clock,
      timers: options.timers,
      pool: () => this.#hookPool(),
      maxInFlight: options.hooks.threads,
      history,
      random: seededRandom(options.faultSeed ^ 0x400c),
      maxValueBytes: options.maxValueBytes,
      ownerOf: (scope) => actors.ownerOf(scope),
      recordEvents,
      onBackgroundError: (error) => this.#onBackgroundError(error),
      onRecorded: () => this.#afterRecorded(),
      writesRefused: () => this.#fatal,
    });
    scheduler.attachOutbox(this.#dispatcher);
    const redaction = new HookRedactionPaths(this.#dispatcher);
    this.hooks = new Hooks({
      storage,
      clock: options.clock,
      dispatcher: this.#dispatcher,
      redaction,
      history,
      historyRetention: options.hooks.history,
      recordEvents,
      probe: (module, timeoutMs) => this.#hookPool().probe(module, timeoutMs),
      assertWritable,
      assertReadable,
      commitsIdle: () => scheduler.idle(),
    });
    this.events = new Events({
      storage,
      assertOpen: assertReadable,
      executionsOf: (correlationId, limit) => history.query({ correlationId, limit }),
      oldestNeededSeq: () => oldestReferencedSeq(storage),
      keepHistoryOf: (seqs) => history.keepInputsOf(seqs),
      clock: options.clock,
      redactPaths: redaction,
      retention: options.eventRetention,
    });
    this.faults = new FaultInjector({ storage, seed: options.faultSeed, timers: options.timers, record: (events) => systemLog.append(events), assertOpen: assertReadable });
    scheduler.checkGroups((scope) => this.faults.beforeGroup(scope));
    let agents: Agents | undefined;
    const tree = new SupervisorTree({
      clock: options.clock,
      timers: options.timers,
      random: seededRandom(options.faultSeed ^ 0x5eed),
      rootIntensity: options.supervisors.intensity,
      rootPeriod: options.supervisors.period,
      record: (events) => systemLog.append(events),
      isAgent: (id) => agents?.isLive(id) ?? false,
      onFatal: (error) => this.#onFatal(error),
    });
    this.#tree = tree;
    agents = new Agents({
      storage,
      tree,
      clock: options.clock,
      assertWritable,
      assertReadable,
      host: {
        clock: options.clock,
        storage,
        ownerOf: (scope) => actors.ownerOf(scope),
        takeInjectedCrash: (id) => this.faults.takeCrash(id) || internals.crashAgent?.(id) === true,
        poisonLimit: options.poisonLimit,
      },
    });
    this.agents = agents;
    this.supervisors = new Supervisors({ tree, storage, assertReadable, assertWritable });
    storageByRuntime.set(this, storage);
    actorsByRuntime.set(this, actors);
  }

  /** Resolves once hooks are loaded and the supervisor tree runs. @internal */
  async started(): Promise<void> {
    await this.hooks.load();
    await this.#tree.ready();
    if (this.#options.hooks.autoStart) this.#dispatcher.start();
    const { maxAgeMs, maxCount } = this.#options.eventRetention;
    if (maxAgeMs !== undefined || maxCount !== undefined) {
      await this.events.prune();
      this.#stopRetention = repeatEvery(this.#options.timers, EVENT_RETENTION_INTERVAL_MS, () => {
        this.events.prune().catch((error: unknown) => this.#onBackgroundError(error));
      });
    }
  }

  /** Undoes a start that failed part way. @internal */
  async abortStart(): Promise<void> {
    this.#stopRetention?.();
    await this.#pool?.close();
  }

  #hookPool(): HookRunner {
    const options: HookPoolOptions = {
      threads: this.#options.hooks.threads,
      resourceLimits: this.#options.hooks.resourceLimits,
      onError: (error) => this.#onBackgroundError(error),
      timers: this.#options.timers,
    };
    this.#pool ??= this.#internals.hookRunner?.(options) ?? new HookPool(options);
    return this.#pool;
  }

  #onBackgroundError(error: unknown): void {
    this.#backgroundErrors++;
    if (this.#closing !== undefined) return;
    const message = error instanceof Error ? error.message : String(error);
    this.#systemLog.append([{ kind: 'hook.error', data: { message } }], undefined).catch(() => {});
  }

  /** Checks history retention every `pruneEvery` recorded executions, one pass at a time. */
  #afterRecorded(): void {
    if (++this.#recordedSincePrune < this.#options.hooks.history.pruneEvery || this.#pruning !== undefined) return;
    this.#recordedSincePrune = 0;
    this.#pruning = this.hooks
      .pruneIfDue()
      .catch((error: unknown) => this.#onBackgroundError(error))
      .finally(() => (this.#pruning = undefined));
  }

  get location(): string {
    return this.#storage.location;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  async correlate<T>(fn: () => Promise<T> | T, correlationId?: string): Promise<CorrelateResult<T>> {
    this.#assertOpen();
    if (typeof fn !== 'function') throw new TypeError(`Expected \`fn\` to be a function, got ${typeof fn}`);
    if (correlationId !== undefined) checkCorrelationId(correlationId);
    const id = correlationId ?? newCorrelationId();
    const parent = currentCorrelation();
    const context = parent === undefined ? { correlationId: id } : { ...parent, correlationId: id };
    const result = await runCorrelated(context, fn);
    return { correlationId: id, result };
  }

  metrics(): RuntimeMetrics {
    return {
      actors: this.#actors.metrics,
      commits: this.#scheduler.metrics,
      hooks: hookMetrics(this.#dispatcher, this.hooks.observed, this.#backgroundErrors),
    };
  }

  async stats(): Promise<StoreStats> {
    this.#assertOpen();
    return readStoreStats(this.#storage, this.#options.memory ? undefined : resolve(this.#options.dataDir!));
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    // Counted from the start: agents' final saves may wait behind a transaction on their scope.
    const { timers } = this.#options;
    const endTransactions = timers.setTimeout(() => this.#endTransactions(), this.#options.closeGraceMs);
    try {
      this.#stopRetention?.();
      // Hooks stop first: running executions may still apply their actions through the actors.
      await this.#dispatcher.close(this.#options.hooks.closeGraceMs);
      await this.#pool?.close();
      await this.#dispatcher.settled();
      await this.#pruning;
      if (this.#fatal === undefined) await this.agents.saveAll();
      await this.#tree.stop();
      this.agents.rejectAllQueued(new LlmStateError('RUNTIME_CLOSED', `The runtime for ${this.#storage.location} closed`));
      await this.#actors.close();
    } finally {
      timers.clearTimeout(endTransactions);
      await this.#storage.close();
    }
  }

  #endTransactions(): void {
    const location = this.#storage.location;
    this.#actors.endTransactions(
      (scope) =>
        new LlmStateError('RUNTIME_CLOSED', `The runtime for ${location} closed before the transaction on ${scope} finished; nothing was written`, {
          details: { scope: scope.toString() },
        }),
    );
  }

  #onFatal(error: LlmStateError): void {
    this.#fatal = new LlmStateError('SUPERVISOR_SHUTDOWN', `The root supervisor failed (${error.message}); the runtime refuses writes`, {
      cause: error,
    });
    this.#systemLog.append([{ kind: 'runtime.fatal', data: { reason: error.message } }]).catch(() => {});
    this.agents.rejectAllQueued(this.#fatal);
    fatalListeners.get(this)?.forEach((listener) => listener(this.#fatal!));
  }

  #assertWritable(): void {
    this.#assertOpen();
    if (this.#fatal !== undefined) throw this.#fatal;
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) {
      throw new LlmStateError('RUNTIME_CLOSED', `The runtime for ${this.#storage.location} is closed`);
    }
  }
}

const fatalListeners = new WeakMap<Runtime, Set<(error: LlmStateError) => void>>();

/**
 * Calls `listener` when the root supervisor fails and the runtime starts refusing writes
 * (`runtime.fatal`). Returns the function that removes it.
 */
export function onRuntimeFatal(rt: Runtime, listener: (error: LlmStateError) => void): () => void {
  let listeners = fatalListeners.get(rt);
  if (listeners === undefined) fatalListeners.set(rt, (listeners = new Set()));
  listeners.add(listener);
  return () => listeners!.delete(listener);
}

const storageByRuntime = new WeakMap<Runtime, StorageBackend>();
const actorsByRuntime = new WeakMap<Runtime, ActorSystem>();

/**
 * The storage backend under a runtime, for tests that inject faults or damage records. Tests only: the
 * library and the CLI read through the public API (test/noBackDoors.test.ts checks). @internal
 */
export function storageOf(rt: Runtime): StorageBackend {
  const storage = storageByRuntime.get(rt);
  if (storage === undefined) throw new TypeError('Not a runtime created by createRuntime');
  return storage;
}

/** The actor system under a runtime, for passivation tests. Tests only, as {@link storageOf}. @internal */
export function actorsOf(rt: Runtime): ActorSystem {
  const actors = actorsByRuntime.get(rt);
  if (actors === undefined) throw new TypeError('Not a runtime created by createRuntime');
  return actors;
}
