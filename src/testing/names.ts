import fc from 'fast-check';
import { escapeForDisplay } from '../displayText.js';

/**
 * Valid names (keys and scope ids), built valid rather than filtered: a filter that rejects most of
 * what it sees would make the arbitraries slow and their shrinking poor. The rules are those of
 * `checkName` in src/state/keyRules.ts, and the property tests check every name against them.
 */

/** What the names of most applications are made of: `cfg.model`, `messages/3`, `user_id`. */
const PLAIN_UNIT = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...'abcdkxyz019') },
  { weight: 2, arbitrary: fc.constantFrom('.', '_', '-', '/') },
);

const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

/** Any code point the rules allow (the `binary` unit makes no lone surrogates), with fast-check's bias to edge values. */
const ANY_ALLOWED_CODE_POINT = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((char) => char !== '\\' && !CONTROL.test(char));

/**
 * The characters that break careless code: the ones with a meaning somewhere (`/`, `.`, `_`, `:`), ones
 * NFC composes or replaces (`e` + U+0301, the Ångström sign U+212B, Hangul jamo), invisible and
 * bidi characters, a tag character, two-, three- and four-byte UTF-8, and the last code point.
 */
const AWKWARD_UNIT = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('a', 'b', 'k', 'A', '0', '9') },
  { weight: 4, arbitrary: fc.constantFrom('/', '.', '_', ':', ' ', '-', '~', '%', '"', '*') },
  { weight: 3, arbitrary: fc.constantFrom('é', 'e', '\u0301', '\u212b', '\u1100', '\u1161', 'ß', '€', '日', '\u00a0', '\u200b', '\u202e', '\ufeff', '\ufffd') },
  { weight: 2, arbitrary: fc.constantFrom('\u{1f600}', '\u{1d11e}', '\u{10ffff}', '\u{e0041}') },
  { weight: 1, arbitrary: ANY_ALLOWED_CODE_POINT },
);

export interface NameShape {
  maxLength: number;
  awkward: boolean;
  /** For a workflow id used in a step scope, which splits its string form at the first `/`. */
  noSlash?: boolean;
}

/**
 * Names of 1 to `maxLength` code points, mostly short (so that they collide and print well), some
 * long, and some exactly `maxLength` long. Awkward names are spelt in NFC or in NFD at random: both
 * spellings are the same name to the runtime.
 */
export function validNames(shape: NameShape): fc.Arbitrary<string> {
  const unit = shape.awkward ? AWKWARD_UNIT : PLAIN_UNIT;
  const short = Math.min(shape.maxLength, 12);
  // Cross-shrinking lets a long or padded name shrink to a short one.
  const drawn = fc.oneof(
    { withCrossShrink: true },
    { weight: 12, arbitrary: fc.record({ raw: fc.string({ unit, minLength: 1, maxLength: short }), exact: fc.constant(false) }) },
    // fast-check keeps strings short unless told otherwise, whatever their maxLength.
    { weight: 1, arbitrary: fc.record({ raw: fc.string({ unit, minLength: 1, maxLength: shape.maxLength, size: 'max' }), exact: fc.constant(false) }) },
    { weight: 1, arbitrary: fc.record({ raw: fc.string({ unit, minLength: 1, maxLength: shape.maxLength }), exact: fc.constant(true) }) },
  );
  const names = drawn.map(({ raw, exact }) => fitName(raw, shape, exact));
  if (!shape.awkward) return names;
  return fc.tuple(names, fc.boolean()).map(([name, decomposed]) => (decomposed ? name.normalize('NFD') : name));
}

/**
 * The NFC name nearest to `raw` that keeps every rule: cut to `maxLength` code points (or padded to
 * it, when `exact`), with a leading `/`, a `.` or `..` segment and a leading `__` rewritten. NFC can
 * lengthen a string and a rewrite can compose with what follows, so this repeats until nothing changes.
 */
function fitName(raw: string, shape: NameShape, exact: boolean): string {
  let name = raw.normalize('NFC');
  for (let round = 0; round < 8; round++) {
    const points = Array.from(name).slice(0, shape.maxLength);
    while (exact && points.length < shape.maxLength) points.push('a');
    const fitted = keepRules(points.join(''), shape).normalize('NFC');
    if (fitted === name) return name;
    name = fitted;
  }
  throw new Error(`Could not fit ${JSON.stringify(raw)} to the key rules: this is a bug in llmstate/testing`);
}

function keepRules(name: string, shape: NameShape): string {
  let kept = shape.noSlash ? name.replaceAll('/', '-') : name;
  if (kept.startsWith('/')) kept = `a${kept.slice(1)}`;
  if (kept.includes('.')) kept = kept.split('/').map((segment) => (segment === '.' ? 'a' : segment === '..' ? 'a.' : segment)).join('/');
  if (kept.startsWith('__')) kept = `_a${kept.slice(2)}`;
  return kept;
}

/**
 * The first `size` names of a fixed list: plain ones (`a`, `b` …), or awkward ones chosen so that even
 * a pool of three holds two spellings of one name (`é` in NFC and in NFD).
 */
export function namePool(size: number, awkward: boolean, list: readonly string[]): string[] {
  const names = awkward ? list : PLAIN_POOL;
  return Array.from({ length: size }, (_, i) => names[i] ?? `n${i}`);
}

const PLAIN_POOL = 'abcdefghijklmnopqrstuvwxyz'.split('');

/** Awkward keys for a pool, in the order a pool takes them. */
export const AWKWARD_KEY_POOL: readonly string[] = ['a', '\u00e9', 'e\u0301', 'a/b', 'a.b', '日本', '\u{1f600}', ' ', '_x', '...', 'a//', '\u202eab', 'ω:1', 'ｋ'];

/** Awkward scope ids for a pool: the first three hold two spellings of `ü`. */
export const AWKWARD_ID_POOL: readonly string[] = ['a', '\u00fc', 'u\u0308', 'a:b', 'x y', '\u{1f600}', 'a/b', '.x', 'ⅻ', '\u200bz'];

/** The `size` code points at the start of `text`, so that a prefix never splits a surrogate pair. */
export function codePointPrefix(text: string, size: number): string {
  return Array.from(text).slice(0, size).join('');
}

/**
 * `text` written so that it prints as what it is: control and invisible characters as `\u` escapes and,
 * when it is not in NFC, every non-ASCII character too, so that two spellings of one key look different.
 */
export function showName(text: string): string {
  const json = JSON.stringify(text);
  if (text === text.normalize('NFC')) return escapeForDisplay(json);
  return json.replace(/[^\x20-\x7e]/gu, escapeUnits);
}

function escapeUnits(char: string): string {
  let escaped = '';
  for (let i = 0; i < char.length; i++) escaped += `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return escaped;
}
