import assert from 'node:assert/strict';
import { applyPatch } from 'rfc6902';
import { isLlmStateError, type LlmStateError } from '../../src/errors.js';
import { applyInputPatch, diffValues, type DiffOp } from '../../src/hooks/replayDiff.js';

const EVENTS = [
  { id: '1.0', kind: 'state.set', value: { name: 'sun', temp: 21 } },
  { id: '2.0', kind: 'state.set', value: { name: 'cloud', temp: 17, draft: true } },
];

/** Applies a diff to a copy of `original`, to check that it really produces `replayed`. */
function patched(original: unknown, diff: DiffOp[]): unknown {
  const holder = { root: structuredClone(original) };
  const results = applyPatch(holder, diff.map((op) => ({ ...op, path: `/root${op.path}` })));
  assert.deepEqual(results, results.map(() => null));
  return holder.root;
}

function assertInvalid(fn: () => unknown, reason: RegExp, patch?: unknown): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isLlmStateError(err, 'VALUE_INVALID'), `expected VALUE_INVALID, got ${String(err)}`);
    const details = (err as LlmStateError).details!;
    assert.match(String(details.reason), reason);
    if (patch !== undefined) assert.deepEqual(details.patch, patch);
    return true;
  });
}

describe('diffValues', () => {
  it('is empty for deep-equal values', () => {
    assert.deepEqual(diffValues({ a: [1, { b: 2 }], c: null }, { a: [1, { b: 2 }], c: null }), []);
    assert.deepEqual(diffValues('x', 'x'), []);
    assert.deepEqual(diffValues(undefined, undefined), []);
  });

  it('treats undefined properties as absent', () => {
    assert.deepEqual(diffValues({ a: 1, b: undefined }, { a: 1 }), []);
    assert.deepEqual(diffValues({ a: 1 }, { a: 1, b: undefined }), []);
  });

  it('reports a nested change with its JSON Pointer', () => {
    const original = { output: { forecast: { city: 'Oslo', temp: 3 } } };
    const replayed = { output: { forecast: { city: 'Oslo', temp: 4 } } };
    assert.deepEqual(diffValues(original, replayed), [{ op: 'replace', path: '/output/forecast/temp', value: 4 }]);
  });

  it('reports added and removed fields', () => {
    const diff = diffValues({ keep: 1, gone: 2 }, { keep: 1, fresh: 3 });
    assert.deepEqual(
      [...diff].sort((a, b) => a.path.localeCompare(b.path)),
      [
        { op: 'add', path: '/fresh', value: 3 },
        { op: 'remove', path: '/gone' },
      ],
    );
  });

  it('reports array changes that turn the original into the replayed value', () => {
    const original = { actions: [{ key: 'a' }, { key: 'b' }, { key: 'c' }] };
    const replayed = { actions: [{ key: 'a' }, { key: 'c' }, { key: 'd' }] };
    const diff = diffValues(original, replayed);
    assert.ok(diff.length > 0);
    assert.ok(diff.every((op) => op.path.startsWith('/actions/')));
    assert.deepEqual(patched(original, diff), replayed);
  });

  it('replaces the root when the types differ', () => {
    assert.deepEqual(diffValues({ a: 1 }, [1]), [{ op: 'replace', path: '', value: [1] }]);
    assert.deepEqual(diffValues(undefined, 5), [{ op: 'replace', path: '', value: 5 }]);
  });

  it('round-trips through JSON: the diff is plain data', () => {
    const diff = diffValues({ a: { b: [1, 2] } }, { a: { b: [2] }, c: 'x' });
    assert.deepEqual(JSON.parse(JSON.stringify(diff)), diff);
    assert.deepEqual(patched({ a: { b: [1, 2] } }, diff), { a: { b: [2] }, c: 'x' });
  });

  it('rejects a value that is not JSON with VALUE_INVALID', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assertInvalid(() => diffValues(cyclic, {}), /circular/i);
    assertInvalid(() => diffValues({}, { n: 1n }), /bigint/i);
  });
});

