import assert from 'node:assert/strict';
import { deepFreeze } from '../../src/state/values.js';
import {
  DEFAULT_SEPARATOR,
  MAX_CUSTOM_STEP_NAME_LENGTH,
  StepFailure,
  applySteps,
  checkSteps,
  copySteps,
  describeStep,
  fieldPath,
  stepFromJson,
  stepToJson,
  steps,
  type MigrationStep,
} from '../../src/schema/steps.js';
import { parseFieldPath } from '../../src/schema/fieldPath.js';

const { renameField, addField, removeField, convert, split, merge, custom } = steps;

/** Runs `fn`, asserts it throws a StepFailure, and returns it. */
function stepFailure(fn: () => unknown): StepFailure {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof StepFailure, `expected a StepFailure, got ${String(thrown)}`);
  return thrown;
}

/** Asserts that applying `stepList` to `record` fails at `path`, with a reason matching `reason`. */
function failsAt(record: unknown, stepList: MigrationStep[], path: string, reason: RegExp, stepIndex = 0): StepFailure {
  const failure = stepFailure(() => applySteps(record, stepList));
  assert.equal(failure.path, path, failure.message);
  assert.match(failure.reason, reason);
  assert.equal(failure.stepIndex, stepIndex);
  assert.equal(failure.step, describeStep(stepList[stepIndex]));
  assert.ok(failure.message.includes(path), failure.message);
  return failure;
}

function typeErrorMatching(pattern: RegExp) {
  return (err: unknown) => err instanceof TypeError && pattern.test(err.message);
}

