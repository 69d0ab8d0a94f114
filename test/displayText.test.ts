import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkQueryFields, describeOption } from '../src/checkOptions.js';
import { formatReplay } from '../src/cli/hookCommands.js';
import { formatError, formatTable, type Styles, oneLine, previewJson, printable } from '../src/cli/output.js';
import { escapeForDisplay, MESSAGE_TEXT_LIMIT, quoteForDisplay, shortenForDisplay } from '../src/displayText.js';
import { LlmStateError } from '../src/errors.js';
import { renderTimeline } from '../src/events/timelineExport.js';
import { buildTimeline } from '../src/events/timeline.js';
import { normalizeKey, normalizeScopeId } from '../src/state/keyRules.js';
import { Scope } from '../src/state/Scope.js';
import { serializeValue } from '../src/state/values.js';
import { event } from './events/timelineFixture.js';

/** One sample of each kind of character that must never reach a terminal raw, with its escape. */
const NON_PRINTING: readonly [string, string, string][] = [
  ['NUL (C0)', '\u0000', '\\u0000'],
  ['ESC (C0)', '\u001b', '\\u001b'],
  ['carriage return (C0)', '\r', '\\u000d'],
  ['DEL', '\u007f', '\\u007f'],
  ['NEL (C1)', '\u0085', '\\u0085'],
  ['CSI (C1)', '\u009b', '\\u009b'],
  ['a lone high surrogate', '\ud800', '\\ud800'],
  ['a lone low surrogate', '\udc00', '\\udc00'],
  ['right-to-left override (bidi)', '\u202e', '\\u202e'],
  ['right-to-left isolate (bidi)', '\u2067', '\\u2067'],
  ['Arabic letter mark (bidi)', '\u061c', '\\u061c'],
  ['right-to-left mark (bidi)', '\u200f', '\\u200f'],
  ['zero-width space', '\u200b', '\\u200b'],
  ['zero-width joiner', '\u200d', '\\u200d'],
  ['word joiner', '\u2060', '\\u2060'],
  ['byte order mark', '\ufeff', '\\ufeff'],
  ['soft hyphen (Cf)', '\u00ad', '\\u00ad'],
  ['a tag character, beyond the BMP (Cf)', '\u{e0041}', '\\udb40\\udc41'],
  ['line separator', '\u2028', '\\u2028'],
  ['paragraph separator', '\u2029', '\\u2029'],
];

/** A raw character of any of those kinds. */
const RAW_NON_PRINTING = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

