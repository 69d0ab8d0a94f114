import type { AbstractLevel, AbstractSublevel, AbstractSnapshot } from 'abstract-level';
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import { dirname } from 'node:path';
import { LlmStateError } from '../errors.js';
import { checkWriteAheadLogs, clearCleanClose, markCleanClose, preserveDamagedLogs, rewriteCurrent, type WalCheck } from './walCheck.js';
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

/** How a LevelDB on disk treats damaged write-ahead logs when it opens. */
export interface DiskOptions {
  /**
   * Open what survives: LevelDB drops the damaged records, after a copy of the logs is kept. Without it,
   * opening a store with damaged logs fails with DATA_CORRUPT and changes nothing. @default false
   */
  salvage?: boolean;
  /** The time that names the folder of kept copies. @default the system clock */
  now?: () => number;
}

/**
 * A {@link StorageBackend} over any abstract-level database. Each namespace is a sublevel of one root, so
 * a batch that spans namespaces is still one atomic LevelDB write.
 */
export class LevelBackend extends StorageBackend {
  readonly location: string;
  /** What the check of the write-ahead logs found at the last open, on disk. */
  walCheck: WalCheck | undefined;
  /** Where copies of damaged logs were kept at the last open, if any were. */
  damagedLogsCopy: string | undefined;
  readonly #disk: DiskOptions | undefined;
  readonly #db: Db;
  readonly #sublevels: Record<SublevelName, Sublevel>;
  readonly #prefixes: Record<SublevelName, Buffer>;

  constructor(db: Db, location: string, disk?: DiskOptions) {
    super();
    this.#disk = disk;
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
    if (this.#disk !== undefined) await this.#checkLogs(this.#disk);
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
    if (this.#disk !== undefined) await markCleanClose(this.location);
  }

  /**
   * Reads the write-ahead logs before LevelDB replays them: LevelDB would skip damaged records without a
   * word and then delete the log. A damaged store is refused, unless salvaging, and its logs are copied.
   */
  async #checkLogs(disk: DiskOptions): Promise<void> {
    let check: WalCheck;
    try {
      check = await checkWriteAheadLogs(this.location);
    } catch (err) {
      throw describeOpenFailure(err, this.location);
    }
    this.walCheck = check;
    this.damagedLogsCopy = undefined;
    if (check.damaged) {
      this.damagedLogsCopy = await preserveDamagedLogs(this.location, check, new Date(disk.now?.() ?? Date.now()));
      if (disk.salvage !== true) throw damagedLogError(this.location, check, this.damagedLogsCopy);
      if (check.currentDamage !== undefined) {
        if (check.onlyManifest === undefined) throw damagedLogError(this.location, check, this.damagedLogsCopy);
        await rewriteCurrent(this.location, check.onlyManifest);
      }
    }
    await clearCleanClose(this.location);
  }

  protected async _get(sublevel: SublevelName, key: Buffer, options: ReadOptions): Promise<Buffer | undefined> {
    const value = await this.#sublevels[sublevel].get(key, levelReadOptions(options));
    return value ?? undefined;
  }

  protected override _getNow(sublevel: SublevelName, key: Buffer): { value: Buffer | undefined } {
    return { value: this.#sublevels[sublevel].getSync(key) ?? undefined };
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

  /**
   * The first key outside every sublevel, or undefined. Only another program writes one. One seek into
   * each gap between the sorted sublevel prefixes (and before the first and after the last), never a
   * scan, so that it costs the same on a store of any size.
   */
  async firstKeyOutsideSublevels(): Promise<Buffer | undefined> {
    const prefixes = Object.values(this.#prefixes).sort(Buffer.compare);
    let from: Buffer | undefined;
    for (const prefix of [...prefixes, undefined]) {
      const range = { ...(from === undefined ? {} : { gte: from }), ...(prefix === undefined ? {} : { lt: prefix }), limit: 1 };
      try {
        for await (const key of this.#db.keys(range)) return key;
      } catch (err) {
        throw storageError(`Reading the keys of ${this.location} between its namespaces failed`, err, { location: this.location });
      }
      if (prefix !== undefined) from = prefixEnd(prefix);
    }
    return undefined;
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

/** The smallest key above every key that starts with `prefix` (a sublevel prefix ends in `!`, never 0xff). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1]++;
  return end;
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

function damagedLogError(location: string, check: WalCheck, copy: string): LlmStateError {
  const damaged = check.files.filter((file) => file.damage.length > 0);
  const where = damaged
    .map((file) => `${file.name} (${file.damage.map((span) => `${span.bytes} bytes at ${span.offset}: ${span.reason}`).join('; ')})`)
    .join(', ');
  const dataDir = dirname(location);
  const what = [
    ...(check.currentDamage === undefined ? [] : [`its CURRENT file is damaged: ${check.currentDamage}`]),
    ...(damaged.length === 0 ? [] : [`damaged write-ahead logs: ${where}; LevelDB would drop ${check.damagedBytes} bytes of acknowledged writes on opening`]),
  ].join('; and ');
  const next =
    check.currentDamage !== undefined && check.onlyManifest === undefined
      ? 'Restore a backup: with more than one manifest (or none), which one is current cannot be told'
      : `Restore a backup, or run \`llmstate repair --data-dir ${dataDir}\` to open what survives and list what is missing`;
  return new LlmStateError(
    'DATA_CORRUPT',
    `The store at ${location} is damaged: ${what}. It was not opened and nothing was changed. A copy of the damaged files is in ${copy}. ${next}`,
    { details: { location, dataDir, copy, damagedBytes: check.damagedBytes, files: damaged, current: check.currentDamage } },
  );
}

/** LevelDB on disk, via classic-level. */
export function createDiskBackend(directory: string, options: DiskOptions = {}): LevelBackend {
  return new LevelBackend(new ClassicLevel<Buffer, Buffer>(directory, BUFFERS) as unknown as Db, directory, options);
}

/** An in-memory database, which keeps its data when closed and opened again. */
export function createMemoryDatabase(): MemoryLevel<Buffer, Buffer> {
  return new MemoryLevel<Buffer, Buffer>({ ...BUFFERS, storeEncoding: 'buffer' });
}

/**
 * An ephemeral in-memory store, via memory-level: on a database of its own, or on `database`, whose data
 * outlives the backend (the simulator reopens one after a simulated crash).
 */
export function createMemoryBackend(database: MemoryLevel<Buffer, Buffer> = createMemoryDatabase()): LevelBackend {
  return new LevelBackend(database as unknown as Db, 'memory');
}
