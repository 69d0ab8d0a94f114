import { z } from 'zod';
import { checkOptions, checkOptionsArgument } from '../checkOptions.js';
import { makeStep } from './checkSteps.js';
import type { ConvertTarget } from './convertValue.js';
import type { FieldPath } from './fieldPath.js';
import { copyJsonData } from './jsonCopy.js';
import type {
  AddFieldStep,
  ConvertStep,
  CustomStep,
  JsonValue,
  MergeStep,
  MigrationStep,
  RemoveFieldStep,
  RenameFieldStep,
  SplitStep,
  StepJson,
  UnboundCustomStep,
} from './stepTypes.js';

export { applySteps } from './applySteps.js';
export { checkSteps, copySteps, MAX_CUSTOM_STEP_NAME_LENGTH } from './checkSteps.js';
export { CONVERT_TARGETS } from './convertValue.js';
export type { ConvertTarget } from './convertValue.js';
export { describeStep } from './describeStep.js';
export { fieldPath } from './fieldPath.js';
export type { FieldPath } from './fieldPath.js';
export { StepFailure } from './StepFailure.js';
export type { StepFailureFields } from './StepFailure.js';
export { STEP_OPS } from './stepTypes.js';
export type * from './stepTypes.js';

export interface SeparatorOptions {
  /** The text between the parts: not empty for `split`, any string for `merge`. @default ' ' */
  separator?: string;
}

/** The separator of `split` and `merge` when none is given, so that the two undo each other by default. */
export const DEFAULT_SEPARATOR = ' ';

const SPLIT_OPTIONS = { separator: [z.string().min(1), 'a non-empty string'] } as const;
const MERGE_OPTIONS = { separator: [z.string(), 'a string'] } as const;

/**
 * Moves the field at `from` to `to`, creating the objects on the way to `to` that are absent. A record
 * without `from` is left as it is. It fails where `to` already holds a value, or where either path goes
 * through a value that is not an object.
 *
 * @throws {TypeError} when a path is not a field path, or `to` is `from` or contains it.
 * @example renameField('name', 'fullName')
 * @example renameField('city', 'address.city')
 */
function renameField(from: FieldPath, to: FieldPath): RenameFieldStep {
  return makeStep({ op: 'renameField', from, to }, undefined, 'code') as RenameFieldStep;
}

/**
 * Sets the field at `path` to a copy of `defaultValue` where it is absent, creating the objects on the
 * way. A field that is present, even as null, is left as it is.
 *
 * @throws {TypeError} when `path` is not a field path or `defaultValue` is not JSON data.
 * @example addField('tags', [])
 */
function addField(path: FieldPath, defaultValue: JsonValue): AddFieldStep {
  return makeStep({ op: 'addField', path, default: defaultValue }, undefined, 'code') as AddFieldStep;
}

/**
 * Removes the field at `path`. A record without it is left as it is. The objects that held it stay,
 * even when they are left empty.
 *
 * @example removeField('legacy.flags')
 */
function removeField(path: FieldPath): RemoveFieldStep {
  return makeStep({ op: 'removeField', path }, undefined, 'code') as RemoveFieldStep;
}

/**
 * Converts the field at `path` to a number, a string or a boolean. An absent field stays absent; a
 * value that cannot convert fails the step, with the value and the target type in the message.
 * - to `number`: a string of decimal digits, as in `42`, `-0.5` or `1e3` (no spaces, no hex, no empty
 *   string), whose number is finite and, for an integer, exact; `true` → 1, `false` → 0.
 * - to `string`: a number as `String(n)` writes it; a boolean as `'true'` or `'false'`.
 * - to `boolean`: `'true'`, `'false'`, 1 and 0 only.
 * null, objects and arrays never convert.
 *
 * @example convert('age', 'number')
 */
function convert(path: FieldPath, to: ConvertTarget): ConvertStep {
  return makeStep({ op: 'convert', path, to }, undefined, 'code') as ConvertStep;
}

