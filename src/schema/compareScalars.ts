import type { SchemaChange } from './schemaChange.js';
import { kindOfValue, type Branch } from './jsonSchemaShape.js';
import { stableJson } from './SchemaDocument.js';

/** A change before the comparison gives it its path. */
export type ChangeDraft = Omit<SchemaChange, 'path'>;

/** Keywords the comparison does not interpret; a difference in one is undecided. */
const COMPARED_AS_EQUAL = ['contentEncoding', 'contentMediaType', 'uniqueItems', 'contains', 'minContains', 'maxContains', 'minProperties', 'maxProperties', 'dependentRequired'];

/** The kinds with few enough values to list, so that `z.boolean()` → `z.literal(true)` reads as an enum narrowed. */
const EVERY_VALUE: Partial<Record<Branch['kind'], readonly unknown[]>> = { null: [null], boolean: [false, true] };

/**
 * The changes between two branches of the same scalar kind (null, boolean, string, number): their finite
 * sets of values, or their constraints.
 *
 * @param kindChanged An integer became a number or the reverse; that change is already reported, with
 *   the safe-integer bounds zod gives every `z.int()`.
 */
export function compareScalarBranches(a: Branch, b: Branch, kindChanged: boolean): ChangeDraft[] {
  const valuesA = a.values ?? EVERY_VALUE[a.kind];
  const valuesB = b.values ?? EVERY_VALUE[b.kind];
  if (valuesA !== undefined && valuesB !== undefined) return compareValueSets(valuesA, valuesB);
  if (valuesA !== undefined) return [enumToConstraints(valuesA, b)];
  if (valuesB !== undefined) return [constraintsToEnum(a, valuesB)];
  const changes = uninterpretedDifferences(a.keywords, b.keywords);
  if (a.kind === 'string') {
    changes.push(...compareBounds(a, b, 'minLength', 'maxLength'), ...compareStringForm(a, b));
  } else if (a.kind === 'number') {
    const [boundsA, boundsB] = kindChanged ? [withoutSafeIntegerBounds(a), withoutSafeIntegerBounds(b)] : [a, b];
    changes.push(...compareNumberBounds(boundsA, boundsB), ...compareMultipleOf(a, b));
  }
  return changes;
}

function compareValueSets(from: readonly unknown[], to: readonly unknown[]): ChangeDraft[] {
  const inFrom = new Set(from.map(stableJson));
  const inTo = new Set(to.map(stableJson));
  const changes: ChangeDraft[] = [];
  if (from.some((value) => !inTo.has(stableJson(value)))) changes.push({ change: 'enum-narrowed', from, to, backward: false, forward: true });
  if (to.some((value) => !inFrom.has(stableJson(value)))) changes.push({ change: 'enum-widened', from, to, backward: true, forward: false });
  return changes;
}

function enumToConstraints(from: readonly unknown[], to: Branch): ChangeDraft {
  const verdicts = from.map((value) => acceptsValue(to, value));
  if (verdicts.includes(undefined)) return undecided(from, kindName(to), 'whether the old values pass the new constraints cannot be told from the schema');
  const failing = from.filter((_, index) => verdicts[index] === false);
  return {
    change: 'enum-widened', from, to: kindName(to), backward: failing.length === 0, forward: false,
    ...(failing.length > 0 ? { reason: `${stableJson(failing)} no longer pass` } : {}),
  };
}

function constraintsToEnum(from: Branch, to: readonly unknown[]): ChangeDraft {
  const verdicts = to.map((value) => acceptsValue(from, value));
  if (verdicts.includes(undefined)) return undecided(kindName(from), to, 'whether the new values pass the old constraints cannot be told from the schema');
  const failing = to.filter((_, index) => verdicts[index] === false);
  return {
    change: 'enum-narrowed', from: kindName(from), to, backward: false, forward: failing.length === 0,
    ...(failing.length > 0 ? { reason: `${stableJson(failing)} did not pass before` } : {}),
  };
}

