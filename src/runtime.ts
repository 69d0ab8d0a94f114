import { join, resolve } from 'node:path';
import { rm } from 'node:fs/promises';
import { customAlphabet } from 'nanoid';
import type { ActorSystem } from '../actors/ActorSystem.js';
import type { FaultInjector } from '../supervisors/FaultInjector.js';
import type { Agents } from './agents/Agents.js';
import type { Supervisors } from './agents/Supervisors.js';
import { LlmStateError } from './errors.js';
import { checkCorrelationId, newCorrelationId, runCorrelated, currentCorrelation } from './events/correlation.js';
import type { Events } from './events/Events.js';
import { resolveRuntimeOptions, type PostgresStorageOptions, type ResolvedRuntimeOptions, type RuntimeOptions } from './runtimeOptions.js';
import type { StateManager } from './state/StateManager.js';
import type { StoreStats } from './storeStats.js';
import type { LeaseInfo, LeaseListOptions } from './leaseReport.js';
import { createDiskBackend, createMemoryBackend, createPostgresBackend, type StorageBackend } from './storage/index.js';
import { prepareDataDirectory, type StoreAccess } from './storage/dataDirectory.js';
import { activeStoreName, markStaging, newStoreName, removeInactiveStores, switchStore } from './storage/storeDirectory.js';
import { removeAbandonedStagings, stagePostgresStore } from './storage/postgresStaging.js';
import { readLastSeq } from './events/eventLog.js';
import { Backups, type BackupsHost } from './backup/Backups.js';
import type { StagedStore } from './backup/restore.js';
import type { Hooks } from './hooks/Hooks.js';
import { RuntimeCore, startCore, type RuntimeInternals, type RuntimeMetrics } from './runtimeCore.js';
import { SchemaRuntime } from './schema/SchemaRuntime.js';
import { schemaReportInput } from './schema/schemaReportInput.js';
import type { BuiltinInputs } from './hooks/builtinInputs.js';
import type { Schemas } from './schema/Schemas.js';
import type { Migrations } from './schema/Migrations.js';
import type { Access } from './access/Access.js';
import { SYSTEM } from './state/principal.js';
import { gateFor, ViewCache, type AsOptions, type Namespaces } from './runtimeView.js';
import type { Sessions } from './sessions/Sessions.js';
import { checkOptions, describeOption } from './checkOptions.js';
import { z } from 'zod';

export type { RuntimeMetrics } from './runtimeCore.js';

export interface CorrelateResult<T> {
  correlationId: string;
  result: T;
}

/** The options form of {@link Runtime.correlate}'s second argument. */
export interface CorrelateOptions {
  /** The correlation id to use. @default 21 random letters and digits */
  correlationId?: string;
  /**
   * Links the correlation id to this artifact before `fn` runs (`rt.sessions.linkArtifact(artifactId,
   * { correlationId })`), so that every write `fn` makes is linked, even if it fails part way.
   */
  artifactId?: string;
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
  /** Online backups, verification, restores (full, point in time, of some scopes) and retention. */
  readonly backups: Backups;
  /** Versioned zod schemas, bound to the keys they describe: writes there are validated. */
  readonly schemas: Schemas;
  /** Migrations between schema versions: check, plan, dry run, and all-or-nothing runs. */
  readonly migrations: Migrations;
  /** Grants, access checks, the audit log and quarantine (docs/access.md). */
  readonly access: Access;
  /** Who this runtime's calls act as: `system` on the runtime `createRuntime` returns. */
  readonly principal: string;
  /**
   * The same surface, with every call checked for `principal` (DESIGN §10): an agent reaches its own
   * scope, reads `global`, and needs a grant for the rest; a refusal is ACCESS_DENIED (or
   * AGENT_QUARANTINED) and is audited. Writes made through it record the principal, and hook actions
   * they trigger act as it. Only system may call `as`.
   *
   * @throws {TypeError} for a malformed principal or session id.
   * @example const ada = rt.as('agent:ada'); await ada.state.get(Scope.agent('bob'), 'notes') // ACCESS_DENIED
   */
  as(principal: string, options?: AsOptions): Runtime;
  /** Sessions with a time to live and garbage collection, and artifacts linked to the changes that produced them. */
  readonly sessions: Sessions;
  /** Where the store lives: the LevelDB directory, or `memory`. */
  readonly location: string;
  /** True once {@link Runtime.close} has begun. */
  readonly closed: boolean;
  /**
   * Runs `fn` in a new correlation context: every write it makes, directly or through awaits, records
   * `correlationId`. The second argument is the correlation id, or `{ correlationId?, artifactId? }`:
   * with `artifactId`, the correlation is linked to that artifact before `fn` runs.
   *
   * @throws {TypeError} for a bad correlation id or artifact id.
   * @example const { correlationId } = await rt.correlate(() => rt.state.set(scope, 'k', 1))
   * @example await rt.correlate(() => writeReport(), { artifactId: 'report-7.pdf' })
   */
  correlate<T>(fn: () => Promise<T> | T, options?: string | CorrelateOptions): Promise<CorrelateResult<T>>;
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
  /**
   * The leases of a store that several processes share (PostgreSQL), by resource: who holds each scope,
   * hook delivery and the migration lock, under which epoch, and until when; what `llmstate leases`
   * prints. A store of one process has none.
   *
   * @throws {RUNTIME_CLOSED} @throws {STORAGE_FAILED} @throws {TypeError} for bad options.
   * @example const owners = (await rt.leases({ prefix: 'agent:' })).filter((lease) => lease.state === 'held')
   */
  leases(options?: LeaseListOptions): Promise<LeaseInfo[]>;
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
  const runtime = new LlmStateRuntime(resolved, internals);
  try {
    await runtime.start(storage, access);
  } catch (error) {
    await storage.close();
    throw error;
  }
  return runtime;
}


