import { LlmStateError } from '../errors.js';

/** Default limit on one value, serialised as UTF-8 JSON. */
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;
/** Deeper nesting is rejected before it can exhaust the stack of a reader. */
export const MAX_VALUE_DEPTH = 1000;

/**
 * Validates that `value` is plain JSON data and returns its JSON text.
 *
 * @throws {VALUE_INVALID} with the path of the first bad part, as in `$.messages[2].at`.
 * @throws {VALUE_TOO_LARGE} when the UTF-8 JSON exceeds `maxBytes`.
 */
export function serializeValue(value: unknown, maxBytes: number): string {
  checkJsonData(value, '$', new Set(), 0);
  const json = JSON.stringify(value);
  // UTF-8 takes at least one byte and at most three per UTF-16 unit, so the exact count is rarely needed.
  if (json.length * 3 > maxBytes) {
    const bytes = json.length > maxBytes ? json.length : Buffer.byteLength(json, 'utf8');
    if (bytes > maxBytes) {
      throw new LlmStateError(
        'VALUE_TOO_LARGE',
        `The value is ${json.length > maxBytes ? 'at least ' : ''}${bytes} bytes as JSON; the limit is ${maxBytes}`,
        { details: { bytes, limit: maxBytes } },
      );
    }
  }
  return json;
}

function checkJsonData(value: unknown, path: string, ancestors: Set<object>, depth: number): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) invalid(path, `${value} is not a finite number`);
      return;
    case 'undefined':
      invalid(path, 'undefined is not JSON (use null, or leave the field out)');
    case 'function':
      invalid(path, 'a function is not JSON data');
    case 'symbol':
      invalid(path, 'a symbol is not JSON data');
    case 'bigint':
      invalid(path, 'a BigInt is not JSON data (store it as a string)');
  }
  if (value === null) return;
  const object = value as object;
  if (depth >= MAX_VALUE_DEPTH) invalid(path, `the value is nested deeper than ${MAX_VALUE_DEPTH} levels`);
  if (ancestors.has(object)) invalid(path, 'the value contains a cycle');
  ancestors.add(object);
  if (Array.isArray(object)) {
    checkArray(object, path, ancestors, depth);
  } else {
    checkPlainObject(object, path, ancestors, depth);
  }
  ancestors.delete(object);
}

function checkArray(array: unknown[], path: string, ancestors: Set<object>, depth: number): void {
  if (Object.getPrototypeOf(array) !== Array.prototype) invalid(path, 'an array subclass is not plain data');
  for (let i = 0; i < array.length; i++) {
    if (!(i in array)) invalid(`${path}[${i}]`, 'a sparse array hole is not JSON (use null)');
    checkJsonData(array[i], `${path}[${i}]`, ancestors, depth + 1);
  }
  if (Object.keys(array).length !== array.length) invalid(path, 'an array with extra named properties is not JSON');
  if (Object.getOwnPropertySymbols(array).length > 0) invalid(path, 'a symbol-keyed property is not JSON');
}

function checkPlainObject(object: object, path: string, ancestors: Set<object>, depth: number): void {
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    const name = (proto as { constructor?: { name?: string } })?.constructor?.name ?? 'unknown';
    invalid(path, `an instance of ${name} is not plain data (convert it to an object, string or number)`);
  }
  if (Object.getOwnPropertySymbols(object).length > 0) invalid(path, 'a symbol-keyed property is not JSON');
  for (const key of Object.keys(object)) {
    checkJsonData((object as Record<string, unknown>)[key], childPath(path, key), ancestors, depth + 1);
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function childPath(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function invalid(path: string, reason: string): never {
  throw new LlmStateError('VALUE_INVALID', `Invalid value at ${path}: ${reason}`, { details: { path, reason } });
}

/**
 * Parses stored JSON text into a deeply frozen value. JSON.parse defines `__proto__` as an own data
 * property, so a hostile key stays plain data.
 */
export function parseFrozen(json: string): unknown {
  return deepFreeze(JSON.parse(json));
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
