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

export type BatchOp =
  | { type: 'put'; sublevel: SublevelName; key: Buffer; value: Buffer }
  | { type: 'del'; sublevel: SublevelName; key: Buffer };

export interface BatchOptions {
  /** fsync before acknowledging. */
  sync?: boolean;
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
      throw storageError(`Batch of ${ops.length} operations failed; nothing was written`, err);
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
