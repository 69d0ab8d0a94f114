import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LlmStateError } from '../src/errors.js';
import { decodeStateKey, encodeStateKey, scopeRange } from '../src/state/keyCodec.js';
import { normalizeKey, normalizeScopeId } from '../src/state/keyRules.js';
import { Scope } from '../src/state/Scope.js';
import { runs } from './budget.js';

interface Tuple {
  scope: Scope;
  key: string;
}

/**
 * A small alphabet, so that generated names often share prefixes, plus any code point for breadth. It
 * mixes in the characters that carry meaning somewhere ('/', ':', '.', '_'), a combining accent that
 * NFC composes, and characters of two, three and four UTF-8 bytes.
 */
const unit = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'z', 'A', '0', '9', ' ', '-', '~') },
  { weight: 4, arbitrary: fc.constantFrom('/', ':', '.', '_') },
  { weight: 3, arbitrary: fc.constantFrom('é', 'e', '\u0301', 'ß', '€', '日', '\uFFFD', '\u{1F600}', '\u{10FFFF}', '\u00A0') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);

/** The normalised form of `text`, or undefined when it breaks a rule. */
function tryNormalize(normalize: (text: string) => string, text: string): string | undefined {
  try {
    return normalize(text);
  } catch (err) {
    if (err instanceof LlmStateError) return undefined;
    throw err;
  }
}

function tryNormalizeKey(text: string): string | undefined {
  return tryNormalize(normalizeKey, text);
}

/** A string that passes `normalize`, in its normalised form. */
function validName(normalize: (text: string) => string, maxLength: number): fc.Arbitrary<string> {
  return fc
    .string({ unit, minLength: 1, maxLength })
    .map((text) => tryNormalize(normalize, text))
    .filter((name): name is string => name !== undefined);
}

const keyArb = validName(normalizeKey, 10);
const idArb = validName((text) => normalizeScopeId(text, 'id'), 8);
const workflowIdArb = idArb.filter((id) => !id.includes('/'));

const scopeArb: fc.Arbitrary<Scope> = fc.oneof(
  fc.constant(Scope.global()),
  idArb.map((id) => Scope.agent(id)),
  idArb.map((id) => Scope.workflow(id)),
  fc.tuple(workflowIdArb, idArb).map(([workflow, step]) => Scope.step(workflow, step)),
  idArb.map((id) => Scope.session(id)),
  idArb.map((id) => Scope.custom(id)),
);

const tupleArb: fc.Arbitrary<Tuple> = fc.record({ scope: scopeArb, key: keyArb });

/** Code point order; a proper prefix sorts first. */
function compareText(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

/** The order of (kind, ids…, key) tuples: kind, then each id, then the key. */
function compareTuples(a: Tuple, b: Tuple): number {
  const byKind = compareText(a.scope.kind, b.scope.kind);
  if (byKind !== 0) return byKind;
  for (let i = 0; i < a.scope.ids.length; i++) {
    const byId = compareText(a.scope.ids[i], b.scope.ids[i]);
    if (byId !== 0) return byId;
  }
  return compareText(a.key, b.key);
}

function label(tuple: Tuple): string {
  return JSON.stringify([tuple.scope.kind, ...tuple.scope.ids, tuple.key]);
}

describe('key codec properties', () => {
  it('different (scope, key) tuples never encode to the same bytes', () => {
    fc.assert(
      fc.property(fc.uniqueArray(tupleArb, { selector: label, minLength: 2, maxLength: 40 }), (tuples) => {
        const seen = new Map<string, string>();
        for (const tuple of tuples) {
          const hex = encodeStateKey(tuple.scope, tuple.key).toString('hex');
          const other = seen.get(hex);
          assert.equal(other, undefined, `${label(tuple)} and ${other} encode alike`);
          seen.set(hex, label(tuple));
        }
      }),
      { numRuns: runs(300) },
    );
  });

  it('encoding preserves tuple order', () => {
    fc.assert(
      fc.property(tupleArb, tupleArb, (a, b) => {
        const expected = Math.sign(compareTuples(a, b));
        const actual = Math.sign(Buffer.compare(encodeStateKey(a.scope, a.key), encodeStateKey(b.scope, b.key)));
        assert.equal(actual, expected, `${label(a)} vs ${label(b)}`);
      }),
      { numRuns: runs(2000) },
    );
  });

  it('sorting encodings sorts the tuples', () => {
    fc.assert(
      fc.property(fc.array(tupleArb, { minLength: 2, maxLength: 30 }), (tuples) => {
        const byTuple = [...tuples].sort(compareTuples).map(label);
        const byBytes = tuples
          .map((tuple) => ({ tuple, bytes: encodeStateKey(tuple.scope, tuple.key) }))
          .sort((x, y) => Buffer.compare(x.bytes, y.bytes))
          .map(({ tuple }) => label(tuple));
        assert.deepEqual(byBytes, byTuple);
      }),
      { numRuns: runs(300) },
    );
  });

  it('decode inverts encode', () => {
    fc.assert(
      fc.property(tupleArb, ({ scope, key }) => {
        const decoded = decodeStateKey(encodeStateKey(scope, key));
        assert.ok(decoded !== undefined);
        assert.ok(decoded.scope.equals(scope), `${decoded.scope.toString()} ≠ ${scope.toString()}`);
        assert.deepEqual(decoded.scope.ids, scope.ids);
        assert.equal(decoded.key, key);
      }),
      { numRuns: runs(1000) },
    );
  });

  it("a scope's range holds exactly that scope's keys that start with the prefix", () => {
    const prefixArb = fc.oneof(fc.constant(''), keyArb.map((key) => [...key].slice(0, 3).join('')));
    // Half of the scope's own keys extend the prefix, so both sides of the range's edge are tried.
    const ownKeyArb = fc.tuple(fc.boolean(), keyArb);
    fc.assert(
      fc.property(scopeArb, prefixArb, fc.array(tupleArb, { maxLength: 20 }), fc.array(ownKeyArb, { maxLength: 10 }), (scope, prefix, others, own) => {
        const { gte, lt } = scopeRange(scope, prefix);
        const ownKeys = own.map(([extend, key]) => (extend ? tryNormalizeKey(prefix + key) : key)).filter((key) => key !== undefined);
        const tuples = [...others, ...ownKeys.map((key) => ({ scope, key }))];
        for (const tuple of tuples) {
          const bytes = encodeStateKey(tuple.scope, tuple.key);
          const inside = Buffer.compare(bytes, gte) >= 0 && Buffer.compare(bytes, lt) < 0;
          const expected = tuple.scope.equals(scope) && tuple.key.startsWith(prefix);
          assert.equal(inside, expected, `${label(tuple)} in range of ${scope.toString()} prefix ${JSON.stringify(prefix)}`);
        }
      }),
      { numRuns: runs(500) },
    );
  });
});
