import fc from 'fast-check';
import { z } from 'zod';
import { checkOptions } from '../checkOptions.js';
import { escapeForDisplay } from '../displayText.js';
import type { Scope } from '../state/Scope.js';
import { jsonValues } from './jsonValues.js';
import { keys } from './keys.js';
import { codePointPrefix, showName } from './names.js';
import { scopes } from './scopes.js';

/** One `rt.state` call, as plain data. Run it with {@link applyOperation}. */
export type Operation =
  | { readonly op: 'set'; readonly scope: Scope; readonly key: string; readonly value: unknown }
  | { readonly op: 'get'; readonly scope: Scope; readonly key: string }
  | { readonly op: 'delete'; readonly scope: Scope; readonly key: string }
  | { readonly op: 'listKeys'; readonly scope: Scope; readonly prefix?: string }
  | { readonly op: 'clearScope'; readonly scope: Scope }
  /** A transaction's steps, in order; with `abort`, its callback then throws, so that nothing is written. */
  | { readonly op: 'transaction'; readonly scope: Scope; readonly steps: readonly TransactionStep[]; readonly abort?: true };

/** One call on a transaction's `tx`. */
export type TransactionStep =
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'set'; readonly key: string; readonly value: unknown }
  | { readonly op: 'delete'; readonly key: string };

