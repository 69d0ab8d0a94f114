import { checkOptions, type CheckedOptions } from './checkOptions.js';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { CLOCK_OPTION, systemClock, type Clock } from './clock.js';
import { DEFAULT_MAX_VALUE_BYTES } from './state/values.js';
import { systemTimers, TIMERS_OPTION, type Timers } from './timers.js';
import type { BackupRuntimeOptions } from './backup/backupOptions.js';
import { checkRetentionPolicy } from './backup/retention.js';

/** Options of {@link createRuntime}. */
export interface RuntimeOptions {
  /** Directory of the LevelDB store; created if missing. Required unless `memory` is true. */
  dataDir?: string;
  /** Keep everything in memory (memory-level): nothing survives the process. @default false */
  memory?: boolean;
  /**
   * Another store than LevelDB: `{ postgres: { connectionString } }` keeps the data in a PostgreSQL
   * database that several runtimes, in several processes or on several machines, may share (see
   * docs/scale-out.md). Give it instead of `dataDir` or `memory`.
   */
  storage?: { postgres: PostgresStorageOptions };
  /**
   * Scope leases on a shared store: a scope's actor holds its lease while it is active, so that each
   * scope has one writer at a time across processes. Ignored on LevelDB, which one process owns.
   */
  leases?: LeaseRuntimeOptions;
  /**
   * `process`: an acknowledged write survives the process being killed. `sync`: it is also fsynced, so it
   * survives the machine losing power. @default 'process'
   */
  durability?: 'process' | 'sync';
  /** Largest value, in bytes of UTF-8 JSON. @default 1048576 (1 MiB) */
  maxValueBytes?: number;
  /** An actor unused for this long is passivated; its state stays in the store. @default 60000 */
  idleMs?: number;
  /** Cache and actor memory above this passivates the least recently used actors. @default 268435456 (256 MiB) */
  memoryBudgetBytes?: number;
  /** Most operations in one backend batch. @default 4096 */
  maxBatchOps?: number;
  /** A batch stops taking more writes once their values reach this many bytes. @default 16777216 (16 MiB) */
  maxBatchBytes?: number;
  /**
   * A transaction callback still running this long after it started is abandoned: the call rejects with
   * `TRANSACTION_TIMEOUT`, nothing is written, and `tx.signal` aborts. `transaction(…, { timeoutMs })`
   * overrides it per call. @default 30000
   */
  transactionTimeoutMs?: number;
  /**
   * How long `close()` lets open transactions finish. Those still running then end with `RUNTIME_CLOSED`
   * and write nothing, so `close()` always settles. Running hooks have their own `hooks.closeGraceMs`.
   * @default 5000
   */
  closeGraceMs?: number;
  /** Source of time, for tests. Give one that moves with `timers`. @default the system clock */
  clock?: Clock;
  /**
   * Source of timeouts, for tests: idle passivation, event retention, hook retries and breakers,
   * transaction time limits, the close grace periods, fault delays, and supervisor backoff and shutdown
   * all wait on it. Give a `clock` that moves with it. @default the host's timers
   */
  timers?: Timers;
  /**
   * The restart budget of the root supervisor: at most `intensity` restarts within `period` ms. One more
   * and the root fails, the runtime emits `runtime.fatal` and refuses writes with `SUPERVISOR_SHUTDOWN`.
   * Supervisors created with `rt.supervisors.create` take their own. @default { intensity: 3, period: 5000 }
   */
  supervisors?: { intensity?: number; period?: number };
  /** Seed of the fault injector's random choices, to repeat a fault rehearsal exactly. @default random */
  faultSeed?: number;
  /** A message that crashed its agent this many times is dead-lettered without being delivered again. @default 3 */
  poisonLimit?: number;
  /** The hook worker pool and hook history. */
  hooks?: HookRuntimeOptions;
  /**
   * Event log retention, applied when the runtime opens, every hour while it runs, and by
   * `rt.events.prune()`. Events a pending hook delivery needs are always kept. @default keep everything
   */
  eventRetention?: { maxAgeMs?: number; maxCount?: number };
  /** Where backups go, and an optional schedule and retention policy for them (see docs/backups.md). */
  backups?: BackupRuntimeOptions;
  /**
   * Retention of the audit log of access decisions, applied every `pruneEvery` decisions recorded. It
   * covers the entries of the built-in `audit` hook too, oldest first.
   * @default { maxCount: 1000000, maxAgeMs: 7776000000 (90 days), maxBytes: 268435456 (256 MiB), pruneEvery: 1000 }
   */
  audit?: { maxCount?: number; maxAgeMs?: number; maxBytes?: number; pruneEvery?: number };
  /** Sessions' time to live and their garbage collection (see docs/sessions.md). */
  sessions?: SessionRuntimeOptions;
}