/**
 * Whether a branch of a scalar kind accepts a value: undefined when its constraints cannot be run
 * here (a `format` without a `pattern`, a pattern JavaScript cannot compile).
 */
export function acceptsValue(branch: Branch, value: unknown): boolean | undefined {
  if (kindOfValue(value) !== branch.kind) return false;
  if (branch.integer && !Number.isInteger(value)) return false;
  if (branch.values !== undefined) return branch.values.some((member) => stableJson(member) === stableJson(value));
  const k = branch.keywords;
  if (COMPARED_AS_EQUAL.some((keyword) => keyword in k)) return undefined;
  if (typeof value === 'string') {
    if (typeof k.minLength === 'number' && value.length < k.minLength) return false;
    if (typeof k.maxLength === 'number' && value.length > k.maxLength) return false;
    if (typeof k.pattern === 'string') {
      const pattern = compile(k.pattern);
      return pattern === undefined ? undefined : pattern.test(value);
    }
    // zod writes a pattern beside each format it checks; a format alone is a name we cannot run.
    return 'format' in k ? undefined : true;
  }
  if (typeof value === 'number') {
    const lower = lowerBound(branch);
    const upper = upperBound(branch);
    if (lower !== undefined && (value < lower.value || (lower.exclusive && value === lower.value))) return false;
    if (upper !== undefined && (value > upper.value || (upper.exclusive && value === upper.value))) return false;
    return typeof k.multipleOf === 'number' ? isMultiple(value, k.multipleOf) : true;
  }
  return true;
}

function compile(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern);
  } catch {
    return undefined;
  }
}

