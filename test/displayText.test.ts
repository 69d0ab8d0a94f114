import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkQueryFields, describeOption } from '../src/checkOptions.js';
import { formatAgentDetails, formatAgentList, type AgentDetails } from '../src/cli/agentCommands.js';
import { formatDeadLetters, formatHistory, formatHookList, formatReplay, type HookListing } from '../src/cli/hookCommands.js';
import { formatStats, type StatsReport } from '../src/cli/stats.js';
import { formatVerifyReport } from '../src/cli/verifyCommands.js';
import { formatError, formatTable, type Styles, oneLine, previewJson, printNote } from '../src/cli/output.js';
import { escapeForDisplay, MESSAGE_TEXT_LIMIT, quoteForDisplay, shortenForDisplay } from '../src/displayText.js';
import { LlmStateError } from '../src/errors.js';
import { renderTimeline } from '../src/events/timelineExport.js';
import { buildTimeline } from '../src/events/timeline.js';
import { normalizeKey, normalizeScopeId } from '../src/state/keyRules.js';
import { Scope } from '../src/state/Scope.js';
import { serializeValue } from '../src/state/values.js';
import type { AgentRecord, AgentSummary, EventKind, HookDeadLetter, VerifyReport } from '../src/index.js';
import { event, execution } from './events/timelineFixture.js';

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

const same = (text: string): string => text;
const PLAIN_STYLES: Styles = { bold: same, dim: same, green: same, red: same, cyan: same };

/** Every text, Mermaid and HTML export, with `text` in each piece of stored text it shows. */
const exportPaths: [string, (text: string) => string][] = (['text', 'mermaid', 'html'] as const).flatMap((format) => [
  [`a ${format} export: a key`, (text: string) => renderTimeline(buildTimeline('c1', [event('1.0', { key: `k${text}` })], []), format)],
  [`a ${format} export: a scope`, (text: string) => renderTimeline(buildTimeline('c1', [event('1.0', { scope: `agent:a${text}` })], []), format)],
  [`a ${format} export: an event kind`, (text: string) => renderTimeline(buildTimeline('c1', [event('1.0', { kind: `state.set${text}` as EventKind })], []), format)],
  [`a ${format} export: the correlation id`, (text: string) => renderTimeline(buildTimeline(`c${text}`, [event('1.0')], []), format)],
  [
    `a ${format} export: a hook name, execution id and error`,
    (text: string) =>
      renderTimeline(
        buildTimeline('c1', [event('1.0')], [execution(`x${text}`, { hookName: `h${text}`, status: 'failed', error: { code: `E${text}`, message: `m${text}` } })]),
        format,
      ),
  ],
  [`a ${format} export: a value`, (text: string) => renderTimeline(buildTimeline('c1', [event('1.0', { value: { [`k${text}`]: `v${text}` } })], []), format)],
]);

/** Every CLI printer of names, ids, paths and free text read from the store, with `text` in each. */
const storedTextPaths: [string, (text: string) => string][] = [
  ['agents list: type and supervisor', (text) => formatAgentList([agentSummary(text)], PLAIN_STYLES).join('\n')],
  ['agents show: type, supervisor, tools, conversation names, dead-letter types, event kinds', (text) => formatAgentDetails(agentDetails(text), PLAIN_STYLES).join('\n')],
  ['hooks list: name, patterns and disabled reason', (text) => formatHookList([hookListing(text)], PLAIN_STYLES).join('\n')],
  [
    'hooks history: hook name, execution id, event ids, error code, replay of',
    (text) =>
      formatHistory(
        [execution(`x${text}`, { hookName: `h${text}`, eventIds: [`1.0${text}`], error: { code: `E${text}`, message: 'm' }, replayOf: `r${text}` })],
        PLAIN_STYLES,
      ).join('\n'),
  ],
  ['hooks dead-letters: hook name, event ids, error', (text) => formatDeadLetters([hookDeadLetter(text)], PLAIN_STYLES).join('\n')],
  ['stats: the data directory', (text) => formatStats(storeStats(`/data${text}`)).join('\n')],
  ['verify: location, damaged keys and messages, repairs', (text) => formatVerifyReport(verifyReport(text)).join('\n')],
  ['an error line naming a path (formatError)', (text) => formatError(new LlmStateError('STORAGE_FAILED', `There is no llmstate store in /data${text}`))],
  ['an error line of a hook or another error (formatError)', (text) => formatError(new Error(`refused ${text}`))],
];