describe('display escaping (the one display boundary)', () => {
  describe('escapeForDisplay', () => {
    for (const [what, char, escape] of NON_PRINTING) {
      it(`escapes ${what} as ${escape}`, () => {
        assert.equal(escapeForDisplay(`a${char}b`), `a${escape}b`);
      });
    }

    it('escapes tab and newline, unless the text is laid out in lines', () => {
      assert.equal(escapeForDisplay('a\tb\nc'), 'a\\u0009b\\u000ac');
      assert.equal(escapeForDisplay('a\tb\nc\rd\u0085', { keepLines: true }), 'a\tb\nc\\u000dd\\u0085');
    });

    it('leaves printable text alone: ASCII, accents, CJK, emoji, a joined emoji pair, no-break space', () => {
      for (const text of ['topic cfg.model ~!@#$%^&*()', 'café', '日本語', '\u{1F600}', '\u00a0']) {
        assert.equal(escapeForDisplay(text), text);
      }
    });

    it('output never holds a raw non-printing character, and is the input when it held none', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), (text) => {
          const shown = escapeForDisplay(text);
          assert.ok(!RAW_NON_PRINTING.test(shown), JSON.stringify(shown));
          if (!RAW_NON_PRINTING.test(text)) assert.equal(shown, text);
        }),
      );
    });
  });

  describe('shortenForDisplay', () => {
    it(`keeps text of up to ${MESSAGE_TEXT_LIMIT} code points whole`, () => {
      const text = '\u{1F600}'.repeat(MESSAGE_TEXT_LIMIT);
      assert.equal(shortenForDisplay(text), text);
    });

    it(`cuts longer text to ${MESSAGE_TEXT_LIMIT} code points, keeping its start and end around an ellipsis`, () => {
      const text = `start${'x'.repeat(3000)}end`;
      const shown = shortenForDisplay(text);
      assert.equal(Array.from(shown).length, MESSAGE_TEXT_LIMIT);
      assert.ok(shown.startsWith('startxx') && shown.endsWith('xxend') && shown.includes('…'), shown);
    });

    it('never splits a surrogate pair', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.integer({ min: 2, max: 100 }), (text, max) => {
          const shown = shortenForDisplay(text, max);
          assert.equal(Array.from(shown).length, Math.min(max, Array.from(text).length));
          assert.ok(!/\p{Cs}/u.test(shown), JSON.stringify(shown));
        }),
      );
    });
  });

  describe('quoteForDisplay', () => {
    it('quotes as JSON does for quotes and backslashes, and escapes the rest for display', () => {
      assert.equal(quoteForDisplay('a"b\\c\u007fd\u202e'), '"a\\"b\\\\c\\u007fd\\u202e"');
    });
  });

  // Every path that puts caller or stored text into a message or a printed line: each must end in
  // escapeForDisplay. A new path belongs in this table.
  const messagePaths: [string, (char: string) => string][] = [
    ['a key error (normalizeKey)', (char) => messageOf(() => normalizeKey(`a${char}\\`))],
    ['a scope id error (normalizeScopeId)', (char) => messageOf(() => normalizeScopeId(`a${char}\\`, 'agent id'))],
    ['a scope text error (Scope.parse)', (char) => messageOf(() => Scope.parse(`bogus${char}:x`))],
    ['a step scope error (Scope.step)', (char) => messageOf(() => Scope.step(`w${char}/x`, 's'))],
    ['a value path error (serializeValue)', (char) => messageOf(() => serializeValue({ [`k${char}`]: undefined }, 1024))],
    ['a class name in a value error (serializeValue)', (char) => messageOf(() => serializeValue(new (namedClass(`C${char}`))(), 1024))],
    ['an option in a TypeError (describeOption)', (char) => describeOption(`x${char}`)],
    ['a query filter field in a TypeError (checkQueryFields)', (char) => thrownBy(() => checkQueryFields({ text: {}, times: {}, limit: `x${char}` }))],
    ['a CLI error line (formatError)', (char) => formatError(new LlmStateError('STATE_KEY_INVALID', `bad ${char}`))],
    ['a CLI error line for another error (formatError)', (char) => formatError(new Error(`bad ${char}`))],
    ['CLI free text (printable)', (char) => printable(`x${char}`)],
    ['a CLI table cell (oneLine)', (char) => oneLine(`x${char}`, 80)],
    ['a CLI JSON preview (previewJson)', (char) => previewJson({ note: `x${char}` })],
    ['a CLI replay diff line (formatReplay)', (char) => formatReplay(replayWithPath(`/result/output/k${char}`)).join('\n')],
    ['a CLI table cell (formatTable)', (char) => formatTable(['NAME'], [[`x${char}`]], new Set(), PLAIN_STYLES).join('\n')],
    ['a timeline text line', (char) => renderTimeline(buildTimeline('c1', [event('1.0', { key: `k${char}` })], []), 'text')],
  ];
  describe('every message path escapes every non-printing character', () => {
    for (const [path, render] of messagePaths) {
      it(path, () => {
        for (const [what, char] of NON_PRINTING) {
          const text = render(char);
          assert.ok(!RAW_NON_PRINTING.test(text.replaceAll('\n', '')), `${what} is raw in ${JSON.stringify(text)}`);
        }
      });
    }
  });

  describe('long text in messages', () => {
    it(`a key or scope id error quotes at most ${MESSAGE_TEXT_LIMIT} code points of it; details keep it whole`, () => {
      const key = 'k'.repeat(3000);
      const keyError = errorOf(() => normalizeKey(key));
      assert.ok(keyError.message.length < 200, keyError.message);
      assert.equal(keyError.details?.key, key);
      const id = 'i'.repeat(3000);
      const idError = errorOf(() => normalizeScopeId(id, 'agent id'));
      assert.ok(idError.message.length < 200, idError.message);
      assert.equal(idError.details?.id, id);
    });

    it('a VALUE_INVALID message quotes a 3,000-character path shortened, with its end; details.path keeps it whole', () => {
      const name = 'p'.repeat(3000);
      const error = errorOf(() => serializeValue({ [name]: { last: undefined } }, 1024 * 1024));
      assert.equal(error.code, 'VALUE_INVALID');
      assert.equal(error.details?.path, `$.${name}.last`);
      assert.ok(error.message.length < 200, error.message);
      assert.match(error.message, /^Invalid value at \$\.p+…p+\.last: undefined is not JSON/);
    });

    it('a VALUE_INVALID message for a deeply nested value is short', () => {
      let value: unknown = undefined;
      for (let i = 0; i < 900; i++) value = [value];
      const error = errorOf(() => serializeValue(value, 1024 * 1024));
      assert.equal(error.details?.path, `$${'[0]'.repeat(900)}`);
      assert.ok(error.message.length < 200, error.message);
    });
  });
});

function errorOf(fn: () => unknown): LlmStateError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof LlmStateError, String(error));
    return error;
  }
  assert.fail('expected an LlmStateError');
}

function messageOf(fn: () => unknown): string {
  return errorOf(fn).message;
}

function namedClass(name: string): new () => object {
  const C = class {};
  Object.defineProperty(C, 'name', { value: name });
  return C;
}

function thrownBy(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('expected an error');
}

const same = (text: string): string => text;
const PLAIN_STYLES: Styles = { bold: same, dim: same, green: same, red: same, cyan: same };

function replayWithPath(path: string): Parameters<typeof formatReplay>[0] {
  return {
    equal: false,
    original: { status: 'succeeded', result: { output: {} } },
    diff: [{ op: 'add', path, value: 1 }],
  } as unknown as Parameters<typeof formatReplay>[0];
}

describe('messages of other public checks', () => {
  it('show a bad correlation id, prefix, filter or format through the display escape', async () => {
    const { createRuntime, Scope, renderTimeline } = await import('../src/index.js');
    const rt = await createRuntime({ memory: true });
    try {
      await assert.rejects(rt.state.set(Scope.global(), 'k', 1, { correlationId: 'a\u0085\u202eb' }), (error: Error) => {
        assert.ok(error.message.includes('`"a\\u0085\\u202eb"` (string)'), error.message);
        return true;
      });
      await assert.rejects(rt.state.listKeys(Scope.global(), { prefix: 7 as unknown as string }), /got `7` \(number\)/);
      assert.throws(() => renderTimeline({} as never, 'x\u001b[31m' as never), (error: Error) => {
        assert.ok(error.message.includes('`"x\\u001b[31m"` (string)'), error.message);
        return true;
      });
    } finally {
      await rt.close();
    }
  });
});
