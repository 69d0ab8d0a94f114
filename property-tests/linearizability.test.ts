/**
 * checkLinearizable against a brute-force reference: for small random histories of calls on two keys
 * (with overlapping spans, rejected calls and calls that never settled), it accepts exactly the
 * histories for which some order of the calls, consistent with their spans, explains every result.
 * And every history produced by a real register, with each call's instant inside its span, is accepted.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { HistoryEntry } from '../src/testing/history.js';
import { checkLinearizable } from '../src/testing/linearizability.js';
import { runs } from './budget.js';

type Register = Map<string, number>;

const KEYS = ['x', 'y'];

/** Applies `entry` to `state`; undefined when its result does not match. */
function apply(state: Register, entry: HistoryEntry): Register | undefined {
  const settled = entry.outcome === 'ok';
  const key = entry.key!;
  switch (entry.op) {
    case 'get':
      return state.get(key) === entry.value ? state : undefined;
    case 'set':
      return new Map(state).set(key, entry.value as number);
    case 'delete': {
      if (settled && entry.existed !== state.has(key)) return undefined;
      const next = new Map(state);
      next.delete(key);
      return next;
    }
    default:
      throw new Error(`not generated: ${entry.op}`);
  }
}

/** Tries every order (and, for calls that never settled, leaving them out) that respects the spans. */
function bruteForce(history: HistoryEntry[]): boolean {
  const calls = history.filter((entry) => entry.outcome === 'ok' || (entry.outcome === 'unknown' && entry.op !== 'get'));
  const ends = (entry: HistoryEntry) => (entry.outcome === 'ok' ? entry.return! : Infinity);
  const search = (left: HistoryEntry[], state: Register): boolean => {
    if (left.every((entry) => entry.outcome === 'unknown')) return true;
    for (const entry of left) {
      // Only a call that started before every remaining call ended can go next.
      if (left.some((other) => other !== entry && ends(other) < entry.call)) continue;
      const next = apply(state, entry);
      if (next !== undefined && search(left.filter((other) => other !== entry), next)) return true;
      if (entry.outcome === 'unknown' && search(left.filter((other) => other !== entry), state)) return true;
    }
    return false;
  };
  return search(calls, new Map());
}

const spanArb = fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 6 }));
const entryArb = fc.record({
  op: fc.constantFrom('get', 'set', 'delete'),
  key: fc.constantFrom(...KEYS),
  value: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
  existed: fc.boolean(),
  outcome: fc.constantFrom('ok', 'ok', 'ok', 'failed', 'unknown'),
  span: spanArb,
});

type RawEntry = typeof entryArb extends fc.Arbitrary<infer T> ? T : never;

function toHistory(raw: RawEntry[]): HistoryEntry[] {
  return raw.map(({ op, key, value, existed, outcome, span: [call, length] }, id) => ({
    id,
    task: `t${id}`,
    op: op as HistoryEntry['op'],
    scope: 'global',
    key,
    ...(op === 'set' ? { value: value ?? 0 } : op === 'get' ? { value } : { existed }),
    outcome: outcome as HistoryEntry['outcome'],
    call,
    ...(outcome === 'unknown' ? {} : { return: call + length }),
  }));
}

describe('checkLinearizable (property)', () => {
  it('agrees with a brute-force search on small random histories', () => {
    let refused = 0;
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(entryArb, { minLength: 1, maxLength: 6 }), (raw) => {
        const history = toHistory(raw);
        const expected = bruteForce(history);
        const result = checkLinearizable(history);
        assert.equal(result.ok, expected, JSON.stringify(history));
        if (expected) accepted++;
        else refused++;
        if (!result.ok) {
          // The counterexample is itself refused by the reference.
          assert.equal(bruteForce([...result.counterexample]), false);
        }
      }),
      { numRuns: runs(2_000) },
    );
    // Both answers must have come up, or the property proved little.
    assert.ok(accepted > 0 && refused > 0, `accepted ${accepted}, refused ${refused}`);
  });

  it('accepts every history a register produces, whatever the overlap of the spans', () => {
    const callArb = fc.record({ op: fc.constantFrom('get', 'set', 'delete'), key: fc.constantFrom(...KEYS), value: fc.integer({ min: 0, max: 5 }), before: fc.nat(5), after: fc.nat(5), fate: fc.constantFrom('ok', 'ok', 'ok', 'failed', 'unknown') });
    fc.assert(
      fc.property(fc.array(callArb, { minLength: 1, maxLength: 40 }), (calls) => {
        let state: Register = new Map();
        const history: HistoryEntry[] = calls.map(({ op, key, value, before, after, fate }, index) => {
          // Each call takes effect at instant 10 × index, inside its span; a rejected one not at all.
          const at = 10 * (index + 1);
          const outcome = op === 'get' && fate === 'unknown' ? 'ok' : (fate as HistoryEntry['outcome']);
          const base = { id: index, task: `t${index % 4}`, scope: 'global', key, outcome, call: at - before, ...(outcome === 'unknown' ? {} : { return: at + after }) };
          if (op === 'get') return { ...base, op: 'get', value: state.get(key) };
          if (outcome === 'failed') return op === 'set' ? { ...base, op: 'set', value } : { ...base, op: 'delete', existed: false };
          if (op === 'set') {
            state = new Map(state).set(key, value);
            return { ...base, op: 'set', value };
          }
          const existed = state.has(key);
          state = new Map(state);
          state.delete(key);
          return { ...base, op: 'delete', existed };
        });
        const result = checkLinearizable(history);
        assert.ok(result.ok, result.ok ? '' : result.message);
      }),
      { numRuns: runs(300) },
    );
  });
});
