import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRuntime, type Runtime } from '../src/runtime.js';
import { LlmStateError } from '../src/errors.js';
import { MAX_KEY_LENGTH, normalizeKey } from '../src/state/keyRules.js';
import { Scope } from '../src/state/Scope.js';
import { serializeValue } from '../src/state/values.js';
import { applyOperation, type OperationResult } from '../src/testing/applyOperation.js';
import { jsonValues } from '../src/testing/jsonValues.js';
import { invalidKeys, keys } from '../src/testing/keys.js';
import { checkLinearizable } from '../src/testing/linearizability.js';
import { concurrentOperations, operations, type Operation } from '../src/testing/operations.js';
import { scopes } from '../src/testing/scopes.js';
import { simulate } from '../src/testing/simulate.js';
import { runs } from './budget.js';

function codePoints(text: string): number {
  return Array.from(text).length;
}

/** A plain model of rt.state: one Map per scope, keyed by the key's NFC form. */
class StateModel {
  readonly #scopes = new Map<string, Map<string, unknown>>();

  apply(operation: Operation): OperationResult {
    const entries = this.#entries(operation.scope);
    switch (operation.op) {
      case 'set':
        entries.set(nfc(operation.key), clone(operation.value));
        return { ok: true, value: undefined };
      case 'get':
        return { ok: true, value: entries.get(nfc(operation.key)) };
      case 'delete':
        return { ok: true, value: entries.delete(nfc(operation.key)) };
      case 'listKeys': {
        const prefix = nfc(operation.prefix ?? '');
        return { ok: true, value: [...entries.keys()].filter((key) => key.startsWith(prefix)).sort(byCodePoint) };
      }
      case 'clearScope': {
        const removed = entries.size;
        entries.clear();
        return { ok: true, value: removed };
      }
      case 'transaction': {
        const staged = new Map(entries);
        const reads: unknown[] = [];
        for (const step of operation.steps) {
          if (step.op === 'get') reads.push(staged.get(nfc(step.key)));
          else if (step.op === 'set') staged.set(nfc(step.key), clone(step.value));
          else staged.delete(nfc(step.key));
        }
        if (operation.abort) return { ok: false, error: 'aborted' };
        this.#scopes.set(String(operation.scope), staged);
        return { ok: true, value: reads };
      }
    }
  }

  #entries(scope: Scope): Map<string, unknown> {
    let entries = this.#scopes.get(String(scope));
    if (entries === undefined) this.#scopes.set(String(scope), (entries = new Map()));
    return entries;
  }
}

const nfc = (text: string) => text.normalize('NFC');
const clone = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

function byCodePoint(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

describe('arbitraries (property)', () => {
  it('every generated key passes the key rules, and normalises to its NFC form', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 1, max: MAX_KEY_LENGTH }), fc.nat(), (awkward, maxLength, seed) => {
        for (const key of fc.sample(keys({ awkward, maxLength }), { numRuns: 20, seed })) {
          const normalized = normalizeKey(key);
          assert.equal(normalized, key.normalize('NFC'));
          assert.ok(codePoints(normalized) <= maxLength, `${JSON.stringify(key)} is longer than ${maxLength}`);
          if (!awkward) assert.match(key, /^[a-z0-9._\-/]+$/);
        }
      }),
      { numRuns: runs(100) },
    );
  });

  it('every generated scope is valid, and reads back from its string form as the same scope', () => {
    fc.assert(
      fc.property(scopes(), (scope) => {
        assert.ok(Scope.parse(String(scope)).equals(scope), String(scope));
      }),
      { numRuns: runs(1000) },
    );
  });

  it('every invalid key is refused with STATE_KEY_INVALID and the rule it is labelled with', () => {
    fc.assert(
      fc.property(invalidKeys(), ({ key, rule }) => {
        let caught: unknown;
        try {
          normalizeKey(key);
        } catch (error) {
          caught = error;
        }
        assert.ok(caught instanceof LlmStateError, `${String(rule)}: ${fc.stringify(key)} was accepted`);
        assert.equal(caught.code, 'STATE_KEY_INVALID');
        assert.equal(caught.details?.rule, rule, caught.message);
      }),
      { numRuns: runs(1000) },
    );
  });

  it('every generated value is accepted by serializeValue, within maxBytes and maxDepth', () => {
    fc.assert(
      fc.property(fc.integer({ min: 16, max: 4096 }), fc.integer({ min: 0, max: 1000 }), fc.nat(), (maxBytes, maxDepth, seed) => {
        for (const value of fc.sample(jsonValues({ maxBytes, maxDepth }), { numRuns: 10, seed })) {
          serializeValue(value, maxBytes);
          assert.ok(depthOf(value) <= maxDepth, `nested ${depthOf(value)} deep, over ${maxDepth}`);
          // Reads back as itself: no -0, no undefined, nothing JSON would change.
          assert.deepStrictEqual(clone(value), value);
        }
      }),
      { numRuns: runs(100) },
    );
  });

  describe('on a memory runtime', () => {
    let rt: Runtime;
    beforeEach(async () => {
      rt = await createRuntime({ memory: true });
    });
    afterEach(async () => {
      await rt.close();
    });

    it('every generated value reads back deep-equal to what was set', async () => {
      const g = Scope.global();
      await fc.assert(
        fc.asyncProperty(jsonValues(), async (value) => {
          await rt.state.set(g, 'v', value);
          assert.deepStrictEqual(await rt.state.get(g, 'v'), value);
        }),
        { numRuns: runs(50) },
      );
    });

    it('a sequence of operations gives the results of a Map per scope, keys in NFC', async () => {
      await fc.assert(
        fc.asyncProperty(operations(), async (ops) => {
          const model = new StateModel();
          // Each run has its own scopes and keys; start from an empty store all the same.
          for (const scope of new Set(ops.map((op) => op.scope))) await rt.state.clearScope(scope);
          for (const op of ops) assert.deepStrictEqual(await applyOperation(rt.state, op), model.apply(op), String(fc.stringify(op)));
        }),
        { numRuns: runs(40) },
      );
    });
  });

  it('concurrent operations on one pool, run as tasks of a simulation, give a linearizable history', async () => {
    // The operations are drawn by the simulation, so they shrink and replay with its schedule and faults;
    // the arbitrary is built once, as sim.draw needs to shrink well.
    const concurrent = concurrentOperations({ tasks: 2, maxLength: 4, maxSteps: 2 });
    await simulate.assert(
      async (sim) => {
        const tasks = sim.draw(concurrent);
        await Promise.all(
          tasks.map((ops, i) =>
            sim.spawn(async () => {
              for (const op of ops) await applyOperation(sim.rt.state, op);
            }, `t${i}`),
          ),
        );
        const result = checkLinearizable(sim.history);
        sim.check(result.ok, result.ok ? '' : result.message);
      },
      { runs: runs(100), faults: { storage: 0.05 } },
    );
  });
});

function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depthOf));
}
