/**
 * How a new version of a schema relates to the old one (DESIGN §9), in this order:
 * - `identical`: no difference in what they accept or fill in.
 * - `backward-compatible`: every value valid under the old version is valid under the new one. The
 *   changes may be forward-compatible too; their `forward` flags say.
 * - `forward-compatible`: every value valid under the new version is valid under the old one, not
 *   the reverse.
 * - `breaking`: a required field was added, removed or renamed, or neither direction is proven.
 */
export type CompatibilityLevel = 'identical' | 'backward-compatible' | 'forward-compatible' | 'breaking';

/** Every kind of change a comparison reports; docs/schemas.md (Compatibility) gives each one's verdict. */
export const CHANGE_KINDS = [
  'optional-added',
  'optional-removed',
  'required-added',
  'required-removed',
  'renamed?',
  'became-required',
  'became-optional',
  'type-changed',
  'enum-narrowed',
  'enum-widened',
  'nullable-added',
  'nullable-removed',
  'default-added',
  'default-removed',
  'default-changed',
  'default-invalid',
  'constraint-changed',
  'variant-added',
  'variant-removed',
  'undecided',
  'sample-failed',
] as const;

export type ChangeKind = (typeof CHANGE_KINDS)[number];

export interface SchemaChange {
  /**
   * Where: `''` for the root, `address.city`, `tags[]` for any item of an array, `pair[0]` for one of
   * a tuple, `meta.*` for the values of a record, `labels["a.b"]` for a name that is not an identifier.
   */
  path: string;
  change: ChangeKind;
  /** The old side: a type, the enum values, a default, the constraint, the field's schema, the old name. */
  from?: unknown;
  /** The new side, likewise. */
  to?: unknown;
  /** Whether old data still passes the new schema, for this change. True only where proven. */
  backward: boolean;
  /** Whether new data still passes the old schema, for this change. True only where proven. */
  forward: boolean;
  /** Why the comparison could not decide, how samples decided, or what a sample showed. */
  reason?: string;
}

export interface Compatibility {
  level: CompatibilityLevel;
  changes: SchemaChange[];
}
