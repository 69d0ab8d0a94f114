import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { nanoid } from 'nanoid';
import { ActorSystem, type ActorMetrics } from '../actors/ActorSystem.js';
import { CommitScheduler, type CommitMetrics } from '../actors/CommitScheduler.js';
import { ScopeLeases } from '../actors/ScopeLeases.js';
import { SystemEventLog } from '../actors/SystemEventLog.js';
import type { WriteGuard } from '../actors/WriteGuard.js';
import { FaultInjector } from '../supervisors/FaultInjector.js';
import { SupervisorTree } from '../supervisors/SupervisorTree.js';
import { repeatEvery } from './timers.js';
import { seededRandom } from './seededRandom.js';
import { Agents } from './agents/Agents.js';
import { Supervisors } from './agents/Supervisors.js';
import { Sessions } from './sessions/Sessions.js';
import { LlmStateError } from './errors.js';
import { currentCorrelation, type CorrelationContext } from './events/correlation.js';
import type { EventSpec } from './events/eventLog.js';
import type { BatchOp, ForeignChange, LeaseHold, WatchedSublevel } from './storage/index.js';
import { readLastSeq } from './events/eventLog.js';
import { Events } from './events/Events.js';
import type { ResolvedRuntimeOptions } from './runtimeOptions.js';
import { listScopes } from './state/listScopes.js';
import { StateManager } from './state/StateManager.js';
import { ensureStoreFormat } from './state/storeFormat.js';
import { readStoreStats, type StoreStats } from './storeStats.js';
import { readLeases, type LeaseInfo, type LeaseListOptions } from './leaseReport.js';
import type { StorageBackend } from './storage/index.js';
import type { StoreAccess } from './storage/dataDirectory.js';
import { HookPool, type HookPoolOptions, type HookRunner } from '../workers/HookPool.js';
import type { BuiltinInputs } from './hooks/builtinInputs.js';
import { Dispatcher } from './hooks/Dispatcher.js';
import { hookOfDeliveryResource } from './hooks/SharedDelivery.js';
import { HookHistory } from './hooks/HookHistory.js';
import { Hooks } from './hooks/Hooks.js';
import { oldestReferencedSeq } from './hooks/loadOutbox.js';
import { HookRedactionPaths } from './hooks/hookRedaction.js';
import type { HookMetrics } from './hooks/hookMetrics.js';
import { hookMetrics } from './hooks/hookMetrics.js';
import { Access, quarantinedError } from './access/Access.js';
import { AccessControl } from './access/AccessControl.js';
import { AuditLog } from './access/AuditLog.js';
import type { CheckedAction } from './hooks/hookActions.js';
import { parsePrincipal } from './state/principal.js';
import { Scope } from './state/Scope.js';

const EVENT_RETENTION_INTERVAL_MS = 60 * 60 * 1000;
const FOREIGN_REFRESH_RETRY_MS = 1000;
const FOREIGN_REFRESH_RETRY_MAX_MS = 60_000;

export interface RuntimeMetrics {
  actors: ActorMetrics;
  commits: CommitMetrics;
  hooks: HookMetrics;
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
  /** What hooks print to stdout goes to stderr (the command line, whose stdout carries results). */
  hookPrintsToStderr?: boolean;
}

/**
 * Starts a core on an open store: checks (or, with `create`, stamps) its format, then starts hooks and
 * the supervisor tree. On failure, what started is stopped again; the store is left open for the caller.
 * @internal
 */
export async function startCore(
  options: ResolvedRuntimeOptions,
  storage: StorageBackend,
  access: StoreAccess,
  internals: RuntimeInternals,
  onFatal: (error: LlmStateError) => void,
  guard: WriteGuard,
  builtinInputs: BuiltinInputs = {},
  beforeServing?: (core: RuntimeCore) => Promise<void>,
): Promise<RuntimeCore> {
  await ensureStoreFormat(storage, options.clock.now(), access);
  const scheduler = new CommitScheduler({
    storage,
    clock: options.clock,
    durability: options.durability,
    maxBatchOps: options.maxBatchOps,
    maxBatchBytes: options.maxBatchBytes,
    lastSeq: await readLastSeq(storage),
  });
  let core: RuntimeCore | undefined;
  const leases = storage.shared
    ? new ScopeLeases({
        storage,
        clock: options.clock,
        timers: options.timers,
        owner: options.leases.owner ?? defaultLeaseOwner(),
        ttlMs: options.leases.ttlMs,
        waitMs: options.leases.waitMs,
        lost: (resource, error) => {
          const hook = hookOfDeliveryResource(resource);
          if (hook === undefined) actors.leaseLost(resource, error);
          else core?.deliveryLost(hook);
        },
        reportError: (error) => core?.reportBackgroundError(error),
      })
    : undefined;
  const actors = new ActorSystem({
    storage,
    scheduler,
    clock: options.clock,
    maxValueBytes: options.maxValueBytes,
    transactionTimeoutMs: options.transactionTimeoutMs,
    timers: options.timers,
    idleMs: options.idleMs,
    memoryBudgetBytes: options.memoryBudgetBytes,
    guard,
    leases,
  });
  core = new RuntimeCore(options, storage, scheduler, actors, internals, onFatal, builtinInputs);
  try {
    await core.started(beforeServing);
  } catch (error) {
    await core.abortStart();
    throw error;
  }
  return core;
}

