import { describeOption } from '../checkOptions.js';
import { shortenForDisplay } from '../displayText.js';
import { findNonJsonData } from '../state/jsonData.js';
import { checkSteps, isCheckedStep } from './checkSteps.js';
import { convertValue, type ConvertTarget } from './convertValue.js';
import { describeStep } from './describeStep.js';
import { fieldPath, jsonPathOf, parseFieldPath } from './fieldPath.js';
import { JSON_DATA_RULES, copyJsonData } from './jsonCopy.js';
import { PathBlocked, deleteField, readField, writeField } from './recordFields.js';
import { StepFailure } from './StepFailure.js';
import type { MigrationStep } from './stepTypes.js';

/** One step made ready to run, its paths parsed once rather than once per record. */
interface PreparedStep {
  /** Changes the record in place and returns it, or returns a new record (a custom step). */
  run(record: unknown): unknown;
  /**
   * At most how many levels of nesting the step adds to the record, or undefined for a custom step,
   * whose new record is measured afresh. Counting spares a full check of the record after every step.
   */
  addsLevels: number | undefined;
}

/** Why a step could not apply, before the failure is given the step's index and description. */
class Refusal {
  constructor(
    readonly path: string,
    readonly reason: string,
    readonly cause?: unknown,
  ) {}
}

/** How long a message quotes what a custom function threw. */
const THROWN_MESSAGE_LENGTH = 200;

const preparedSteps = new WeakMap<MigrationStep, PreparedStep>();

/**
 * Applies migration steps, in order, to a copy of a record, and returns the copy. The record itself is
 * never changed, and may be deeply frozen. What each step does, where it fails and why is described in
 * docs/schemas-steps.md; in short:
 * - A step that reads an absent field leaves the record as it is (`addField` sets it).
 * - A step that writes a field creates the absent objects on its way; a step whose path meets a value
 *   that is not an object (a string, an array, null) fails, whether it reads or writes.
 * - A step that would overwrite a field that holds a value fails.
 * - After each step, the record is still JSON data, nested at most as deep as a state value may be.
 *
 * @throws {StepFailure} naming the step's index, the step, the JSON path where it failed and why.
 * @throws {TypeError} when `steps` are not migration steps or `value` is not JSON data.
 * @example applySteps({ name: 'Ada', age: '36' }, [steps.renameField('name', 'fullName'), steps.convert('age', 'number')])
 * // { fullName: 'Ada', age: 36 }
 */
export function applySteps(value: unknown, steps: readonly MigrationStep[]): unknown {
  checkSteps(steps);
  const problem = findNonJsonData(value, '$', JSON_DATA_RULES);
  if (problem !== undefined) {
    throw new TypeError(`Expected \`value\` to be JSON data, got ${describeOption(value)}: at ${problem.path}, ${problem.reason}`);
  }
  let { copy: record, levels } = copyJsonData(value);
  for (let i = 0; i < steps.length; i++) {
    const step = preparedStepOf(steps[i]);
    try {
      const result = step.run(record);
      if (step.addsLevels === undefined) {
        ({ copy: record, levels } = copyJsonData(result));
      } else {
        record = result;
        levels += step.addsLevels;
        if (levels > JSON_DATA_RULES.maxDepth) checked(record);
      }
    } catch (err) {
      throw failureOf(err, i, steps[i]);
    }
  }
  return record;
}

function preparedStepOf(step: MigrationStep): PreparedStep {
  let prepared = preparedSteps.get(step);
  if (prepared === undefined) {
    prepared = prepare(step);
    // Only a checked step is frozen; another could change after it was prepared.
    if (isCheckedStep(step)) preparedSteps.set(step, prepared);
  }
  return prepared;
}

function failureOf(err: unknown, stepIndex: number, step: MigrationStep): unknown {
  const fields = { stepIndex, step: describeStep(step) };
  if (err instanceof Refusal) return new StepFailure({ ...fields, path: err.path, reason: err.reason }, { cause: err.cause });
  if (err instanceof PathBlocked) {
    const reason = `it is ${describeOption(err.value)}, not an object, so the path \`${fieldPath(...err.keys)}\` cannot go through it`;
    return new StepFailure({ ...fields, path: jsonPathOf(err.keys, err.depth), reason });
  }
  return err;
}