/** Options of sessions (`createRuntime({ sessions })`). */
export interface SessionRuntimeOptions {
  /**
   * The time to live of a session started without `ttlMs`; `rt.sessions.start({ ttlMs: null })` still
   * starts one that never expires. @default none: sessions live until ended and collected
   */
  defaultTtlMs?: number;
  /** How often expired sessions are collected, besides once at open and by `rt.sessions.gc()`. @default 60000 */
  gcIntervalMs?: number;
}

/** Options of the hooks layer (`createRuntime({ hooks })`). */
export interface HookRuntimeOptions {
  /** Worker threads that run hooks, started on first use and kept. @default min(4, max(2, cores)) */
  threads?: number;
  /** Start delivering the outbox when the runtime opens. The CLI's read-only commands turn this off. @default true */
  autoStart?: boolean;
  /** How long `close()` waits for running hook executions; the rest run again after the next start. @default 5000 */
  closeGraceMs?: number;
  /** History retention, applied every `pruneEvery` recorded executions and by `rt.hooks.prune()`. */
  history?: { maxAgeMs?: number; maxCount?: number; maxBytes?: number; pruneEvery?: number };
  /**
   * Memory limits of each hook worker thread. A hook that goes over them fails with `HOOK_FAILED` (its
   * worker is stopped and replaced) instead of taking the process down.
   * @default { maxOldGenerationSizeMb: 512, stackSizeMb: 4 }
   */
  resourceLimits?: HookResourceLimits;
}

/** The memory limits of a hook worker thread (Node's `resourceLimits` of a worker). */
/** The PostgreSQL store of {@link RuntimeOptions.storage}. */
export interface PostgresStorageOptions {
  /** A libpq URL such as `postgres://user:password@host:5432/db`. */
  connectionString: string;
  /** The PostgreSQL schema that holds llmstate's tables; created when missing. @default 'llmstate' */
  schema?: string;
  /** Connections for reads and iterations; writes have two of their own. @default 10 */
  poolSize?: number;
}

/** {@link RuntimeOptions.leases}. */
export interface LeaseRuntimeOptions {
  /** How long a lease lasts unless renewed (every third of it): the time another process waits to take over the scopes of a process that died. @default 10000 */
  ttlMs?: number;
  /** How long a call waits for a scope that another live process holds, before `SCOPE_LEASED`. @default 0 (fail at once) */
  waitMs?: number;
  /** This runtime's name in the lease table, shown to other processes in `SCOPE_LEASED`. Unique per runtime. @default `<host>:<pid>:<random>` */
  owner?: string;
}

export interface HookResourceLimits {
  /** The worker's main heap, in MB; at least 16. @default 512 */
  maxOldGenerationSizeMb?: number;
  /** The heap for new objects, in MB. @default V8's choice for the old generation's size */
  maxYoungGenerationSizeMb?: number;
  /** The thread's stack, in MB, from 1 to 1024. @default 4 */
  stackSizeMb?: number;
}

export const DEFAULT_OPTIONS = {
  memory: false,
  leases: { ttlMs: 10_000, waitMs: 0, owner: undefined },
  durability: 'process',
  maxValueBytes: DEFAULT_MAX_VALUE_BYTES,
  idleMs: 60_000,
  memoryBudgetBytes: 256 * 1024 * 1024,
  maxBatchOps: 4096,
  maxBatchBytes: 16 * 1024 * 1024,
  transactionTimeoutMs: 30_000,
  closeGraceMs: 5000,
  poisonLimit: 3,
  supervisors: { intensity: 3, period: 5000 },
  sessions: { gcIntervalMs: 60_000 },
  hooks: {
    threads: Math.min(4, Math.max(2, availableParallelism())),
    autoStart: true,
    closeGraceMs: 5000,
    history: { maxAgeMs: 7 * 24 * 60 * 60 * 1000, maxCount: 100_000, maxBytes: 256 * 1024 * 1024, pruneEvery: 1000 },
    resourceLimits: { maxOldGenerationSizeMb: 512, stackSizeMb: 4 },
  },
  audit: { maxCount: 1_000_000, maxAgeMs: 90 * 24 * 60 * 60 * 1000, maxBytes: 256 * 1024 * 1024, pruneEvery: 1000 },
} as const satisfies Partial<ResolvedRuntimeOptions>;