/** A lease owner name that no other runtime uses: the host and process, and a random tail for runtimes of one process. */
function defaultLeaseOwner(): string {
  return `${hostname()}:${process.pid}:${nanoid(8)}`;
}

/**
 * Everything a runtime runs on one open store: actors, the commit path, hooks, agents and supervisors.
 * A {@link Runtime} holds one core at a time; a full restore stops it and starts another on the restored
 * store, so that nothing built from the old store (caches, live agents, the hook dispatcher's queue)
 * outlives it. @internal
 */
export class RuntimeCore {
  readonly state: StateManager;
  readonly events: Events;
  readonly agents: Agents;
  readonly supervisors: Supervisors;
  readonly faults: FaultInjector;
  readonly hooks: Hooks;
  readonly access: Access;
  readonly accessControl: AccessControl;
  readonly sessions: Sessions;
  readonly storage: StorageBackend;
  readonly actors: ActorSystem;
  readonly #options: ResolvedRuntimeOptions;
  readonly #dispatcher: Dispatcher;
  #pool: HookRunner | undefined;
  readonly #internals: RuntimeInternals;
  #backgroundErrors = 0;
  #recordedSincePrune = 0;
  #pruning: Promise<unknown> | undefined;
  #stopRetention: (() => void) | undefined;
  #stopWatching: (() => Promise<void>) | undefined;
  /** The whole read to come of each namespace whose refresh failed, and how many failed in a row. */
  readonly #refreshRetries = new Map<WatchedSublevel, unknown>();
  readonly #refreshFailures = new Map<WatchedSublevel, number>();
  readonly #hookRefreshes = new Set<Promise<void>>();
  readonly #scheduler: CommitScheduler;
  readonly #systemLog: SystemEventLog;
  readonly #tree: SupervisorTree;
  #stopping: Promise<void> | undefined;
  #stoppedBecause = 'is closed';
  #fatal: LlmStateError | undefined;
  /** On a shared store, after runtime.fatal: the leases being given up (see {@link #handOver}). */
  #handingOver: Promise<void> | undefined;
  readonly #reportFatal: (error: LlmStateError) => void;

