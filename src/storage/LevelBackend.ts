import type { AbstractLevel, AbstractSublevel, AbstractSnapshot } from 'abstract-level';
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import {
  StorageBackend,
  SUBLEVELS,
  storageError,
  type BatchOp,
  type BatchOptions,
  type Entry,
  type RangeOptions,
  type ReadOptions,
  type StorageSnapshot,
  type SublevelName,
} from './StorageBackend.js';

type Db = AbstractLevel<Buffer, Buffer, Buffer>;
type Sublevel = AbstractSublevel<Db, Buffer, Buffer, Buffer>;

const BUFFERS = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;
/** `sync` is a classic-level option; memory-level ignores it. */
const SYNC = { sync: true };

function prefixed(prefix: Buffer, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + key.length);
  prefix.copy(out, 0);
  key.copy(out, prefix.length);
  return out;
}

/**
 * A {@link StorageBackend} over any abstract-level database. Each namespace is a sublevel of one root, so
 * a batch that spans namespaces is still one atomic LevelDB write.
 */
export class LevelBackend extends StorageBackend {
  readonly location: string;
  readonly #db: Db;
  readonly #sublevels: Record<SublevelName, Sublevel>;
  readonly #prefixes: Record<SublevelName, Buffer>;

  constructor(db: Db, location: string) {
    super();
    // abstract-level opens a database by itself on the next microtask. Cancel that, so that a backend
    // touches its directory (and takes the LevelDB lock) only in open(), and close() can release it.
    void db.close();
    this.#db = db;
    this.location = location;
    this.#sublevels = Object.fromEntries(
      SUBLEVELS.map((name) => [name, db.sublevel<Buffer, Buffer>(name, BUFFERS)]),
    ) as Record<SublevelName, Sublevel>;
    this.#prefixes = Object.fromEntries(SUBLEVELS.map((name) => [name, Buffer.from(this.#sublevels[name].prefix, 'utf8')])) as Record<SublevelName, Buffer>;
  }

  protected async _open(): Promise<void> {
    try {
      await this.#db.open();
      // Closing the root closes its sublevels, and reopening the root does not reopen them.
      await Promise.all(Object.values(this.#sublevels).map((sublevel) => sublevel.open()));
    } catch (err) {
      throw describeOpenFailure(err, this.location);
    }
  }

  protected async _close(): Promise<void> {
    await this.#db.close();
  }

  protected async _get(sublevel: SublevelName, key: Buffer, options: ReadOptions): Promise<Buffer | undefined> {
    const value = await this.#sublevels[sublevel].get(key, levelReadOptions(options));
    return value ?? undefined;
  }

  protected async _batch(ops: readonly BatchOp[], options: BatchOptions): Promise<void> {
    // A chained batch on the root with the sublevel prefixes applied here writes the same bytes as
    // sublevel ops, but skips abstract-level's per-op option copying, which dominated the write path.
    const batch = this.#db.batch();
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      const key = prefixed(this.#prefixes[op.sublevel], op.key);
      if (op.type === 'put') batch.put(key, op.value);
      else batch.del(key);
    }
    await (options.sync === true ? batch.write(SYNC as object) : batch.write());
  }

  protected _iterator(sublevel: SublevelName, options: RangeOptions): AsyncIterable<Entry> {
    const { snapshot, ...range } = options;
    // abstract-level would encode a bound that is present but undefined as the bytes of 'undefined'.
    const levelOptions: Record<string, unknown> = Object.fromEntries(
      Object.entries(range).filter(([, value]) => value !== undefined),
    );
    if (snapshot !== undefined) levelOptions.snapshot = unwrap(snapshot);
    return this.#sublevels[sublevel].iterator(levelOptions) as AsyncIterable<Entry>;
  }

  protected _snapshot(): StorageSnapshot {
    return new LevelSnapshot(this.#db.snapshot());
  }

  protected override async _approximateSize(): Promise<number | undefined> {
    const db = this.#db as unknown as { approximateSize?: (start: Buffer, end: Buffer) => Promise<number> };
    if (typeof db.approximateSize !== 'function') return undefined;
    return db.approximateSize(Buffer.alloc(0), Buffer.from([0xff]));
  }
}

class LevelSnapshot implements StorageSnapshot {
  constructor(readonly inner: AbstractSnapshot) {}
  async close(): Promise<void> {
    await this.inner.close();
  }
}

function unwrap(snapshot: StorageSnapshot): AbstractSnapshot {
  if (!(snapshot instanceof LevelSnapshot)) throw new TypeError('Expected a snapshot taken from this backend');
  return snapshot.inner;
}

function levelReadOptions(options: ReadOptions): { snapshot?: AbstractSnapshot } {
  return options.snapshot === undefined ? {} : { snapshot: unwrap(options.snapshot) };
}

function describeOpenFailure(err: unknown, location: string) {
  const cause = (err as { cause?: { code?: string } }).cause;
  if (cause?.code === 'LEVEL_LOCKED') {
    const lock = `${location}/LOCK`;
    return storageError(
      `The data directory ${location} is already in use: its LevelDB lock ${lock} is held by another process ` +
        `(or by another runtime in this process). Close that one first`,
      err,
      { location, lock },
    );
  }
  return storageError(`Cannot open the store at ${location}`, err, { location });
}

/** LevelDB on disk, via classic-level. */
export function createDiskBackend(directory: string): LevelBackend {
  return new LevelBackend(new ClassicLevel<Buffer, Buffer>(directory, BUFFERS) as unknown as Db, directory);
}

/** An ephemeral in-memory store, via memory-level. */
export function createMemoryBackend(): LevelBackend {
  return new LevelBackend(new MemoryLevel<Buffer, Buffer>({ ...BUFFERS, storeEncoding: 'buffer' }) as unknown as Db, 'memory');
}
