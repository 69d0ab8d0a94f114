import { decodeRecord, encodeRecord } from '../storage/recordEnvelope.js';
import type { BatchOp, StorageBackend } from '../storage/index.js';

/** A schema version as the store keeps it: enough to validate, compare and document without the code. */
export interface StoredSchema {
  name: string;
  version: string;
  hash: string;
  jsonSchema: Record<string, unknown>;
  registeredAt: number;
  description?: string;
}

/** Where a schema applies: writes to matching keys are validated against its newest version. */
export interface SchemaBinding {
  schema: string;
  /** Only scopes of this kind; every kind when absent. */
  scopeKind?: string;
  /** Only keys that start with this; every key when absent. */
  keyPrefix?: string;
  boundAt: number;
}

/** A migration as the store keeps it: its steps in their JSON form (a custom step keeps only its name). */
export interface StoredMigration {
  schema: string;
  from: string;
  to: string;
  steps: unknown[];
  definedAt: number;
}

// Meta keys. The parts never hold 0x00: names, versions, scope kinds and key prefixes all forbid it.
const SCHEMA = 'schema\x00';
const BINDING = 'schemaBinding\x00';
const MIGRATION = 'migrationDefinition\x00';

export function schemaRecordOp(schema: StoredSchema): BatchOp {
  return put(`${SCHEMA}${schema.name}\x00${schema.version}`, schema, schema.registeredAt);
}

export function bindingRecordOp(binding: SchemaBinding): BatchOp {
  return put(`${BINDING}${bindingId(binding)}`, binding, binding.boundAt);
}

export function migrationRecordOp(migration: StoredMigration): BatchOp {
  return put(`${MIGRATION}${migration.schema}\x00${migration.from}\x00${migration.to}`, migration, migration.definedAt);
}

/** Two bindings with the same id are the same binding. */
export function bindingId(binding: Pick<SchemaBinding, 'schema' | 'scopeKind' | 'keyPrefix'>): string {
  return `${binding.schema}\x00${binding.scopeKind ?? ''}\x00${binding.keyPrefix ?? ''}`;
}

export interface StoredRegistry {
  schemas: StoredSchema[];
  bindings: SchemaBinding[];
  migrations: StoredMigration[];
}

/** @throws {DATA_CORRUPT} when a record fails its checksum. */
export async function readStoredRegistry(storage: StorageBackend): Promise<StoredRegistry> {
  return {
    schemas: await readAll<StoredSchema>(storage, SCHEMA, 'schema'),
    bindings: await readAll<SchemaBinding>(storage, BINDING, 'schema binding'),
    migrations: await readAll<StoredMigration>(storage, MIGRATION, 'migration definition'),
  };
}

function put(key: string, value: unknown, at: number): BatchOp {
  return { type: 'put', sublevel: 'meta', key: Buffer.from(key, 'utf8'), value: encodeRecord({ seq: 0, timestamp: at }, JSON.stringify(value)) };
}

async function readAll<T>(storage: StorageBackend, prefix: string, what: string): Promise<T[]> {
  const gte = Buffer.from(prefix, 'utf8');
  const lt = Buffer.from(prefix.slice(0, -1) + '\x01', 'utf8');
  const found: T[] = [];
  for await (const [key, value] of storage.iterate('meta', { gte, lt })) {
    const { payload } = decodeRecord(value, { [what]: key.toString('utf8', gte.length).replaceAll('\x00', ' ') });
    found.push(JSON.parse(payload.toString('utf8')) as T);
  }
  return found;
}
