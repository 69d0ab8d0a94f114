import { z } from 'zod';
import { checkOptions, describeOption, type OptionFields } from '../checkOptions.js';
import { findNonJsonData } from '../state/jsonData.js';
import { deepFreeze } from '../state/values.js';
import { CONVERT_TARGETS } from './convertValue.js';
import { FIELD_PATH_WORDING, isWithin, parseFieldPath } from './fieldPath.js';
import { JSON_DATA_RULES, copyJsonData } from './jsonCopy.js';
import { STEP_OPS, type MigrationStep, type StepOp } from './stepTypes.js';

/** The longest name of a custom step. */
export const MAX_CUSTOM_STEP_NAME_LENGTH = 128;

const path = [z.custom<string>((value) => parseFieldPath(value) !== undefined), FIELD_PATH_WORDING] as const;
const paths = [
  z.custom<string[]>(isPathList),
  'a non-empty array of distinct field paths, none inside another (as in `["first", "last"]`)',
] as const;
const separator = [z.string().min(1), 'a non-empty string'] as const;
const joiner = [z.string(), 'a string'] as const;
const op = [z.string(), 'a step kind'] as const;

const FIELDS = {
  renameField: { op, from: path, to: path },
  addField: { op, path, default: [z.unknown(), 'JSON data'] },
  removeField: { op, path },
  convert: { op, path, to: [z.enum(CONVERT_TARGETS), 'one of `number`, `string` or `boolean`'] },
  split: { op, path, into: paths, separator },
  merge: { op, from: paths, into: path, separator: joiner },
  custom: {
    op,
    name: [z.string().min(1).max(MAX_CUSTOM_STEP_NAME_LENGTH), `a non-empty string of at most ${MAX_CUSTOM_STEP_NAME_LENGTH} characters`],
    fn: [z.custom<(value: unknown) => unknown>((value) => typeof value === 'function'), 'a function of the record'],
  },
} satisfies Record<StepOp, OptionFields>;

/** Steps that {@link makeStep} checked and froze: they need no second look. */
const madeSteps = new WeakSet<object>();

/**
 * Checks a list of migration steps, each as the builders of `steps` make it or written out by hand.
 *
 * @param what The argument's name, as messages show it. @default 'steps'
 * @throws {TypeError} naming the bad step by its index, as in ``Expected `steps[2].to` to be one of `number`, `string` or `boolean`, got `"int"` (string)``.
 * @example checkSteps([steps.renameField('name', 'fullName')])
 */
export function checkSteps(steps: unknown, what = 'steps'): asserts steps is MigrationStep[] {
  if (!Array.isArray(steps)) throw new TypeError(`Expected \`${what}\` to be an array of migration steps, got ${describeOption(steps)}`);
  for (let i = 0; i < steps.length; i++) {
    if (!madeSteps.has(steps[i])) checkStep(steps[i], `${what}[${i}]`, 'code');
  }
}

/**
 * Checks a list of migration steps and returns it as frozen steps, for a definition to keep: a step
 * written out by hand is copied, so that changing the object later changes nothing, and `applySteps`
 * prepares each step once rather than once per record.
 *
 * @param what The argument's name, as messages show it. @default 'steps'
 * @throws {TypeError} as {@link checkSteps} does.
 */
export function copySteps(steps: unknown, what = 'steps'): readonly MigrationStep[] {
  checkSteps(steps, what);
  return Object.freeze(steps.map((step, i) => (madeSteps.has(step) ? step : makeStep(step, `${what}[${i}]`, 'code'))));
}

/** True when `step` came from {@link makeStep}: checked, deeply frozen, and so safe to remember. */
export function isCheckedStep(step: unknown): boolean {
  return typeof step === 'object' && step !== null && madeSteps.has(step);
}

/**
 * Checks one step and returns a frozen copy of it: the builders make steps with it, and the stored
 * form is read back with it (`form: 'json'`, where a custom step has a name but no function).
 *
 * @param at How messages name the step, as in `steps[2]`; undefined names the fields alone (`from`).
 */
export function makeStep(input: unknown, at: string | undefined, form: 'code' | 'json'): MigrationStep {
  const fields = checkStep(input, at, form);
  const step = copyStep(fields);
  // A custom step read back has no function: it must not pass for one that can run.
  if (form === 'code' || step.op !== 'custom') madeSteps.add(step);
  return step;
}

