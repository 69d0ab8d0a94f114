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
    const name = key.toString('utf8');
    definitions.push(JSON.parse(decodeRecord(record, { 'hook registration': name }).payload.toString('utf8')) as StoredHookDefinition);
  }
  return definitions;
}
