import assert from 'node:assert/strict';
import {
  MAX_KEY_LENGTH,
  MAX_SCOPE_ID_LENGTH,
  normalizeKey,
  normalizeScopeId,
} from '../../src/state/keyRules.js';
import { encodeStateKey } from '../../src/state/keyCodec.js';
import { Scope } from '../../src/state/Scope.js';
import { assertBreaksRule } from './rejects.js';

const EMOJI = '\u{1F600}'; // one code point, two UTF-16 units

function rejectsKey(key: unknown, rule: string): void {
  const err = assertBreaksRule(() => normalizeKey(key), 'STATE_KEY_INVALID', rule);
  if (typeof key === 'string') assert.equal(err.details?.key, key);
}

function rejectsScopeId(id: unknown, rule: string): void {
  const err = assertBreaksRule(() => normalizeScopeId(id, 'agent id'), 'SCOPE_INVALID', rule);
  if (typeof id === 'string') assert.equal(err.details?.id, id);
}

describe('key rules', () => {
  describe('keys', () => {
    it('accepts ordinary keys unchanged', () => {
      for (const key of ['topic', 'cfg.model', 'a/b/c', 'user:42', 'a b', '~!@#$%^&*()', '日本語', EMOJI]) {
        assert.equal(normalizeKey(key), key);
      }
    });

    it('rejects an empty key [empty]', () => {
      rejectsKey('', 'empty');
    });

    it(`accepts ${MAX_KEY_LENGTH} code points and rejects ${MAX_KEY_LENGTH + 1} [too-long]`, () => {
      assert.equal(MAX_KEY_LENGTH, 256);
      assert.equal(normalizeKey('k'.repeat(256)), 'k'.repeat(256));
      const err = assertBreaksRule(() => normalizeKey('k'.repeat(257)), 'STATE_KEY_INVALID', 'too-long');
      assert.match(err.message, /257/);
    });

    it('counts code points, not UTF-16 units: 256 emoji are a valid key and 257 are not [too-long]', () => {
      const key = EMOJI.repeat(256);
      assert.equal(key.length, 512);
      assert.equal(normalizeKey(key), key);
      rejectsKey(EMOJI.repeat(257), 'too-long');
      rejectsKey('é'.repeat(257), 'too-long');
    });

    it('measures the length after NFC normalisation', () => {
      // 257 code points as written, 256 once e + combining acute is composed into é.
      const key = 'e\u0301' + 'a'.repeat(255);
      assert.equal(normalizeKey(key), '\u00e9' + 'a'.repeat(255));
    });

    it('rejects C0 control characters, including NUL, newline and tab [control-character]', () => {
      for (const key of ['\x00', 'a\x00b', 'line\nbreak', 'tab\there', 'cr\r', '\x1b[31m', 'a\x1f']) {
        rejectsKey(key, 'control-character');
      }
    });

    it('rejects DEL [control-character]', () => {
      rejectsKey('a\x7f', 'control-character');
    });

    it('rejects C1 control characters such as NEL (U+0085) [control-character]', () => {
      for (const key of ['a\u0080', 'next\u0085line', '\u009f']) rejectsKey(key, 'control-character');
    });

    it('names the control character found in the message', () => {
      const err = assertBreaksRule(() => normalizeKey('a\u0085'), 'STATE_KEY_INVALID', 'control-character');
      assert.match(err.message, /U\+0085/);
    });

    it('rejects a lone high surrogate [lone-surrogate]', () => {
      for (const key of ['\uD800', 'ab\uD83D', '\uD83Dab']) rejectsKey(key, 'lone-surrogate');
    });

    it('rejects a lone low surrogate [lone-surrogate]', () => {
      for (const key of ['\uDC00', 'a\uDE00b', '\uDE00\uD83D']) rejectsKey(key, 'lone-surrogate');
    });

    it('rejects a backslash anywhere [backslash]', () => {
      for (const key of ['\\', 'a\\b', 'C:\\temp', 'end\\']) rejectsKey(key, 'backslash');
    });

    it("rejects a leading '/' but allows '/' elsewhere [leading-slash]", () => {
      rejectsKey('/', 'leading-slash');
      rejectsKey('/etc/passwd', 'leading-slash');
      assert.equal(normalizeKey('a/b'), 'a/b');
      assert.equal(normalizeKey('a/'), 'a/');
      assert.equal(normalizeKey('a//b'), 'a//b');
    });

    it("rejects '.' and '..' as any '/'-separated segment [dot-segment]", () => {
      for (const key of ['.', '..', './a', '../a', 'a/.', 'a/..', 'a/./b', 'a/../b', 'a/b/..']) {
        rejectsKey(key, 'dot-segment');
      }
    });

    it("allows dots that do not form a '.' or '..' segment", () => {
      for (const key of ['a.b', '...', 'a/.b', '.hidden', 'a/..b', '..a', 'a./b', 'a/.../b']) {
        assert.equal(normalizeKey(key), key);
      }
    });

    it("rejects a leading '__' (reserved) [reserved-prefix]", () => {
      for (const key of ['__', '__proto__', '__meta/x']) rejectsKey(key, 'reserved-prefix');
    });

    it("allows '_' at the start and '__' after the start", () => {
      for (const key of ['_a', 'a__', 'a__b', '_', '_/__']) assert.equal(normalizeKey(key), key);
    });

    it('rejects a key that is not a string [type]', () => {
      for (const key of [undefined, null, 1, 0, true, 1n, Symbol('k'), {}, ['a'], new String('a'), () => 'a']) {
        const err = assertBreaksRule(() => normalizeKey(key), 'STATE_KEY_INVALID', 'type');
        assert.ok(err.details !== undefined && 'key' in err.details);
      }
    });

    it("normalises a key to NFC: 'e\\u0301' becomes 'é'", () => {
      assert.equal(normalizeKey('e\u0301'), '\u00e9');
      assert.equal(normalizeKey('caf' + 'e\u0301'), 'caf\u00e9');
    });

    it('treats the NFC and NFD forms of a key as the same stored key', () => {
      const nfc = 'caf\u00e9/r\u00e9sum\u00e9';
      const nfd = nfc.normalize('NFD');
      assert.notEqual(nfd, nfc);
      assert.equal(normalizeKey(nfd), normalizeKey(nfc));
      const scope = Scope.agent('a1');
      assert.deepEqual(encodeStateKey(scope, normalizeKey(nfd)), encodeStateKey(scope, normalizeKey(nfc)));
    });
  });

  describe('scope ids', () => {
    it('accepts ordinary ids unchanged', () => {
      for (const id of ['a1', 'agent-7', 'a:b', 'a/b', 'a.b', '日本語', EMOJI]) assert.equal(normalizeScopeId(id, 'agent id'), id);
    });

    it('rejects an empty id [empty]', () => {
      rejectsScopeId('', 'empty');
    });

    it(`accepts ${MAX_SCOPE_ID_LENGTH} code points and rejects ${MAX_SCOPE_ID_LENGTH + 1} [too-long]`, () => {
      assert.equal(MAX_SCOPE_ID_LENGTH, 128);
      assert.equal(normalizeScopeId('i'.repeat(128), 'agent id'), 'i'.repeat(128));
      assert.equal(normalizeScopeId(EMOJI.repeat(128), 'agent id'), EMOJI.repeat(128));
      rejectsScopeId('i'.repeat(129), 'too-long');
      rejectsScopeId(EMOJI.repeat(129), 'too-long');
    });

    it('rejects control characters: C0, DEL and C1 [control-character]', () => {
      for (const id of ['\x00', 'a\nb', 'a\x7f', 'a\u0085']) rejectsScopeId(id, 'control-character');
    });

    it('rejects lone surrogates [lone-surrogate]', () => {
      for (const id of ['\uD800', 'a\uDC00']) rejectsScopeId(id, 'lone-surrogate');
    });

    it('rejects a backslash [backslash]', () => {
      rejectsScopeId('a\\b', 'backslash');
    });

    it("rejects a leading '/' [leading-slash]", () => {
      rejectsScopeId('/a', 'leading-slash');
    });

    it("rejects '.' and '..' segments [dot-segment]", () => {
      for (const id of ['.', '..', 'a/./b', 'a/..']) rejectsScopeId(id, 'dot-segment');
    });

    it("rejects a leading '__' [reserved-prefix]", () => {
      rejectsScopeId('__system', 'reserved-prefix');
    });

    it('rejects an id that is not a string [type]', () => {
      for (const id of [undefined, null, 7, {}]) rejectsScopeId(id, 'type');
    });

    it('normalises an id to NFC', () => {
      assert.equal(normalizeScopeId('e\u0301', 'agent id'), '\u00e9');
    });

    it('names what was being checked in the message', () => {
      const err = assertBreaksRule(() => normalizeScopeId('', 'workflow id'), 'SCOPE_INVALID', 'empty');
      assert.match(err.message, /workflow id/);
    });
  });
});
