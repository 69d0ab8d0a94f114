import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BaseCheckpointSaver, SerializerProtocol } from '@langchain/langgraph-checkpoint';
import { LlmStateError } from '../index.js';

const SQLITE_PACKAGE = '@langchain/langgraph-checkpoint-sqlite';

/** The columns SqliteSaver reads; a table without one of them is not its table. */
const TABLES: Record<string, readonly string[]> = {
  checkpoints: ['thread_id', 'checkpoint_ns', 'checkpoint_id', 'parent_checkpoint_id', 'type', 'checkpoint', 'metadata'],
  writes: ['thread_id', 'checkpoint_ns', 'checkpoint_id', 'task_id', 'idx', 'channel', 'type', 'value'],
};

export interface OpenSqliteCheckpointsOptions {
  /**
   * Directories to find @langchain/langgraph-checkpoint-sqlite from, in order (it is not a dependency of
   * llmstate: it belongs to the application that wrote the file).
   * @default [process.cwd()]
   */
  resolveFrom?: readonly string[];
  /** The serde the file was written with. @default SqliteSaver's own, JsonPlusSerializer */
  serde?: SerializerProtocol;
}

/** One thread of a SqliteSaver database, as its tables count it. */
export interface SqliteThread {
  threadId: string;
  checkpoints: number;
  namespaces: number;
}

/** A checkpoint's place, in the order an import copies them: oldest first. */
export interface SqliteCheckpointRef {
  checkpointNs: string;
  checkpointId: string;
}

/** The few better-sqlite3 members used here (llmstate does not depend on better-sqlite3's types). */
interface Database {
  prepare(sql: string): { all(...params: unknown[]): unknown[] };
  pragma(source: string, options: { simple: true }): unknown;
  close(): unknown;
}

type DatabaseConstructor = new (file: string, options?: { readonly?: boolean; fileMustExist?: boolean }) => Database;
type SqliteSaverConstructor = new (db: Database, serde?: SerializerProtocol) => BaseCheckpointSaver;

function failure(reason: string, message: string, details: Record<string, unknown>, cause?: unknown): LlmStateError {
  return new LlmStateError('IMPORT_FAILED', message, { details: { reason, ...details }, ...(cause === undefined ? {} : { cause }) });
}

/**
 * A SqliteSaver database opened read-only, checked to hold SqliteSaver's tables. Its checkpoints are read
 * through SqliteSaver itself (`saver`), so they come back exactly as the application would see them;
 * only the lists of threads and checkpoint ids are read from the tables directly, a few columns at a time.
 */
export class SqliteCheckpoints {
  readonly file: string;
  /** SqliteSaver on the file, read-only. */
  readonly saver: BaseCheckpointSaver;
  readonly #db: Database;
  readonly #cleanup: (() => void) | undefined;

  private constructor(file: string, db: Database, saver: BaseCheckpointSaver, cleanup: (() => void) | undefined) {
    this.file = file;
    this.#db = db;
    this.saver = saver;
    this.#cleanup = cleanup;
  }

  /**
   * Opens `file` read-only with the application's SqliteSaver.
   *
   * @throws {IMPORT_FAILED} `peer_missing` when @langchain/langgraph-checkpoint-sqlite cannot be found from
   * `resolveFrom`; `not_found`, `not_sqlite`, `not_checkpoints` (no SqliteSaver tables) or `damaged`.
   */
  static open(file: string, options: OpenSqliteCheckpointsOptions = {}): SqliteCheckpoints {
    const path = resolve(file);
    if (!existsSync(path)) throw failure('not_found', `There is no file ${path}; name the SqliteSaver database to import.`, { file: path });
    if (statSync(path).isDirectory()) throw failure('not_found', `${path} is a directory; name the SqliteSaver database file to import.`, { file: path });
    const { SqliteSaver, Database } = loadPeer(options.resolveFrom ?? [process.cwd()]);
    let db = openDatabase(Database, path);
    let cleanup: (() => void) | undefined;
    try {
      checkTables(db, path);
      // SqliteSaver switches its database to WAL when it first reads, which a read-only connection cannot
      // do: a file not in WAL mode (SqliteSaver always leaves it so) is read from a copy.
      if (db.pragma('journal_mode', { simple: true }) !== 'wal') {
        db.close();
        const dir = mkdtempSync(join(tmpdir(), 'llmstate-import-'));
        cleanup = () => rmSync(dir, { recursive: true, force: true });
        copyFileSync(path, join(dir, 'copy.sqlite'));
        db = new Database(join(dir, 'copy.sqlite'), { fileMustExist: true });
      }
    } catch (error) {
      db.close();
      cleanup?.();
      throw error;
    }
    return new SqliteCheckpoints(path, db, new SqliteSaver(db, options.serde), cleanup);
  }