const positiveInteger = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** Each option's schema, and how a message describes what it expects. */
const FIELDS = {
  dataDir: [z.string().min(1), 'a non-empty directory path'],
  memory: [z.boolean(), 'a boolean'],
  storage: [
    z.strictObject({
      postgres: z.strictObject({
        connectionString: z.string().min(1),
        schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).optional(),
        poolSize: positiveInteger.max(1000).optional(),
      }),
    }),
    'an object `{ postgres: { connectionString, schema?, poolSize? } }` (schema: lower-case letters, digits and _, at most 63)',
  ],
  leases: [
    z.strictObject({
      ttlMs: z.number().int().min(100).max(Number.MAX_SAFE_INTEGER).optional(),
      waitMs: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
      owner: z.string().min(1).max(200).optional(),
    }),
    'an object with `ttlMs` (an integer of at least 100), `waitMs` (a non-negative integer) and/or `owner` (a non-empty string)',
  ],
  durability: [z.enum(['process', 'sync']), "'process' or 'sync'"],
  maxValueBytes: [positiveInteger, 'a positive integer'],
  idleMs: [positiveInteger, 'a positive integer'],
  memoryBudgetBytes: [positiveInteger, 'a positive integer'],
  maxBatchOps: [positiveInteger, 'a positive integer'],
  maxBatchBytes: [positiveInteger, 'a positive integer'],
  transactionTimeoutMs: [positiveInteger, 'a positive integer'],
  closeGraceMs: [z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), 'a non-negative integer'],
  clock: CLOCK_OPTION,
  timers: TIMERS_OPTION,
  faultSeed: [z.number().int().min(0).max(2 ** 32 - 1), 'an integer from 0 to 2^32 - 1'],
  poisonLimit: [positiveInteger, 'a positive integer'],
  supervisors: [
    z.strictObject({ intensity: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(), period: positiveInteger.optional() }),
    'an object with `intensity` (a non-negative integer) and/or `period` (a positive integer of ms)',
  ],
  hooks: [
    z.strictObject({
      threads: positiveInteger.max(64).optional(),
      autoStart: z.boolean().optional(),
      closeGraceMs: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
      history: z
        .strictObject({ maxAgeMs: positiveInteger.optional(), maxCount: positiveInteger.optional(), maxBytes: positiveInteger.optional(), pruneEvery: positiveInteger.optional() })
        .optional(),
      // Checked on its own (RESOURCE_LIMIT_FIELDS), so that a message names the limit that is wrong.
      resourceLimits: z.unknown().optional(),
    }),
    'an object with `threads` (1–64), `autoStart`, `closeGraceMs`, `history` ({ maxAgeMs, maxCount, maxBytes, pruneEvery }) and `resourceLimits`',
  ],
  eventRetention: [
    z.strictObject({ maxAgeMs: positiveInteger.optional(), maxCount: positiveInteger.optional() }),
    'an object with positive integers `maxAgeMs` and/or `maxCount`',
  ],
  backups: [
    z.strictObject({
      dir: z.string().min(1).optional(),
      every: positiveInteger.optional(),
      incremental: z.boolean().optional(),
      // Checked on its own (checkRetentionPolicy), so that a message names the field that is wrong.
      retention: z.unknown().optional(),
      compression: z.enum(['brotli', 'gzip', 'none']).optional(),
      encrypt: z.boolean().optional(),
      key: z.union([z.instanceof(Buffer), z.string().min(1)]).optional(),
    }),
    'an object with `dir`, `every` (ms), `incremental`, `retention`, `compression`, `encrypt` and `key`',
  ],
  audit: [
    z.strictObject({ maxCount: positiveInteger.optional(), maxAgeMs: positiveInteger.optional(), maxBytes: positiveInteger.optional(), pruneEvery: positiveInteger.optional() }),
    'an object with positive integers `maxCount`, `maxAgeMs`, `maxBytes` and/or `pruneEvery`',
  ],
  sessions: [
    z.strictObject({ defaultTtlMs: positiveInteger.optional(), gcIntervalMs: positiveInteger.optional() }),
    'an object with positive integers `defaultTtlMs` and/or `gcIntervalMs` (ms)',
  ],
} as const satisfies Record<keyof RuntimeOptions, readonly [z.ZodType, string]>;