function checkStep(input: unknown, at: string | undefined, form: 'code' | 'json'): Record<string, any> {
  const named = (field: string) => (at === undefined ? field : `${at}.${field}`);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TypeError(`Expected \`${at ?? 'step'}\` to be a migration step object (as \`steps.renameField(…)\` makes), got ${describeOption(input)}`);
  }
  const kind = (input as { op?: unknown }).op;
  if (!(STEP_OPS as readonly unknown[]).includes(kind)) {
    const kinds = STEP_OPS.map((name) => `\`${name}\``);
    throw new TypeError(`Expected \`${named('op')}\` to be one of ${kinds.join(', ')}, got ${describeOption(kind)}`);
  }
  const stepOp = kind as StepOp;
  let fields: OptionFields = FIELDS[stepOp];
  if (stepOp === 'custom' && form === 'json') fields = { op, name: FIELDS.custom.name };
  const step = checkOptions(input, fields, {
    required: Object.keys(fields),
    ...(at === undefined ? {} : { nested: { path: at, kind: `${/^[aeiou]/i.test(stepOp) ? 'an' : 'a'} ${stepOp} step` } }),
  }) as Record<string, any>;
  checkFieldRelations(stepOp, step, named);
  return step;
}

/** The rules that involve two fields of a step, or a field's content beyond its type. */
function checkFieldRelations(stepOp: StepOp, step: Record<string, any>, named: (field: string) => string): void {
  switch (stepOp) {
    case 'renameField':
      if (isWithin(parseFieldPath(step.from)!, parseFieldPath(step.to)!)) {
        throw new TypeError(`Expected \`${named('to')}\` to name a field that is not \`${named('from')}\` and does not contain it, got ${describeOption(step.to)}`);
      }
      return;
    case 'addField': {
      const problem = findNonJsonData(step.default, '$', JSON_DATA_RULES);
      if (problem !== undefined) {
        throw new TypeError(`Expected \`${named('default')}\` to be JSON data, got ${describeOption(step.default)}: at ${problem.path}, ${problem.reason}`);
      }
      return;
    }
    case 'split':
      refuseTargetHoldingSource(step.into, [step.path], named('into'), named('path'));
      return;
    case 'merge':
      refuseTargetHoldingSource([step.into], step.from, named('into'), named('from'));
      return;
  }
}

// A target that contains a source would still hold the source's parent object once the sources are
// removed, so the step could never succeed on a record that has the field.
function refuseTargetHoldingSource(targets: readonly string[], sources: readonly string[], targetName: string, sourceName: string): void {
  for (const target of targets) {
    const targetKeys = parseFieldPath(target)!;
    for (const source of sources) {
      const sourceKeys = parseFieldPath(source)!;
      if (sourceKeys.length > targetKeys.length && isWithin(sourceKeys, targetKeys)) {
        throw new TypeError(`Expected \`${targetName}\` not to contain the field \`${sourceName}\` names, got ${describeOption(target)}`);
      }
    }
  }
}

function isPathList(value: unknown): boolean {
  if (!Array.isArray(value) || value.length === 0) return false;
  const keyLists = value.map(parseFieldPath);
  if (keyLists.some((keys) => keys === undefined)) return false;
  return keyLists.every((keys, i) => keyLists.every((other, j) => i === j || !isWithin(keys!, other!)));
}

function copyStep(step: Record<string, any>): MigrationStep {
  switch (step.op as StepOp) {
    case 'renameField':
      return Object.freeze({ op: 'renameField', from: step.from, to: step.to });
    case 'addField':
      return Object.freeze({ op: 'addField', path: step.path, default: deepFreeze(copyJsonData(step.default).copy) });
    case 'removeField':
      return Object.freeze({ op: 'removeField', path: step.path });
    case 'convert':
      return Object.freeze({ op: 'convert', path: step.path, to: step.to });
    case 'split':
      return Object.freeze({ op: 'split', path: step.path, into: Object.freeze([...step.into]), separator: step.separator });
    case 'merge':
      return Object.freeze({ op: 'merge', from: Object.freeze([...step.from]), into: step.into, separator: step.separator });
    case 'custom':
      return Object.freeze({ op: 'custom', name: step.name, fn: step.fn });
  }
}
