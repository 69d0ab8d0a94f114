import { join, resolve } from 'node:path';
import type { RuntimeOptions } from '../runtimeOptions.js';
import { redactPostgresUrl } from './postgresUrl.js';
import { UsageError } from './output.js';

/** A store in a LevelDB data directory (`--data-dir`). */
export interface DataDirStore {
  readonly dataDir: string;
}

/** A store in a schema of a PostgreSQL database (`--postgres`, `--pg-schema`). */
export interface PostgresStore {
  /** The URL as given, password included: pass it to the runtime, never print it. */
  readonly postgres: string;
  readonly schema: string;
}

/** The store a command works on. */
export type StoreSource = DataDirStore | PostgresStore;

export function isPostgresStore(store: StoreSource): store is PostgresStore {
  return 'postgres' in store;
}

/** The runtime options that open `store`. */
export function storeOptions(store: StoreSource): RuntimeOptions {
  return isPostgresStore(store) ? { storage: { postgres: { connectionString: store.postgres, schema: store.schema } } } : { dataDir: store.dataDir };
}

/**
 * The store as messages name it: the data directory's absolute path, or the URL with its password hidden
 * and the schema, such as `postgres://ada:***@db:5432/app (schema llmstate)`. Not yet escaped for display.
 */
export function describeStore(store: StoreSource): string {
  return isPostgresStore(store) ? `${redactPostgresUrl(store.postgres)} (schema ${store.schema})` : resolve(store.dataDir);
}

/**
 * The data directory of a command that works on LevelDB's own files.
 *
 * @param refusal Why the command cannot work on a PostgreSQL store, and what to do instead.
 * @throws {UsageError} on a PostgreSQL store.
 */
export function requireDataDir(store: StoreSource, refusal: string): string {
  if (isPostgresStore(store)) throw new UsageError(refusal);
  return store.dataDir;
}

/**
 * Where the backups of `store` go: `backupDir` when given, else `<data-dir>/backups`. A PostgreSQL store
 * has no data directory (and may be shared by machines that see different file systems), so its backups
 * go only where `backupDir` says.
 *
 * @param refusal What to do instead, for a PostgreSQL store without `backupDir`.
 * @throws {UsageError} on a PostgreSQL store without `backupDir`.
 */
export function backupDirFor(store: StoreSource, backupDir: string | undefined, refusal: string): string {
  return resolve(backupDir ?? join(requireDataDir(store, refusal), 'backups'));
}
