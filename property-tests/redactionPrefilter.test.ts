import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mightNeedRedaction } from '../workers/redact.js';
import { runs } from './budget.js';

/**
 * The pre-filter as first written: any secret-value hint in the text, or a secret-name hint once the
 * whole text is lowercased and stripped of `-`, `_` and spaces. The faster form must say the same.
 */
function reference(text: string): boolean {
  return (
    /sk-|eyJ|AKIA|ASIA|gh[pousr]_|github_pat_|xox[abprs]-|[Bb][Ee][Aa][Rr][Ee][Rr]|-----BEGIN/.test(text) ||
    /pass|pwd|secret|token|apikey|auth|cookie|credential|privatekey/.test(text.toLowerCase().replace(/[-_ ]/g, ''))
  );
}

const HINT_WORDS = ['pass', 'pwd', 'secret', 'token', 'apikey', 'auth', 'cookie', 'credential', 'privatekey'];

/** One character of a hint word: either case, sometimes a look-alike that lowercases to it, or a slip. */
const letterOf = (letter: string) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(letter, letter.toUpperCase()) },
    { weight: 1, arbitrary: fc.constant(letter === 'k' ? '\u212A' : letter === 'i' ? '\u0130' : letter) },
    { weight: 1, arbitrary: fc.constantFrom('x', 'é', '"') },
  );

/** A hint word, perhaps misspelt, with separators perhaps inside it. */
const hintWord = fc
  .constantFrom(...HINT_WORDS)
  .chain((word) => fc.tuple(...[...word].map((letter) => fc.tuple(letterOf(letter), fc.constantFrom('', '', '', '-', '_', ' ', '__')))))
  .map((parts) => parts.map(([letter, separator]) => letter + separator).join(''));

/** Text around the words: JSON punctuation, separators, ASCII and other characters. */
const filler = fc.string({ unit: fc.constantFrom('"', ':', ',', '{', '}', 'a', 'Z', '1', '-', '_', ' ', '日', 'é'), maxLength: 6 });

const text = fc.array(fc.oneof(hintWord, filler), { maxLength: 6 }).map((pieces) => pieces.join(''));

describe('the redaction pre-filter', () => {
  it('says exactly what lowercasing and stripping the whole text would have said', () => {
    fc.assert(
      fc.property(text, (sample) => {
        assert.equal(mightNeedRedaction(sample), reference(sample), JSON.stringify(sample));
      }),
      { numRuns: runs(5000) },
    );
  });
});
