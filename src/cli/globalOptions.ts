import { InvalidArgumentError, type Command } from 'commander';
import { statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { quoteForDisplay } from '../displayText.js';
import { UsageError } from './output.js';
import { checkPostgresUrl } from './postgresUrl.js';
import type { StoreSource } from './storeSource.js';

/** Where the store lives when neither `--data-dir` nor `--postgres` is given. */
export const DEFAULT_DATA_DIR = './.llmstate';

/** The schema of a PostgreSQL store when `--pg-schema` is not given. */
export const DEFAULT_PG_SCHEMA = 'llmstate';

/** The environment variables that stand for `--postgres` and `--pg-schema`. */
export const POSTGRES_URL_ENV = 'LLMSTATE_POSTGRES_URL';
export const PG_SCHEMA_ENV = 'LLMSTATE_PG_SCHEMA';

/** The rule of the runtime's `storage.postgres.schema`, checked here so that a mistake is a usage error. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface GlobalOptions {
  /** The store the command works on. */
  store: StoreSource;
  /** False when the store is the default data directory, so that a command such as `demo` may choose its own. */
  storeGiven: boolean;
  /** The `--schemas` module, which registers the application's schemas and migrations. */
  schemas?: string;
}

interface ProgramOptions {
  dataDir: string;
  postgres?: string;
  pgSchema: string;
  schemas?: string;
}

/**
 * The options of the `llmstate` program, as seen from one of its subcommands. `--postgres` (or
 * LLMSTATE_POSTGRES_URL) names a PostgreSQL store; an explicit `--data-dir` wins over the variable, and
 * over nothing else: with `--postgres` it is a usage error.
 *
 * @throws {UsageError} for both `--postgres` and `--data-dir`, a URL that is not a PostgreSQL URL, a
 *   schema name PostgreSQL would need quoted, or `--pg-schema` without a PostgreSQL store.
 */
export function globalOptions(command: Command): GlobalOptions {
  const { dataDir, postgres, pgSchema, schemas } = command.optsWithGlobals<ProgramOptions>();
  const sourceOf = (name: keyof ProgramOptions) => command.getOptionValueSourceWithGlobals(name);
  const dataDirGiven = sourceOf('dataDir') !== 'default';
  const withSchemas = schemas === undefined ? {} : { schemas };
  if (dataDirGiven && sourceOf('postgres') === 'cli') {
    throw new UsageError('--postgres and --data-dir each name a store: give one of them');
  }
  if (postgres === undefined || dataDirGiven) {
    if (sourceOf('pgSchema') === 'cli') {
      throw new UsageError(`--pg-schema names a schema of a PostgreSQL store: give it with --postgres <url> (or ${POSTGRES_URL_ENV}), not with a data directory`);
    }
    return { store: { dataDir }, storeGiven: dataDirGiven, ...withSchemas };
  }
  const url = checkPostgresUrl(postgres, sourceOf('postgres') === 'env' ? POSTGRES_URL_ENV : '--postgres');
  const schemaFrom = sourceOf('pgSchema') === 'env' ? PG_SCHEMA_ENV : '--pg-schema';
  if (!SCHEMA_NAME.test(pgSchema)) {
    throw new UsageError(`${schemaFrom} must be lower-case letters, digits and _, not starting with a digit, at most 63 of them; got ${quoteForDisplay(pgSchema)}`);
  }
  return { store: { postgres: url, schema: pgSchema }, storeGiven: true, ...withSchemas };
}

/**
 * The commander parser of `--data-dir`: an empty path (which would mean the working directory) or a path
 * to something that is not a directory is a usage error, found before any command opens a store or
 * creates one. A directory that does not exist yet is fine here: `set` and `demo` create it, and the
 * reading commands say that there is no store in it.
 */
export function parseDataDir(text: string): string {
  if (text.length === 0) throw new InvalidArgumentError('Expected the directory of the store, got an empty path.');
  const stats = statPath(text);
  if (stats !== undefined && !stats.isDirectory()) throw new InvalidArgumentError(`${resolve(text)} is not a directory.`);
  return text;
}

/**
 * What is at `path`, or undefined when nothing is, for a parser that checks a path before the command
 * runs. A path that cannot name a file (a part of it is a file, it is too long, it loops) is a usage
 * error. Other errors, such as a permission denied, are left for the command to report with its code.
 */
export function statPath(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP') {
      throw new InvalidArgumentError(`Cannot use ${resolve(path)}: ${(error as Error).message}.`);
    }
    return undefined;
  }
}