async function openStorage(options: ResolvedRuntimeOptions, access: StoreAccess): Promise<StorageBackend> {
  if (options.memory) {
    const storage = createMemoryBackend();
    await storage.open();
    return storage;
  }
  if (options.postgres !== undefined) {
    const storage = createPostgresBackend(options.postgres);
    await storage.open();
    // What a restore that died left behind: a staged schema that no restore holds any more.
    await removeAbandonedStagings(options.postgres).catch(() => {});
    return storage;
  }
  const dataDir = resolve(options.dataDir!);
  const storage = createDiskBackend(await prepareDataDirectory(dataDir, access));
  await storage.open();
  // Holding the active store's lock, no other process is building a restore here: what a restore that
  // died left behind can go.
  await removeInactiveStores(dataDir).catch(() => {});
  return storage;
}

const CORRELATE_FIELDS = {
  correlationId: [z.string(), 'a correlation id'],
  artifactId: [z.string(), 'an artifact id'],
} as const;

const PRINCIPAL_VIEWS_KEPT = 1024;

const STORE_TAIL = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 8);

/**
 * The runtime users hold: the namespaces of its current {@link RuntimeCore}, which a full restore
 * replaces, plus what outlives a core (backups, correlate, close).
 */
class LlmStateRuntime implements Runtime {
  readonly backups: Backups;
  readonly #schema: SchemaRuntime;
  readonly #options: ResolvedRuntimeOptions;
  readonly #internals: RuntimeInternals;
  #core: RuntimeCore | undefined;
  /** A store that no core runs on: a restore stopped the core on it, and starting the next one failed. */
  #orphan: StorageBackend | undefined;
  #closing: Promise<void> | undefined;
  /** The namespaces as system sees them: quarantines still apply to system. */
  readonly #system = new ViewCache(gateFor(SYSTEM, undefined, () => this.#current.accessControl));
  readonly #principalViews = new Map<string, Runtime>();

