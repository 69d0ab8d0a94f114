import assert from 'node:assert/strict';
import {
  DEFAULT_MAX_VALUE_BYTES,
  MAX_VALUE_DEPTH,
  deepFreeze,
  parseFrozen,
  serializeValue,
} from '../../src/state/values.js';
import { shortenForDisplay } from '../../src/displayText.js';
import { thrownLlmStateError } from './rejects.js';

const LIMIT = DEFAULT_MAX_VALUE_BYTES;

function rejectedAt(value: unknown, path: string): string {
  const err = thrownLlmStateError(() => serializeValue(value, LIMIT), 'VALUE_INVALID');
  assert.equal(err.details?.path, path, err.message);
  // A long path is shortened in the message (details.path keeps it whole).
  assert.ok(err.message.includes(shortenForDisplay(path)), `the message should name the path ${path}: ${err.message}`);
  return err.message;
}

/** What a caller reads back after the value went to the store and came out again. */
function roundTrip(value: unknown, maxBytes = LIMIT): unknown {
  return parseFrozen(serializeValue(value, maxBytes));
}

/** `depth` arrays nested in each other: nested(1) is [], nested(2) is [[]]. */
function nested(depth: number): unknown[] {
  let value: unknown[] = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
}

describe('values', () => {
  describe('VALUE_INVALID names the path of the bad part', () => {
    it('undefined at the top level', () => {
      rejectedAt(undefined, '$');
    });

    it('undefined in a nested object', () => {
      rejectedAt({ a: [1, { b: undefined }] }, '$.a[1].b');
    });

    it('undefined in an array', () => {
      rejectedAt([1, undefined, 3], '$[1]');
    });

    it('a function', () => {
      rejectedAt(() => 1, '$');
      rejectedAt({ run: function run() {} }, '$.run');
    });

    it('a toJSON method is a function, not a way around the rules', () => {
      rejectedAt({ toJSON: () => 'x' }, '$.toJSON');
    });

    it('a symbol', () => {
      rejectedAt(Symbol('s'), '$');
      rejectedAt({ tag: Symbol('s') }, '$.tag');
    });

    it('a BigInt', () => {
      rejectedAt(10n, '$');
      rejectedAt({ big: [1n] }, '$.big[0]');
    });

    it('NaN', () => {
      rejectedAt(NaN, '$');
      rejectedAt({ score: NaN }, '$.score');
    });

    it('Infinity', () => {
      rejectedAt({ n: Infinity }, '$.n');
    });

    it('-Infinity', () => {
      rejectedAt([[-Infinity]], '$[0][0]');
    });

    it('a Date instance', () => {
      const message = rejectedAt({ at: new Date(0) }, '$.at');
      assert.match(message, /Date/);
    });

    it('a Map instance', () => {
      rejectedAt({ m: new Map([['a', 1]]) }, '$.m');
    });

    it('an instance of a user class', () => {
      const message = rejectedAt({ p: new Point(1, 2) }, '$.p');
      assert.match(message, /Point/);
    });

    it('boxed primitives and objects with a non-plain prototype', () => {
      rejectedAt(new String('s'), '$');
      rejectedAt({ n: new Number(1) }, '$.n');
      rejectedAt(Object.create({ inherited: 1 }), '$');
    });

    it('an array subclass', () => {
      class List extends Array<number> {}
      rejectedAt({ list: List.from([1, 2]) }, '$.list');
    });

    it('a cycle through an object', () => {
      const a: Record<string, unknown> = { name: 'a' };
      a.self = a;
      const message = rejectedAt(a, '$.self');
      assert.match(message, /cycle/);
    });

    it('a cycle through an array', () => {
      const list: unknown[] = [1];
      const holder = { list };
      list.push(holder);
      rejectedAt(holder, '$.list[1]');
    });

    it('a sparse array hole', () => {
      rejectedAt({ a: [1, , 3] }, '$.a[1]');
      rejectedAt(new Array(2), '$[0]');
    });

    it('an array with extra named properties', () => {
      const list = Object.assign([1, 2], { extra: true });
      rejectedAt({ list }, '$.list');
    });

    it('a symbol-keyed property on an object', () => {
      rejectedAt({ ok: { a: 1, [Symbol('hidden')]: 2 } }, '$.ok');
    });

    it('a symbol-keyed property on an array', () => {
      const list: unknown[] = [1, 2];
      (list as unknown as Record<symbol, unknown>)[Symbol('hidden')] = 3;
      rejectedAt({ list }, '$.list');
    });

    it(`nesting deeper than MAX_VALUE_DEPTH (${MAX_VALUE_DEPTH}) levels`, () => {
      assert.equal(MAX_VALUE_DEPTH, 1000);
      assert.equal(serializeValue(nested(MAX_VALUE_DEPTH), LIMIT), '['.repeat(MAX_VALUE_DEPTH) + ']'.repeat(MAX_VALUE_DEPTH));
      rejectedAt(nested(MAX_VALUE_DEPTH + 1), '$' + '[0]'.repeat(MAX_VALUE_DEPTH));
    });

    it('keys that are not identifiers are quoted in the path', () => {
      rejectedAt({ 'weird key': undefined }, '$["weird key"]');
      rejectedAt({ outer: { '1st': [NaN] } }, '$.outer["1st"][0]');
      rejectedAt({ 'say "hi"': undefined }, '$["say \\"hi\\""]');
      rejectedAt({ $ok: { _fine: { a1: undefined } } }, '$.$ok._fine.a1');
    });

    it('reports the first bad part in key order', () => {
      rejectedAt({ good: 1, first: undefined, second: NaN }, '$.first');
    });
  });

  describe('valid values round trip', () => {
    it('null, booleans, strings and finite numbers', () => {
      for (const value of [null, true, false, '', 'text', 'ünïcödé \u{1F600}', 0, 1, -1, 1.5, Number.MAX_VALUE, Number.MIN_VALUE, 1e-300]) {
        assert.deepEqual(roundTrip(value), value);
      }
    });

    it('-0 is accepted and reads back as 0 (JSON has no negative zero)', () => {
      assert.equal(serializeValue(-0, LIMIT), '0');
      assert.ok(Object.is(roundTrip(-0), 0));
      assert.deepEqual(roundTrip({ n: -0 }), { n: 0 });
    });

    it('nested objects and arrays', () => {
      const value = { messages: [{ role: 'user', text: 'hi', tags: [] }, { role: 'bot', n: [1, [2, [3]]] }], meta: {} };
      assert.deepEqual(roundTrip(value), JSON.parse(JSON.stringify(value)));
      assert.deepEqual(roundTrip(value), value);
    });

    it('a shared reference that is not a cycle is accepted and written twice', () => {
      const shared = { x: 1 };
      assert.deepEqual(roundTrip({ a: shared, b: [shared] }), { a: { x: 1 }, b: [{ x: 1 }] });
    });

    it('an object with a null prototype is plain data', () => {
      const value = Object.create(null) as Record<string, unknown>;
      value.a = 1;
      value.b = { c: 'd' };
      assert.deepEqual(roundTrip(value), { a: 1, b: { c: 'd' } });
    });

    it('an own __proto__ key stays plain data and does not pollute Object.prototype', () => {
      const value = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}') as object;
      assert.ok(Object.hasOwn(value, '__proto__'));
      const json = serializeValue(value, LIMIT);
      assert.match(json, /"__proto__"/);
      const back = parseFrozen(json) as Record<string, unknown>;
      assert.ok(Object.hasOwn(back, '__proto__'));
      assert.equal(Object.getPrototypeOf(back), Object.prototype);
      assert.deepEqual(Object.getOwnPropertyDescriptor(back, '__proto__')?.value, { polluted: true });
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
      assert.deepEqual(back, value);
    });

    it('an invalid part under a __proto__ key is still found', () => {
      const value = JSON.parse('{"__proto__": {"n": 1}}') as Record<string, Record<string, unknown>>;
      Object.getOwnPropertyDescriptor(value, '__proto__')!.value.n = undefined;
      rejectedAt(value, '$.__proto__.n');
    });
  });

  describe('size limit', () => {
    it('accepts a value of exactly the limit and rejects one byte more with VALUE_TOO_LARGE', () => {
      const exact = 'x'.repeat(LIMIT - 2); // plus two quotes
      assert.equal(serializeValue(exact, LIMIT).length, LIMIT);
      const err = thrownLlmStateError(() => serializeValue(exact + 'x', LIMIT), 'VALUE_TOO_LARGE');
      assert.equal(err.details?.limit, LIMIT);
    });

    it('counts UTF-8 bytes: a string of é is two bytes per character', () => {
      const limit = 100;
      const exact = 'é'.repeat(49); // 98 bytes + 2 quotes
      assert.equal(serializeValue(exact, limit), `"${exact}"`);
      const err = thrownLlmStateError(() => serializeValue('é'.repeat(49) + 'x', limit), 'VALUE_TOO_LARGE');
      assert.equal(err.details?.bytes, 101);
      assert.equal(err.details?.limit, limit);
      // 50 characters would fit a limit counted in UTF-16 units, but not in bytes.
      thrownLlmStateError(() => serializeValue('é'.repeat(50), limit), 'VALUE_TOO_LARGE');
    });

    it('counts UTF-8 bytes of three- and four-byte characters', () => {
      assert.equal(serializeValue('€'.repeat(10), 32), `"${'€'.repeat(10)}"`);
      thrownLlmStateError(() => serializeValue('€'.repeat(10), 31), 'VALUE_TOO_LARGE');
      assert.equal(serializeValue('\u{1F600}'.repeat(10), 42), `"${'\u{1F600}'.repeat(10)}"`);
      thrownLlmStateError(() => serializeValue('\u{1F600}'.repeat(10), 41), 'VALUE_TOO_LARGE');
    });

    it('counts the whole serialised value, not just its strings', () => {
      const value = { key: 'v' }; // {"key":"v"} is 11 bytes
      assert.equal(serializeValue(value, 11), '{"key":"v"}');
      thrownLlmStateError(() => serializeValue(value, 10), 'VALUE_TOO_LARGE');
    });

    it('the default limit is 1 MiB', () => {
      assert.equal(DEFAULT_MAX_VALUE_BYTES, 1024 * 1024);
      const multiByte = 'é'.repeat((LIMIT - 2) / 2);
      assert.equal(Buffer.byteLength(serializeValue(multiByte, LIMIT)), LIMIT);
      thrownLlmStateError(() => serializeValue(multiByte + 'x', LIMIT), 'VALUE_TOO_LARGE');
    });

    it('checks validity before size: an oversized invalid value is VALUE_INVALID', () => {
      thrownLlmStateError(() => serializeValue({ big: 'x'.repeat(100), bad: NaN }, 10), 'VALUE_INVALID');
    });
  });

  describe('parseFrozen', () => {
    it('returns a deeply frozen value', () => {
      const value = parseFrozen('{"a":{"b":[1,{"c":[]}]},"d":[[{}]]}') as {
        a: { b: [number, { c: unknown[] }] };
        d: unknown[][];
      };
      for (const part of [value, value.a, value.a.b, value.a.b[1], value.a.b[1].c, value.d, value.d[0], value.d[0][0]]) {
        assert.ok(Object.isFrozen(part));
      }
      assert.throws(() => {
        value.a.b[1].c.push(1);
      }, TypeError);
      assert.throws(() => {
        (value.a as Record<string, unknown>).x = 1;
      }, TypeError);
    });

    it('returns primitives as they are', () => {
      assert.equal(parseFrozen('"s"'), 's');
      assert.equal(parseFrozen('null'), null);
      assert.equal(parseFrozen('3'), 3);
    });

    it('freezes the value under an own __proto__ key too', () => {
      const back = parseFrozen('{"__proto__":{"x":1}}') as object;
      assert.ok(Object.isFrozen(Object.getOwnPropertyDescriptor(back, '__proto__')?.value));
    });
  });

  describe('deepFreeze', () => {
    it('freezes every nested object and array of a value', () => {
      const value = { a: { b: [{ c: 1 }] } };
      deepFreeze(value);
      assert.ok(Object.isFrozen(value.a.b[0]));
    });
  });
});
