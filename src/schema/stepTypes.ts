import type { ConvertTarget } from './convertValue.js';
import type { FieldPath } from './fieldPath.js';

/** A value that JSON can hold, as a record stores it. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Moves a field to another path. A record without the field is left as it is. */
export interface RenameFieldStep {
  readonly op: 'renameField';
  readonly from: FieldPath;
  readonly to: FieldPath;
}

/** Gives a field a value where it is absent. A field that is present, even as null, is left as it is. */
export interface AddFieldStep {
  readonly op: 'addField';
  readonly path: FieldPath;
  readonly default: JsonValue;
}

/** Removes a field. A record without it is left as it is. */
export interface RemoveFieldStep {
  readonly op: 'removeField';
  readonly path: FieldPath;
}

/** Converts a field's value to a number, a string or a boolean. An absent field stays absent. */
export interface ConvertStep {
  readonly op: 'convert';
  readonly path: FieldPath;
  readonly to: ConvertTarget;
}

/** Splits a string field into several fields at a separator, the last one taking the rest. */
export interface SplitStep {
  readonly op: 'split';
  readonly path: FieldPath;
  readonly into: readonly FieldPath[];
  readonly separator: string;
}

/** Joins the string fields that are present into one, with a separator, and removes them. */
export interface MergeStep {
  readonly op: 'merge';
  readonly from: readonly FieldPath[];
  readonly into: FieldPath;
  readonly separator: string;
}

/** Replaces the whole record with what `fn` returns for (a copy of) it. */
export interface CustomStep {
  readonly op: 'custom';
  /** How the step is named in messages, in the CLI and in the stored definition, which keeps no code. */
  readonly name: string;
  readonly fn: (value: any) => unknown;
}

/** One step of a migration, as the builders of `steps` make it. */
export type MigrationStep = RenameFieldStep | AddFieldStep | RemoveFieldStep | ConvertStep | SplitStep | MergeStep | CustomStep;

/** Every kind of step, by its `op`. */
export const STEP_OPS = ['renameField', 'addField', 'removeField', 'convert', 'split', 'merge', 'custom'] as const;
export type StepOp = (typeof STEP_OPS)[number];

/** A custom step read back from its stored form: its name survives, its code does not. */
export interface UnboundCustomStep {
  readonly op: 'custom';
  readonly name: string;
  readonly fn: undefined;
}

/** The stored form of a step: the step itself as JSON, except that a custom step keeps only its name. */
export type StepJson = Exclude<MigrationStep, CustomStep> | { readonly op: 'custom'; readonly name: string };
