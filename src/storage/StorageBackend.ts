import { LlmStateError } from '../errors.js';

/** The namespaces of the one store (DESIGN §4). Every record lives in exactly one of them. */
export const SUBLEVELS = [
  'state',
  'events',
  'eventsByCorrelation',
  'eventsByAgent',
  'outbox',
  'hooks',
  'hookHistory',
  'hookHistoryByCorrelation',
  'hookDeadLetters',
  'audit',
  'agents',
  'meta',
  'backups',
  'migrations',
  'access',
  'sessions',
] as const;

export type SublevelName = (typeof SUBLEVELS)[number];

/**
 * The namespaces of administration (grants, quarantines, sessions, hook registrations): rarely written,
 * and held in memory by every runtime. A shared store tells each process of the changes other processes
 * commit to them.
 */
export const WATCHED_SUBLEVELS = ['access', 'sessions', 'hooks'] as const satisfies readonly SublevelName[];

export type WatchedSublevel = (typeof WATCHED_SUBLEVELS)[number];

/**
 * Keys of a watched namespace that another process's commit changed, or `'all'` when any key may have
 * changed unseen (at the start of a watch, and after its connection was lost).
 */
export interface ForeignChange {
  sublevel: WatchedSublevel;
  keys: readonly Buffer[] | 'all';
}

export type BatchOp =
  | { type: 'put'; sublevel: SublevelName; key: Buffer; value: Buffer }
  | { type: 'del'; sublevel: SublevelName; key: Buffer };

export interface BatchOptions {
  /** fsync before acknowledging. */
  sync?: boolean;
  /**
   * The leases the batch's writes depend on. A store shared by several processes refuses the batch with
   * LEASE_LOST, writing nothing, when one of them is no longer held; a store of one process has none.
   */
  fence?: readonly LeaseHold[];
}

/**
 * A scope lease that a commit depends on (DESIGN §17). A store shared by several processes checks, in
 * the commit's own transaction, that `owner` still holds `resource` at `epoch`, and refuses the commit
 * with LEASE_LOST otherwise; a store of one process has no leases and ignores them.
 */
export interface LeaseHold {
  readonly resource: string;
  readonly owner: string;
  readonly epoch: number;
}

/** Options of a sequenced commit: those of a batch. */
export type CommitOptions = BatchOptions;

/** A commit that has taken its sequence and not yet written: what a backend begins for {@link StorageBackend.commitNext}. */
export interface SequencedCommit {
  readonly seq: number;
  /** Writes `ops` with the sequence taken, all or nothing. */
  write(ops: readonly BatchOp[]): Promise<void>;
  /** Gives the sequence back: nothing was written. */
  abandon(): Promise<void> | void;
}

/** What {@link StorageBackend.acquireLease} found: the lease, or who holds it. */
export type LeaseAttempt =
  | { readonly acquired: true; readonly hold: LeaseHold; readonly expiresAt: number }
  | { readonly acquired: false; readonly owner: string; readonly epoch: number; readonly expiresAt: number };

/** A lease as the store keeps it (see {@link StorageBackend.listLeases}). */
export interface LeaseRecord {
  readonly resource: string;
  readonly owner: string;
  readonly epoch: number;
  /** By the server's clock, in ms since the epoch; `-Infinity` once released. */
  readonly expiresAt: number;
}

/** A point-in-time view of the store. Reads through it ignore every later write. Close it when done. */
export interface StorageSnapshot {
  close(): Promise<void>;
}

export interface ReadOptions {
  snapshot?: StorageSnapshot;
}

export interface RangeOptions extends ReadOptions {
  gt?: Buffer;
  gte?: Buffer;
  lt?: Buffer;
  lte?: Buffer;
  reverse?: boolean;
  limit?: number;
}

export type Entry = [key: Buffer, value: Buffer];

/**
 * Sees every operation before the backend runs it, and may delay or fail it. The fault injector and
 * tests use this seam so that injected failures travel the real write path.
 */
export interface StorageInterceptor {
  beforeBatch?(ops: readonly BatchOp[]): void | Promise<void>;
  beforeGet?(sublevel: SublevelName, key: Buffer): void | Promise<void>;
  /**
   * Whether `beforeGet` would act on a read now. When every interceptor says no, reads may be served
   * without waiting ({@link StorageBackend.getNow}). @default true when `beforeGet` is given
   */
  interceptsReads?(): boolean;
}

