import { decodeStateKey, kindRange, scopePrefix } from '../state/keyCodec.js';
import type { Scope, ScopeKind } from '../state/Scope.js';
import { decodeRecord } from '../storage/recordEnvelope.js';
import type { StorageBackend, StorageSnapshot } from '../storage/index.js';
import type { SchemaRegistry } from './SchemaRegistry.js';

/** A stored value that a schema's binding applies to. */
export interface BoundRecord {
  /** Its key in the `state` namespace. */
  readonly stateKey: Buffer;
  readonly scope: Scope;
  readonly key: string;
  /** The commit that wrote it. */
  readonly seq: number;
  /** The `name@version` its envelope names, if any. */
  readonly schemaRef: string | undefined;
  readonly json: string;
}

/**
 * The records `schema` applies to, in key order, as of `snapshot`: the keys whose most specific binding is
 * one of the schema's. Only the kinds of scope its bindings name are read.
 *
 * @throws {DATA_CORRUPT} for a record that fails its checksum.
 */
export async function* boundRecords(storage: StorageBackend, snapshot: StorageSnapshot, registry: SchemaRegistry, schema: string): AsyncGenerator<BoundRecord> {
  for (const range of rangesOf(registry, schema)) {
    const keys = new StateKeyDecoder();
    for await (const [stateKey, value] of storage.iterate('state', { ...range, snapshot })) {
      const decoded = keys.decode(stateKey);
      if (decoded === undefined || registry.bindingFor(decoded.scope, decoded.key)?.schema !== schema) continue;
      const { seq, schema: schemaRef, payload } = decodeRecord(value, { scope: decoded.scope.toString(), key: decoded.key });
      yield { stateKey, scope: decoded.scope, key: decoded.key, seq, schemaRef, json: payload.toString('utf8') };
    }
  }
}

/** Counts what {@link boundRecords} would yield, reading keys only. */
export async function countBoundRecords(storage: StorageBackend, snapshot: StorageSnapshot, registry: SchemaRegistry, schema: string): Promise<number> {
  let count = 0;
  for (const range of rangesOf(registry, schema)) {
    const keys = new StateKeyDecoder();
    for await (const [stateKey] of storage.iterate('state', { ...range, snapshot })) {
      const decoded = keys.decode(stateKey);
      if (decoded !== undefined && registry.bindingFor(decoded.scope, decoded.key)?.schema === schema) count++;
    }
  }
  return count;
}

/** The state ranges to read: every state when a binding names no scope kind, else one range per kind. */
function rangesOf(registry: SchemaRegistry, schema: string): Array<{ gte?: Buffer; lt?: Buffer }> {
  const bindings = registry.bindings(schema);
  if (bindings.some((binding) => binding.scopeKind === undefined)) return [{}];
  const kinds = [...new Set(bindings.map((binding) => binding.scopeKind as ScopeKind))].sort();
  return kinds.map((kind) => kindRange(kind));
}

/**
 * Decodes state keys read in key order, where runs of keys share a scope: the scope of the previous key
 * is reused while its prefix matches, so a scope is built once per run rather than once per key.
 */
class StateKeyDecoder {
  #scope: Scope | undefined;
  #prefix: Buffer | undefined;

  decode(stateKey: Buffer): { scope: Scope; key: string } | undefined {
    const prefix = this.#prefix;
    // The rest must be one part (no separator), as decodeStateKey would insist.
    if (prefix !== undefined && stateKey.length >= prefix.length && stateKey.compare(prefix, 0, prefix.length, 0, prefix.length) === 0 && stateKey.indexOf(0, prefix.length) === -1) {
      return { scope: this.#scope!, key: stateKey.toString('utf8', prefix.length) };
    }
    const decoded = decodeStateKey(stateKey);
    if (decoded !== undefined) {
      this.#scope = decoded.scope;
      this.#prefix = scopePrefix(decoded.scope);
    }
    return decoded;
  }
}
