import { Scope, SCOPE_KINDS, type ScopeKind } from './Scope.js';

/**
 * Stored keys are the tuple (scopeKind, scopeId…, key) joined with 0x00 and encoded as UTF-8.
 *
 * Why this is order-preserving and collision-free: the key rules forbid control characters in every
 * part, so 0x00 occurs only as a separator and sorts below any byte of a part. UTF-8 byte order is code
 * point order. The kind fixes how many parts follow, so a byte string decodes to exactly one tuple.
 */
const SEPARATOR = 0x00;
/** 0xff never occurs in UTF-8, so it bounds every key that starts with a given prefix. */
const AFTER_ALL = 0xff;

const prefixCache = new WeakMap<Scope, Buffer>();

/** The bytes every stored key of `scope` starts with: kind, ids, each followed by the separator. */
export function scopePrefix(scope: Scope): Buffer {
  let prefix = prefixCache.get(scope);
  if (prefix === undefined) {
    prefix = Buffer.from([scope.kind, ...scope.ids, ''].join('\x00'), 'utf8');
    prefixCache.set(scope, prefix);
  }
  return prefix;
}

export function encodeStateKey(scope: Scope, key: string): Buffer {
  const prefix = scopePrefix(scope);
  const out = Buffer.allocUnsafe(prefix.length + Buffer.byteLength(key, 'utf8'));
  prefix.copy(out, 0);
  out.write(key, prefix.length, 'utf8');
  return out;
}

export interface DecodedStateKey {
  scope: Scope;
  key: string;
}

/** The inverse of {@link encodeStateKey}. Returns undefined for bytes it did not produce. */
export function decodeStateKey(bytes: Buffer): DecodedStateKey | undefined {
  const parts = bytes.toString('utf8').split('\x00');
  const kind = parts[0] as ScopeKind;
  if (!(SCOPE_KINDS as readonly string[]).includes(kind)) return undefined;
  const arity = Scope.arity(kind);
  if (parts.length !== arity + 2) return undefined;
  return { scope: Scope.fromParts(kind, parts.slice(1, 1 + arity)), key: parts[arity + 1] };
}

/** The key range of a scope, optionally narrowed to keys starting with `keyPrefix`. */
export function scopeRange(scope: Scope, keyPrefix = ''): { gte: Buffer; lt: Buffer } {
  const gte = encodeStateKey(scope, keyPrefix);
  const lt = Buffer.allocUnsafe(gte.length + 1);
  gte.copy(lt, 0);
  lt[gte.length] = AFTER_ALL;
  return { gte, lt };
}

/** The key range of every scope of one kind. */
export function kindRange(kind: ScopeKind): { gte: Buffer; lt: Buffer } {
  const gte = Buffer.from(`${kind}\x00`, 'utf8');
  return { gte, lt: Buffer.concat([gte.subarray(0, gte.length - 1), Buffer.from([SEPARATOR + 1])]) };
}

/** Just the user key of an encoded state key whose scope is already known. */
export function keyAfterPrefix(bytes: Buffer, prefixLength: number): string {
  return bytes.toString('utf8', prefixLength);
}