export type StorageStatus = 'opening' | 'open' | 'closing' | 'closed';

/**
 * The storage seam of the runtime: namespaced keys and values as bytes, atomic batches across
 * namespaces, and snapshot-consistent range reads.
 *
 * The public methods check state and wrap failures as `STORAGE_FAILED`; a backend implements only the
 * underscore methods, which receive checked arguments (the abstract-level pattern).
 */
export abstract class StorageBackend {
  #status: StorageStatus = 'closed';
  #interceptors: StorageInterceptor[] = [];

  /** Where the data lives, for messages: a directory, or `memory`. */
  abstract readonly location: string;

  get status(): StorageStatus {
    return this.#status;
  }

  async open(): Promise<void> {
    if (this.#status !== 'closed') throw storageError(`Cannot open the store at ${this.location}: it is ${this.#status}`);
    this.#status = 'opening';
    try {
      await this._open();
      this.#status = 'open';
    } catch (err) {
      this.#status = 'closed';
      throw err instanceof LlmStateError ? err : storageError(`Cannot open the store at ${this.location}`, err);
    }
  }

  async close(): Promise<void> {
    if (this.#status !== 'open') return;
    this.#status = 'closing';
    try {
      await this._close();
    } finally {
      this.#status = 'closed';
    }
  }

  async get(sublevel: SublevelName, key: Buffer, options: ReadOptions = {}): Promise<Buffer | undefined> {
    this.#assertOpen();
    try {
      for (const interceptor of this.#interceptors) await interceptor.beforeGet?.(sublevel, key);
      return await this._get(sublevel, key, options);
    } catch (err) {
      throw storageError(`Read from ${sublevel} failed`, err);
    }
  }

  /**
   * Reads a key without waiting, where the backend can (LevelDB and memory can; a database over a network
   * cannot) and no interceptor would act on the read: `{ value }`, or undefined when the caller must use
   * {@link get} instead. The actors use it for a few small reads that would otherwise cost a round trip
   * to the store's thread pool each.
   *
   * @throws {STORAGE_FAILED} when the read fails.
   */
  getNow(sublevel: SublevelName, key: Buffer): { value: Buffer | undefined } | undefined {
    if (this.#status !== 'open') return undefined;
    for (const interceptor of this.#interceptors) {
      if (interceptor.beforeGet !== undefined && (interceptor.interceptsReads?.() ?? true)) return undefined;
    }
    try {
      return this._getNow(sublevel, key);
    } catch (err) {
      throw storageError(`Read from ${sublevel} failed`, err);
    }
  }

  /** Commits every op or none. */
  async batch(ops: readonly BatchOp[], options: BatchOptions = {}): Promise<void> {
    this.#assertOpen();
    if (ops.length === 0) return;
    try {
      for (const interceptor of this.#interceptors) await interceptor.beforeBatch?.(ops);
      await this._batch(ops, options);
    } catch (err) {
      if (isUnknownOutcome(err) || (err instanceof LlmStateError && err.code === 'LEASE_LOST')) throw err;
      throw storageError(`Batch of ${ops.length} operations failed; nothing was written`, err);
    }
  }

  /**
   * Commits the batch that `build` makes for the next commit sequence, and returns that sequence, or
   * undefined when `build` made no operations (nothing is written and no sequence is used). `previous`
   * is the last sequence the caller knows of. A store of one process takes `previous + 1`; a store that
   * several processes share takes the next sequence of the store, in commit order, so that sequences stay
   * one counter consistent with the order of commits (DESIGN §4, §17). `build` runs once, synchronously.
   *
   * @throws {LEASE_LOST} when a lease in `options.fence` is no longer held; nothing is written.
   * @throws {STORAGE_FAILED} when the commit fails; nothing is written.
   */
  async commitNext(previous: number, build: (seq: number) => readonly BatchOp[], options: CommitOptions = {}): Promise<number | undefined> {
    this.#assertOpen();
    let begun: SequencedCommit;
    try {
      const beginning = this._beginCommit(previous, options);
      // A store of one process begins at once: no await on the way of every commit.
      begun = beginning instanceof Promise ? await beginning : beginning;
    } catch (err) {
      throw commitError(err);
    }
    let ops: readonly BatchOp[];
    try {
      ops = build(begun.seq);
    } catch (err) {
      await begun.abandon();
      throw err;
    }
    try {
      if (ops.length === 0) {
        await begun.abandon();
        return undefined;
      }
      for (const interceptor of this.#interceptors) await interceptor.beforeBatch?.(ops);
    } catch (err) {
      await abandonQuietly(begun);
      throw commitError(err, ops.length);
    }
    try {
      await begun.write(ops);
    } catch (err) {
      throw commitError(err, ops.length);
    }
    return begun.seq;
  }

  /** Whether other processes may write this store at the same time, so that active scopes hold leases. */
  get shared(): boolean {
    return false;
  }

  /**
   * Takes the lease on `resource` for `owner` until `ttlMs` from now, under a new epoch, when it is free,
   * expired or already `owner`'s; otherwise says who holds it. Only a shared store has leases.
   */
  async acquireLease(resource: string, owner: string, ttlMs: number): Promise<LeaseAttempt> {
    this.#assertOpen();
    try {
      return await this._acquireLease(resource, owner, ttlMs);
    } catch (err) {
      throw storageError(`Taking the lease on ${resource} failed`, err);
    }
  }

  /** Extends the leases still held to `ttlMs` from now, and returns those that were lost. */
  async renewLeases(holds: readonly LeaseHold[], ttlMs: number): Promise<LeaseHold[]> {
    this.#assertOpen();
    if (holds.length === 0) return [];
    try {
      return await this._renewLeases(holds, ttlMs);
    } catch (err) {
      throw storageError(`Renewing ${holds.length} leases failed`, err);
    }
  }

  /** Gives up leases still held; a lease lost in the meantime is left to its new owner. */
  async releaseLeases(holds: readonly LeaseHold[]): Promise<void> {
    this.#assertOpen();
    if (holds.length === 0) return;
    try {
      await this._releaseLeases(holds);
    } catch (err) {
      throw storageError(`Releasing ${holds.length} leases failed`, err);
    }
  }

  /**
   * The leases whose resource starts with `prefix`, by resource, with the server's time they were read
   * at; a store of one process has none.
   */
  async listLeases(prefix = ''): Promise<{ leases: LeaseRecord[]; readAt: number }> {
    this.#assertOpen();
    if (!this.shared) return { leases: [], readAt: Date.now() };
    try {
      return await this._listLeases(prefix);
    } catch (err) {
      throw storageError('Reading the leases failed', err);
    }
  }

  /**
   * Calls `listener` with what other processes commit to {@link WATCHED_SUBLEVELS}, in commit order, until
   * the returned function is called. The first call, once the watch is in place, is `'all'` for each
   * namespace: what was committed before it is unknown. A store of one process has no other writers, and
   * never calls it.
   */
  async watchForeignChanges(listener: (change: ForeignChange) => void): Promise<() => Promise<void>> {
    this.#assertOpen();
    try {
      return await this._watchForeignChanges(listener);
    } catch (err) {
      throw storageError('Watching for changes made by other processes failed', err);
    }
  }

  /** Entries of one namespace in key order (bytewise), read from one consistent snapshot. */
  async *iterate(sublevel: SublevelName, options: RangeOptions = {}): AsyncGenerator<Entry> {
    this.#assertOpen();
    try {
      yield* this._iterator(sublevel, options);
    } catch (err) {
      throw err instanceof LlmStateError ? err : storageError(`Iterating ${sublevel} failed`, err);
    }
  }

  /** A consistent view for several reads, such as a backup. */
  snapshot(): StorageSnapshot {
    this.#assertOpen();
    return this._snapshot();
  }

  /** Adds an interceptor and returns the function that removes it. */
  intercept(interceptor: StorageInterceptor): () => void {
    this.#interceptors.push(interceptor);
    return () => {
      this.#interceptors = this.#interceptors.filter((i) => i !== interceptor);
    };
  }

  /** Approximate bytes on disk, where the backend can tell. */
  async approximateSize(): Promise<number | undefined> {
    this.#assertOpen();
    return this._approximateSize();
  }

  #assertOpen(): void {
    if (this.#status !== 'open') throw storageError(`The store at ${this.location} is ${this.#status}`);
  }

  protected abstract _open(): Promise<void>;
  protected abstract _close(): Promise<void>;
  protected abstract _get(sublevel: SublevelName, key: Buffer, options: ReadOptions): Promise<Buffer | undefined>;
  protected abstract _batch(ops: readonly BatchOp[], options: BatchOptions): Promise<void>;
  protected abstract _iterator(sublevel: SublevelName, options: RangeOptions): AsyncIterable<Entry>;
  protected abstract _snapshot(): StorageSnapshot;
  /** A read that does not wait, or undefined when the backend cannot do one. */
  protected _getNow(_sublevel: SublevelName, _key: Buffer): { value: Buffer | undefined } | undefined {
    return undefined;
  }
  protected async _approximateSize(): Promise<number | undefined> {
    return undefined;
  }
  /** Begins a sequenced commit. A store of one process takes `previous + 1` and has no leases to check. */
  protected _beginCommit(previous: number, options: CommitOptions): SequencedCommit | Promise<SequencedCommit> {
    return { seq: previous + 1, write: (ops) => this._batch(ops, options), abandon: () => {} };
  }
  protected async _watchForeignChanges(_listener: (change: ForeignChange) => void): Promise<() => Promise<void>> {
    return async () => {};
  }
  protected async _acquireLease(_resource: string, _owner: string, _ttlMs: number): Promise<LeaseAttempt> {
    throw new TypeError(`The store at ${this.location} is not shared, so it has no leases`);
  }
  protected async _renewLeases(_holds: readonly LeaseHold[], _ttlMs: number): Promise<LeaseHold[]> {
    throw new TypeError(`The store at ${this.location} is not shared, so it has no leases`);
  }
  protected async _releaseLeases(_holds: readonly LeaseHold[]): Promise<void> {
    throw new TypeError(`The store at ${this.location} is not shared, so it has no leases`);
  }
  protected async _listLeases(_prefix: string): Promise<{ leases: LeaseRecord[]; readAt: number }> {
    throw new TypeError(`The store at ${this.location} is not shared, so it has no leases`);
  }
}

/**
 * A commit whose connection was lost before its outcome could be learnt: it may or may not have been
 * written (a backend that can find out, as PostgreSQL can, says so only when it could not).
 */
export function isUnknownOutcome(err: unknown): err is LlmStateError {
  return err instanceof LlmStateError && err.code === 'STORAGE_FAILED' && err.details?.outcome === 'unknown';
}

/** A refused lease passes through as it is: the caller must see LEASE_LOST, not a store failure. */
function commitError(err: unknown, count?: number): LlmStateError {
  if (err instanceof LlmStateError && err.code === 'LEASE_LOST') return err;
  if (isUnknownOutcome(err)) return err;
  return storageError(count === undefined ? 'Beginning a commit failed; nothing was written' : `Batch of ${count} operations failed; nothing was written`, err);
}

async function abandonQuietly(begun: SequencedCommit): Promise<void> {
  try {
    await begun.abandon();
  } catch {
    // The commit failed already; the failure to give the sequence back says nothing more.
  }
}

/**
 * Wraps a store failure. LevelDB's own corruption reports (a bad block, a checksum that fails) are
 * DATA_CORRUPT, not STORAGE_FAILED: retrying cannot help, and the data needs repair or a backup.
 */
export function storageError(message: string, cause?: unknown, details?: Record<string, unknown>): LlmStateError {
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  if (isCorruption(cause)) {
    return new LlmStateError('DATA_CORRUPT', `${message}${reason}. The store is damaged: run \`llmstate verify\` to see what, then repair or restore a backup`, { cause, details });
  }
  return new LlmStateError('STORAGE_FAILED', `${message}${reason}`, { cause, details });
}

function isCorruption(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth++) {
    if ((current as { code?: unknown }).code === 'LEVEL_CORRUPTION' || current.message.startsWith('Corruption:')) return true;
  }
  return false;
}