/** The options as given, once checked: each field has its schema's type. */
type GivenOptions = CheckedOptions<typeof FIELDS>;
type GivenHookOptions = NonNullable<GivenOptions['hooks']>;

/** {@link RuntimeOptions} with every default filled. */
export type ResolvedRuntimeOptions = Required<Omit<GivenOptions, 'dataDir' | 'storage' | 'leases' | 'supervisors' | 'hooks' | 'eventRetention' | 'backups' | 'audit' | 'sessions'>> & {
  /** The PostgreSQL store, when one was given instead of `dataDir` or `memory`. */
  postgres: PostgresStorageOptions | undefined;
  leases: { ttlMs: number; waitMs: number; owner: string | undefined };
  sessions: { defaultTtlMs?: number; gcIntervalMs: number };
  dataDir: string | undefined;
  backups: BackupRuntimeOptions;
  supervisors: Required<NonNullable<GivenOptions['supervisors']>>;
  hooks: ResolvedHookRuntimeOptions;
  eventRetention: NonNullable<GivenOptions['eventRetention']>;
  audit: Required<NonNullable<GivenOptions['audit']>>;
};

/** {@link HookRuntimeOptions} with every default filled. */
export type ResolvedHookRuntimeOptions = Required<Omit<GivenHookOptions, 'history' | 'resourceLimits'>> & {
  history: Required<NonNullable<GivenHookOptions['history']>>;
  resourceLimits: ResolvedResourceLimits;
};

type GivenResourceLimits = CheckedOptions<typeof RESOURCE_LIMIT_FIELDS>;
type ResolvedResourceLimits = Required<Omit<GivenResourceLimits, 'maxYoungGenerationSizeMb'>> & Pick<GivenResourceLimits, 'maxYoungGenerationSizeMb'>;


/**
 * Checks options once, at the edge, and fills defaults.
 *
 * @throws {TypeError} reading like ``Expected `idleMs` to be a positive integer, got `-1` (number)``.
 */
export function resolveRuntimeOptions(input: unknown): ResolvedRuntimeOptions {
  const options = checkOptions(input === undefined ? {} : input, FIELDS);
  const memory = options.memory ?? DEFAULT_OPTIONS.memory;
  const { dataDir } = options;
  const postgres = options.storage?.postgres;
  const stores = [dataDir !== undefined && '`dataDir`', memory && '`memory: true`', postgres !== undefined && '`storage.postgres`'].filter(Boolean);
  if (stores.length > 1) {
    throw new TypeError(`Expected one store, got ${stores.join(' and ')}`);
  }
  if (stores.length === 0) {
    throw new TypeError('Expected `dataDir` to be a non-empty directory path (or pass `memory: true`, or `storage: { postgres }`), got `undefined`');
  }
  if (postgres !== undefined && options.backups?.every !== undefined && options.backups.dir === undefined) {
    throw new TypeError(
      'Expected `backups.dir` to be a directory path when `backups.every` is set on PostgreSQL (a runtime on PostgreSQL has no data directory to keep backups in), got `undefined`',
    );
  }
  return {
    dataDir,
    memory,
    postgres,
    leases: {
      ttlMs: options.leases?.ttlMs ?? DEFAULT_OPTIONS.leases.ttlMs,
      waitMs: options.leases?.waitMs ?? DEFAULT_OPTIONS.leases.waitMs,
      owner: options.leases?.owner,
    },
    durability: options.durability ?? DEFAULT_OPTIONS.durability,
    maxValueBytes: options.maxValueBytes ?? DEFAULT_OPTIONS.maxValueBytes,
    idleMs: options.idleMs ?? DEFAULT_OPTIONS.idleMs,
    memoryBudgetBytes: options.memoryBudgetBytes ?? DEFAULT_OPTIONS.memoryBudgetBytes,
    maxBatchOps: options.maxBatchOps ?? DEFAULT_OPTIONS.maxBatchOps,
    maxBatchBytes: options.maxBatchBytes ?? DEFAULT_OPTIONS.maxBatchBytes,
    transactionTimeoutMs: options.transactionTimeoutMs ?? DEFAULT_OPTIONS.transactionTimeoutMs,
    closeGraceMs: options.closeGraceMs ?? DEFAULT_OPTIONS.closeGraceMs,
    clock: options.clock ?? systemClock,
    timers: options.timers ?? systemTimers,
    faultSeed: options.faultSeed ?? Math.floor(Math.random() * 2 ** 32),
    poisonLimit: options.poisonLimit ?? DEFAULT_OPTIONS.poisonLimit,
    supervisors: {
      intensity: options.supervisors?.intensity ?? DEFAULT_OPTIONS.supervisors.intensity,
      period: options.supervisors?.period ?? DEFAULT_OPTIONS.supervisors.period,
    },
    hooks: resolveHookOptions(options.hooks),
    eventRetention: { ...options.eventRetention },
    backups: resolveBackupOptions(options.backups),
    audit: resolveAuditOptions(options.audit),
    sessions: {
      ...(options.sessions?.defaultTtlMs === undefined ? {} : { defaultTtlMs: options.sessions.defaultTtlMs }),
      gcIntervalMs: options.sessions?.gcIntervalMs ?? DEFAULT_OPTIONS.sessions.gcIntervalMs,
    },
  };
}