  constructor(
    options: ResolvedRuntimeOptions,
    storage: StorageBackend,
    scheduler: CommitScheduler,
    actors: ActorSystem,
    internals: RuntimeInternals,
    onFatal: (error: LlmStateError) => void,
    builtinInputs: BuiltinInputs,
  ) {
    this.storage = storage;
    this.#internals = internals;
    this.#options = options;
    this.#scheduler = scheduler;
    this.actors = actors;
    this.#reportFatal = onFatal;
    const assertReadable = () => this.assertOpen();
    const assertWritable = () => this.#assertWritable();
    this.state = new StateManager({
      ownerOf: (scope) => actors.ownerOf(scope),
      readerOf: (scope) => actors.readerOf(scope),
      assertWritable,
      assertReadable,
      maxValueBytes: options.maxValueBytes,
      listScopes: (kind, prefix, after, limit) => listScopes(storage, kind, prefix, after, limit),
    });
    const systemLog = new SystemEventLog(scheduler);
    this.#systemLog = systemLog;
    const history = new HookHistory(storage);
    const recordEvents = (events: EventSpec[], extraOps?: BatchOp[], context?: CorrelationContext, fence?: readonly LeaseHold[]) =>
      systemLog.append(events, context ?? currentCorrelation(), extraOps, fence);
    const cutOff = async (agentId: string, error: LlmStateError) => {
      actors.rejectQueued(Scope.agent(agentId), error);
      actors.rejectQueuedBy(`agent:${agentId}`, error);
      await this.agents.cutOff(agentId, error);
    };
    this.accessControl = new AccessControl({
      storage,
      now: () => options.clock.now(),
      audit: new AuditLog({ storage, clock: options.clock, retention: options.audit, sync: options.durability === 'sync', reportError: (error: unknown) => this.#onBackgroundError(error) }),
      recordEvents: (events, extraOps) => recordEvents(events, extraOps),
      sessionAccess: (id) => this.sessions.accessInfo(id),
      reportError: (error) => this.#onBackgroundError(error),
      quarantinedElsewhere: (quarantine) => {
        cutOff(quarantine.agentId, quarantinedError(quarantine)).catch((error: unknown) => this.#onBackgroundError(error));
      },
    });
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
      builtinInputs,
      authorizeAction: (action, actingFor, triggeredBy) => this.#authorizeAction(action, actingFor, triggeredBy),
      ...(actors.leases === undefined ? {} : { deliveryLeases: actors.leases }),
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
      reportError: (error) => this.#onBackgroundError(error),
      host: {
        clock: options.clock,
        storage,
        ownerOf: (scope) => actors.ownerOf(scope),
        claim: (scope, onLost) => actors.claim(scope, onLost),
        takeInjectedCrash: (id) => this.faults.takeCrash(id) || internals.crashAgent?.(id) === true,
        poisonLimit: options.poisonLimit,
      },
    });
    this.agents = agents;
    this.supervisors = new Supervisors({ tree, storage, assertReadable, assertWritable });
    this.access = new Access({
      control: () => this.accessControl,
      now: () => options.clock.now(),
      assertReadable,
      assertWritable,
      recordEvents: (events, extraOps) => recordEvents(events, extraOps),
      cutOff,
    });
    this.sessions = new Sessions({
      storage,
      clock: options.clock,
      timers: options.timers,
      defaultTtlMs: options.sessions.defaultTtlMs,
      gcIntervalMs: options.sessions.gcIntervalMs,
      maxValueBytes: options.maxValueBytes,
      ownerOf: (scope) => actors.ownerOf(scope),
      recordEvents: (events, extraOps, context) => systemLog.append(events, context, extraOps),
      assertWritable,
      assertReadable,
      reportError: (error) => this.#onBackgroundError(error),
    });
  }

  /**
   * A hook action is checked as every principal it acts for (system's only against quarantines), and
   * refused when a principal whose write triggered it is quarantined.
   */
  #authorizeAction(action: CheckedAction, actingFor: readonly (string | undefined)[], triggeredBy: readonly (string | undefined)[]): Promise<void> | undefined {
    const control = this.accessControl;
    const method = `hook action ${action.type}`;
    const quarantines = control.policy.quarantines;
    if (quarantines.size > 0) {
      for (const writer of triggeredBy) {
        const principal = writer === undefined ? undefined : parsePrincipal(writer);
        if (principal?.kind !== 'agent' || !quarantines.has(principal.agentId)) continue;
        const refusal = control.refuse({ principal, scope: action.scope, operation: 'write', method, ...(action.key === undefined ? {} : { key: action.key }) }, { allowed: false, rule: 'quarantined-principal', code: 'AGENT_QUARANTINED' });
        return refusal.recorded.then(() => Promise.reject(refusal.error));
      }
    }
    for (const acting of actingFor) {
      if (acting === undefined && quarantines.size === 0) continue;
      const refusal = control.authorize({
        principal: parsePrincipal(acting ?? 'system'),
        scope: action.scope,
        operation: action.type === 'set' ? 'write' : 'delete',
        ...(action.key === undefined ? {} : { key: action.key }),
        method,
      });
      if (refusal !== undefined) return refusal.recorded.then(() => Promise.reject(refusal.error));
    }
    return undefined;
  }

