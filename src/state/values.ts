import { escapeForDisplay, shortenForDisplay } from '../displayText.js';
import { findNonJsonData, type JsonDataRules } from './jsonData.js';
import { LlmStateError } from '../errors.js';

/** Default limit on one value, serialised as UTF-8 JSON. */
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;
/** Deeper nesting is rejected before it can exhaust the stack of a reader. */
export const MAX_VALUE_DEPTH = 1000;
const VALUE_RULES: JsonDataRules = { maxDepth: MAX_VALUE_DEPTH, undefinedFields: 'invalid' };

/**
 * Validates that `value` is plain JSON data and returns its JSON text.
 *
 * @throws {VALUE_INVALID} with the path of the first bad part, as in `$.messages[2].at`.
 * @throws {VALUE_TOO_LARGE} when the UTF-8 JSON exceeds `maxBytes`.
 */
export function serializeValue(value: unknown, maxBytes: number): string {
  const problem = findNonJsonData(value, '$', VALUE_RULES);
  if (problem !== undefined) invalid(problem.path, problem.reason);
  const json = JSON.stringify(value);
  checkJsonSize(json, maxBytes);
  return json;
}

/**
 * Checks the size of JSON text that is known to be JSON data.
 *
 * @throws {VALUE_TOO_LARGE} when its UTF-8 exceeds `maxBytes`.
 */
export function checkJsonSize(json: string, maxBytes: number): void {
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
}

function invalid(path: string, reason: string): never {
  throw new LlmStateError('VALUE_INVALID', escapeForDisplay(`Invalid value at ${shortenForDisplay(path)}: ${reason}`), {
    details: { path, reason },
  });
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
