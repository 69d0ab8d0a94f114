import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRuntime, MAX_KEY_LENGTH, Scope, SCOPE_KINDS, type Runtime } from '../../src/index.js';
import { applyOperation } from '../../src/testing/applyOperation.js';
import { jsonValues } from '../../src/testing/jsonValues.js';
import { invalidKeys, keys } from '../../src/testing/keys.js';
import { checkLinearizable } from '../../src/testing/linearizability.js';
import { concurrentOperations, describeOperation, operations, OPERATION_KINDS, type Operation } from '../../src/testing/operations.js';
import { scopes } from '../../src/testing/scopes.js';
import { simulate } from '../../src/testing/simulate.js';

/** Enough draws that a kind of key or value the arbitrary makes one time in fifty shows up. */
const MANY = 2000;

function sample<T>(arbitrary: fc.Arbitrary<T>, numRuns = MANY): T[] {
  return fc.sample(arbitrary, { numRuns, seed: 42 });
}

const codePoints = (text: string) => Array.from(text).length;
const utf8Bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

describe('arbitraries', () => {
  describe('keys', () => {
    it('draws the awkward keys the rules allow: non-ASCII, astral, NFD spellings, inner / and dots, _, spaces, and the longest', () => {
      const drawn = sample(keys());
      const wanted: Record<string, (key: string) => boolean> = {
        'non-ASCII': (key) => /[^\x00-\x7f]/.test(key),
        'astral': (key) => /[\u{10000}-\u{10ffff}]/u.test(key),
        'spelt in NFD': (key) => key !== key.normalize('NFC'),
        'an inner /': (key) => key.slice(1).includes('/'),
        'a dot not a whole segment': (key) => /(^|\/)\.[^/]|[^/]\./.test(key),
        'a leading _': (key) => key.startsWith('_'),
        'a space': (key) => key.includes(' '),
        'an invisible or bidi character': (key) => /[\u200b\u202e\ufeff]/.test(key),
        'a long one, short of the limit': (key) => codePoints(key.normalize('NFC')) > 64 && codePoints(key.normalize('NFC')) < MAX_KEY_LENGTH,
        [`exactly ${MAX_KEY_LENGTH} code points`]: (key) => codePoints(key.normalize('NFC')) === MAX_KEY_LENGTH,
        [`more than ${MAX_KEY_LENGTH} UTF-16 units`]: (key) => key.normalize('NFC').length > MAX_KEY_LENGTH,
      };
      for (const [what, test] of Object.entries(wanted)) assert.ok(drawn.some(test), `no key with ${what} in ${MANY} draws`);
    });

    it('draws only ASCII letters, digits, . _ - and / without awkward', () => {
      const drawn = sample(keys({ awkward: false }));
      for (const key of drawn) assert.match(key, /^[a-z0-9._\-/]+$/);
      assert.ok(drawn.some((key) => key.includes('/')));
    });

    it('keeps to maxLength', () => {
      const drawn = sample(keys({ maxLength: 3 }));
      assert.ok(drawn.every((key) => codePoints(key.normalize('NFC')) <= 3));
      assert.ok(drawn.some((key) => codePoints(key.normalize('NFC')) === 3));
    });

    it('draws from a pool: a number takes the built-in list, whose first three are two keys, é spelt twice', () => {
      assert.deepEqual(new Set(sample(keys({ pool: 3 }), 200)), new Set(['a', '\u00e9', 'e\u0301']));
      assert.deepEqual(new Set(sample(keys({ pool: 3, awkward: false }), 200)), new Set(['a', 'b', 'c']));
      assert.deepEqual(new Set(sample(keys({ pool: ['x', 'y/z'] }), 200)), new Set(['x', 'y/z']));
    });

    it('refuses options of the wrong shape, one rule each', () => {
      assert.throws(() => keys({ pool: 0 }), /Expected `pool` to be a pool size from 1 to 64, or a non-empty array of keys, got `0` \(number\)/);
      assert.throws(() => keys({ pool: [] }), /Expected `pool` to be a pool size/);
      assert.throws(() => keys({ pool: ['ok', '__x'] }), /Expected `pool` to hold valid keys, got "__x", which breaks the rule reserved-prefix/);
      assert.throws(() => keys({ pool: ['abcd'], maxLength: 3 }), /which breaks the rule too-long/);
      assert.throws(() => keys({ awkward: 'yes' as never }), /Expected `awkward` to be a boolean/);
      assert.throws(() => keys({ maxLength: MAX_KEY_LENGTH + 1 }), /Expected `maxLength` to be an integer from 1 to 256, got `257`/);
      assert.throws(() => keys({ size: 3 } as never), /Unknown option `size`; the options are `pool`, `awkward`, `maxLength`/);
    });
  });

  describe('invalidKeys', () => {
    it('breaks every rule, and labels each key with the rule', () => {
      const byRule = new Map<string, unknown[]>();
      for (const { key, rule } of sample(invalidKeys())) byRule.set(rule, [...(byRule.get(rule) ?? []), key]);
      assert.deepEqual(
        [...byRule.keys()].sort(),
        ['backslash', 'control-character', 'dot-segment', 'empty', 'leading-slash', 'lone-surrogate', 'reserved-prefix', 'too-long', 'type'],
      );
      assert.ok(byRule.get('type')!.every((key) => typeof key !== 'string'));
      assert.ok(byRule.get('backslash')!.every((key) => (key as string).includes('\\')));
      assert.ok(byRule.get('too-long')!.some((key) => codePoints(key as string) === MAX_KEY_LENGTH + 1));
    });

    it('draws only the rules asked for', () => {
      assert.deepEqual(new Set(sample(invalidKeys({ rules: ['empty', 'dot-segment'] }), 200).map(({ rule }) => rule)), new Set(['empty', 'dot-segment']));
      assert.throws(() => invalidKeys({ rules: ['nope' as never] }), /Expected `rules` to be a non-empty array of key rules \(type, lone-surrogate/);
    });

    it('is refused by rt.state with the labelled rule', async () => {
      const rt = await createRuntime({ memory: true });
      try {
        for (const { key, rule } of sample(invalidKeys(), 50)) {
          const error = await rt.state.set(Scope.global(), key as string, 1).then(() => undefined, (caught: unknown) => caught);
          assert.equal((error as { code?: string }).code, 'STATE_KEY_INVALID', `${rule}: ${fc.stringify(key)}`);
          assert.equal((error as { details?: { rule?: string } }).details?.rule, rule);
        }
      } finally {
        await rt.close();
      }
    });
  });

  describe('scopes', () => {
    it('draws every kind, and ids with : and / and non-ASCII', () => {
      const drawn = sample(scopes());
      assert.deepEqual(new Set(drawn.map((scope) => scope.kind)), new Set(SCOPE_KINDS));
      const ids = drawn.flatMap((scope) => scope.ids);
      assert.ok(ids.some((id) => id.includes(':')));
      assert.ok(ids.some((id) => id.includes('/')));
      assert.ok(ids.some((id) => /[^\x00-\x7f]/.test(id)));
    });

    it('draws only the kinds asked for, and ids from a pool', () => {
      const drawn = sample(scopes({ kinds: ['agent', 'step'], ids: ['a1', 'a/2'] }), 300).map(String);
      assert.deepEqual(new Set(drawn), new Set(['agent:a1', 'agent:a/2', 'step:a1/a1', 'step:a1/a/2']));
    });

    it('draws from a built-in pool of ids, where ü spelt two ways is one scope', () => {
      const drawn = new Set(sample(scopes({ kinds: ['agent'], ids: 3 }), 200).map(String));
      assert.deepEqual(drawn, new Set(['agent:a', 'agent:\u00fc']));
    });

    it('refuses options of the wrong shape, one rule each', () => {
      assert.throws(() => scopes({ kinds: ['agent', 'team' as never] }), /Expected `kinds` to be a non-empty array of scope kinds \(global, agent/);
      assert.throws(() => scopes({ kinds: [] }), /Expected `kinds` to be a non-empty array/);
      assert.throws(() => scopes({ ids: ['ok', 'a\\b'] }), /Expected `ids` to hold valid scope ids, got "a\\\\b", which breaks the rule backslash/);
      assert.throws(() => scopes({ ids: ['a/b'], kinds: ['step'] }), /an id without '\/' for the workflow of a step scope/);
      assert.throws(() => scopes({ awkward: 1 as never }), /Expected `awkward` to be a boolean/);
    });
  });

  describe('jsonValues', () => {
    it('draws each kind of JSON value, and the awkward ones', () => {
      const drawn = sample(jsonValues());
      const has = (test: (value: unknown) => boolean) => drawn.some(test);
      assert.ok(has((value) => value === null));
      assert.ok(has((value) => typeof value === 'boolean'));
      assert.ok(has((value) => typeof value === 'number' && !Number.isInteger(value)));
      assert.ok(has((value) => Array.isArray(value) && value.length > 0));
      const json = drawn.map((value) => JSON.stringify(value));
      assert.ok(json.some((text) => text.includes('"__proto__":')), 'a __proto__ field');
      assert.ok(json.some((text) => /\\ud[89ab]/.test(text)), 'a lone surrogate');
      assert.ok(drawn.some((value) => utf8Bytes(value) === 4096), 'a value of exactly maxBytes');
      assert.ok(json.some((text) => text.startsWith('['.repeat(1000)) && !text.startsWith('['.repeat(1001))), 'a value nested exactly maxDepth deep');
      for (const value of drawn) assert.ok(utf8Bytes(value) <= 4096);
    });

    it('keeps a field named __proto__ as a plain field', () => {
      const withProto = sample(jsonValues()).find((value) => JSON.stringify(value).startsWith('{"__proto__":'));
      assert.ok(withProto !== undefined);
      assert.ok(Object.hasOwn(withProto as object, '__proto__'));
      assert.equal(Object.getPrototypeOf(withProto), Object.prototype);
    });

    it('keeps to maxBytes and maxDepth, and without awkward makes no value at the limits', () => {
      const drawn = sample(jsonValues({ maxBytes: 64, maxDepth: 2 }));
      assert.ok(drawn.every((value) => utf8Bytes(value) <= 64));
      assert.ok(drawn.some((value) => utf8Bytes(value) === 64));
      assert.ok(drawn.every((value) => depth(value) <= 2));
      assert.ok(drawn.some((value) => depth(value) === 2));
      assert.ok(sample(jsonValues({ maxDepth: 0 })).every((value) => typeof value !== 'object' || value === null));
      assert.ok(sample(jsonValues({ awkward: false })).every((value) => utf8Bytes(value) < 4096 && depth(value) <= 6));
    });

    it('refuses options of the wrong shape, one rule each', () => {
      assert.throws(() => jsonValues({ maxBytes: 8 }), /Expected `maxBytes` to be an integer of at least 16, got `8` \(number\)/);
      assert.throws(() => jsonValues({ maxDepth: 1001 }), /Expected `maxDepth` to be an integer from 0 to 1000/);
      assert.throws(() => jsonValues({ awkward: null as never }), /Expected `awkward` to be a boolean/);
    });
  });

  describe('operations', () => {
    it('draws every kind, over a pool small enough that calls meet on the same key', () => {
      const sequences = sample(operations(), 300);
      const kinds = new Set(sequences.flat().map((op) => op.op));
      assert.deepEqual(kinds, new Set(OPERATION_KINDS));
      const colliding = sequences.filter((ops) => {
        const cells = ops.filter((op) => 'key' in op).map((op) => `${String(op.scope)} ${(op as { key: string }).key.normalize('NFC')}`);
        return new Set(cells).size < cells.length;
      });
      assert.ok(colliding.length > sequences.length / 2, `only ${colliding.length} of ${sequences.length} sequences touch a key twice`);
      // Some sequences write one key under both of its spellings.
      assert.ok(sequences.some((ops) => {
        const spellings = new Map<string, Set<string>>();
        for (const op of ops) if ('key' in op) spellings.set(op.key.normalize('NFC'), (spellings.get(op.key.normalize('NFC')) ?? new Set()).add(op.key));
        return [...spellings.values()].some((set) => set.size > 1);
      }));
    });

    it('draws only the kinds asked for, within the lengths asked for', () => {
      const sequences = sample(operations({ ops: ['get', 'clearScope'], minLength: 2, maxLength: 3 }), 200);
      assert.ok(sequences.every((ops) => ops.length >= 2 && ops.length <= 3));
      assert.deepEqual(new Set(sequences.flat().map((op) => op.op)), new Set(['get', 'clearScope']));
    });

    it('uses the scopes, keys and values given, and pools of the sizes given', () => {
      const sequences = sample(operations({ scopes: fc.constant(Scope.global()), keys: fc.constantFrom('x', 'y', 'z'), values: fc.constant(7), keyPool: 1, ops: ['set'] }), 200);
      for (const ops of sequences) {
        assert.ok(ops.every((op) => op.op === 'set' && String(op.scope) === 'global' && op.value === 7));
        assert.ok(new Set(ops.map((op) => (op as { key: string }).key)).size <= 1);
      }
    });

    it('prints each operation as the call it stands for, two spellings of a key apart', () => {
      const g = Scope.global();
      const cases: [Operation, string][] = [
        [{ op: 'set', scope: Scope.agent('a1'), key: 'e\u0301', value: { n: 1 } }, 'set agent:a1 "e\\u0301" = {"n":1}'],
        [{ op: 'get', scope: g, key: '\u00e9' }, 'get global "é"'],
        [{ op: 'delete', scope: g, key: 'k\u202e' }, 'delete global "k\\u202e"'],
        [{ op: 'listKeys', scope: g }, 'listKeys global'],
        [{ op: 'listKeys', scope: g, prefix: 'a/' }, 'listKeys global prefix "a/"'],
        [{ op: 'clearScope', scope: Scope.step('w', 's') }, 'clearScope step:w/s'],
        [{ op: 'transaction', scope: g, steps: [{ op: 'get', key: 'a' }, { op: 'set', key: 'b', value: 1 }, { op: 'delete', key: 'c' }] }, 'transaction global { get "a"; set "b" = 1; delete "c" }'],
        [{ op: 'transaction', scope: g, steps: [], abort: true }, 'transaction global {} then abort'],
      ];
      for (const [operation, line] of cases) assert.equal(describeOperation(operation), line);
      const [drawn] = sample(operations({ minLength: 1 }), 1);
      assert.equal(fc.stringify(drawn), `[${drawn.map(describeOperation).join(',')}]`);
      // The description is not a field: the operation compares and serialises as plain data.
      assert.deepEqual(Object.keys(drawn[0]).sort(), Object.keys({ ...drawn[0] }).sort());
      assert.ok(!JSON.stringify(drawn[0]).includes('transaction global'));
    });

    it('concurrentOperations draws one sequence per task over one shared pool', () => {
      for (const tasks of sample(concurrentOperations({ tasks: 3, minLength: 1, scopePool: 1, keyPool: 1, awkward: false }), 100)) {
        assert.equal(tasks.length, 3);
        const cells = new Set(tasks.flat().filter((op) => 'key' in op).map((op) => `${String(op.scope)} ${(op as { key: string }).key}`));
        assert.ok(cells.size <= 1, [...cells].join(', '));
      }
    });

    it('refuses options of the wrong shape, one rule each', () => {
      assert.throws(() => operations({ ops: ['set', 'put' as never] }), /Expected `ops` to be a non-empty array of operation kinds \(set, get, delete, listKeys, clearScope, transaction\)/);
      assert.throws(() => operations({ keys: ['a'] as never }), /Expected `keys` to be a fast-check arbitrary, got `\["a"\]` \(array\)/);
      assert.throws(() => operations({ keyPool: 0 }), /Expected `keyPool` to be an integer from 1 to 64/);
      assert.throws(() => operations({ scopePool: 65 }), /Expected `scopePool` to be an integer from 1 to 64/);
      assert.throws(() => operations({ maxSteps: -1 }), /Expected `maxSteps` to be an integer from 0 to 100/);
      assert.throws(() => operations({ minLength: 5, maxLength: 2 }), /Expected `minLength` \(5\) to be at most `maxLength` \(2\)/);
      assert.throws(() => operations({ tasks: 2 } as never), /Unknown option `tasks`/);
      assert.throws(() => concurrentOperations({ tasks: 0 }), /Expected `tasks` to be an integer from 1 to 64/);
    });
  });

  describe('applyOperation', () => {
    let rt: Runtime;
    beforeEach(async () => {
      rt = await createRuntime({ memory: true });
    });
    afterEach(async () => {
      await rt.close();
    });

    it('runs each kind against rt.state and resolves with its result or its error code', async () => {
      const a = Scope.agent('a');
      const steps: [Operation, unknown][] = [
        [{ op: 'set', scope: a, key: 'e\u0301', value: { n: 1 } }, { ok: true, value: undefined }],
        [{ op: 'get', scope: a, key: '\u00e9' }, { ok: true, value: { n: 1 } }],
        [{ op: 'set', scope: a, key: 'b/c', value: [1] }, { ok: true, value: undefined }],
        [{ op: 'listKeys', scope: a }, { ok: true, value: ['b/c', '\u00e9'] }],
        [{ op: 'listKeys', scope: a, prefix: 'b' }, { ok: true, value: ['b/c'] }],
        [{ op: 'transaction', scope: a, steps: [{ op: 'get', key: 'b/c' }, { op: 'set', key: 'b/c', value: 2 }, { op: 'get', key: 'b/c' }, { op: 'delete', key: '\u00e9' }] }, { ok: true, value: [[1], 2] }],
        [{ op: 'get', scope: a, key: '\u00e9' }, { ok: true, value: undefined }],
        [{ op: 'transaction', scope: a, steps: [{ op: 'set', key: 'b/c', value: 3 }], abort: true }, { ok: false, error: 'aborted' }],
        [{ op: 'get', scope: a, key: 'b/c' }, { ok: true, value: 2 }],
        [{ op: 'delete', scope: a, key: 'b/c' }, { ok: true, value: true }],
        [{ op: 'delete', scope: a, key: 'b/c' }, { ok: true, value: false }],
        [{ op: 'set', scope: a, key: 'x', value: 1 }, { ok: true, value: undefined }],
        [{ op: 'clearScope', scope: a }, { ok: true, value: 1 }],
        [{ op: 'set', scope: a, key: '__x', value: 1 }, { ok: false, error: 'STATE_KEY_INVALID' }],
        [{ op: 'set', scope: a, key: 'x', value: Number.NaN }, { ok: false, error: 'VALUE_INVALID' }],
        [{ op: 'transaction', scope: a, steps: [{ op: 'set', key: 'x', value: 1 }, { op: 'set', key: 'y', value: undefined }] }, { ok: false, error: 'VALUE_INVALID' }],
        [{ op: 'listKeys', scope: a }, { ok: true, value: [] }],
      ];
      for (const [operation, expected] of steps) assert.deepStrictEqual(await applyOperation(rt.state, operation), expected, describeOperation(operation));
    });

    it('passes on an error that is not an LlmStateError, which is a bug in the caller', async () => {
      await assert.rejects(applyOperation(rt.state, { op: 'listKeys', scope: Scope.global(), prefix: 5 as never }), TypeError);
      // A rule of the runtime's own, by contrast, is a result.
      assert.deepEqual(await applyOperation(rt.state, { op: 'get', scope: 'global' as never, key: 'k' }), { ok: false, error: 'SCOPE_INVALID' });
      await assert.rejects(applyOperation(rt.state, { op: 'put', scope: Scope.global() } as never), /Expected an operation made by operations\(\), got "put"/);
    });

    it("runs against a simulation's sim.rt.state, which records each call in sim.history", async () => {
      let history: readonly { op: string; key?: string; value?: unknown }[] = [];
      await simulate.assert(
        async (sim) => {
          await applyOperation(sim.rt.state, { op: 'set', scope: Scope.global(), key: 'e\u0301', value: 1 });
          await applyOperation(sim.rt.state, { op: 'get', scope: Scope.global(), key: '\u00e9' });
          history = sim.history;
        },
        { runs: 1 },
      );
      assert.deepEqual(history.map(({ op, key, value }) => ({ op, key, value })), [
        { op: 'set', key: '\u00e9', value: 1 },
        { op: 'get', key: '\u00e9', value: 1 },
      ]);
    });

    it('records a listKeys prefix in NFC, as the runtime matches it, so that checkLinearizable accepts an NFD prefix', async () => {
      let refused: string | undefined = 'not run';
      let listed: unknown;
      await simulate.assert(
        async (sim) => {
          await applyOperation(sim.rt.state, { op: 'set', scope: Scope.global(), key: '\u00e9', value: 1 });
          listed = await applyOperation(sim.rt.state, { op: 'listKeys', scope: Scope.global(), prefix: 'e\u0301' });
          const result = checkLinearizable(sim.history);
          refused = result.ok ? undefined : result.message;
        },
        { runs: 1 },
      );
      assert.deepEqual(listed, { ok: true, value: ['\u00e9'] });
      assert.equal(refused, undefined);
    });
  });
});

function depth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depth));
}
