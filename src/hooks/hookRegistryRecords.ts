import type { BatchOp, StorageBackend } from '../storage/index.js';
import { decodeRecord, encodeRecord } from '../storage/recordEnvelope.js';
import type { HookDefinition } from './hookDefinition.js';

/**
 * A stored registration. That of a hook since unregistered stays, marked `unregisteredAt`, because its
 * `redact` paths still apply to what views show of its work (its dead letters, events it took).
 */
export type StoredHookDefinition = HookDefinition & { unregisteredAt?: number };

/** Registrations live in the `hooks` namespace, keyed by name, so they come back after a restart. */
export function definitionPut(definition: StoredHookDefinition): BatchOp {
  return {
    type: 'put',
    sublevel: 'hooks',
    key: Buffer.from(definition.name, 'utf8'),
    value: encodeRecord({ seq: 0, timestamp: definition.unregisteredAt ?? definition.registeredAt }, JSON.stringify(definition)),
  };
}

/** Every stored registration, by name, those of unregistered hooks included. @throws {DATA_CORRUPT} */
export async function readDefinitions(storage: StorageBackend): Promise<StoredHookDefinition[]> {
  const definitions: StoredHookDefinition[] = [];
  for await (const [key, record] of storage.iterate('hooks')) {
    definitions.push(parseDefinition(record, key.toString('utf8')));
  }
  return definitions;
}

/** The stored registration of `name`, or undefined. @throws {DATA_CORRUPT} */
export async function readDefinition(storage: StorageBackend, name: string): Promise<StoredHookDefinition | undefined> {
  const record = await storage.get('hooks', Buffer.from(name, 'utf8'));
  return record === undefined ? undefined : parseDefinition(record, name);
}

function parseDefinition(record: Buffer, name: string): StoredHookDefinition {
  return JSON.parse(decodeRecord(record, { 'hook registration': name }).payload.toString('utf8')) as StoredHookDefinition;
}
