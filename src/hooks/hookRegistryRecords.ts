import type { BatchOp, StorageBackend } from '../storage/index.js';
import { decodeRecord, encodeRecord } from '../storage/recordEnvelope.js';
import type { HookDefinition } from './hookDefinition.js';

/** Registrations live in the `hooks` namespace, keyed by name, so they come back after a restart. */
export function definitionPut(definition: HookDefinition): BatchOp {
  return {
    type: 'put',
    sublevel: 'hooks',
    key: Buffer.from(definition.name, 'utf8'),
    value: encodeRecord({ seq: 0, timestamp: definition.registeredAt }, JSON.stringify(definition)),
  };
}

export function definitionDel(name: string): BatchOp {
  return { type: 'del', sublevel: 'hooks', key: Buffer.from(name, 'utf8') };
}

/** Every stored registration, by name. @throws {DATA_CORRUPT} */
export async function readDefinitions(storage: StorageBackend): Promise<HookDefinition[]> {
  const definitions: HookDefinition[] = [];
  for await (const [key, record] of storage.iterate('hooks')) {
    const name = key.toString('utf8');
    definitions.push(JSON.parse(decodeRecord(record, { 'hook registration': name }).payload.toString('utf8')) as HookDefinition);
  }
  return definitions;
}