/**
 * Splits the string at `path` at each separator into the fields `into`, in order; the last one takes
 * the rest, separators included. A string with fewer parts leaves the last fields absent. The source
 * field is removed (it may also be one of `into`). A record without it is left as it is; a value that
 * is not a string fails, as does a field of `into` that already holds a value.
 *
 * @throws {TypeError} when `into` is not a non-empty list of distinct field paths, none inside another.
 * @example split('name', ['firstName', 'lastName'])           // 'Ada King Lovelace' → 'Ada', 'King Lovelace'
 * @example split('tags', ['first', 'rest'], { separator: ',' })
 */
function split(path: FieldPath, into: readonly FieldPath[], options?: SeparatorOptions): SplitStep {
  const separator = separatorOf(options, SPLIT_OPTIONS);
  return makeStep({ op: 'split', path, into, separator }, undefined, 'code') as SplitStep;
}

/**
 * Joins the strings at the fields `from` that are present, in order, with the separator, into the field
 * `into`, and removes them (`into` may be one of them). When none is present, the record is left as it
 * is. A present value that is not a string fails (convert it first), as does an `into` that already
 * holds a value.
 *
 * @example merge(['firstName', 'lastName'], 'name')
 */
function merge(from: readonly FieldPath[], into: FieldPath, options?: SeparatorOptions): MergeStep {
  const separator = separatorOf(options, MERGE_OPTIONS);
  return makeStep({ op: 'merge', from, into, separator }, undefined, 'code') as MergeStep;
}

/**
 * Runs `fn` on the record as the earlier steps left it (a copy: `fn` may change it), and takes what it
 * returns as the new record. `fn` is synchronous and must return JSON data; undefined is refused, so a
 * function that changes its argument must still return it. A throw fails the step, with the error as
 * the failure's cause.
 *
 * A stored migration keeps only the step's name, not its code; the name also shows in messages.
 *
 * @param name @default `fn.name`, or `'anonymous'`
 * @example custom(function lowercaseTags(profile) { return { ...profile, tags: profile.tags.map((t) => t.toLowerCase()) } })
 */
function custom(fn: (value: any) => unknown, name?: string): CustomStep {
  const named = name ?? (typeof fn === 'function' && fn.name !== '' ? fn.name : 'anonymous');
  return makeStep({ op: 'custom', name: named, fn }, undefined, 'code') as CustomStep;
}

function separatorOf(options: SeparatorOptions | undefined, fields: typeof SPLIT_OPTIONS | typeof MERGE_OPTIONS): string {
  checkOptionsArgument(options);
  return checkOptions(options ?? {}, fields).separator ?? DEFAULT_SEPARATOR;
}

/**
 * The builders of migration steps, for `rt.migrations.define({ …, steps: [...] })`. Each checks its
 * arguments at once and returns a frozen step.
 *
 * @example
 * const { renameField, convert, addField } = steps;
 * [renameField('name', 'fullName'), convert('age', 'number'), addField('tags', [])]
 */
export const steps = Object.freeze({ renameField, addField, removeField, convert, split, merge, custom });

/**
 * The form in which a step is stored: the step as JSON, except that a custom step keeps only its name.
 *
 * @example stepToJson(steps.convert('age', 'number')) // { op: 'convert', path: 'age', to: 'number' }
 */
export function stepToJson(step: MigrationStep | UnboundCustomStep): StepJson {
  if (step.op === 'custom') return { op: 'custom', name: step.name };
  return copyJsonData(step).copy as StepJson;
}

/**
 * A step read back from its stored form. A custom step comes back with its name and no function: it
 * can be described, not run.
 *
 * @param what How messages name the value. @default 'step'
 * @throws {TypeError} when `json` is not the stored form of a step.
 */
export function stepFromJson(json: unknown, what = 'step'): MigrationStep | UnboundCustomStep {
  return makeStep(json, what, 'json') as MigrationStep | UnboundCustomStep;
}