function prepare(step: MigrationStep): PreparedStep {
  switch (step.op) {
    case 'renameField': {
      const to = keysOf(step.to);
      return { run: renameField(keysOf(step.from), to), addsLevels: to.length };
    }
    case 'addField': {
      const keys = keysOf(step.path);
      const { copy, levels } = copyJsonData(step.default);
      return { run: addField(keys, copy), addsLevels: keys.length + levels };
    }
    case 'removeField': {
      const keys = keysOf(step.path);
      const run = (record: unknown) => {
        deleteField(record, keys);
        return record;
      };
      return { run, addsLevels: 0 };
    }
    case 'convert':
      return { run: convert(keysOf(step.path), step.to), addsLevels: 0 };
    case 'split': {
      const into = step.into.map(keysOf);
      return { run: split(keysOf(step.path), into, step.separator), addsLevels: Math.max(...into.map((keys) => keys.length)) };
    }
    case 'merge': {
      const into = keysOf(step.into);
      return { run: merge(step.from.map(keysOf), into, step.separator), addsLevels: into.length };
    }
    case 'custom':
      return { run: custom(step.fn), addsLevels: undefined };
  }
}

function renameField(from: string[], to: string[]) {
  return (record: unknown) => {
    const value = readField(record, from);
    if (value === undefined) return record;
    deleteField(record, from);
    refuseTaken(record, to);
    writeField(record, to, value);
    return record;
  };
}

function addField(keys: string[], defaultValue: unknown) {
  return (record: unknown) => {
    if (readField(record, keys) === undefined) writeField(record, keys, copyJsonData(defaultValue).copy);
    return record;
  };
}

function convert(keys: string[], to: ConvertTarget) {
  return (record: unknown) => {
    const value = readField(record, keys);
    if (value === undefined) return record;
    const conversion = convertValue(value, to);
    if (!conversion.ok) throw new Refusal(jsonPathOf(keys), conversion.reason);
    writeField(record, keys, conversion.value);
    return record;
  };
}

function split(source: string[], targets: string[][], separator: string) {
  return (record: unknown) => {
    const value = readField(record, source);
    if (value === undefined) return record;
    if (typeof value !== 'string') throw new Refusal(jsonPathOf(source), `split takes a string, and the field holds ${describeOption(value)}`);
    deleteField(record, source);
    for (const target of targets) refuseTaken(record, target);
    const pieces = value.split(separator);
    const parts = pieces.length <= targets.length ? pieces : [...pieces.slice(0, targets.length - 1), pieces.slice(targets.length - 1).join(separator)];
    for (let i = 0; i < parts.length; i++) writeField(record, targets[i], parts[i]);
    return record;
  };
}

function merge(sources: string[][], target: string[], separator: string) {
  return (record: unknown) => {
    const parts: string[] = [];
    for (const source of sources) {
      const value = readField(record, source);
      if (value === undefined) continue;
      if (typeof value !== 'string') {
        throw new Refusal(jsonPathOf(source), `merge joins strings, and the field holds ${describeOption(value)} (convert it to a string first)`);
      }
      parts.push(value);
    }
    if (parts.length === 0) return record;
    for (const source of sources) deleteField(record, source);
    refuseTaken(record, target);
    writeField(record, target, parts.join(separator));
    return record;
  };
}

/** The function's result, once it is known to be JSON data; `applySteps` copies it, for it may share objects with the caller's code. */
function custom(fn: (value: any) => unknown) {
  return (record: unknown) => {
    let result: unknown;
    try {
      result = fn(record);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Refusal('$', `the function threw: ${shortenForDisplay(message, THROWN_MESSAGE_LENGTH, 'start')}`, err);
    }
    if (result === undefined) {
      throw new Refusal('$', 'the function returned undefined; a custom step returns the new record (a function that changes its argument must still return it)');
    }
    if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
      // The step fails here and now; a later rejection of the promise must not crash the process.
      (result as PromiseLike<unknown>).then(undefined, () => {});
      throw new Refusal('$', 'the function returned a promise; a custom step runs synchronously and returns the new record');
    }
    return checked(result);
  };
}

/** Refuses to overwrite a field that holds a value, whatever it is. */
function refuseTaken(record: unknown, keys: string[]): void {
  const value = readField(record, keys);
  if (value !== undefined) {
    throw new Refusal(jsonPathOf(keys), `the field already holds ${describeOption(value)}; remove it in an earlier step, or choose another field`);
  }
}

/** The record, once it is known to be JSON data still. */
function checked(record: unknown): unknown {
  const problem = findNonJsonData(record, '$', JSON_DATA_RULES);
  if (problem !== undefined) throw new Refusal(problem.path, `the result is not JSON data: ${problem.reason}`);
  return record;
}

function keysOf(path: string): string[] {
  return parseFieldPath(path)!;
}
