import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createRuntime, type Runtime, type RuntimeOptions } from '../src/index.js';
import { runs } from './budget.js';
import { key, KEYS, scopeIndex, SCOPES, StoreModel, value } from './stateModel.js';

interface Real {
  rt: Runtime;
  dataDir: string;
  options: RuntimeOptions;
}

type Command = fc.AsyncCommand<StoreModel, Real>;

class SetCommand implements Command {
  constructor(readonly scope: number, readonly key: string, readonly value: unknown) {}
  check = () => true;
  async run(model: StoreModel, real: Real) {
    await real.rt.state.set(SCOPES[this.scope], this.key, this.value);
    model.set(this.scope, this.key, this.value);
  }
  toString = () => `set(${SCOPES[this.scope]}, ${this.key}, ${JSON.stringify(this.value)})`;
}

class GetCommand implements Command {
  constructor(readonly scope: number, readonly key: string) {}
  check = () => true;
  async run(model: StoreModel, real: Real) {
    assert.deepStrictEqual(await real.rt.state.get(SCOPES[this.scope], this.key), model.get(this.scope, this.key));
  }
  toString = () => `get(${SCOPES[this.scope]}, ${this.key})`;
}

class DeleteCommand implements Command {
  constructor(readonly scope: number, readonly key: string) {}
  check = () => true;
  async run(model: StoreModel, real: Real) {
    assert.equal(await real.rt.state.delete(SCOPES[this.scope], this.key), model.delete(this.scope, this.key));
  }
  toString = () => `delete(${SCOPES[this.scope]}, ${this.key})`;
}

class ListKeysCommand implements Command {
  constructor(readonly scope: number, readonly prefix: string) {}
  check = () => true;
  async run(model: StoreModel, real: Real) {
    assert.deepEqual(await real.rt.state.listKeys(SCOPES[this.scope], { prefix: this.prefix }), model.keys(this.scope, this.prefix));
  }
  toString = () => `listKeys(${SCOPES[this.scope]}, ${JSON.stringify(this.prefix)})`;
}

class ClearCommand implements Command {
  constructor(readonly scope: number) {}
  check = () => true;
  async run(model: StoreModel, real: Real) {
    assert.equal(await real.rt.state.clearScope(SCOPES[this.scope]), model.clear(this.scope));
  }
  toString = () => `clearScope(${SCOPES[this.scope]})`;
}

type TxOp = { op: 'set'; key: string; value: unknown } | { op: 'delete'; key: string } | { op: 'get'; key: string };

class TransactionCommand implements Command {
  constructor(readonly scope: number, readonly ops: TxOp[], readonly fails: boolean) {}
  check = () => true;
  async run(model: StoreModel, real: Real) {
    // The transaction sees committed state plus its own writes: track that view alongside.
    const view = new Map<string, unknown>(model.keys(this.scope).map((k) => [k, model.get(this.scope, k)]));
    const outcome = real.rt.state.transaction(SCOPES[this.scope], async (tx) => {
      for (const op of this.ops) {
        if (op.op === 'set') {
          tx.set(op.key, op.value);
          view.set(op.key, op.value);
        } else if (op.op === 'delete') {
          tx.delete(op.key);
          view.delete(op.key);
        } else {
          assert.deepStrictEqual(await tx.get(op.key), view.get(op.key));
        }
      }
      if (this.fails) throw new Error('rolled back');
      return this.ops.length;
    });
    if (this.fails) {
      await assert.rejects(outcome, /rolled back/);
      return;
    }
    assert.equal(await outcome, this.ops.length);
    for (const op of this.ops) {
      if (op.op === 'set') model.set(this.scope, op.key, op.value);
      else if (op.op === 'delete') model.delete(this.scope, op.key);
    }
  }
  toString = () => `transaction(${SCOPES[this.scope]}, ${JSON.stringify(this.ops)}${this.fails ? ', throws' : ''})`;
}

