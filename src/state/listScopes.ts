import type { StorageBackend } from '../storage/index.js';
import { decodeStateKey, kindRange, scopeRange } from './keyCodec.js';
import type { Scope, ScopeKind } from './Scope.js';

/**
 * The scopes of `kind` that hold at least one committed key, whose id starts with `prefix`, after `after`,
 * at most `limit`, in key order. After each scope found it seeks past that scope's keys, so it reads one
 * key per scope: a scope of a million keys costs what a scope of one does.
 */
export async function listScopes(storage: StorageBackend, kind: ScopeKind, prefix: string, after: Scope | undefined, limit: number): Promise<Scope[]> {
  const kindBounds = kindRange(kind);
  const start = Buffer.concat([kindBounds.gte, Buffer.from(prefix, 'utf8')]);
  // Every id with the prefix sorts below the prefix followed by 0xff, which no UTF-8 text contains.
  const end = prefix === '' ? kindBounds.lt : Buffer.concat([start, Buffer.from([0xff])]);
  // `after` is a position in key order, whatever its kind: one of a later kind leaves nothing.
  let from = after === undefined ? start : maxBuffer(scopeRange(after).lt, start);
  if (Buffer.compare(from, end) >= 0) return [];
  const scopes: Scope[] = [];
  while (scopes.length < limit) {
    let found: Buffer | undefined;
    for await (const [key] of storage.iterate('state', { gte: from, lt: end, limit: 1 })) found = key;
    if (found === undefined) break;
    const decoded = decodeStateKey(found);
    if (decoded === undefined) break;
    scopes.push(decoded.scope);
    from = scopeRange(decoded.scope).lt;
  }
  return scopes;
}

function maxBuffer(a: Buffer, b: Buffer): Buffer {
  return Buffer.compare(a, b) >= 0 ? a : b;
}