function resolveAuditOptions(audit: GivenOptions['audit'] = {}): ResolvedRuntimeOptions['audit'] {
  const defaults = DEFAULT_OPTIONS.audit;
  return {
    maxCount: audit.maxCount ?? defaults.maxCount,
    maxAgeMs: audit.maxAgeMs ?? defaults.maxAgeMs,
    maxBytes: audit.maxBytes ?? defaults.maxBytes,
    pruneEvery: audit.pruneEvery ?? defaults.pruneEvery,
  };
}

function resolveBackupOptions(backups: GivenOptions['backups']): BackupRuntimeOptions {
  if (backups === undefined) return {};
  const { retention, ...rest } = backups;
  return { ...rest, ...(retention === undefined ? {} : { retention: checkRetentionPolicy(retention, 'backups.retention') }) } as BackupRuntimeOptions;
}

/**
 * A worker needs several MB of heap just to start (4 MB is too little under tsx), and piscina stops
 * replacing workers that fail while starting, so the floor is 16 MB. A stack far under 1 MB crashed the
 * process (0.1 MB, measured).
 */
const RESOURCE_LIMIT_FIELDS = {
  maxOldGenerationSizeMb: [z.number().int().min(16).max(Number.MAX_SAFE_INTEGER), 'an integer of at least 16'],
  maxYoungGenerationSizeMb: [positiveInteger, 'a positive integer'],
  stackSizeMb: [z.number().int().min(1).max(1024), 'an integer from 1 to 1024'],
} as const;

function resolveHookOptions(hooks: GivenHookOptions = {}): ResolvedHookRuntimeOptions {
  const defaults = DEFAULT_OPTIONS.hooks;
  const limits =
    hooks.resourceLimits === undefined ? {} : checkOptions(hooks.resourceLimits, RESOURCE_LIMIT_FIELDS, { what: '`hooks.resourceLimits`', field: 'resource limit' });
  return {
    threads: hooks.threads ?? defaults.threads,
    autoStart: hooks.autoStart ?? defaults.autoStart,
    closeGraceMs: hooks.closeGraceMs ?? defaults.closeGraceMs,
    history: { ...defaults.history, ...hooks.history },
    resourceLimits: {
      maxOldGenerationSizeMb: limits.maxOldGenerationSizeMb ?? defaults.resourceLimits.maxOldGenerationSizeMb,
      ...(limits.maxYoungGenerationSizeMb === undefined ? {} : { maxYoungGenerationSizeMb: limits.maxYoungGenerationSizeMb }),
      stackSizeMb: limits.stackSizeMb ?? defaults.resourceLimits.stackSizeMb,
    },
  };
}
