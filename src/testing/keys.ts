import fc from 'fast-check';
import { z } from 'zod';
import { checkOptions } from '../checkOptions.js';
import { LlmStateError } from '../errors.js';
import { MAX_KEY_LENGTH, normalizeKey, type KeyRule } from '../state/keyRules.js';
import { AWKWARD_KEY_POOL, namePool, validNames } from './names.js';

/** Which keys {@link keys} draws. */
export interface KeysOptions {
  /**
   * Draw every key from a fixed pool, so that the keys of one run collide: a number takes that many
   * keys from a built-in list (with `awkward`, `'a'`, `'é'`, `'e\u0301'`, `'a/b'`, `'a.b'` … of which the
   * second and third are one key spelt two ways), an array is the pool itself. @default no pool
   */
  pool?: number | readonly string[];
  /**
   * Include what the key rules allow but careless code gets wrong: non-ASCII, astral and invisible
   * characters, keys spelt in NFD, `/` and `.` inside keys, `_`, spaces, and keys of exactly
   * `maxLength` code points. Without it, keys are ASCII letters, digits, `.`, `_`, `-` and `/`.
   * @default true
   */
  awkward?: boolean;
  /** The longest key, in code points after NFC normalisation. @default MAX_KEY_LENGTH (256) */
  maxLength?: number;
}

/** A key that breaks one of the key rules, with the rule it breaks. */
export interface InvalidKey {
  /** A string, except for the `type` rule. */
  readonly key: unknown;
  /** The rule `rt.state` names in the error's `details.rule`. */
  readonly rule: KeyRule;
}

/** Which invalid keys {@link invalidKeys} draws. */
export interface InvalidKeysOptions {
  /** Only keys that break these rules. @default every rule */
  rules?: readonly KeyRule[];
}

/** Every key rule, in the order `normalizeKey` checks them. */
const KEY_RULES = ['type', 'lone-surrogate', 'empty', 'too-long', 'control-character', 'backslash', 'leading-slash', 'reserved-prefix', 'dot-segment'] as const satisfies readonly KeyRule[];

const KEYS_FIELDS = {
  pool: [
    z.union([z.number().int().min(1).max(64), z.array(z.string()).min(1)]),
    'a pool size from 1 to 64, or a non-empty array of keys',
  ],
  awkward: [z.boolean(), 'a boolean'],
  maxLength: [z.number().int().min(1).max(MAX_KEY_LENGTH), `an integer from 1 to ${MAX_KEY_LENGTH}`],
} as const;

const INVALID_KEYS_FIELDS = {
  rules: [z.array(z.enum(KEY_RULES)).min(1), `a non-empty array of key rules (${KEY_RULES.join(', ')})`],
} as const;

/**
 * Valid state keys, as given to `rt.state`: each passes the key rules of DESIGN §4. A key may be spelt
 * in NFD (`'e\u0301'`), and the runtime stores it in NFC (`'é'`), so a model of the store should key
 * its entries by `key.normalize('NFC')`, which is what `listKeys` returns.
 *
 * @throws {TypeError} for options of the wrong shape, or a `pool` key that breaks a key rule
 * @example
 * fc.assert(fc.property(keys(), (key) => normalizeKey(key) === key.normalize('NFC')));
 * // Keys that collide: a pool of three is 'a', 'é' and 'e\u0301', the last two one key spelt two ways.
 * fc.sample(keys({ pool: 3 }), 5); // for example ['a', 'e\u0301', 'a', 'é', 'a']
 */
export function keys(options: KeysOptions = {}): fc.Arbitrary<string> {
  const { pool, awkward = true, maxLength = MAX_KEY_LENGTH } = checkOptions(options, KEYS_FIELDS);
  if (pool === undefined) return validNames({ maxLength, awkward });
  const names = typeof pool === 'number' ? namePool(pool, awkward, AWKWARD_KEY_POOL) : [...pool];
  for (const name of names) checkPoolKey(name, maxLength);
  return fc.constantFrom(...names);
}