/** Several operations issued at once without awaiting: FIFO per scope must explain every result. */
class BurstCommand implements Command {
  constructor(readonly ops: ({ op: 'set'; scope: number; key: string; value: unknown } | { op: 'get' | 'delete'; scope: number; key: string })[]) {}
  check = () => true;
  async run(model: StoreModel, real: Real) {
    const results = await Promise.all(
      this.ops.map((op) =>
        op.op === 'set'
          ? real.rt.state.set(SCOPES[op.scope], op.key, op.value)
          : op.op === 'get'
            ? real.rt.state.get(SCOPES[op.scope], op.key)
            : real.rt.state.delete(SCOPES[op.scope], op.key),
      ),
    );
    this.ops.forEach((op, i) => {
      if (op.op === 'set') model.set(op.scope, op.key, op.value);
      else if (op.op === 'get') assert.deepStrictEqual(results[i], model.get(op.scope, op.key), `burst op ${i}`);
      else assert.equal(results[i], model.delete(op.scope, op.key), `burst op ${i}`);
    });
  }
  toString = () => `burst(${JSON.stringify(this.ops)})`;
}

class RestartCommand implements Command {
  check = () => true;
  async run(_model: StoreModel, real: Real) {
    await real.rt.close();
    real.rt = await createRuntime({ ...real.options, dataDir: real.dataDir });
  }
  toString = () => 'restart()';
}

const txOp: fc.Arbitrary<TxOp> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key, value }),
  fc.record({ op: fc.constant('delete' as const), key }),
  fc.record({ op: fc.constant('get' as const), key }),
);

const burstOp = fc.oneof(
  fc.record({ op: fc.constant('set' as const), scope: scopeIndex, key, value }),
  fc.record({ op: fc.constantFrom('get' as const, 'delete' as const), scope: scopeIndex, key }),
);

const commands = [
  fc.tuple(scopeIndex, key, value).map(([s, k, v]) => new SetCommand(s, k, v)),
  fc.tuple(scopeIndex, key).map(([s, k]) => new GetCommand(s, k)),
  fc.tuple(scopeIndex, key).map(([s, k]) => new DeleteCommand(s, k)),
  fc.tuple(scopeIndex, fc.constantFrom('', 'a', 'k.', ...KEYS)).map(([s, p]) => new ListKeysCommand(s, p)),
  scopeIndex.map((s) => new ClearCommand(s)),
  fc.tuple(scopeIndex, fc.array(txOp, { maxLength: 6 }), fc.boolean()).map(([s, ops, fails]) => new TransactionCommand(s, ops, fails)),
  fc.array(burstOp, { minLength: 2, maxLength: 12 }).map((ops) => new BurstCommand(ops)),
  fc.constant(new RestartCommand()),
];

/**
 * The default options, and a budget so small that every commit evicts caches and passivates actors, with
 * an idle sweep that passivates whatever it finds idle: eviction and passivation then interleave with
 * every kind of operation, and every operation must still settle.
 */
const CONFIGURATIONS: { name: string; options: RuntimeOptions; runs: number }[] = [
  { name: 'default options', options: {}, runs: 100 },
  { name: 'a tiny memory budget and idleMs', options: { memoryBudgetBytes: 18_000, idleMs: 1 }, runs: 60 },
];

describe('state model (fc.commands)', function () {
  this.timeout(600_000);

  for (const { name, options, runs: defaultRuns } of CONFIGURATIONS) it(`set, get, delete, listKeys, clearScope, transactions and bursts agree with a Map model, across restarts (${name})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40 }), async (cmds) => {
        const dataDir = mkdtempSync(join(tmpdir(), 'llmstate-model-'));
        const real: Real = { rt: await createRuntime({ ...options, dataDir }), dataDir, options };
        const model = new StoreModel();
        try {
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          // Whatever happened, after a final restart the store holds exactly the model.
          await new RestartCommand().run(model, real);
          for (let scope = 0; scope < SCOPES.length; scope++) {
            const keys = model.keys(scope);
            assert.deepEqual(await real.rt.state.listKeys(SCOPES[scope]), keys);
            for (const k of keys) assert.deepStrictEqual(await real.rt.state.get(SCOPES[scope], k), model.get(scope, k));
          }
        } finally {
          await real.rt.close();
          rmSync(dataDir, { recursive: true, force: true });
        }
      }),
      { numRuns: runs(defaultRuns) },
    );
  });
});