  /**
   * Every thread, or those of `only`, in thread id order.
   *
   * @throws {IMPORT_FAILED} `thread_not_found` when a thread of `only` is not in the file.
   */
  threads(only?: readonly string[]): SqliteThread[] {
    const rows = this.#query<{ thread_id: unknown; checkpoints: number; namespaces: number }>(
      'SELECT thread_id, COUNT(*) AS checkpoints, COUNT(DISTINCT checkpoint_ns) AS namespaces FROM checkpoints GROUP BY thread_id ORDER BY thread_id',
    );
    const all = rows.map((row) => ({ threadId: String(row.thread_id), checkpoints: row.checkpoints, namespaces: row.namespaces }));
    if (only === undefined) return all;
    const wanted = new Set(only);
    const missing = [...wanted].filter((id) => !all.some((thread) => thread.threadId === id));
    if (missing.length > 0) {
      throw failure('thread_not_found', `${this.file} holds no thread ${missing.map((id) => JSON.stringify(id)).join(', ')}; nothing was imported.`, { file: this.file, threads: missing });
    }
    return all.filter((thread) => wanted.has(thread.threadId));
  }

  /** The checkpoints of one thread, every namespace, oldest first (checkpoint ids sort by time). */
  checkpointsOf(threadId: string): SqliteCheckpointRef[] {
    const rows = this.#query<{ checkpoint_ns: unknown; checkpoint_id: unknown }>(
      'SELECT checkpoint_ns, checkpoint_id FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id, checkpoint_ns',
      threadId,
    );
    return rows.map((row) => ({ checkpointNs: String(row.checkpoint_ns ?? ''), checkpointId: String(row.checkpoint_id) }));
  }

  close(): void {
    this.#db.close();
    this.#cleanup?.();
  }

  #query<T>(sql: string, ...params: unknown[]): T[] {
    try {
      return this.#db.prepare(sql).all(...params) as T[];
    } catch (error) {
      throw failure('damaged', `Cannot read ${this.file}: ${(error as Error).message}. The file is damaged; restore it from a copy, or check it with sqlite3's \`PRAGMA integrity_check\`.`, { file: this.file }, error);
    }
  }
}

function loadPeer(from: readonly string[]): { SqliteSaver: SqliteSaverConstructor; Database: DatabaseConstructor } {
  for (const dir of from) {
    const require = createRequire(join(resolve(dir), 'noop.js'));
    let entry: string;
    try {
      entry = require.resolve(SQLITE_PACKAGE);
    } catch {
      continue;
    }
    // better-sqlite3 is the SQLite package's own dependency: found from where that package is.
    const peerRequire = createRequire(entry);
    return {
      SqliteSaver: (peerRequire(entry) as { SqliteSaver: SqliteSaverConstructor }).SqliteSaver,
      Database: peerRequire('better-sqlite3') as DatabaseConstructor,
    };
  }
  throw failure(
    'peer_missing',
    `Cannot find ${SQLITE_PACKAGE} from ${from.map((dir) => resolve(dir)).join(' or ')}: reading a SqliteSaver database needs it. Run the command in the project that uses SqliteSaver, or install it there with \`npm install ${SQLITE_PACKAGE}\`.`,
    { package: SQLITE_PACKAGE, searched: from.map((dir) => resolve(dir)) },
  );
}

function openDatabase(Database: DatabaseConstructor, path: string): Database {
  try {
    return new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw failure('not_sqlite', `Cannot open ${path} as a SQLite database: ${(error as Error).message}.`, { file: path }, error);
  }
}

function checkTables(db: Database, path: string): void {
  let columns: Map<string, Set<string>>;
  try {
    columns = new Map(
      Object.keys(TABLES).map((table) => [table, new Set((db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((column) => column.name))]),
    );
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB') throw failure('not_sqlite', `${path} is not a SQLite database (${(error as Error).message}).`, { file: path }, error);
    throw failure('damaged', `Cannot read the tables of ${path}: ${(error as Error).message}.`, { file: path }, error);
  }
  for (const [table, needed] of Object.entries(TABLES)) {
    const missing = needed.filter((column) => !columns.get(table)!.has(column));
    if (missing.length === needed.length) {
      throw failure('not_checkpoints', `${path} is a SQLite database without SqliteSaver's \`${table}\` table, so it holds no LangGraph checkpoints.`, { file: path, table });
    }
    if (missing.length > 0) {
      throw failure('not_checkpoints', `The \`${table}\` table of ${path} lacks the column${missing.length === 1 ? '' : 's'} ${missing.join(', ')} that SqliteSaver writes.`, { file: path, table, missing });
    }
  }
}