/** Every kind of {@link Operation}. */
export const OPERATION_KINDS = ['set', 'get', 'delete', 'listKeys', 'clearScope', 'transaction'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/** What {@link operations} and {@link concurrentOperations} draw. */
export interface OperationsOptions {
  /** Only these kinds of operation. @default every kind */
  ops?: readonly OperationKind[];
  /** Where the scopes of each sequence's pool come from. @default scopes({ awkward }) */
  scopes?: fc.Arbitrary<Scope>;
  /** Where the keys of each sequence's pool come from. @default keys({ awkward, maxLength: 16 }) */
  keys?: fc.Arbitrary<string>;
  /** The values written. @default jsonValues({ awkward, maxBytes: 256, maxDepth: 8 }) */
  values?: fc.Arbitrary<unknown>;
  /** How many scopes one sequence (or one set of concurrent sequences) uses. @default 2 */
  scopePool?: number;
  /**
   * How many keys it uses. With `awkward` and the default `keys`, half the pools also hold one key in
   * both its spellings (NFC and NFD), one or two keys more. @default 3
   */
  keyPool?: number;
  /** The fewest operations in a sequence. @default 0 */
  minLength?: number;
  /** The most operations in a sequence. @default 20 */
  maxLength?: number;
  /** The most steps in a transaction. @default 4 */
  maxSteps?: number;
  /** Applies to the default scopes, keys and values, and to the two spellings of a key. @default true */
  awkward?: boolean;
}

/** What {@link concurrentOperations} draws, besides {@link OperationsOptions}. */
export interface ConcurrentOperationsOptions extends OperationsOptions {
  /** How many sequences, one per task. @default 2 */
  tasks?: number;
}

const count = (min: number, max: number) => [z.number().int().min(min).max(max), `an integer from ${min} to ${max}`] as const;
// By shape rather than by class, so that an arbitrary from another copy of fast-check is accepted.
const arbitrary = [
  z.custom<fc.Arbitrary<unknown>>((value) => typeof (value as fc.Arbitrary<unknown> | null)?.generate === 'function' && typeof (value as fc.Arbitrary<unknown>).shrink === 'function'),
  'a fast-check arbitrary',
] as const;
const FIELDS = {
  ops: [z.array(z.enum(OPERATION_KINDS)).min(1), `a non-empty array of operation kinds (${OPERATION_KINDS.join(', ')})`],
  scopes: arbitrary,
  keys: arbitrary,
  values: arbitrary,
  scopePool: count(1, 64),
  keyPool: count(1, 64),
  minLength: count(0, 10_000),
  maxLength: count(0, 10_000),
  maxSteps: count(0, 100),
  awkward: [z.boolean(), 'a boolean'],
  tasks: count(1, 64),
} as const;

/**
 * Sequences of `rt.state` calls over a small pool of scopes and keys, drawn afresh for each sequence,
 * so that the calls meet on the same keys: a read after a write, a delete of what another call set, a
 * transaction over keys that others write. Each operation prints in a counterexample as the call it
 * stands for, such as `set agent:a "e\u0301" = 1`, with NFD keys escaped so that two spellings differ.
 *
 * @throws {TypeError} for options of the wrong shape
 * @example
 * // model: a Map per scope, keyed by key.normalize('NFC'), that returns what rt.state should.
 * await fc.assert(fc.asyncProperty(operations(), async (ops) => {
 *   const rt = await createRuntime({ memory: true });
 *   for (const op of ops) {
 *     const result = await applyOperation(rt.state, op);
 *     assert.deepStrictEqual(result, model.apply(op));
 *   }
 *   await rt.close();
 * }));
 */
export function operations(options: OperationsOptions = {}): fc.Arbitrary<Operation[]> {
  const checked = checkOperationsOptions(options, false);
  return fc.tuple(pools(checked), sequence(checked)).map(([pool, templates]) => templates.map((template) => build(template, pool)));
}

/**
 * Several sequences of `rt.state` calls, one per task, over one shared pool of scopes and keys, so
 * that the tasks race on the same keys: run each in its own `sim.spawn` and check `sim.history`
 * with `checkLinearizable`.
 *
 * @throws {TypeError} for options of the wrong shape
 * @example
 * await fc.assert(fc.asyncProperty(concurrentOperations({ tasks: 2, maxLength: 4 }), async (tasks) => {
 *   await simulate.assert(async (sim) => {
 *     await Promise.all(tasks.map((ops, i) => sim.spawn(async () => {
 *       for (const op of ops) await applyOperation(sim.rt.state, op);
 *     }, `t${i}`)));
 *     const result = checkLinearizable(sim.history);
 *     sim.check(result.ok, result.ok ? '' : result.message);
 *   }, { runs: 5 });
 * }));
 */
export function concurrentOperations(options: ConcurrentOperationsOptions = {}): fc.Arbitrary<Operation[][]> {
  const checked = checkOperationsOptions(options, true);
  const tasks = checked.tasks ?? 2;
  return fc
    .tuple(pools(checked), fc.array(sequence(checked), { minLength: tasks, maxLength: tasks }))
    .map(([pool, sequences]) => sequences.map((templates) => templates.map((template) => build(template, pool))));
}

/**
 * One line for an operation, as a counterexample shows it, with control and invisible characters
 * escaped, and every non-ASCII character of a key that is not in NFC.
 *
 * @example
 * describeOperation({ op: 'set', scope: Scope.agent('a'), key: 'e\u0301', value: { n: 1 } });
 * // 'set agent:a "e\\u0301" = {"n":1}'
 * describeOperation({ op: 'transaction', scope: Scope.global(), steps: [{ op: 'get', key: 'a' }], abort: true });
 * // 'transaction global { get "a" } then abort'
 */
export function describeOperation(operation: Operation): string {
  const scope = escapeForDisplay(String(operation.scope));
  switch (operation.op) {
    case 'set':
      return `set ${scope} ${showName(operation.key)} = ${showValue(operation.value)}`;
    case 'get':
    case 'delete':
      return `${operation.op} ${scope} ${showName(operation.key)}`;
    case 'listKeys':
      return `listKeys ${scope}${operation.prefix === undefined ? '' : ` prefix ${showName(operation.prefix)}`}`;
    case 'clearScope':
      return `clearScope ${scope}`;
    case 'transaction': {
      const steps = operation.steps.map((step) => (step.op === 'set' ? `set ${showName(step.key)} = ${showValue(step.value)}` : `${step.op} ${showName(step.key)}`));
      const body = steps.length === 0 ? '{}' : `{ ${steps.join('; ')} }`;
      return `transaction ${scope} ${body}${operation.abort ? ' then abort' : ''}`;
    }
  }
}

function showValue(value: unknown): string {
  return escapeForDisplay(JSON.stringify(value));
}

type Checked = OperationsOptions & { tasks?: number };

function checkOperationsOptions(options: unknown, concurrent: boolean): Checked {
  const { tasks: _tasks, ...fields } = FIELDS;
  const checked = checkOptions(options, concurrent ? FIELDS : fields) as Checked;
  const { minLength = 0, maxLength = 20 } = checked;
  if (minLength > maxLength) throw new TypeError(`Expected \`minLength\` (${minLength}) to be at most \`maxLength\` (${maxLength})`);
  return checked;
}

/** The scopes and keys one sequence, or one set of concurrent sequences, draws from. */
interface Pool {
  scopes: readonly Scope[];
  keys: readonly string[];
}

function pools(options: Checked): fc.Arbitrary<Pool> {
  const awkward = options.awkward ?? true;
  const scopeArbitrary = options.scopes ?? scopes({ awkward });
  const keyArbitrary = options.keys ?? keys({ awkward, maxLength: 16 });
  // An arbitrary that cannot produce `scopePool` different values (only global, say) gives fewer.
  const scopePool = fc.uniqueArray(scopeArbitrary, { minLength: 1, maxLength: options.scopePool ?? 2, selector: String });
  const keyPool = fc.uniqueArray(keyArbitrary, { minLength: 1, maxLength: options.keyPool ?? 3 });
  const respell = awkward && options.keys === undefined ? fc.boolean() : fc.constant(false);
  return fc.record({ scopes: scopePool, keys: keyPool, respell }).map(({ scopes, keys, respell }) => ({ scopes, keys: respell ? withTwoSpellings(keys) : keys }));
}

/**
 * The pool with one key in two spellings, NFC and NFD: the first key's other spelling, or, when it has
 * none, the first key with an `é` added, spelt both ways. A random key seldom has two spellings, and
 * a store or a model that tells them apart is the bug this is for.
 */
function withTwoSpellings(pool: readonly string[]): string[] {
  const [first] = pool;
  const composed = first.normalize('NFC');
  const other = first === composed ? first.normalize('NFD') : composed;
  const added = other !== first ? [other] : [`${first}\u00e9`, `${first}e\u0301`];
  return [...pool, ...added.filter((key) => !pool.includes(key))];
}

/**
 * An operation before its scope and keys are picked from the pool: indices into it, which fast-check
 * shrinks towards the first scope and key, so that a counterexample uses as few as it can.
 */
type Template =
  | { op: 'set'; scope: number; key: number; value: unknown }
  | { op: 'get' | 'delete'; scope: number; key: number }
  | { op: 'listKeys'; scope: number; prefix: { key: number; size: number } | null }
  | { op: 'clearScope'; scope: number }
  | { op: 'transaction'; scope: number; steps: StepTemplate[]; abort: boolean };

type StepTemplate = { op: 'set'; key: number; value: unknown } | { op: 'get' | 'delete'; key: number };

const WEIGHTS: Record<OperationKind, number> = { set: 4, get: 3, delete: 2, listKeys: 1, clearScope: 1, transaction: 2 };

function sequence(options: Checked): fc.Arbitrary<Template[]> {
  const awkward = options.awkward ?? true;
  const values = options.values ?? jsonValues({ awkward, maxBytes: 256, maxDepth: 8 });
  const index = fc.nat({ max: 63 });
  const step: fc.Arbitrary<StepTemplate> = fc.oneof(
    fc.record({ op: fc.constant('set' as const), key: index, value: values }),
    fc.record({ op: fc.constantFrom('get' as const, 'delete' as const), key: index }),
  );
  const byKind: Record<OperationKind, fc.Arbitrary<Template>> = {
    set: fc.record({ op: fc.constant('set' as const), scope: index, key: index, value: values }),
    get: fc.record({ op: fc.constant('get' as const), scope: index, key: index }),
    delete: fc.record({ op: fc.constant('delete' as const), scope: index, key: index }),
    listKeys: fc.record({ op: fc.constant('listKeys' as const), scope: index, prefix: fc.option(fc.record({ key: index, size: fc.nat({ max: 4 }) }), { nil: null }) }),
    clearScope: fc.record({ op: fc.constant('clearScope' as const), scope: index }),
    transaction: fc.record({
      op: fc.constant('transaction' as const),
      scope: index,
      steps: fc.array(step, { maxLength: options.maxSteps ?? 4 }),
      abort: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    }),
  };
  const kinds = [...new Set(options.ops ?? OPERATION_KINDS)];
  const operation = fc.oneof(...kinds.map((kind) => ({ weight: WEIGHTS[kind], arbitrary: byKind[kind] })));
  return fc.array(operation, { minLength: options.minLength ?? 0, maxLength: options.maxLength ?? 20 });
}

function build(template: Template, pool: Pool): Operation {
  const scope = pool.scopes[template.scope % pool.scopes.length];
  const key = (at: number) => pool.keys[at % pool.keys.length];
  let operation: Operation;
  switch (template.op) {
    case 'set':
      operation = { op: 'set', scope, key: key(template.key), value: template.value };
      break;
    case 'get':
    case 'delete':
      operation = { op: template.op, scope, key: key(template.key) };
      break;
    case 'listKeys':
      operation = template.prefix === null ? { op: 'listKeys', scope } : { op: 'listKeys', scope, prefix: codePointPrefix(key(template.prefix.key), template.prefix.size) };
      break;
    case 'clearScope':
      operation = { op: 'clearScope', scope };
      break;
    case 'transaction': {
      const steps = template.steps.map((step): TransactionStep => (step.op === 'set' ? { op: 'set', key: key(step.key), value: step.value } : { op: step.op, key: key(step.key) }));
      operation = template.abort ? { op: 'transaction', scope, steps, abort: true } : { op: 'transaction', scope, steps };
      break;
    }
  }
  // Not enumerable, so that the operation compares and serialises as the plain data it is.
  return Object.defineProperty(operation, fc.toStringMethod, { value: () => describeOperation(operation) });
}