function agentSummary(text: string): AgentSummary {
  return { id: `a${text}`, type: `t${text}`, status: 'running', live: false, supervisor: `s${text}`, messages: 1, restarts: 0, updatedAt: 0 };
}

function agentDetails(text: string): AgentDetails {
  const record: AgentRecord = {
    id: `a${text}`,
    type: `t${text}`,
    status: 'running',
    config: { [`c${text}`]: `v${text}` },
    conversation: [{ role: 'user', name: `n${text}`, content: `c${text}` }],
    tools: [{ name: `tool${text}`, description: `d${text}` }, { name: `other${text}` }],
    workflow: { completedSteps: [`s${text}`] },
    custom: {},
    machineSnapshot: { status: 'active', value: `v${text}`, context: { note: text } },
    supervisor: `s${text}`,
    persist: 'every-message',
    restart: 'permanent',
    shutdown: 5000,
    metadata: { createdAt: 0, updatedAt: 0, schemaVersion: 2, messages: 0, restarts: 0 },
  };
  const letter = { agentId: `a${text}`, event: { type: `m${text}`, text }, error: `e${text}`, crashes: 1, poison: false, at: 0 };
  return {
    record,
    machine: { status: `active${text}`, state: `v${text}`, context: null },
    deadLetters: [letter, { ...letter, poison: true }],
    events: [event('1.0', { kind: `agent.crashed${text}` as EventKind, data: { error: text } })],
    eventCount: 1,
  };
}

function hookListing(text: string): HookListing {
  return {
    name: `h${text}`,
    definition: { name: `h${text}`, on: [`state.*${text}`], priority: 0 } as unknown as HookListing['definition'],
    breaker: 'closed',
    disabled: { reason: `r${text}`, at: 0 } as unknown as HookListing['disabled'],
    pending: 0,
    inFlight: 0,
    recorded: { executions: 0, succeeded: 0, failed: 0, timedOut: 0 },
    deadLettered: 0,
  };
}

function hookDeadLetter(text: string): HookDeadLetter {
  return { hookName: `h${text}`, seq: 1, reason: 'attempts_exhausted', error: { code: `E${text}`, message: `m${text}` }, attempts: 1, at: 0, eventIds: [`1.0${text}`], events: [] };
}

function storeStats(dataDir: string): StatsReport {
  const none = { scopes: 0, keys: 0, valueBytes: 0 };
  const kinds = { global: none, agent: none, workflow: none, step: none, session: none, custom: none };
  return { dataDir, storeFormat: 1, createdAt: '', lastCommitSeq: 0, kinds, total: none, unrecognisedKeys: 0, eventLogRecords: 0, sizeOnDisk: 0 };
}

function verifyReport(text: string): VerifyReport {
  return {
    ok: false,
    location: `/data${text}`,
    records: 1,
    bySublevel: {},
    problems: [{ sublevel: 'state', key: `k${text}`, kind: 'record', message: `m${text}` }],
    problemCount: 1,
    logs: { files: [], damaged: false, damagedBytes: 0, cleanlyClosed: true } as unknown as VerifyReport['logs'],
    tables: { files: 0, blocks: 0, damaged: 0, unfinished: 0 },
    events: { oldestSeq: undefined, newestSeq: undefined, highWater: 0, gaps: [] },
    repairs: [{ at: `2024${text}`, droppedBytes: 0, missing: [], copy: `/copy${text}` }],
  };
}

