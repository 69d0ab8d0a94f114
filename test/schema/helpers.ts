import assert from 'node:assert/strict';
import { LlmStateError, type Runtime, type Scope } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { encodeStateKey } from '../../src/state/keyCodec.js';
import { decodeRecord } from '../../src/storage/recordEnvelope.js';

/** The schema (`name@version`) a stored record's envelope names, read raw from the store. */
export async function schemaTagOf(rt: Runtime, scope: Scope, key: string): Promise<string | undefined> {
  const raw = await storageOf(rt).get('state', encodeStateKey(scope, key));
  return raw === undefined ? undefined : decodeRecord(raw).schema;
}

/** For `assert.rejects`: an LlmStateError with this code. */
export function withCode(expected: string) {
  return (error: unknown) => {
    assert.ok(error instanceof LlmStateError, String(error));
    assert.equal(error.code, expected, error.message);
    return true;
  };
}