describe('migration steps', () => {
  describe('field paths', () => {
    it('are keys joined by dots, with a backslash escaping a dot or a backslash in a key', () => {
      assert.deepEqual(parseFieldPath('address.city'), ['address', 'city']);
      assert.deepEqual(parseFieldPath('meta.a\\.b'), ['meta', 'a.b']);
      assert.deepEqual(parseFieldPath('c\\\\d'), ['c\\d']);
      assert.deepEqual(parseFieldPath('\\.'), ['.']);
      for (const bad of ['', '.', 'a.', '.a', 'a..b', 'a\\b', 'a\\', 'a.\\', 3]) assert.equal(parseFieldPath(bad), undefined, String(bad));
      assert.equal(parseFieldPath('\\..'), undefined);
      assert.deepEqual(parseFieldPath('\\..x'), ['.', 'x']);
    });

    it('fieldPath escapes each key so that it reads back as one key', () => {
      assert.equal(fieldPath('meta', 'a.b'), 'meta.a\\.b');
      for (const keys of [['a'], ['a.b', 'c\\d', '.'], ['__proto__', 'x'], ['\\.', '..']]) {
        assert.deepEqual(parseFieldPath(fieldPath(...keys)), keys);
      }
      assert.throws(() => fieldPath(), TypeError);
      assert.throws(() => fieldPath('a', ''), TypeError);
    });

    it('a step reaches a key that holds a dot through the escape', () => {
      const record = { meta: { 'a.b': 1 }, 'x.y': 2 };
      assert.deepEqual(applySteps(record, [renameField(fieldPath('meta', 'a.b'), 'ab'), removeField('x\\.y')]), { meta: {}, ab: 1 });
    });
  });

  describe('builders', () => {
    it('return frozen steps of the documented shape, and `steps` itself is frozen', () => {
      const made: [MigrationStep, object][] = [
        [renameField('name', 'fullName'), { op: 'renameField', from: 'name', to: 'fullName' }],
        [addField('tags', []), { op: 'addField', path: 'tags', default: [] }],
        [removeField('age'), { op: 'removeField', path: 'age' }],
        [convert('age', 'number'), { op: 'convert', path: 'age', to: 'number' }],
        [split('name', ['first', 'last']), { op: 'split', path: 'name', into: ['first', 'last'], separator: ' ' }],
        [merge(['first', 'last'], 'name', { separator: ', ' }), { op: 'merge', from: ['first', 'last'], into: 'name', separator: ', ' }],
      ];
      for (const [step, shape] of made) {
        assert.deepEqual({ ...step }, shape);
        assert.ok(Object.isFrozen(step), step.op);
      }
      assert.ok(Object.isFrozen(split('a', ['b', 'c']).into));
      assert.ok(Object.isFrozen(steps));
      assert.equal(DEFAULT_SEPARATOR, ' ');
    });

    it('addField keeps a frozen copy of its default: changing the original later changes nothing', () => {
      const original = { nested: [1] };
      const step = addField('settings', original);
      original.nested.push(2);
      assert.deepEqual(step.default, { nested: [1] });
      assert.ok(Object.isFrozen(step.default) && Object.isFrozen((step.default as { nested: number[] }).nested));
      assert.deepEqual(applySteps({}, [step]), { settings: { nested: [1] } });
    });

    it('custom is named by its argument, else by the function, else `anonymous`', () => {
      function lowercaseTags(value: unknown) {
        return value;
      }
      assert.equal(custom(lowercaseTags).name, 'lowercaseTags');
      assert.equal(custom(lowercaseTags, 'tagsV2').name, 'tagsV2');
      assert.equal(custom((value) => value).name, 'anonymous');
    });

    it('refuse a field path that is not one, naming the argument', () => {
      for (const bad of ['', 'a..b', '.a', 'a.', 'a\\b', 42, null]) {
        assert.throws(() => renameField(bad as string, 'x'), typeErrorMatching(/^Expected `from` to be a field path like `address\.city`/), String(bad));
        assert.throws(() => removeField(bad as string), typeErrorMatching(/^Expected `path` to be a field path/), String(bad));
      }
      assert.throws(() => renameField('x', 'a..b'), typeErrorMatching(/^Expected `to` to be a field path/));
    });

    it('refuse renaming a field to itself or to a field that contains it, which could never succeed', () => {
      assert.throws(() => renameField('name', 'name'), typeErrorMatching(/^Expected `to` to name a field that is not `from` and does not contain it, got `"name"`/));
      assert.throws(() => renameField('a.b', 'a'), typeErrorMatching(/^Expected `to` to name a field that is not `from`/));
      assert.doesNotThrow(() => renameField('a', 'a.b'));
    });

    it('addField refuses a default that is not JSON data, saying where and why', () => {
      assert.throws(() => addField('x', undefined as never), typeErrorMatching(/^Expected `default` to be JSON data, got `undefined`/));
      assert.throws(() => addField('x', { when: new Date(0) } as never), typeErrorMatching(/at \$\.when, an instance of Date is not plain data/));
      assert.throws(() => addField('x', { a: undefined } as never), typeErrorMatching(/at \$\.a, undefined is not JSON/));
      assert.throws(() => addField('x', [Number.NaN]), typeErrorMatching(/at \$\[0\], NaN is not a finite number/));
      assert.throws(() => addField('x', (() => 1) as never), TypeError);
    });

    it('convert refuses an unknown target type', () => {
      assert.throws(() => convert('age', 'int' as never), typeErrorMatching(/^Expected `to` to be one of `number`, `string` or `boolean`, got `"int"` \(string\)$/));
    });

    it('split and merge refuse empty, repeated or nested path lists and an empty separator', () => {
      const listRule = /^Expected `into` to be a non-empty array of distinct field paths, none inside another/;
      assert.throws(() => split('name', []), typeErrorMatching(listRule));
      assert.throws(() => split('name', ['a', 'a']), typeErrorMatching(listRule));
      assert.throws(() => split('name', ['a', 'a.b']), typeErrorMatching(listRule));
      assert.throws(() => split('name', 'a b' as never), typeErrorMatching(listRule));
      assert.throws(() => merge(['a', 'b', 'a'], 'c'), typeErrorMatching(/^Expected `from` to be a non-empty array of distinct field paths/));
      assert.throws(() => split('name', ['a', 'b'], { separator: '' }), typeErrorMatching(/^Expected `separator` to be a non-empty string, got `""`/));
      assert.throws(() => merge(['a', 'b'], 'c', { sep: ',' } as never), typeErrorMatching(/^Unknown option `sep`; the options are `separator`/));
      assert.throws(() => merge(['a', 'b'], 'c', null as never), typeErrorMatching(/^Expected `options` to be an object, got `null`/));
    });

    it('split and merge refuse a target that contains a source, which could never succeed', () => {
      assert.throws(() => split('a.b', ['a', 'c']), typeErrorMatching(/^Expected `into` not to contain the field `path` names, got `"a"`/));
      assert.throws(() => merge(['a.x', 'a.y'], 'a'), typeErrorMatching(/^Expected `into` not to contain the field `from` names/));
      assert.doesNotThrow(() => split('name', ['name', 'surname']));
      assert.doesNotThrow(() => merge(['first', 'last'], 'first'));
    });

    it('custom refuses what is not a function and a bad name', () => {
      assert.throws(() => custom('x' as never), typeErrorMatching(/^Expected `fn` to be a function of the record, got `"x"` \(string\)$/));
      assert.throws(() => custom((v) => v, ''), typeErrorMatching(/^Expected `name` to be a non-empty string/));
      assert.throws(() => custom((v) => v, 'n'.repeat(MAX_CUSTOM_STEP_NAME_LENGTH + 1)), TypeError);
    });
  });

  describe('renameField', () => {
    it('moves a field, and leaves a record without it as it is', () => {
      assert.deepEqual(applySteps({ name: 'Ada', age: 36 }, [renameField('name', 'fullName')]), { age: 36, fullName: 'Ada' });
      assert.deepEqual(applySteps({ age: 36 }, [renameField('name', 'fullName')]), { age: 36 });
      assert.deepEqual(applySteps({ name: null }, [renameField('name', 'fullName')]), { fullName: null });
    });

    it('moves between nested paths, creating the objects on the way to the target and keeping the emptied parent', () => {
      assert.deepEqual(applySteps({ city: 'London' }, [renameField('city', 'address.city')]), { address: { city: 'London' } });
      assert.deepEqual(applySteps({ address: { city: 'London', zip: 'N1' } }, [renameField('address.city', 'town')]), { address: { zip: 'N1' }, town: 'London' });
      assert.deepEqual(applySteps({ a: { b: 1 } }, [renameField('a.b', 'c')]), { a: {}, c: 1 });
      assert.deepEqual(applySteps({ a: { b: 1 } }, [renameField('a', 'a.inner')]), { a: { inner: { b: 1 } } });
      assert.deepEqual(applySteps({ a: { x: 1 } }, [renameField('b', 'a.y')]), { a: { x: 1 } });
    });

    it('fails when the target already holds a value, even null, naming it', () => {
      const failure = failsAt({ name: 'Ada', fullName: null }, [renameField('name', 'fullName')], '$.fullName', /^the field already holds `null`; remove it in an earlier step/);
      assert.equal(failure.message, 'steps[0] renameField(name → fullName) failed at $.fullName: the field already holds `null`; remove it in an earlier step, or choose another field');
    });

    it('fails when a path goes through a string, an array or null, on either side', () => {
      failsAt({ address: 'Main St' }, [renameField('address.city', 'city')], '$.address', /^it is `"Main St"` \(string\), not an object, so the path `address\.city` cannot go through it$/);
      failsAt({ address: ['x'] }, [renameField('address.city', 'city')], '$.address', /^it is `\["x"\]` \(array\), not an object/);
      failsAt({ address: null }, [renameField('address.city', 'city')], '$.address', /^it is `null`, not an object/);
      failsAt({ city: 'L', address: 7 }, [renameField('city', 'address.city')], '$.address', /^it is `7` \(number\), not an object/);
      failsAt({ x: 1, a: { b: { c: 'deep' } } }, [renameField('x', 'a.b.c.d')], '$.a.b.c', /not an object, so the path `a\.b\.c\.d`/);
    });

    it('follows the target path only when there is something to move', () => {
      assert.deepEqual(applySteps({ a: 'text' }, [renameField('x', 'a.b')]), { a: 'text' });
    });

    it('fails at `$` when the record itself is not an object', () => {
      failsAt('Ada', [renameField('name', 'fullName')], '$', /^it is `"Ada"` \(string\), not an object/);
      failsAt([1, 2], [removeField('0')], '$', /^it is `\[1,2\]` \(array\), not an object/);
    });
  });

  describe('addField', () => {
    it('sets an absent field, and leaves a present one as it is, even null', () => {
      assert.deepEqual(applySteps({ a: 1 }, [addField('tags', [])]), { a: 1, tags: [] });
      assert.deepEqual(applySteps({ tags: ['x'] }, [addField('tags', [])]), { tags: ['x'] });
      assert.deepEqual(applySteps({ tags: null }, [addField('tags', [])]), { tags: null });
      assert.deepEqual(applySteps({ n: 0 }, [addField('n', 5)]), { n: 0 });
    });

    it('creates the objects on the way, and keeps the fields they already have', () => {
      assert.deepEqual(applySteps({}, [addField('settings.ui.theme', 'dark')]), { settings: { ui: { theme: 'dark' } } });
      assert.deepEqual(applySteps({ settings: { lang: 'en' } }, [addField('settings.ui.theme', 'dark')]), { settings: { lang: 'en', ui: { theme: 'dark' } } });
    });

    it('gives each record its own copy of the default', () => {
      const step = addField('tags', ['a']);
      const first = applySteps({}, [step]) as { tags: string[] };
      first.tags.push('changed');
      assert.deepEqual(applySteps({}, [step]), { tags: ['a'] });
      assert.deepEqual(step.default, ['a']);
    });

    it('writes -0, in a default or in the record, as the 0 that JSON reads back', () => {
      const result = applySteps({ n: -0 }, [addField('tags', [[-0]])]) as { n: number; tags: number[][] };
      assert.ok(Object.is(result.n, 0));
      assert.ok(Object.is(result.tags[0][0], 0));
    });

    it('fails when the path goes through a value that is not an object', () => {
      failsAt({ settings: true }, [addField('settings.theme', 'dark')], '$.settings', /^it is `true` \(boolean\), not an object/);
    });
  });

  describe('removeField', () => {
    it('removes the field, leaves a record without it as it is, and keeps the emptied parent', () => {
      assert.deepEqual(applySteps({ a: 1, b: 2 }, [removeField('a')]), { b: 2 });
      assert.deepEqual(applySteps({ b: 2 }, [removeField('a')]), { b: 2 });
      assert.deepEqual(applySteps({ a: { x: 1 } }, [removeField('a.x')]), { a: {} });
      assert.deepEqual(applySteps({ b: 1 }, [removeField('a.x')]), { b: 1 });
    });

    it('fails when the path goes through a value that is not an object, rather than skipping it', () => {
      failsAt({ a: 'text' }, [removeField('a.x')], '$.a', /not an object, so the path `a\.x` cannot go through it/);
    });
  });

  describe('convert', () => {
    const converted = (value: unknown, to: 'number' | 'string' | 'boolean') => (applySteps({ v: value }, [convert('v', to)]) as { v: unknown }).v;

    it('to number: numbers stay, decimal strings parse, booleans become 1 and 0', () => {
      const cases: [unknown, number][] = [
        [42, 42],
        ['42', 42],
        ['-0.5', -0.5],
        ['+7', 7],
        ['007', 7],
        ['1e3', 1000],
        ['2.5E-3', 0.0025],
        ['9007199254740993.5', 9007199254740994],
        ['100000000000000000000', 1e20],
        ['48419267832954650', 48419267832954650],
        ['1000000000000000000000', 1e21],
        ['-123400000000000000000000', -1.234e23],
        [true, 1],
        [false, 0],
      ];
      for (const [value, expected] of cases) assert.equal(converted(value, 'number'), expected, String(value));
      assert.ok(Object.is(converted('-0', 'number'), -0));
    });

    it('to number: refuses what Number() would take but is no decimal number, naming the value and the type', () => {
      for (const value of ['', ' ', ' 12', '12 ', '0x1f', ' 0x1f', '0b1', '0o7', 'Infinity', '-Infinity', 'NaN', '1_000', '1,5', '.5', '5.', '1e', 'e3', '--1', '١٢']) {
        const failure = failsAt({ v: value }, [convert('v', 'number')], '$.v', /^cannot convert `".*"` \(string\) to a number: it is not a decimal number like `42`, `-0\.5` or `1e3`$/);
        assert.ok(failure.reason.includes(JSON.stringify(value)), failure.reason);
      }
    });

    it('to number: refuses a string beyond the range of a number, and an integer a number cannot hold exactly', () => {
      failsAt({ v: '1e400' }, [convert('v', 'number')], '$.v', /^cannot convert `"1e400"` \(string\) to a number: it is beyond the range of a number$/);
      failsAt({ v: '12345678901234567891' }, [convert('v', 'number')], '$.v', /to a number: the nearest number is 12345678901234567000, which would lose digits; keep it a string$/);
      failsAt({ v: '1000000000000000000001' }, [convert('v', 'number')], '$.v', /the nearest number is 1e\+21, which would lose digits/);
      failsAt({ v: '-9007199254740993' }, [convert('v', 'number')], '$.v', /would lose digits/);
    });

    it('to number: refuses null, objects and arrays', () => {
      failsAt({ v: null }, [convert('v', 'number')], '$.v', /^cannot convert `null` to a number$/);
      failsAt({ v: { a: 1 } }, [convert('v', 'number')], '$.v', /^cannot convert `\{"a":1\}` \(object\) to a number$/);
      failsAt({ v: [1] }, [convert('v', 'number')], '$.v', /^cannot convert `\[1\]` \(array\) to a number$/);
    });

    it('to string: strings stay, numbers as String(n) writes them, booleans as words', () => {
      assert.equal(converted('x', 'string'), 'x');
      assert.equal(converted(36, 'string'), '36');
      assert.equal(converted(-1.5e-7, 'string'), '-1.5e-7');
      assert.equal(converted(1e21, 'string'), '1e+21');
      assert.equal(converted(true, 'string'), 'true');
      assert.equal(converted(false, 'string'), 'false');
      failsAt({ v: null }, [convert('v', 'string')], '$.v', /^cannot convert `null` to a string$/);
      failsAt({ v: ['a'] }, [convert('v', 'string')], '$.v', /^cannot convert `\["a"\]` \(array\) to a string$/);
    });

    it('to boolean: booleans stay; only "true", "false", 1 and 0 convert', () => {
      assert.equal(converted(true, 'boolean'), true);
      assert.equal(converted('true', 'boolean'), true);
      assert.equal(converted('false', 'boolean'), false);
      assert.equal(converted(1, 'boolean'), true);
      assert.equal(converted(0, 'boolean'), false);
      for (const value of ['TRUE', 'yes', '1', '0', '', 2, -1, 0.5, null, {}]) {
        failsAt({ v: value }, [convert('v', 'boolean')], '$.v', /to a boolean: only true, false, "true", "false", 1 and 0 convert to a boolean$/);
      }
    });

    it('leaves an absent field absent, nested or not', () => {
      assert.deepEqual(applySteps({ a: 1 }, [convert('age', 'number')]), { a: 1 });
      assert.deepEqual(applySteps({ a: 1 }, [convert('p.age', 'number')]), { a: 1 });
      assert.deepEqual(applySteps({ p: { age: '3' } }, [convert('p.age', 'number')]), { p: { age: 3 } });
    });

    it('shortens a long value in the message, and escapes what a terminal would act on', () => {
      const long = `${'x'.repeat(500)}\u001b[2J`;
      const failure = failsAt({ v: long }, [convert('v', 'number')], '$.v', /^cannot convert `"x+…` \(string\) to a number/);
      assert.ok(failure.message.length < 300, failure.message);
      const escaped = failsAt({ v: 'a\u001b[2Jb' }, [convert('v', 'number')], '$.v', /\\u001b/);
      assert.ok(!escaped.message.includes('\u001b'));
    });
  });

  describe('split', () => {
    it('splits a string at each separator, the last field taking the rest', () => {
      assert.deepEqual(applySteps({ name: 'Ada King Lovelace' }, [split('name', ['first', 'last'])]), { first: 'Ada', last: 'King Lovelace' });
      assert.deepEqual(applySteps({ name: 'a, b, c' }, [split('name', ['x', 'y', 'z'], { separator: ', ' })]), { x: 'a', y: 'b', z: 'c' });
      assert.deepEqual(applySteps({ name: 'a,,b' }, [split('name', ['x', 'y', 'z'], { separator: ',' })]), { x: 'a', y: '', z: 'b' });
    });

    it('leaves the last fields absent when the string has fewer parts', () => {
      assert.deepEqual(applySteps({ name: 'Ada' }, [split('name', ['first', 'last'])]), { first: 'Ada' });
      assert.deepEqual(applySteps({ name: '' }, [split('name', ['first', 'last'])]), { first: '' });
    });

    it('may reuse the source as a target, and writes nested targets', () => {
      assert.deepEqual(applySteps({ name: 'Ada Lovelace' }, [split('name', ['name', 'surname'])]), { name: 'Ada', surname: 'Lovelace' });
      assert.deepEqual(applySteps({ name: 'Ada Lovelace' }, [split('name', ['name.first', 'name.last'])]), { name: { first: 'Ada', last: 'Lovelace' } });
    });

    it('leaves a record without the field as it is', () => {
      assert.deepEqual(applySteps({ a: 1 }, [split('name', ['first', 'last'])]), { a: 1 });
    });

    it('fails on a value that is not a string, and on a target that holds a value', () => {
      failsAt({ name: 42 }, [split('name', ['first', 'last'])], '$.name', /^split takes a string, and the field holds `42` \(number\)$/);
      failsAt({ name: null }, [split('name', ['first', 'last'])], '$.name', /the field holds `null`$/);
      failsAt({ name: 'Ada', last: 'X' }, [split('name', ['first', 'last'])], '$.last', /^the field already holds `"X"` \(string\)/);
    });
  });

  describe('merge', () => {
    it('joins the present strings in order, with the separator, and removes the sources', () => {
      assert.deepEqual(applySteps({ first: 'Ada', last: 'Lovelace', age: 36 }, [merge(['first', 'last'], 'name')]), { age: 36, name: 'Ada Lovelace' });
      assert.deepEqual(applySteps({ last: 'Lovelace' }, [merge(['first', 'last'], 'name')]), { name: 'Lovelace' });
      assert.deepEqual(applySteps({ a: { x: '1' }, b: '2' }, [merge(['a.x', 'b'], 'c.d', { separator: '-' })]), { a: {}, c: { d: '1-2' } });
    });

    it('leaves the record as it is when no source is present', () => {
      assert.deepEqual(applySteps({ age: 36 }, [merge(['first', 'last'], 'name')]), { age: 36 });
    });

    it('may write into one of its sources', () => {
      assert.deepEqual(applySteps({ first: 'Ada', last: 'Lovelace' }, [merge(['first', 'last'], 'first')]), { first: 'Ada Lovelace' });
    });

    it('fails on a present value that is not a string, and on a target that holds a value', () => {
      failsAt({ first: 'Ada', last: 7 }, [merge(['first', 'last'], 'name')], '$.last', /^merge joins strings, and the field holds `7` \(number\) \(convert it to a string first\)$/);
      failsAt({ first: null }, [merge(['first', 'last'], 'name')], '$.first', /the field holds `null`/);
      failsAt({ first: 'Ada', name: 'x' }, [merge(['first', 'last'], 'name')], '$.name', /^the field already holds `"x"`/);
    });
  });

  describe('custom', () => {
    it('takes what the function returns as the new record', () => {
      const upper = custom((record: { name: string }) => ({ ...record, name: record.name.toUpperCase() }), 'upper');
      assert.deepEqual(applySteps({ name: 'ada' }, [upper]), { name: 'ADA' });
      assert.equal(applySteps({ n: 1 }, [custom(() => 'replaced')]), 'replaced');
    });

    it('gets a copy: changing its argument never reaches the caller’s record', () => {
      const record = { tags: ['a'] };
      const result = applySteps(record, [custom((value: { tags: string[] }) => { value.tags.push('b'); return value; })]);
      assert.deepEqual(result, { tags: ['a', 'b'] });
      assert.deepEqual(record, { tags: ['a'] });
    });

    it('what it returns is copied: later steps never change an object the function shares', () => {
      const shared = { theme: 'light' };
      const result = applySteps({}, [custom(() => ({ settings: shared })), addField('settings.lang', 'en'), renameField('settings.theme', 'theme')]);
      assert.deepEqual(result, { settings: { lang: 'en' }, theme: 'light' });
      assert.deepEqual(shared, { theme: 'light' });
    });

    it('a throw becomes a StepFailure with the error as its cause', () => {
      const boom = new Error('no tags here');
      const failure = failsAt({ a: 1 }, [removeField('a'), custom(() => { throw boom; }, 'tagsV2')], '$', /^the function threw: no tags here$/, 1);
      assert.equal(failure.cause, boom);
      assert.equal(failure.message, 'steps[1] custom(tagsV2) failed at $: the function threw: no tags here');
      failsAt({}, [custom(() => { throw 'plain'; })], '$', /^the function threw: plain$/);
    });

    it('fails when the function returns undefined, a promise, or anything that is not JSON data', () => {
      failsAt({}, [custom((record: { a?: number }) => { record.a = 1; })], '$', /^the function returned undefined; a custom step returns the new record/);
      failsAt({}, [custom(async (record) => record)], '$', /^the function returned a promise; a custom step runs synchronously/);
      failsAt({}, [custom(() => ({ at: new Date(0) }))], '$.at', /^the result is not JSON data: an instance of Date is not plain data/);
      failsAt({}, [custom(() => ({ a: [1, Number.POSITIVE_INFINITY] }))], '$.a[1]', /Infinity is not a finite number/);
      failsAt({}, [custom(() => ({ a: undefined }))], '$.a', /undefined is not JSON/);
      failsAt({}, [custom(() => ({ f() {} }))], '$.f', /a function is not JSON data/);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      failsAt({}, [custom(() => cyclic)], '$.self', /a cycle/);
    });

    it('a promise that rejects later does not surface as an unhandled rejection', async () => {
      let unhandled: unknown;
      const onUnhandled = (reason: unknown) => {
        unhandled = reason;
      };
      process.on('unhandledRejection', onUnhandled);
      try {
        stepFailure(() => applySteps({}, [custom(async () => { throw new Error('later'); })]));
        await new Promise((resolve) => setTimeout(resolve, 20));
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      assert.equal(unhandled, undefined);
    });
  });

  describe('applySteps', () => {
    it('runs the steps in order on one copy: the example of the issue', () => {
      const v1 = deepFreeze({ name: 'Ada', age: '36' });
      assert.deepEqual(applySteps(v1, [renameField('name', 'fullName'), convert('age', 'number'), addField('tags', [])]), { fullName: 'Ada', age: 36, tags: [] });
    });

    it('never changes a deeply frozen input, whatever the steps do', () => {
      const input = deepFreeze({ name: 'Ada Lovelace', age: '36', address: { city: 'London', zip: 'N1' }, tags: ['x'], first: 'a', last: 'b' });
      const before = structuredClone(input);
      const all = [
        renameField('address.city', 'city'),
        addField('address.country', 'UK'),
        removeField('address.zip'),
        convert('age', 'number'),
        split('name', ['given', 'family']),
        merge(['first', 'last'], 'initials', { separator: '' }),
        custom((record: { tags: string[] }) => { record.tags.push('y'); return record; }, 'pushTag'),
      ];
      const result = applySteps(input, all);
      assert.deepEqual(input, before);
      assert.deepEqual(result, {
        age: 36,
        address: { country: 'UK' },
        tags: ['x', 'y'],
        city: 'London',
        given: 'Ada',
        family: 'Lovelace',
        initials: 'ab',
      });
    });

    it('returns a copy even with no steps', () => {
      const input = { a: { b: 1 } };
      const result = applySteps(input, []) as typeof input;
      assert.deepEqual(result, input);
      assert.notEqual(result, input);
      assert.notEqual(result.a, input.a);
    });

    it('refuses an input that is not JSON data with a TypeError, saying where', () => {
      assert.throws(() => applySteps({ a: undefined }, []), typeErrorMatching(/^Expected `value` to be JSON data, got `\{\}` \(object\): at \$\.a, undefined is not JSON/));
      assert.throws(() => applySteps({ n: 10n }, []), typeErrorMatching(/at \$\.n, a BigInt is not JSON data/));
    });

    it('refuses steps that are not steps with a TypeError naming the index', () => {
      assert.throws(() => applySteps({}, [renameField('a', 'b'), { op: 'renameField', from: 'a' } as never]), typeErrorMatching(/^Expected `steps\[1\]\.to` to be a field path/));
    });

    it('a failure names the failing step among several, and the later steps never run', () => {
      let ran = false;
      const failure = failsAt({ age: 'x' }, [addField('tags', []), convert('age', 'number'), custom((r) => { ran = true; return r; })], '$.age', /cannot convert/, 1);
      assert.equal(failure.message, 'steps[1] convert(age → number) failed at $.age: cannot convert `"x"` (string) to a number: it is not a decimal number like `42`, `-0.5` or `1e3`');
      assert.equal(failure.name, 'StepFailure');
      assert.ok(failure instanceof Error);
      assert.equal(ran, false);
    });

    it('fails a step that would nest the record deeper than a state value may be', () => {
      let deep: Record<string, unknown> = {};
      for (let i = 1; i < 999; i++) deep = { a: deep };
      assert.doesNotThrow(() => applySteps(deep, [addField('x', 1)]));
      const failure = stepFailure(() => applySteps(deep, [addField('x', 1), renameField('a', 'b.c.d')]));
      assert.equal(failure.stepIndex, 1);
      assert.match(failure.reason, /^the result is not JSON data: the value is nested deeper than 1000 levels$/);
      assert.ok(failure.path.startsWith('$.b.c.d.a'), failure.path);
    });
  });

  describe('keys such as __proto__ stay plain data', () => {
    afterEach(() => {
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype was polluted');
    });

    it('a stored `__proto__` key is read, renamed, converted and removed as a field', () => {
      const record = deepFreeze(JSON.parse('{"__proto__": {"polluted": "yes"}, "a": "1"}'));
      const renamed = applySteps(record, [renameField('__proto__', 'proto')]) as Record<string, unknown>;
      assert.deepEqual(JSON.parse(JSON.stringify(renamed)), { a: '1', proto: { polluted: 'yes' } });
      assert.equal(Object.getPrototypeOf(renamed), Object.prototype);
      const moved = applySteps(record, [renameField('a', '__proto__.a')]) as Record<string, unknown>;
      assert.equal(JSON.stringify(moved), '{"__proto__":{"polluted":"yes","a":"1"}}');
      assert.equal(Object.getPrototypeOf(moved), Object.prototype);
      assert.equal(JSON.stringify(applySteps(record, [removeField('__proto__')])), '{"a":"1"}');
    });

    it('writing to `__proto__` or `constructor.prototype` defines own fields and changes no prototype', () => {
      const added = applySteps({}, [addField('__proto__.polluted', 'yes'), addField('constructor.prototype.polluted', 'yes')]) as object;
      assert.equal(JSON.stringify(added), '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}');
      assert.equal(Object.getPrototypeOf(added), Object.prototype);
      assert.equal(Object.hasOwn(added, '__proto__'), true);
      const renamed = applySteps({ a: { polluted: 'yes' } }, [renameField('a', '__proto__')]) as object;
      assert.equal(Object.getPrototypeOf(renamed), Object.prototype);
      assert.equal(JSON.stringify(renamed), '{"__proto__":{"polluted":"yes"}}');
      const split2 = applySteps({ s: 'a b' }, [split('s', ['__proto__', 'constructor'])]) as object;
      assert.equal(JSON.stringify(split2), '{"__proto__":"a","constructor":"b"}');
      assert.equal(Object.getPrototypeOf(split2), Object.prototype);
    });

    it('an inherited property is not a field: `toString` and `constructor` read as absent', () => {
      assert.deepEqual(applySteps({}, [renameField('toString', 'x'), convert('constructor', 'string')]), {});
      assert.deepEqual(applySteps({}, [addField('hasOwnProperty', 1)]), { hasOwnProperty: 1 });
    });

    it('a custom step that returns a `__proto__` key keeps it as data', () => {
      const result = applySteps({}, [custom(() => JSON.parse('{"__proto__": {"polluted": "yes"}}')), addField('b', 1)]) as object;
      assert.equal(JSON.stringify(result), '{"__proto__":{"polluted":"yes"},"b":1}');
      assert.equal(Object.getPrototypeOf(result), Object.prototype);
    });
  });

  describe('describeStep', () => {
    it('shows each kind of step on one line', () => {
      assert.equal(describeStep(renameField('name', 'fullName')), 'renameField(name → fullName)');
      assert.equal(describeStep(addField('tags', [])), 'addField(tags, [])');
      assert.equal(describeStep(addField('meta', { source: 'import' })), 'addField(meta, {"source":"import"})');
      assert.equal(describeStep(removeField('age')), 'removeField(age)');
      assert.equal(describeStep(convert('age', 'number')), 'convert(age → number)');
      assert.equal(describeStep(split('name', ['first', 'last'])), 'split(name → first, last, separator " ")');
      assert.equal(describeStep(merge(['first', 'last'], 'name', { separator: ', ' })), 'merge(first, last → name, separator ", ")');
      assert.equal(describeStep(custom((v) => v, 'tagsV2')), 'custom(tagsV2)');
    });

    it('cuts a long default and escapes control characters', () => {
      assert.equal(describeStep(addField('notes', 'n'.repeat(100))), `addField(notes, "${'n'.repeat(38)}…)`);
      assert.equal(describeStep(renameField('a\u001b[2J', 'b\u202e')), 'renameField(a\\u001b[2J → b\\u202e)');
    });
  });

  describe('stored form', () => {
    const made = (): MigrationStep[] => [
      renameField('name', 'fullName'),
      addField('settings', { ui: { theme: 'dark' }, tags: [] }),
      removeField('legacy.flag'),
      convert('age', 'number'),
      split('name', ['first', 'last'], { separator: ',' }),
      merge(['first', 'last'], 'name'),
    ];

    it('round-trips every built-in step through JSON text', () => {
      for (const step of made()) {
        const stored = JSON.parse(JSON.stringify(stepToJson(step)));
        const back = stepFromJson(stored);
        assert.deepEqual({ ...back }, { ...step }, step.op);
        assert.equal(describeStep(back), describeStep(step));
        assert.ok(Object.isFrozen(back));
      }
    });

    it('steps read back run as the originals do', () => {
      const record = { name: 'Ada', age: '36', legacy: { flag: true } };
      const original = [renameField('name', 'fullName'), convert('age', 'number'), removeField('legacy.flag'), addField('tags', [])];
      const back = original.map((step) => stepFromJson(JSON.parse(JSON.stringify(stepToJson(step))))) as MigrationStep[];
      assert.deepEqual(applySteps(record, back), applySteps(record, original));
    });

    it('keeps only the name of a custom step; read back, it can be described but not run', () => {
      const step = custom((v) => v, 'tagsV2');
      assert.deepEqual(stepToJson(step), { op: 'custom', name: 'tagsV2' });
      const back = stepFromJson({ op: 'custom', name: 'tagsV2' });
      assert.deepEqual({ ...back }, { op: 'custom', name: 'tagsV2', fn: undefined });
      assert.equal(describeStep(back), 'custom(tagsV2)');
      assert.throws(() => applySteps({}, [back as MigrationStep]), typeErrorMatching(/^Expected `steps\[0\]\.fn` to be a function of the record, got `undefined`/));
      assert.throws(() => checkSteps([back]), TypeError);
    });

    it('stepToJson returns data that shares nothing with the step', () => {
      const step = addField('x', { a: [1] });
      const json = stepToJson(step) as unknown as { default: { a: number[] } };
      json.default.a.push(2);
      assert.deepEqual(step.default, { a: [1] });
    });

    it('stepFromJson refuses what is not a stored step with a TypeError', () => {
      assert.throws(() => stepFromJson(null), typeErrorMatching(/^Expected `step` to be a migration step object/));
      assert.throws(() => stepFromJson({ op: 'rename', from: 'a', to: 'b' }), typeErrorMatching(/^Expected `step\.op` to be one of `renameField`, `addField`, `removeField`, `convert`, `split`, `merge`, `custom`, got `"rename"`/));
      assert.throws(() => stepFromJson({ op: 'renameField', from: 'a' }), typeErrorMatching(/^Expected `step\.to` to be a field path/));
      assert.throws(() => stepFromJson({ op: 'convert', path: 'a', to: 'number', extra: 1 }, 'steps[3]'), typeErrorMatching(/^Unknown field `steps\[3\]\.extra`; a convert step has `op`, `path` and `to`$/));
      assert.throws(() => stepFromJson({ op: 'custom', name: 'x', fn: 'code' }), typeErrorMatching(/^Unknown field `step\.fn`/));
      assert.throws(() => stepFromJson({ op: 'split', path: 'a', into: ['b'] }), typeErrorMatching(/^Expected `step\.separator` to be a non-empty string, got `undefined`/));
      assert.throws(() => stepFromJson({ op: 'addField', path: 'a' }), typeErrorMatching(/^Expected `step\.default` to be JSON data, got `undefined`/));
    });
  });

  describe('checkSteps', () => {
    it('accepts built steps and steps written out by hand', () => {
      assert.doesNotThrow(() => checkSteps([renameField('a', 'b'), { op: 'removeField', path: 'c' }, { op: 'custom', name: 'f', fn: (v: unknown) => v }]));
      assert.doesNotThrow(() => checkSteps([]));
    });

    it('refuses what is not an array, or a bad step, naming its index', () => {
      assert.throws(() => checkSteps(renameField('a', 'b')), typeErrorMatching(/^Expected `steps` to be an array of migration steps, got `\{.*\}` \(object\)$/));
      assert.throws(() => checkSteps([renameField('a', 'b'), 'removeField(a)']), typeErrorMatching(/^Expected `steps\[1\]` to be a migration step object \(as `steps\.renameField\(…\)` makes\), got `"removeField\(a\)"` \(string\)$/));
      assert.throws(() => checkSteps([{ op: 'convert', path: 'a', to: 'date' }]), typeErrorMatching(/^Expected `steps\[0\]\.to` to be one of `number`, `string` or `boolean`/));
      assert.throws(() => checkSteps([{ op: 'removeField', path: 'a', from: 'b' }]), typeErrorMatching(/^Unknown field `steps\[0\]\.from`; a removeField step has `op` and `path`$/));
      assert.throws(() => checkSteps([{ op: 'addField', path: 'a', default: { d: new Map() } }]), typeErrorMatching(/^Expected `steps\[0\]\.default` to be JSON data.*at \$\.d, an instance of Map/));
      assert.throws(() => checkSteps([{ op: 'renameField', from: 'a', to: 'a' }]), typeErrorMatching(/^Expected `steps\[0\]\.to` to name a field that is not `steps\[0\]\.from`/));
      assert.throws(() => checkSteps([{ op: 'split', path: 'a', into: ['b'], separator: '' }], 'definition.steps'), typeErrorMatching(/^Expected `definition\.steps\[0\]\.separator` to be a non-empty string/));
    });

    it('copySteps keeps built steps and freezes a copy of those written by hand', () => {
      const built = renameField('a', 'b');
      const byHand = { op: 'split', path: 'name', into: ['first', 'last'], separator: ' ' };
      const copied = copySteps([built, byHand]);
      assert.ok(Object.isFrozen(copied));
      assert.equal(copied[0], built);
      assert.notEqual(copied[1], byHand);
      assert.deepEqual({ ...copied[1] }, byHand);
      byHand.into.push('middle');
      assert.deepEqual(applySteps({ name: 'Ada King Lovelace' }, copied), { first: 'Ada', last: 'King Lovelace' });
      assert.throws(() => copySteps([built, { op: 'removeField' }], 'spec.steps'), typeErrorMatching(/^Expected `spec\.steps\[1\]\.path` to be a field path/));
    });

    it('a step written by hand is checked each time it runs, so changing it cannot slip past', () => {
      const step = { op: 'renameField', from: 'a', to: 'b' };
      assert.deepEqual(applySteps({ a: 1 }, [step as MigrationStep]), { b: 1 });
      step.to = 'c';
      assert.deepEqual(applySteps({ a: 1 }, [step as MigrationStep]), { c: 1 });
      step.to = 'a..b';
      assert.throws(() => applySteps({ a: 1 }, [step as MigrationStep]), TypeError);
    });
  });
});