/** One undecided change for the uninterpreted keywords that differ between two keyword sets. */
export function uninterpretedDifferences(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): ChangeDraft[] {
  const differing = COMPARED_AS_EQUAL.filter((keyword) => stableJson(a[keyword]) !== stableJson(b[keyword]));
  if (differing.length === 0) return [];
  const pick = (keywords: Readonly<Record<string, unknown>>) => Object.fromEntries(differing.filter((k) => k in keywords).map((k) => [k, keywords[k]]));
  return [undecided(pick(a), pick(b), `${differing.map((k) => `\`${k}\``).join(', ')} changed, which this comparison does not interpret`)];
}

interface Bound {
  value: number;
  /** The bound itself is excluded. */
  exclusive: boolean;
}

/**
 * Changes in an inclusive integer lower and upper bound, such as `minLength`/`maxLength` or
 * `minItems`/`maxItems`: a tighter bound narrows, a looser one widens.
 */
export function compareBounds(a: Branch, b: Branch, minimum: string, maximum: string): ChangeDraft[] {
  const bound = (branch: Branch, keyword: string): Bound | undefined =>
    typeof branch.keywords[keyword] === 'number' ? { value: branch.keywords[keyword], exclusive: false } : undefined;
  return [
    ...boundChange(bound(a, minimum), bound(b, minimum), 'lower', pick(a, [minimum]), pick(b, [minimum])),
    ...boundChange(bound(a, maximum), bound(b, maximum), 'upper', pick(a, [maximum]), pick(b, [maximum])),
  ];
}

function compareNumberBounds(a: Branch, b: Branch): ChangeDraft[] {
  return [
    ...boundChange(lowerBound(a), lowerBound(b), 'lower', pick(a, ['minimum', 'exclusiveMinimum']), pick(b, ['minimum', 'exclusiveMinimum'])),
    ...boundChange(upperBound(a), upperBound(b), 'upper', pick(a, ['maximum', 'exclusiveMaximum']), pick(b, ['maximum', 'exclusiveMaximum'])),
  ];
}

function boundChange(from: Bound | undefined, to: Bound | undefined, side: 'lower' | 'upper', shownFrom: object, shownTo: object): ChangeDraft[] {
  const narrowed = to !== undefined && (from === undefined || tighter(to, from, side));
  const widened = from !== undefined && (to === undefined || tighter(from, to, side));
  if (narrowed) return [{ change: 'constraint-changed', from: shownFrom, to: shownTo, backward: false, forward: true }];
  if (widened) return [{ change: 'constraint-changed', from: shownFrom, to: shownTo, backward: true, forward: false }];
  return [];
}

function tighter(x: Bound, y: Bound, side: 'lower' | 'upper'): boolean {
  if (x.value === y.value) return x.exclusive && !y.exclusive;
  return side === 'lower' ? x.value > y.value : x.value < y.value;
}

/** The lowest value allowed; for integers, as the inclusive bound it amounts to. */
function lowerBound(branch: Branch): Bound | undefined {
  const { minimum, exclusiveMinimum } = branch.keywords;
  let bound: Bound | undefined;
  if (typeof minimum === 'number') bound = { value: minimum, exclusive: false };
  if (typeof exclusiveMinimum === 'number' && (bound === undefined || exclusiveMinimum >= bound.value)) bound = { value: exclusiveMinimum, exclusive: true };
  if (bound === undefined || !branch.integer) return bound;
  return { value: bound.exclusive ? Math.floor(bound.value) + 1 : Math.ceil(bound.value), exclusive: false };
}

function upperBound(branch: Branch): Bound | undefined {
  const { maximum, exclusiveMaximum } = branch.keywords;
  let bound: Bound | undefined;
  if (typeof maximum === 'number') bound = { value: maximum, exclusive: false };
  if (typeof exclusiveMaximum === 'number' && (bound === undefined || exclusiveMaximum <= bound.value)) bound = { value: exclusiveMaximum, exclusive: true };
  if (bound === undefined || !branch.integer) return bound;
  return { value: bound.exclusive ? Math.ceil(bound.value) - 1 : Math.floor(bound.value), exclusive: false };
}

function withoutSafeIntegerBounds(branch: Branch): Branch {
  const keywords = { ...branch.keywords };
  if (keywords.minimum === Number.MIN_SAFE_INTEGER) delete keywords.minimum;
  if (keywords.maximum === Number.MAX_SAFE_INTEGER) delete keywords.maximum;
  return { ...branch, keywords };
}

function compareMultipleOf(a: Branch, b: Branch): ChangeDraft[] {
  const from = a.keywords.multipleOf;
  const to = b.keywords.multipleOf;
  if (from === to) return [];
  const shown = { from: pick(a, ['multipleOf']), to: pick(b, ['multipleOf']) };
  // Every multiple of `from` is one of `to` when `to` divides `from`.
  const backward = typeof to !== 'number' || (typeof from === 'number' && isMultiple(from, to));
  const forward = typeof from !== 'number' || (typeof to === 'number' && isMultiple(to, from));
  return [{ change: 'constraint-changed', ...shown, backward, forward }];
}

function isMultiple(value: number, divisor: number): boolean {
  const quotient = value / divisor;
  return Math.abs(quotient - Math.round(quotient)) < 1e-9;
}

/**
 * `format` and `pattern` together, since zod writes both for one check (an email is a format and its
 * pattern): adding either narrows, removing both widens, and a different one is undecided, because
 * whether one regular expression accepts all another does is not decided here.
 */
function compareStringForm(a: Branch, b: Branch): ChangeDraft[] {
  const from = pick(a, ['format', 'pattern']);
  const to = pick(b, ['format', 'pattern']);
  if (stableJson(from) === stableJson(to)) return [];
  if (Object.keys(from).length === 0) return [{ change: 'constraint-changed', from, to, backward: false, forward: true }];
  if (Object.keys(to).length === 0) return [{ change: 'constraint-changed', from, to, backward: true, forward: false }];
  return [undecided(from, to, 'whether one pattern accepts every string the other does is not decided here')];
}

function pick(branch: Branch, keywords: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keywords.filter((keyword) => keyword in branch.keywords).map((keyword) => [keyword, branch.keywords[keyword]]));
}

function kindName(branch: Branch): string {
  return branch.integer ? 'integer' : branch.kind;
}

export function undecided(from: unknown, to: unknown, reason: string): ChangeDraft {
  return { change: 'undecided', from, to, backward: false, forward: false, reason };
}
