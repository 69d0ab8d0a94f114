import fc from 'fast-check';
import { z } from 'zod';
import { checkOptions } from '../checkOptions.js';
import { MAX_VALUE_DEPTH } from '../state/values.js';

/** Which values {@link jsonValues} draws. */
export interface JsonValuesOptions {
  /**
   * The largest value, as UTF-8 JSON. With `awkward`, some values are exactly this size. Pass the
   * runtime's `maxValueBytes` to test the limit itself. @default 4096
   */
  maxBytes?: number;
  /**
   * The deepest nesting of arrays and objects, counted as the runtime counts it (a top-level array is
   * one level). Random values stay shallow; with `awkward`, some are nested exactly this deep, when
   * `maxBytes` leaves room. @default MAX_VALUE_DEPTH (1000)
   */
  maxDepth?: number;
  /**
   * Include what JSON allows but careless code gets wrong: `__proto__` and `constructor` as object
   * keys, keys that are one string in NFC and another in NFD, lone surrogates, NUL and line separators
   * in strings, the extreme finite numbers, and values at `maxBytes` and at `maxDepth`. @default true
   */
  awkward?: boolean;
}

const FIELDS = {
  maxBytes: [z.number().int().min(16), 'an integer of at least 16'],
  maxDepth: [z.number().int().min(0).max(MAX_VALUE_DEPTH), `an integer from 0 to ${MAX_VALUE_DEPTH}`],
  awkward: [z.boolean(), 'a boolean'],
} as const;

const DEFAULT_MAX_BYTES = 4096;
/** Random values nest no deeper than this: deeper ones are slow to print and rarely find more. */
const RANDOM_DEPTH = 6;

/**
 * Values that `rt.state.set` accepts, each of which reads back equal to itself (`deepStrictEqual`):
 * null, booleans, finite numbers (never `-0`, which JSON reads back as `0`), strings, arrays and plain
 * objects, within `maxBytes` as UTF-8 JSON and `maxDepth` levels of nesting.
 *
 * @throws {TypeError} for options of the wrong shape
 * @example
 * await fc.assert(fc.asyncProperty(jsonValues({ maxBytes: 1024 }), async (value) => {
 *   await rt.state.set(Scope.global(), 'v', value);
 *   assert.deepStrictEqual(await rt.state.get(Scope.global(), 'v'), value);
 * }));
 */
export function jsonValues(options: JsonValuesOptions = {}): fc.Arbitrary<unknown> {
  const { maxBytes = DEFAULT_MAX_BYTES, maxDepth = MAX_VALUE_DEPTH, awkward = true } = checkOptions(options, FIELDS);
  const scalar = awkward ? fc.oneof({ weight: 4, arbitrary: SCALAR }, { weight: 1, arbitrary: AWKWARD_SCALAR }) : SCALAR;
  const fieldName = awkward ? fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 8 }) }, { weight: 1, arbitrary: AWKWARD_FIELD_NAME }) : fc.string({ maxLength: 8 });
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { maxDepth: Math.min(maxDepth, RANDOM_DEPTH), depthSize: 'small' },
      scalar,
      fc.array(tie('value'), { maxLength: 6 }),
      // Object.fromEntries defines each field as its own, so `__proto__` stays a plain field.
      fc.uniqueArray(fc.tuple(fieldName, tie('value')), { maxLength: 6, selector: ([name]) => name }).map((fields) => Object.fromEntries(fields)),
    ),
  }));
  const fits = (candidate: unknown) => Buffer.byteLength(JSON.stringify(candidate), 'utf8') <= maxBytes;
  const random = value.filter(fits);
  if (!awkward) return random;
  const edges: fc.Arbitrary<unknown>[] = [atByteLimit(maxBytes)];
  if (maxDepth > 0 && 2 * maxDepth <= maxBytes) edges.push(fc.constant(nested(maxDepth)));
  // Cross-shrinking lets a value at a limit shrink to a small random one when the limit does not matter.
  return fc.oneof({ withCrossShrink: true }, { weight: 12, arbitrary: random }, ...edges.map((arbitrary) => ({ weight: 1, arbitrary })));
}

/** A finite double other than `-0`. */
const DOUBLE = fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n));

const SCALAR = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), DOUBLE, fc.string({ maxLength: 16 }));

const AWKWARD_SCALAR = fc.oneof(
  fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 1e21, 1e-7, 0.1 + 0.2),
  fc.constantFrom('', '\u0000', '\ud800', 'a\udc00b', '\u{1f600}', '\u2028\u2029', 'e\u0301', '\u00e9', '\u202e', '"\\', '</script>'),
  fc.string({ unit: 'binary', maxLength: 8 }),
  // Any UTF-16 units, lone surrogates among them: JSON escapes them, and reads them back.
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength: 8 }),
);

const AWKWARD_FIELD_NAME = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', '', 'e\u0301', '\u00e9', '\u0000', '\ud800', '$.a[0]', '0', '-1');

/**
 * A string whose JSON is exactly `maxBytes` bytes of UTF-8, made of one-, two-, three- or four-byte
 * characters: a limit counted in UTF-16 units or characters instead of bytes misjudges it.
 */
function atByteLimit(maxBytes: number): fc.Arbitrary<string> {
  return fc.constantFrom('a', 'é', '€', '\u{1f600}').map((char) => {
    const room = maxBytes - 2;
    const size = Buffer.byteLength(char, 'utf8');
    return char.repeat(Math.floor(room / size)) + 'a'.repeat(room % size);
  });
}

/** Arrays nested `depth` levels deep, the innermost empty. */
function nested(depth: number): unknown {
  let value: unknown = [];
  for (let level = 1; level < depth; level++) value = [value];
  return value;
}