  constructor(options: ResolvedRuntimeOptions, internals: RuntimeInternals) {
    this.#options = options;
    this.#internals = internals;
    this.backups = new Backups(this.#backupsHost());
    this.#schema = new SchemaRuntime({
      assertOpen: () => this.#assertOpen(),
      storage: () => this.#current.storage,
      record: (events, extraOps, fence) => this.#current.recordEvents(events, extraOps, fence),
      drain: (matches) => this.#current.actors.drain(matches),
      ownerOf: (scope) => this.#current.actors.ownerOf(scope),
      claim: (scope) => this.#current.actors.claim(scope),
      isLive: (scope) => this.#current.actors.peek(scope) !== undefined,
      letGo: (scope) => this.#current.actors.letGo(scope),
      lastSeq: () => this.#current.lastSeq,
      leases: () => this.#current.actors.leases,
      beforeUnscopedBatch: () => this.#current.faults.beforeUnscopedBatch(),
      exclusive: (work) => this.backups.exclusive(work),
      now: () => options.clock.now(),
      maxValueBytes: options.maxValueBytes,
      reportError: (error) => this.#current.reportBackgroundError(error),
    });
  }

  get schemas(): Schemas {
    return this.#views.schemas;
  }

  get migrations(): Migrations {
    return this.#views.migrations;
  }

  get access(): Access {
    return this.#views.access;
  }

  get principal(): string {
    return SYSTEM;
  }

  get #views(): Namespaces {
    return this.#system.of(this.#current, () => this.#namespaces());
  }

  /** The namespaces themselves, unchecked, as views wrap them. */
  #namespaces(): Namespaces {
    const core = this.#current;
    return {
      state: core.state,
      events: core.events,
      agents: core.agents,
      supervisors: core.supervisors,
      faults: core.faults,
      hooks: core.hooks,
      backups: this.backups,
      schemas: this.#schema.schemas,
      migrations: this.#schema.migrations,
      access: core.access,
      sessions: core.sessions,
    };
  }

  as(principal: string, options?: AsOptions): Runtime {
    this.#assertOpen();
    const gate = gateFor(principal, options, () => this.#current.accessControl);
    if (gate.isSystem && gate.boundSession === undefined) return this;
    const name = `${gate.principal.name}\u0000${gate.boundSession ?? ''}`;
    let view = this.#principalViews.get(name);
    if (view === undefined) {
      const cache = new ViewCache(gate);
      // Built again for each new core: a restore replaces the namespaces.
      view = new PrincipalRuntime(this, cache, () => cache.of(this.#current, () => this.#namespaces()), (sessions, fn, given) => this.#correlate(sessions, fn, given));
      // An application may call `as` per request: the views of the principals in use are kept, within bounds.
      if (this.#principalViews.size >= PRINCIPAL_VIEWS_KEPT) this.#principalViews.clear();
      this.#principalViews.set(name, view);
    }
    return view;
  }

  /** Starts a core on an open store. The caller closes the store when this fails. @internal */
  async start(storage: StorageBackend, access: StoreAccess): Promise<void> {
    await this.#startCore(storage, access);
    this.backups.startSchedule();
  }

  async #startCore(storage: StorageBackend, access: StoreAccess): Promise<void> {
    const builtinInputs: BuiltinInputs = { schemaReport: (events) => schemaReportInput(this.#schema.registry, events) };
    const attachSchemas = async (core: RuntimeCore) => {
      this.#core = core;
      await this.#schema.attach();
    };
    this.#core = await startCore(this.#options, storage, access, this.#internals, (error) => this.#reportFatal(error), this.#schema.guard, builtinInputs, attachSchemas);
    runtimeCores.set(this, this.#core);
  }

  #backupsHost(): BackupsHost {
    const options = this.#options;
    const dataDir = options.dataDir === undefined ? undefined : resolve(options.dataDir);
    const configured = options.backups.dir;
    return {
      assertOpen: () => this.#assertOpen(),
      storage: () => this.#current.storage,
      checkBackupable: () => this.#schema.checkBackupable(),
      record: (events) => this.#current.recordEvents(events),
      reportError: (error) => this.#current.reportBackgroundError(error),
      clock: options.clock,
      timers: options.timers,
      dir: configured !== undefined ? resolve(configured) : dataDir === undefined ? undefined : join(dataDir, 'backups'),
      store: options.postgres !== undefined ? 'postgres' : dataDir === undefined ? 'memory' : 'disk',
      options: options.backups,
      now: () => options.clock.now(),
      quiesce: async () => {
        const core = this.#current;
        await core.stop({ keepStorage: true, because: 'is being restored from a backup, or was: once restore() has resolved, use the namespaces of the runtime afresh (rt.state, rt.agents …)' });
        return core.storage;
      },
      resume: async (storage) => {
        try {
          await this.#startCore(storage, 'existing');
        } catch (error) {
          this.#orphan = storage;
          throw error;
        }
        this.#orphan = undefined;
        if (dataDir !== undefined) await removeInactiveStores(dataDir).catch((error: unknown) => this.#current.reportBackgroundError(error));
      },
      newStore: (id) => {
        if (options.postgres !== undefined) return stagedInPostgres(options.postgres, id, this.#current.actors.leases?.owner);
        return dataDir === undefined ? stagedInMemory() : stagedOnDisk(dataDir, `${id}_${STORE_TAIL()}`);
      },
    };
  }

  get #current(): RuntimeCore {
    return this.#core!;
  }

  get state(): StateManager {
    return this.#views.state;
  }

  get events(): Events {
    return this.#views.events;
  }

  get agents(): Agents {
    return this.#views.agents;
  }

  get supervisors(): Supervisors {
    return this.#views.supervisors;
  }

  get faults(): FaultInjector {
    return this.#views.faults;
  }

  get hooks(): Hooks {
    return this.#views.hooks;
  }

  get sessions(): Sessions {
    return this.#views.sessions;
  }

  get location(): string {
    return this.#current.storage.location;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  correlate<T>(fn: () => Promise<T> | T, options?: string | CorrelateOptions): Promise<CorrelateResult<T>> {
    return this.#correlate(() => this.sessions, fn, options);
  }

  /** {@link correlate}, linking the artifact through `sessions()`: a view's, so that the link is its principal's. */
  async #correlate<T>(sessions: () => Sessions, fn: () => Promise<T> | T, options: string | CorrelateOptions | undefined): Promise<CorrelateResult<T>> {
    this.#assertOpen();
    if (typeof fn !== 'function') throw new TypeError(`Expected \`fn\` to be a function, got ${typeof fn}`);
    if (options !== undefined && typeof options !== 'string' && (typeof options !== 'object' || options === null || Array.isArray(options))) {
      throw new TypeError(`Expected \`options\` to be a correlation id or an object with \`correlationId\` and/or \`artifactId\`, got ${describeOption(options)}`);
    }
    const { correlationId, artifactId } = typeof options === 'object' ? checkOptions(options, CORRELATE_FIELDS) : { correlationId: options, artifactId: undefined };
    if (correlationId !== undefined) checkCorrelationId(correlationId);
    const id = correlationId ?? newCorrelationId();
    const parent = currentCorrelation();
    const context = parent === undefined ? { correlationId: id } : { ...parent, correlationId: id };
    const result = await runCorrelated(context, async () => {
      if (artifactId !== undefined) await sessions().linkArtifact(artifactId, { correlationId: id });
      return fn();
    });
    return { correlationId: id, result };
  }

  metrics(): RuntimeMetrics {
    return this.#current.metrics();
  }

  async stats(): Promise<StoreStats> {
    this.#assertOpen();
    return this.#current.stats();
  }

  async leases(options?: LeaseListOptions): Promise<LeaseInfo[]> {
    this.#assertOpen();
    return this.#current.leases(options);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.backups.stopSchedule();
      await this.backups.idle();
      await this.#current.stop();
      await this.#orphan?.close();
    })();
    return this.#closing;
  }

  #reportFatal(error: LlmStateError): void {
    fatalListeners.get(this)?.forEach((listener) => listener(error));
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new LlmStateError('RUNTIME_CLOSED', `The runtime for ${this.location} is closed`);
    this.#current.assertOpen();
  }
}

/** The runtime's `correlate`, linking its artifact through the sessions given. */
type CorrelateThrough = <T>(sessions: () => Sessions, fn: () => Promise<T> | T, options: string | CorrelateOptions | undefined) => Promise<CorrelateResult<T>>;

/**
 * What `rt.as(principal)` returns: the runtime's surface, each namespace behind the principal's checks
 * (src/access/rules/ says who may call what). Administration of the runtime itself is system's.
 */
class PrincipalRuntime implements Runtime {
  readonly #runtime: LlmStateRuntime;
  readonly #cache: ViewCache;
  readonly #viewsNow: () => Namespaces;
  readonly #correlate: CorrelateThrough;

  constructor(runtime: LlmStateRuntime, cache: ViewCache, views: () => Namespaces, correlate: CorrelateThrough) {
    this.#runtime = runtime;
    this.#cache = cache;
    this.#viewsNow = views;
    this.#correlate = correlate;
  }

  get #views(): Namespaces {
    return this.#viewsNow();
  }

  get principal(): string {
    return this.#cache.gate.principal.name;
  }

  get state(): StateManager {
    return this.#views.state;
  }

  get events(): Events {
    return this.#views.events;
  }

  get agents(): Agents {
    return this.#views.agents;
  }

  get supervisors(): Supervisors {
    return this.#views.supervisors;
  }

  get faults(): FaultInjector {
    return this.#views.faults;
  }

  get hooks(): Hooks {
    return this.#views.hooks;
  }

  get backups(): Backups {
    return this.#views.backups;
  }

  get schemas(): Schemas {
    return this.#views.schemas;
  }

  get migrations(): Migrations {
    return this.#views.migrations;
  }

  get access(): Access {
    return this.#views.access;
  }

  get sessions(): Sessions {
    return this.#views.sessions;
  }

  get location(): string {
    return this.#runtime.location;
  }

  get closed(): boolean {
    return this.#runtime.closed;
  }

  correlate<T>(fn: () => Promise<T> | T, options?: string | CorrelateOptions): Promise<CorrelateResult<T>> {
    const gate = this.#cache.gate;
    // The artifact is linked through this view's sessions, as this principal: checked as its own
    // linkArtifact would be, and its event, and the hook actions it triggers, act as it.
    return gate.open('runtime.correlate', 'promise', () => this.#correlate(() => this.sessions, () => gate.run(fn), options));
  }

  metrics(): RuntimeMetrics {
    return this.#cache.gate.open('runtime.metrics', 'value', () => this.#runtime.metrics());
  }

  stats(): Promise<StoreStats> {
    return this.#cache.gate.systemOnly('runtime.stats', 'promise', () => this.#runtime.stats());
  }

  leases(options?: LeaseListOptions): Promise<LeaseInfo[]> {
    return this.#cache.gate.systemOnly('runtime.leases', 'promise', () => this.#runtime.leases(options));
  }

  as(principal: string, options?: AsOptions): Runtime {
    return this.#cache.gate.systemOnly('runtime.as', 'value', () => this.#runtime.as(principal, options));
  }

  close(): Promise<void> {
    return this.#cache.gate.systemOnly('runtime.close', 'promise', () => this.#runtime.close());
  }
}

/** A store for a restore, in memory: activating it hands it over as it is. */
async function stagedInMemory(): Promise<StagedStore> {
  const storage = createMemoryBackend();
  await storage.open();
  let active = false;
  return {
    storage,
    activate: async () => {
      active = true;
      return storage;
    },
    discard: async () => {
      if (!active) await storage.close();
    },
  };
}

/**
 * A store for a restore, in a directory of its own beside the active one. Activating it points the data
 * directory at it (one atomic rename) and reopens it; if reopening fails, the pointer goes back.
 */
async function stagedOnDisk(dataDir: string, tail: string): Promise<StagedStore> {
  const name = newStoreName(tail);
  const path = join(dataDir, name);
  await markStaging(dataDir, name);
  await rm(path, { recursive: true, force: true });
  const storage = createDiskBackend(path);
  await storage.open();
  let active = false;
  return {
    storage,
    activate: async () => {
      const previous = await activeStoreName(dataDir);
      await storage.close();
      await switchStore(dataDir, name);
      const reopened = createDiskBackend(path);
      try {
        await reopened.open();
      } catch (error) {
        await switchStore(dataDir, previous);
        throw error;
      }
      active = true;
      return reopened;
    },
    discard: async () => {
      if (active) return;
      await storage.close();
      await rm(path, { recursive: true, force: true });
      await rm(`${path}.staging`, { force: true });
    },
  };
}

/**
 * A store for a restore, in a PostgreSQL schema of its own beside the active one. Activating it switches
 * stores in one transaction (src/storage/postgresStaging.ts); it is refused while other processes hold
 * live leases on the store.
 */
async function stagedInPostgres(options: PostgresStorageOptions, backupId: string, owner: string | undefined): Promise<StagedStore> {
  const staging = await stagePostgresStore(options, { backupId, ...(owner === undefined ? {} : { owner }) });
  return {
    storage: staging.storage,
    checkSwitchable: () => staging.checkAlone(),
    activate: async () => staging.activate(await readLastSeq(staging.storage)),
    discard: () => staging.discard(),
  };
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

const runtimeCores = new WeakMap<Runtime, RuntimeCore>();

function coreOf(rt: Runtime): RuntimeCore {
  const core = runtimeCores.get(rt);
  if (core === undefined) throw new TypeError('Not a runtime created by createRuntime');
  return core;
}

/**
 * The storage backend under a runtime, for tests that inject faults or damage records. Tests only: the
 * library and the CLI read through the public API (test/noBackDoors.test.ts checks). @internal
 */
export function storageOf(rt: Runtime): StorageBackend {
  return coreOf(rt).storage;
}

/** The actor system under a runtime, for passivation tests. Tests only, as {@link storageOf}. @internal */
export function actorsOf(rt: Runtime): ActorSystem {
  return coreOf(rt).actors;
}