function stderrOf(write: () => void): string {
  const original = process.stderr.write;
  let written = '';
  process.stderr.write = ((chunk: string) => {
    written += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    write();
  } finally {
    process.stderr.write = original;
  }
  return written;
}

describe('display escaping (the one display boundary)', () => {
  describe('escapeForDisplay', () => {
    for (const [what, char, escape] of NON_PRINTING) {
      it(`escapes ${what} as ${escape}`, () => {
        assert.equal(escapeForDisplay(`a${char}b`), `a${escape}b`);
      });
    }

    it('escapes tab and newline, unless the text is laid out in lines', () => {
      assert.equal(escapeForDisplay('a\tb\nc'), 'a\\u0009b\\u000ac');
      assert.equal(escapeForDisplay('a\tb\nc\rd\u0085', { lines: 'keep' }), 'a\tb\nc\\u000dd\\u0085');
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

  describe('escapeForDisplay options', () => {
    it("lines: 'join' makes each run of white space, line breaks and tabs included, one space, and escapes every other control", () => {
      assert.equal(escapeForDisplay('a\n\r\nb\tc  d\u2028e\u001b\ufeff', { lines: 'join' }), 'a b c d e\\u001b\\ufeff');
    });

    it('max cuts the text to that many code points, ending in …, before escaping: an escape is never cut in half', () => {
      assert.equal(escapeForDisplay('\u001b'.repeat(10), { max: 4 }), `${'\\u001b'.repeat(3)}…`);
      assert.equal(escapeForDisplay('\u{1F600}'.repeat(10), { max: 3 }), '\u{1F600}\u{1F600}…');
      assert.equal(escapeForDisplay('short', { max: 5 }), 'short');
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 60 }).map((text) => text.replaceAll('\\', '')), fc.integer({ min: 1, max: 40 }), (text, max) => {
          const shown = escapeForDisplay(text, { max });
          // Every backslash starts a whole escape: nothing was cut after the escaping.
          assert.match(shown, /^(?:[^\\]|\\u[0-9a-f]{4})*…?$/u, JSON.stringify(shown));
          assert.ok(!RAW_NON_PRINTING.test(shown), JSON.stringify(shown));
        }),
      );
    });

    it('text escaped once passes again unchanged', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), fc.constantFrom('escape', 'keep', 'join') as fc.Arbitrary<'escape' | 'keep' | 'join'>, (text, lines) => {
          const once = escapeForDisplay(text, { lines });
          assert.equal(escapeForDisplay(once, { lines }), once);
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

    it("keeps only the start when asked, for a preview", () => {
      assert.equal(shortenForDisplay('abcdefgh', 5, 'start'), 'abcd…');
      assert.equal(shortenForDisplay('abcde', 5, 'start'), 'abcde');
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
    ['a CLI note on stderr (printNote)', (char) => stderrOf(() => printNote(`x${char}`))],
    ['a CLI table cell (oneLine)', (char) => oneLine(`x${char}`, 80)],
    ['a CLI JSON preview (previewJson)', (char) => previewJson({ note: `x${char}` })],
    ['a CLI replay diff line (formatReplay)', (char) => formatReplay(replayWithPath(`/result/output/k${char}`)).join('\n')],
    ['a CLI table cell (formatTable)', (char) => formatTable(['NAME'], [[`x${char}`]], new Set(), PLAIN_STYLES).join('\n')],
    ['a timeline text line', (char) => renderTimeline(buildTimeline('c1', [event('1.0', { key: `k${char}` })], []), 'text')],
    ...exportPaths,
    ...storedTextPaths,
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

  // A line break in stored text must not add a line: not a table row, a line of a tree or a diagram.
  describe('no stored text can forge a line', () => {
    for (const [path, render] of [...exportPaths, ...storedTextPaths]) {
      it(path, () => {
        const lines = render('x').split('\n').length;
        for (const char of ['\n', '\r', '\r\n', '\u0085', '\u2028', '\u2029', '\v', '\f']) {
          const text = render(`${char}forged`);
          assert.equal(text.split('\n').length, lines, `${JSON.stringify(char)} added a line: ${JSON.stringify(text)}`);
          assert.ok(!/[\r\u0085\u2028\u2029\v\f]/.test(text), `${JSON.stringify(char)} is raw in ${JSON.stringify(text)}`);
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
