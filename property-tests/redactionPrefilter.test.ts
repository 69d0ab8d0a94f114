import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mightNeedRedaction, mightRedactParsed, redact } from '../src/redaction/index.js';
import { mightHoldSecretValue } from '../src/redaction/prefilter.js';
import { replaceSecretPatterns } from '../src/redaction/secretPatterns.js';
import { runs } from './budget.js';

/** The pre-filter as first written, before it accepted every whitespace the name rule strips. */
function firstVersion(text: string): boolean {
  return (
    /sk-|eyJ|AKIA|ASIA|gh[pousr]_|github_pat_|xox[abprs]-|[Bb][Ee][Aa][Rr][Ee][Rr]|-----BEGIN/.test(text) ||
    /pass|pwd|secret|token|apikey|auth|cookie|credential|privatekey/.test(text.toLowerCase().replace(/[-_ ]/g, ''))
  );
}

const HINT_WORDS = ['pass', 'pwd', 'secret', 'token', 'apikey', 'auth', 'cookie', 'credential', 'privatekey', 'password', 'api_key'];
/** Names secret by their words (a qualifier, then `key`, `keys` or `tokens`), and ordinary ones like them. */
const WORD_NAMES = ['ssh_key', 'signingKey', 'ENCRYPTION-KEY', 'apiKeys', 'access_tokens', 'idTokens', 'master key', 'hmac.key', 'maxTokens', 'cacheKey', 'monkey'];
/** Everything the name rule strips, and what JSON makes of it: escapes for the control characters. */
const SEPARATORS = ['', '', '', '-', '_', ' ', '\t', '\n', '\r', '\f', '\v', '\u00a0', '\u2028', '\u3000', '\ufeff'];

/** One character of a hint word: either case, sometimes a look-alike that lowercases to it, or a slip. */
const letterOf = (letter: string) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(letter, letter.toUpperCase()) },
    { weight: 1, arbitrary: fc.constant(letter === 'k' ? '\u212A' : letter === 'i' ? '\u0130' : letter) },
    { weight: 1, arbitrary: fc.constantFrom('x', 'é', '"', '\\') },
  );

/** A hint word, perhaps misspelt, with separators perhaps inside it. */
const hintWord = fc
  .constantFrom(...HINT_WORDS)
  .chain((word) => fc.tuple(...[...word].map((letter) => fc.tuple(letterOf(letter), fc.constantFrom(...SEPARATORS)))))
  .map((parts) => parts.map(([letter, separator]) => letter + separator).join(''));

const filler = fc.string({ unit: fc.constantFrom('a', 'Z', '1', '-', '_', ' ', '\t', '日', 'é', '"', '\\'), maxLength: 6 });
const name = fc.oneof(hintWord, filler, fc.tuple(filler, hintWord, filler).map((parts) => parts.join('')), fc.constantFrom(...WORD_NAMES));

/** Strings that hold secrets the value patterns catch, and ones that only look a little like them. */
const secretish = fc.constantFrom(
  'sk-abcdefghijklmnopqrstuvwxyz',
  'sk-short',
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig',
  'AKIAIOSFODNN7EXAMPLE',
  'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  'xoxb-1234567890-abc',
  'Bearer abc.def',
  'bearer',
  '-----BEGIN PRIVATE KEY-----\nabc',
  'plain words',
  'id_token_eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig',
  'Authorization%3A%20Bearer%20abc123def',
  'q=%20sk-abcdefghijklmnopqrstuvwxyz',
  'https://user:pass@host',
  'Basic dXNlcjpwYXNz',
  'sk_live_abcdefghijklmnop1234',
  'AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q',
  '-----BEGIN PGP PRIVATE KEY BLOCK-----\nabc',
  '---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nabc',
  'basic words',
  'password/admin',
  'secrets/openai',
);

const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, { weight: 3, arbitrary: fc.oneof(secretish, filler, fc.integer()) }, tie('object'), tie('array')),
  object: fc.oneof(
    fc.dictionary(name, tie('node'), { maxKeys: 3 }),
    // A state change or a hook action: its key decides whether its value is a secret.
    fc.record({ key: fc.oneof(name, secretish), value: tie('node') }),
  ),
  array: fc.array(tie('node'), { maxLength: 3 }),
})).node;

describe('the redaction pre-filter', () => {
  it('says "look closer" for every value redaction changes', () => {
    fc.assert(
      fc.property(value, (sample) => {
        const text = JSON.stringify(sample);
        if (JSON.stringify(redact(sample)) !== text) assert.equal(mightNeedRedaction(text), true, text);
      }),
      { numRuns: runs(5000) },
    );
  });

  it('says "look closer" for every parsed value redaction changes, judging names only where they are names', () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 3 }), (samples) => {
        const texts = samples.map((sample) => JSON.stringify(sample) ?? 'null');
        const parsed = texts.map((text) => JSON.parse(text) as unknown);
        // As the hook worker calls it: one text holding all the values, and the values with fields added.
        const delivered = parsed.map((one, index) => (typeof one === 'object' && one !== null && !Array.isArray(one) ? { id: `7.${index}`, seq: 7, at: 1, ...one } : one));
        const changed = delivered.some((one) => JSON.stringify(redact(one)) !== JSON.stringify(one));
        if (changed) assert.equal(mightRedactParsed([`[${texts.join(',')}]`], delivered), true, texts.join(','));
      }),
      { numRuns: runs(5000) },
    );
  });

  it('lets through no string that a value pattern would change', () => {
    const piece = fc.oneof(secretish, filler, fc.constantFrom('%20', '%3A', '_', ' ', '://', '@', ':', '\n'));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), (pieces) => {
        const text = pieces.join('');
        if (replaceSecretPatterns(text) !== text) assert.equal(mightHoldSecretValue(text), true, JSON.stringify(text));
      }),
      { numRuns: runs(5000) },
    );
  });

  it('is never less careful than its first version', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(hintWord, filler), { maxLength: 6 }), (pieces) => {
        const text = pieces.join('');
        if (firstVersion(text)) assert.equal(mightNeedRedaction(text), true, JSON.stringify(text));
      }),
      { numRuns: runs(5000) },
    );
  });
});
