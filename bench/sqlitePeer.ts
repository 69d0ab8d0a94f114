/**
 * SQLite as a peer of llmstate and raw classic-level in P1 and P2: better-sqlite3 in WAL mode with
 * `synchronous = NORMAL`, which, like the runtime's default durability, survives a killed process.
 *
 * better-sqlite3 compiles SQLite when it is installed, so it lives in its own package, bench/peers,
 * installed on demand with `npm run bench:peers`; the main package never depends on it. Without it the
 * benchmarks skip the SQLite rows.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { withTempDir } from './harness.js';

/** The few better-sqlite3 methods used here (its types are not installed in the main package). */
interface Database {
  pragma(source: string, options: { simple: true }): unknown;
  exec(source: string): unknown;
  prepare(source: string): { run(...params: unknown[]): unknown; get(): unknown };
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  close(): unknown;
}

type DatabaseConstructor = new (filename: string) => Database;

/** A key–value table in a fresh SQLite file. */
export interface SqliteStore {
  /** One INSERT OR REPLACE, committed on its own (autocommit). Synchronous: it returns committed. */
  put(key: Buffer, value: Buffer): void;
  /** Runs `fn` in one transaction (BEGIN … COMMIT). */
  transaction(fn: () => void): void;
}

export interface SqlitePeer {
  /** e.g. `SQLite 3.53.2 (better-sqlite3 12.11.1), WAL, synchronous = NORMAL` */
  readonly description: string;
  /** Runs `fn` on a fresh store in a temp dir; the database is closed and the dir removed afterwards. */
  withStore<T>(label: string, fn: (store: SqliteStore) => Promise<T>): Promise<T>;
}

let loaded: SqlitePeer | null | undefined;

/**
 * better-sqlite3 from bench/peers, or null when it cannot be loaded; in that case one line says how to
 * add it (printed once per process).
 */
export function sqlitePeer(): SqlitePeer | null {
  if (loaded === undefined) loaded = load();
  return loaded;
}

function load(): SqlitePeer | null {
  const require = createRequire(new URL('./peers/package.json', import.meta.url));
  let Database: DatabaseConstructor;
  let description: string;
  try {
    Database = require('better-sqlite3') as DatabaseConstructor;
    const { version } = require('better-sqlite3/package.json') as { version: string };
    // The native addon loads with the first database, so a build for another Node version fails here.
    const memory = new Database(':memory:');
    const { v } = memory.prepare('SELECT sqlite_version() AS v').get() as { v: string };
    memory.close();
    description = `SQLite ${v} (better-sqlite3 ${version}), WAL, synchronous = NORMAL`;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why =
      code === 'MODULE_NOT_FOUND' ? 'better-sqlite3 is not installed in bench/peers' : `better-sqlite3 did not load (${String((error as Error).message).split('\n')[0]})`;
    console.log(`SQLite rows skipped: ${why}; add it with \`npm run bench:peers\` (compiles SQLite, about a minute)`);
    return null;
  }
  return {
    description,
    withStore: (label, fn) =>
      withTempDir(label, async (dir) => {
        const db = new Database(join(dir, 'peer.sqlite'));
        try {
          // A silent fallback to the rollback journal would make the comparison unfair, so check it.
          const mode = db.pragma('journal_mode = WAL', { simple: true });
          if (mode !== 'wal') throw new Error(`SQLite refused WAL mode (journal_mode is ${String(mode)})`);
          db.pragma('synchronous = NORMAL', { simple: true });
          db.exec('CREATE TABLE kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID');
          const insert = db.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)');
          const inTransaction = db.transaction((body: () => void) => body());
          return await fn({ put: (key, value) => void insert.run(key, value), transaction: inTransaction });
        } finally {
          db.close();
        }
      }),
  };
}