  /** Resolves once hooks are loaded, `beforeServing` has run, and the supervisor tree runs. @internal */
  async started(beforeServing?: (core: RuntimeCore) => Promise<void>): Promise<void> {
    await this.accessControl.load();
    await this.hooks.load();
    // With the hooks' routes known, so that what it commits reaches them, and before any delivery,
    // agent or caller can read the store: a migration the store was left in is finished here.
    if (beforeServing !== undefined) {
      try {
        await beforeServing(this);
      } catch (error) {
        await this.actors.close().catch(() => {});
        throw error;
      }
    }
    try {
      // What it collects at open reaches the outbox like any commit, so hooks hear of it once they start.
      await this.sessions.load();
    } catch (error) {
      await this.actors.close().catch(() => {});
      throw error;
    }
    if (this.storage.shared) {
      // Administration other processes change from now on reaches this one (docs/scale-out.md).
      this.#stopWatching = await this.storage.watchForeignChanges((change) => this.#refreshForeign(change));
    }
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

  /**
   * Reads again what another process changed. A read that fails leaves memory behind the store with no
   * announcement to come for it: it is reported, and the whole namespace is read again a second later.
   */
  #refreshForeign(change: ForeignChange): void {
    const { sublevel } = change;
    this.#refreshOf(change).then(
      () => {
        if (change.keys === 'all') this.#refreshFailures.delete(sublevel);
      },
      (error: unknown) => {
        if (this.#stopping !== undefined) return;
        this.#onBackgroundError(error);
        // A record that fails every read (a damaged one) is read again less and less often.
        const failures = (this.#refreshFailures.get(sublevel) ?? 0) + 1;
        this.#refreshFailures.set(sublevel, failures);
        if (this.#refreshRetries.has(sublevel)) return;
        const { timers } = this.#options;
        const retry = timers.setTimeout(
          () => {
            this.#refreshRetries.delete(sublevel);
            if (this.#stopping === undefined) this.#refreshForeign({ sublevel, keys: 'all' });
          },
          Math.min(FOREIGN_REFRESH_RETRY_MS * 2 ** (failures - 1), FOREIGN_REFRESH_RETRY_MAX_MS),
        );
        this.#refreshRetries.set(sublevel, retry);
      },
    );
  }

  #refreshOf({ sublevel, keys }: ForeignChange): Promise<void> {
    switch (sublevel) {
      case 'access':
        return this.accessControl.refresh(keys);
      case 'sessions':
        return this.sessions.refresh(keys);
      case 'hooks': {
        const refreshing = this.hooks.refresh(keys);
        this.#hookRefreshes.add(refreshing);
        const done = () => void this.#hookRefreshes.delete(refreshing);
        refreshing.then(done, done);
        return refreshing;
      }
    }
  }

  async #hookRefreshesSettled(withinMs: number): Promise<void> {
    if (this.#hookRefreshes.size === 0) return;
    const { timers } = this.#options;
    let timer: unknown;
    await Promise.race([Promise.allSettled(this.#hookRefreshes), new Promise<void>((resolve) => (timer = timers.setTimeout(resolve, withinMs)))]);
    timers.clearTimeout(timer);
  }

  /** Undoes a start that failed part way. @internal */
  async abortStart(): Promise<void> {
    this.#stopRetention?.();
    await this.#stopWatching?.();
    await this.sessions.stop();
    await this.#pool?.close();
  }

  #hookPool(): HookRunner {
    const options: HookPoolOptions = {
      threads: this.#options.hooks.threads,
      resourceLimits: this.#options.hooks.resourceLimits,
      onError: (error) => this.#onBackgroundError(error),
      timers: this.#options.timers,
      printToStderr: this.#internals.hookPrintsToStderr,
    };
    this.#pool ??= this.#internals.hookRunner?.(options) ?? new HookPool(options);
    return this.#pool;
  }

  #onBackgroundError(error: unknown): void {
    this.#backgroundErrors++;
    if (this.#stopping !== undefined) return;
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

  /** Counts an error that belongs to no caller and logs it as `hook.error`. */
  /** Another process took over delivering `hookName`. @internal */
  deliveryLost(hookName: string): void {
    this.#dispatcher.deliveryLost(hookName);
  }

  reportBackgroundError(error: unknown): void {
    this.#onBackgroundError(error);
  }

  /** Logs events that belong to no scope (backups, for one) through the commit path, with `extraOps` in the same batch. */
  recordEvents(events: readonly EventSpec[], extraOps?: readonly BatchOp[], fence?: readonly LeaseHold[]): Promise<void> {
    return this.#systemLog.append(events, undefined, extraOps, fence);
  }

  /** The sequence of the last commit. */
  get lastSeq(): number {
    return this.#scheduler.seq;
  }

  metrics(): RuntimeMetrics {
    return {
      actors: this.actors.metrics,
      commits: this.#scheduler.metrics,
      hooks: hookMetrics(this.#dispatcher, this.hooks.observed, this.#backgroundErrors),
    };
  }

  async stats(): Promise<StoreStats> {
    this.assertOpen();
    return readStoreStats(this.storage, this.#options.dataDir === undefined ? undefined : resolve(this.#options.dataDir));
  }

  async leases(options?: LeaseListOptions): Promise<LeaseInfo[]> {
    this.assertOpen();
    return readLeases(this.storage, this.actors.leases?.owner, options);
  }

  /**
   * Drains every mailbox, waits for the last commit and closes the store. With `keepStorage`, leaves the
   * store open and untouched from then on, for a restore to work on; `because` completes the message
   * calls on this core get from then on ("The runtime for … is closed").
   */
  stop(options: { keepStorage?: boolean; because?: string } = {}): Promise<void> {
    if (this.#stopping === undefined) {
      if (options.because !== undefined) this.#stoppedBecause = options.because;
      this.#stopping = this.#shutdown(options.keepStorage === true);
    }
    return this.#stopping;
  }

  get stopped(): boolean {
    return this.#stopping !== undefined;
  }

  async #shutdown(keepStorage: boolean): Promise<void> {
    // Counted from the start: agents' final saves may wait behind a transaction on their scope.
    const { timers } = this.#options;
    const endTransactions = timers.setTimeout(() => this.#endTransactions(), this.#options.closeGraceMs);
    try {
      await this.#handingOver;
      this.#stopRetention?.();
      await this.#stopWatching?.();
      for (const retry of this.#refreshRetries.values()) timers.clearTimeout(retry);
      await this.accessControl.refreshed();
      // A refresh of the hooks under way finishes before the dispatcher it changes closes, or within the
      // grace period: removing a hook waits for its running executions, which closing cuts short.
      await this.#hookRefreshesSettled(this.#options.hooks.closeGraceMs);
      await this.sessions.stop();
      // Hooks stop first: running executions may still apply their actions through the actors.
      await this.#dispatcher.close(this.#options.hooks.closeGraceMs);
      await this.#pool?.close();
      await this.#dispatcher.settled();
      await Promise.allSettled(this.#hookRefreshes);
      await this.#pruning;
      if (this.#fatal === undefined) await this.agents.saveAll();
      await this.#tree.stop();
      this.agents.rejectAllQueued(new LlmStateError('RUNTIME_CLOSED', `The runtime for ${this.storage.location} ${this.#stoppedBecause}`));
      await this.actors.close();
      await this.accessControl.audit.close();
    } finally {
      timers.clearTimeout(endTransactions);
      // A store that outlives this core (a restore) must not keep this core's armed faults.
      this.faults.detach();
      if (!keepStorage) await this.storage.close();
    }
  }

  #endTransactions(): void {
    const location = this.storage.location;
    this.actors.endTransactions(
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
    const leases = this.actors.leases;
    // Failed while closing: the close gives everything up.
    if (leases !== undefined && this.#stopping === undefined) this.#handingOver = this.#handOver(leases, this.#fatal);
    this.#reportFatal(this.#fatal);
  }

  /**
   * On a store several processes share, a runtime that refuses writes gives up what it holds: its hook
   * deliveries, its agents and its scopes, so that other processes deliver, restore and write them. Kept
   * until it is closed, they would keep every other process waiting on a runtime that can do nothing with
   * them. Its reads go on, to the store, as for scopes another process holds.
   */
  async #handOver(leases: ScopeLeases, reason: LlmStateError): Promise<void> {
    leases.refuseNew(reason);
    try {
      await this.#dispatcher.stopDelivering(this.#options.hooks.closeGraceMs);
      await this.agents.letGoAll(reason);
      // Each scope actor finishes what it accepted before the failure, then gives its lease back.
      await this.actors.passivateAll();
      // What is left: a migration's lease, say.
      await leases.close();
    } catch (error) {
      // What could not be given back expires by itself: nothing renews it any more.
      this.reportBackgroundError(error);
    }
  }

  #assertWritable(): void {
    this.assertOpen();
    if (this.#fatal !== undefined) throw this.#fatal;
  }

  /** @throws {RUNTIME_CLOSED} once {@link stop} has begun. */
  assertOpen(): void {
    if (this.#stopping !== undefined) {
      throw new LlmStateError('RUNTIME_CLOSED', `The runtime for ${this.storage.location} ${this.#stoppedBecause}`);
    }
  }
}