function checkPoolKey(key: string, maxLength: number): void {
  let rule: string | undefined;
  try {
    if (Array.from(normalizeKey(key)).length > maxLength) rule = 'too-long';
  } catch (error) {
    if (!(error instanceof LlmStateError)) throw error;
    rule = String(error.details?.rule);
  }
  if (rule !== undefined) throw new TypeError(`Expected \`pool\` to hold valid keys, got ${JSON.stringify(key)}, which breaks the rule ${rule}`);
}

/**
 * Keys that break the key rules, each labelled with the one rule it breaks, for negative tests: every
 * one is refused with `STATE_KEY_INVALID` and that rule in `details.rule`. Each is a valid key with one
 * fault put in (a control character, a lone surrogate, a `\`, a leading `/` or `__`, a `.` or `..`
 * segment, one code point too many), so that it breaks no other rule.
 *
 * @throws {TypeError} for options of the wrong shape
 * @example
 * await fc.assert(fc.asyncProperty(invalidKeys(), async ({ key, rule }) => {
 *   const error = await rt.state.set(Scope.global(), key as string, 1).catch((e) => e);
 *   return error.code === 'STATE_KEY_INVALID' && error.details.rule === rule;
 * }));
 */
export function invalidKeys(options: InvalidKeysOptions = {}): fc.Arbitrary<InvalidKey> {
  const { rules = KEY_RULES } = checkOptions(options, INVALID_KEYS_FIELDS);
  return fc.oneof(...[...new Set(rules)].map((rule) => BREAKERS[rule].map((key): InvalidKey => ({ key, rule }))));
}

/** Room for the one or three code points a fault adds, so that none makes the key too long. */
const base = validNames({ maxLength: 32, awkward: true });
/** A place in `key`, between two code points. */
const place = fc.nat();

function insertAt(key: string, at: number, text: string): string {
  const points = Array.from(key);
  const index = at % (points.length + 1);
  return [...points.slice(0, index), text, ...points.slice(index)].join('');
}

const CONTROLS = fc.oneof(fc.integer({ min: 0x00, max: 0x1f }), fc.constant(0x7f), fc.integer({ min: 0x80, max: 0x9f })).map((code) => String.fromCharCode(code));
const LONE_SURROGATES = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));

const BREAKERS: Record<KeyRule, fc.Arbitrary<unknown>> = {
  type: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 0 }), fc.constant(Symbol('key'))),
  empty: fc.constant(''),
  'too-long': fc.oneof(
    // One code point over, counted after NFC: so in code points, not UTF-16 units or bytes.
    fc.constantFrom('a', 'é', '\u{1f600}').map((char) => char.repeat(MAX_KEY_LENGTH + 1)),
    fc.tuple(base, fc.integer({ min: 1, max: 40 })).map(([key, extra]) => key + 'x'.repeat(MAX_KEY_LENGTH + extra - Array.from(key.normalize('NFC')).length)),
  ),
  'control-character': fc.tuple(base, place, CONTROLS).map(([key, at, char]) => insertAt(key, at, char)),
  // Between two code points, a surrogate is always alone: it cannot pair with a half of a pair.
  'lone-surrogate': fc.tuple(base, place, LONE_SURROGATES).map(([key, at, char]) => insertAt(key, at, char)),
  backslash: fc.tuple(base, place).map(([key, at]) => insertAt(key, at, '\\')),
  'leading-slash': fc.oneof(fc.constant('/'), base.map((key) => `/${key}`)),
  'reserved-prefix': fc.oneof(fc.constant('__'), base.map((key) => `__${key}`)),
  'dot-segment': fc.tuple(base, place, fc.constantFrom('.', '..')).map(([key, at, dots]) => {
    const segments = key.split('/');
    segments.splice(at % (segments.length + 1), 0, dots);
    return segments.join('/');
  }),
};
