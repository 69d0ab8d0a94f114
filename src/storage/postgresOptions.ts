import { z } from 'zod';
import { checkOptions } from '../checkOptions.js';

/** Options of {@link createPostgresBackend}. */
export interface PostgresOptions {
  /** A libpq URL such as `postgres://user:password@host:5432/db`. */
  connectionString: string;
  /** The PostgreSQL schema holding the tables; created when missing. @default 'llmstate' */
  schema?: string;
  /** Connections for reads, iterations and snapshots. Writes have two of their own. @default 10 */
  poolSize?: number;
  /**
   * How long a transaction may sit idle before the server ends it and its connection, so that a snapshot
   * or an iteration abandoned without being closed cannot hold a connection or old row versions forever.
   * @default 60000
   */
  idleInTransactionMs?: number;
}

/** {@link PostgresOptions} with every default filled. */
export interface ResolvedPostgresOptions {
  connectionString: string;
  schema: string;
  poolSize: number;
  idleInTransactionMs: number;
}

export const DEFAULT_POSTGRES_OPTIONS = {
  schema: 'llmstate',
  poolSize: 10,
  idleInTransactionMs: 60_000,
} as const;

/** Schema names are written into SQL as identifiers, so only these are accepted. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

const positiveInteger = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const FIELDS = {
  connectionString: [z.string().min(1), 'a non-empty libpq URL'],
  schema: [z.string().regex(SCHEMA_NAME), 'a schema name of lower-case letters, digits and _, at most 63, not starting with a digit'],
  poolSize: [positiveInteger.max(1000), 'a positive integer up to 1000'],
  idleInTransactionMs: [positiveInteger.max(2_147_483_647), 'a positive integer of milliseconds'],
} as const;

/**
 * Checks the options once, at the edge, and fills the defaults.
 *
 * @throws {TypeError} reading like ``Expected `schema` to be a schema name …, got `"Bad-Name"` (string)``.
 */
export function resolvePostgresOptions(options: PostgresOptions): ResolvedPostgresOptions {
  const given = checkOptions(options, FIELDS, { what: 'the PostgreSQL options', required: ['connectionString'] });
  return {
    connectionString: given.connectionString,
    schema: given.schema ?? DEFAULT_POSTGRES_OPTIONS.schema,
    poolSize: given.poolSize ?? DEFAULT_POSTGRES_OPTIONS.poolSize,
    idleInTransactionMs: given.idleInTransactionMs ?? DEFAULT_POSTGRES_OPTIONS.idleInTransactionMs,
  };
}

/**
 * Where the data lives, for messages: the URL without its password or query (which may hold one), and the
 * schema, such as `postgres://app@db:5432/agents (schema llmstate)`.
 */
export function describePostgresLocation(connectionString: string, schema: string): string {
  return `${withoutSecrets(connectionString)} (schema ${schema})`;
}

function withoutSecrets(connectionString: string): string {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    // The keyword form, `host=db dbname=agents password=…`.
    return connectionString.replace(/\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S*)/gi, '').replace(/\s+/g, ' ').trim();
  }
  const user = url.username === '' ? '' : `${url.username}@`;
  return `${url.protocol}//${user}${url.host}${url.pathname}`;
}

/**
 * What the connections call themselves in `pg_stat_activity`: `llmstate` and the schema, so that an operator
 * can tell which store a connection serves. PostgreSQL keeps 63 bytes of it.
 */
export function applicationName(schema: string): string {
  return `llmstate:${schema}`.slice(0, 63);
}
