import { childPath } from '../state/jsonData.js';

/**
 * Where a field sits in a record: its keys from the top, joined by dots, as in `name` or `address.city`.
 *
 * A key that holds a dot or a backslash escapes it with a backslash: the path `meta.a\.b` (in TypeScript
 * source, `'meta.a\\.b'`) names the key `a.b` inside `meta`, and `c\\d` names the key `c\d`. No other
 * backslash escape exists, and no key is empty. {@link fieldPath} builds a path from keys with the
 * escapes put in. A path never indexes into an array: a step that meets an array on its way fails.
 */
export type FieldPath = string;

/** How a message describes what a field path must be. */
export const FIELD_PATH_WORDING = 'a field path like `address.city` (keys joined by `.`, with `\\.` for a dot inside a key)';

/**
 * The field path of `keys`, each escaped so that {@link parseFieldPath} reads it back as one key.
 *
 * @throws {TypeError} when no key is given or a key is empty.
 * @example fieldPath('meta', 'a.b') // 'meta.a\\.b'
 */
export function fieldPath(...keys: string[]): FieldPath {
  if (keys.length === 0) throw new TypeError('Expected at least one key for a field path, got none');
  for (const [index, key] of keys.entries()) {
    if (typeof key !== 'string' || key.length === 0) {
      throw new TypeError(`Expected key ${index} of a field path to be a non-empty string, got ${JSON.stringify(key) ?? String(key)}`);
    }
  }
  return keys.map((key) => key.replace(/[\\.]/g, '\\$&')).join('.');
}

/** The keys that `path` names, or undefined when it is not a valid field path. */
export function parseFieldPath(path: unknown): string[] | undefined {
  if (typeof path !== 'string' || path.length === 0) return undefined;
  if (!path.includes('\\')) {
    const keys = path.split('.');
    return keys.includes('') ? undefined : keys;
  }
  const keys: string[] = [];
  let key = '';
  for (let i = 0; i < path.length; i++) {
    const char = path[i];
    if (char === '\\') {
      const escaped = path[i + 1];
      if (escaped !== '.' && escaped !== '\\') return undefined;
      key += escaped;
      i++;
    } else if (char === '.') {
      if (key === '') return undefined;
      keys.push(key);
      key = '';
    } else {
      key += char;
    }
  }
  if (key === '') return undefined;
  keys.push(key);
  return keys;
}

/** The JSON path (`$.address.city`, `$["a.b"]`) of the first `count` keys, as other value errors show paths. */
export function jsonPathOf(keys: readonly string[], count = keys.length): string {
  let path = '$';
  for (let i = 0; i < count; i++) path = childPath(path, keys[i]);
  return path;
}

/** True when `keys` names a field inside the field `outer` names, or the same field. */
export function isWithin(keys: readonly string[], outer: readonly string[]): boolean {
  return outer.length <= keys.length && outer.every((key, i) => keys[i] === key);
}
