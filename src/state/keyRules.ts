import { quoteForDisplay } from '../displayText.js';
import { LlmStateError, type ErrorCode } from '../errors.js';

/** Longest key, in code points after NFC normalisation. */
export const MAX_KEY_LENGTH = 256;
/** Longest scope id, in code points after NFC normalisation. */
export const MAX_SCOPE_ID_LENGTH = 128;

/** The rule a rejected key or scope id broke; it is in the message and in `details.rule`. */
export type KeyRule =
  | 'type'
  | 'empty'
  | 'too-long'
  | 'control-character'
  | 'lone-surrogate'
  | 'backslash'
  | 'leading-slash'
  | 'dot-segment'
  | 'reserved-prefix';

const PLAIN_ASCII = /^[\x20-\x7e]*$/;
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
// With the u flag a surrogate pair is one code point, so only lone surrogates fall in this range.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Checks a key against every rule of DESIGN §4 and returns its NFC form.
 *
 * @throws {STATE_KEY_INVALID} naming the broken rule in the message and in `details.rule`.
 */
export function normalizeKey(key: unknown): string {
  return checkName(key, 'key', MAX_KEY_LENGTH, 'STATE_KEY_INVALID');
}

/**
 * Checks one part of a scope's identity (an agent id, a workflow id, a step name …) by the key rules,
 * with the shorter scope-id limit.
 *
 * @throws {SCOPE_INVALID}
 */
export function normalizeScopeId(id: unknown, what: string): string {
  return checkName(id, what, MAX_SCOPE_ID_LENGTH, 'SCOPE_INVALID');
}

function checkName(input: unknown, what: string, maxLength: number, code: ErrorCode): string {
  if (typeof input !== 'string') {
    throw reject(code, what, input, 'type', `must be a string, got ${describeType(input)}`);
  }
  // Printable ASCII is already NFC and free of surrogates and controls: skip that work on the hot path.
  const ascii = PLAIN_ASCII.test(input);
  if (!ascii && LONE_SURROGATE.test(input)) {
    throw reject(code, what, input, 'lone-surrogate', 'must not contain a lone surrogate (it is not valid Unicode)');
  }
  const name = ascii ? input : input.normalize('NFC');
  if (name.length === 0) throw reject(code, what, input, 'empty', 'must not be empty');
  const length = ascii ? name.length : countCodePoints(name);
  if (length > maxLength) {
    throw reject(code, what, input, 'too-long', `must be at most ${maxLength} code points, got ${length}`);
  }
  if (!ascii) {
    const control = CONTROL.exec(name);
    if (control !== null) {
      const codePoint = `U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
      throw reject(code, what, input, 'control-character', `must not contain control characters (found ${codePoint})`);
    }
  }
  if (name.includes('\\')) throw reject(code, what, input, 'backslash', 'must not contain a backslash');
  if (name.startsWith('/')) throw reject(code, what, input, 'leading-slash', "must not start with '/'");
  if (name.startsWith('__')) throw reject(code, what, input, 'reserved-prefix', "must not start with '__' (reserved)");
  if (name.includes('.') && name.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw reject(code, what, input, 'dot-segment', "must not have a '/'-separated segment equal to '.' or '..'");
  }
  return name;
}

function countCodePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function reject(code: ErrorCode, what: string, input: unknown, rule: KeyRule, reason: string): LlmStateError {
  // Only here, on the way out, is the input escaped and shortened for the message; `details` keeps it whole.
  const shown = typeof input === 'string' ? quoteForDisplay(input) : '';
  const subject = shown === '' ? `The ${what}` : `The ${what} ${shown}`;
  return new LlmStateError(code, `${subject} ${reason} [rule: ${rule}]`, { details: { rule, [fieldName(what)]: input } });
}

function fieldName(what: string): string {
  return what === 'key' ? 'key' : 'id';
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