describe('applyInputPatch', () => {
  describe('JSON Patch (an array)', () => {
    it('applies operations against the events array', () => {
      const out = applyInputPatch(EVENTS, [
        { op: 'replace', path: '/0/value/name', value: 'rain' },
        { op: 'remove', path: '/1/value/draft' },
        { op: 'add', path: '/1/value/wind', value: { kmh: 30 } },
      ]);
      assert.deepEqual(out, [
        { id: '1.0', kind: 'state.set', value: { name: 'rain', temp: 21 } },
        { id: '2.0', kind: 'state.set', value: { name: 'cloud', temp: 17, wind: { kmh: 30 } } },
      ]);
    });

    it('supports test, move and copy', () => {
      const out = applyInputPatch(EVENTS, [
        { op: 'test', path: '/0/value/name', value: 'sun' },
        { op: 'copy', from: '/0/value/temp', path: '/1/value/previous' },
        { op: 'move', from: '/1/value/draft', path: '/1/wasDraft' },
      ]);
      assert.deepEqual(out[1], { id: '2.0', kind: 'state.set', value: { name: 'cloud', temp: 17, previous: 21 }, wasDraft: true });
    });

    it('can replace or drop whole events, and the root', () => {
      assert.deepEqual(applyInputPatch(EVENTS, [{ op: 'remove', path: '/1' }]), [EVENTS[0]]);
      assert.deepEqual(applyInputPatch(EVENTS, [{ op: 'replace', path: '', value: [] }]), []);
    });

    it('returns the events unchanged for an empty patch, as a copy', () => {
      const out = applyInputPatch(EVENTS, []);
      assert.deepEqual(out, EVENTS);
      assert.notEqual(out, EVENTS);
      assert.notEqual(out[0], EVENTS[0]);
    });

    it('does not modify the input or share values with the patch', () => {
      const before = structuredClone(EVENTS);
      const wind = { kmh: 30 };
      const out = applyInputPatch(EVENTS, [{ op: 'add', path: '/0/value/wind', value: wind }]) as (typeof EVENTS[number] & { value: { wind: object } })[];
      assert.deepEqual(EVENTS, before);
      assert.notEqual(out[0].value.wind, wind);
    });

    it('fails with VALUE_INVALID when a test does not hold', () => {
      const patch = [{ op: 'test', path: '/0/value/name', value: 'snow' }];
      assertInvalid(() => applyInputPatch(EVENTS, patch), /operation 0 \(test \/0\/value\/name\) failed/, patch);
    });

    it('fails with VALUE_INVALID when a path is missing', () => {
      assertInvalid(() => applyInputPatch(EVENTS, [{ op: 'remove', path: '/5' }]), /operation 0 \(remove \/5\) failed/);
      assertInvalid(() => applyInputPatch(EVENTS, [{ op: 'replace', path: '/0/nope/deeper', value: 1 }]), /failed/);
    });

    it('applies nothing when a later operation fails', () => {
      const before = structuredClone(EVENTS);
      assertInvalid(
        () => applyInputPatch(EVENTS, [{ op: 'replace', path: '/0/value/name', value: 'rain' }, { op: 'remove', path: '/9' }]),
        /operation 1/,
      );
      assert.deepEqual(EVENTS, before);
    });

    it('refuses paths through __proto__, constructor or prototype, which the library would skip', () => {
      const events = [{ value: { constructor: 'a builder', x: 1 } }];
      for (const op of [
        { op: 'test', path: '/0/value/constructor', value: 'a builder' },
        { op: 'add', path: '/0/__proto__/x', value: 1 },
        { op: 'copy', from: '/0/prototype', path: '/0/y' },
      ]) {
        assertInvalid(() => applyInputPatch(events, [op]), /goes through a member named __proto__, constructor or prototype/, [op]);
      }
      assert.deepEqual(applyInputPatch(events, { value: { constructor: 'a factory' } }), [{ value: { constructor: 'a factory', x: 1 } }], 'a merge patch can');
    });

    it('rejects malformed operations with VALUE_INVALID', () => {
      assertInvalid(() => applyInputPatch(EVENTS, [null]), /operation 0 is not an object/);
      assertInvalid(() => applyInputPatch(EVENTS, [{ op: 'frobnicate', path: '/0' }]), /unknown `op` "frobnicate"/);
      assertInvalid(() => applyInputPatch(EVENTS, [{ op: 'add', path: '0/value' , value: 1 }]), /JSON Pointer/);
      assertInvalid(() => applyInputPatch(EVENTS, [{ op: 'replace', path: '/0' }]), /needs a `value`/);
      assertInvalid(() => applyInputPatch(EVENTS, [{ op: 'move', path: '/0' }]), /needs a `from`/);
    });

    it('rejects a patch that leaves something other than an array', () => {
      assertInvalid(() => applyInputPatch(EVENTS, [{ op: 'replace', path: '', value: { not: 'events' } }]), /no longer an array/);
    });
  });

  describe('JSON Merge Patch (an object)', () => {
    it('applies the merge patch to every event', () => {
      const out = applyInputPatch(EVENTS, { value: { name: 'rain' } });
      assert.deepEqual(out, [
        { id: '1.0', kind: 'state.set', value: { name: 'rain', temp: 21 } },
        { id: '2.0', kind: 'state.set', value: { name: 'rain', temp: 17, draft: true } },
      ]);
    });

    it('deletes members set to null, and replaces arrays and scalars whole', () => {
      const events = [{ value: { tags: ['a', 'b'], draft: true, n: 1 } }];
      assert.deepEqual(applyInputPatch(events, { value: { draft: null, tags: ['c'], n: { x: 1 } } }), [{ value: { tags: ['c'], n: { x: 1 } } }]);
    });

    it('creates missing objects along the way', () => {
      assert.deepEqual(applyInputPatch([{ id: 'x' }], { meta: { source: { name: 'test' } } }), [{ id: 'x', meta: { source: { name: 'test' } } }]);
    });

    it('does not modify the input or share values with the patch', () => {
      const before = structuredClone(EVENTS);
      const value = { extra: { deep: 1 } };
      const out = applyInputPatch(EVENTS, { value }) as { value: { extra: object } }[];
      assert.deepEqual(EVENTS, before);
      assert.notEqual(out[0].value.extra, value.extra);
      assert.notEqual(out[0].value.extra, out[1].value.extra);
    });

    it('treats a `__proto__` member as data, never as a prototype', () => {
      const patch = JSON.parse('{"__proto__": {"polluted": true}}') as object;
      const out = applyInputPatch([{ id: 'x' }], patch) as object[];
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(Object.getPrototypeOf(out[0]), Object.prototype);
      assert.deepEqual(Object.getOwnPropertyDescriptor(out[0], '__proto__')?.value, { polluted: true });
    });

    it('with an empty object returns an unchanged copy', () => {
      assert.deepEqual(applyInputPatch(EVENTS, {}), EVENTS);
    });
  });

  it('rejects a patch that is neither an array nor a plain object', () => {
    for (const patch of [null, 'x', 3, true, new Map()]) {
      assertInvalid(() => applyInputPatch(EVENTS, patch), /expected an array of RFC 6902 operations or a merge-patch object/);
    }
  });
});
