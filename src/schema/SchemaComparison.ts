import type { ChangeKind, SchemaChange } from './schemaChange.js';
import { compareBounds, compareScalarBranches, undecided, uninterpretedDifferences, type ChangeDraft } from './compareScalars.js';
import { followRefs, markersOf, requiredConstants, shapeOf, type Branch, type Kind, type Shape } from './jsonSchemaShape.js';
import { OPAQUE_KEYWORD } from './jsonSchemaKeywords.js';
import { stableJson, type JsonSchema, type SchemaDocument } from './SchemaDocument.js';
import { objectFields, pairRenames, type Extras, type ObjectFields } from './objectFields.js';
import { elementPath, fieldPath, indexPath } from './schemaPath.js';
import { valueFits } from './valueFits.js';

const MAX_NESTING = 8;

/** Markers whose node changes a value as it parses it: its input schema says nothing of what is stored. */
const OUTPUT_CHANGING_MARKERS = /^(transform|catch|success)\b/;

/**
 * Walks two JSON Schemas side by side, from the old (`from`) to the new (`to`), and lists each
 * difference with whether it keeps old values valid (backward) and new values valid under the old
 * schema (forward).
 *
 * A stored value is taken to be what the old schema's parse returned: a z.object drops the fields it
 * does not name, and a field with a default is always there. A flag is true only where that is proven.
 */
export class SchemaComparison {
  readonly #from: SchemaDocument;
  readonly #to: SchemaDocument;
  readonly #changes: SchemaChange[] = [];
  /** The pairs of schemas being compared, outer to inner: meeting one again means a cycle. */
  readonly #open = new Map<JsonSchema, Set<JsonSchema>>();

  /** How many comparisons this one runs inside, each asking whether one field fits another. */
  readonly #nesting: number;

  constructor(from: SchemaDocument, to: SchemaDocument, nesting = 0) {
    this.#from = from;
    this.#to = to;
    this.#nesting = nesting;
  }

  get changes(): readonly SchemaChange[] {
    return this.#changes;
  }

  compare(a: JsonSchema, b: JsonSchema, path: string): void {
    if (this.#from.sameAs(a, this.#to, b)) return;
    const followedA = followRefs(a, this.#from);
    const followedB = followRefs(b, this.#to);
    if (followedA === undefined || followedB === undefined) {
      return this.#undecided(path, refOf(a), refOf(b), 'a `$ref` that leaves the document, dangles or loops');
    }
    if (followedA.siblings.length > 0 || followedB.siblings.length > 0) {
      return this.#undecided(path, a, b, 'a `$ref` beside other keywords');
    }
    const [targetA, targetB] = [followedA.target, followedB.target];
    if (this.#open.get(targetA)?.has(targetB)) {
      return this.#undecided(path, refOf(a), refOf(b), 'a recursive schema changed, and this comparison does not follow cycles');
    }
    this.#compareDefaults(a, b, path);
    const pairs = this.#open.get(targetA) ?? new Set<JsonSchema>();
    this.#open.set(targetA, pairs.add(targetB));
    try {
      this.#compareTargets(targetA, targetB, path);
    } finally {
      pairs.delete(targetB);
    }
  }

  #compareTargets(a: JsonSchema, b: JsonSchema, path: string): void {
    if (!this.#markersAgree(markersOf(a), markersOf(b), path)) return;
    this.#compareShapes(shapeOf(a, this.#from), shapeOf(b, this.#to), path);
  }

  /**
   * Whether what JSON Schema cannot show is the same on both sides, so that the rest decides; records
   * an undecided change when it is not, or when it changes values as they are parsed.
   */
  #markersAgree(a: readonly string[], b: readonly string[], path: string): boolean {
    if ([...a, ...b].some((marker) => OUTPUT_CHANGING_MARKERS.test(marker))) {
      this.#undecided(path, a, b, 'a transform, catch or success: the JSON Schema shows what it accepts, not what it stores');
      return false;
    }
    if (stableJson([...a].sort()) !== stableJson([...b].sort())) {
      this.#undecided(path, a, b, 'a refinement or type that JSON Schema cannot show changed');
      return false;
    }
    return true;
  }

  #compareShapes(a: Shape, b: Shape, path: string): void {
    if (a.form === 'opaque' || b.form === 'opaque') {
      const reason = a.form === 'opaque' ? a.reason : (b as { reason: string }).reason;
      return this.#undecided(path, describeShape(a), describeShape(b), `the schema has ${reason}`);
    }
    if (a.form === b.form && a.form !== 'branches') return;
    if (a.form !== 'branches' || b.form !== 'branches') {
      const backward = b.form === 'any' || a.form === 'never';
      const forward = a.form === 'any' || b.form === 'never';
      return this.#record(path, { change: 'type-changed', from: describeShape(a), to: describeShape(b), backward, forward });
    }
    this.#compareBranchLists(a.branches, b.branches, path);
  }

  #compareBranchLists(a: Branch[], b: Branch[], path: string): void {
    const restA = a.filter((branch) => branch.kind !== 'null');
    const restB = b.filter((branch) => branch.kind !== 'null');
    const nullA = restA.length < a.length;
    const nullB = restB.length < b.length;
    if (restA.length > 0 && restB.length > 0 && nullA !== nullB) {
      const change: ChangeKind = nullB ? 'nullable-added' : 'nullable-removed';
      this.#record(path, { change, from: typeNames(a), to: typeNames(b), backward: nullB, forward: nullA });
      this.#compareKinds(restA, restB, path);
    } else {
      this.#compareKinds(a, b, path);
    }
  }

  #compareKinds(a: Branch[], b: Branch[], path: string): void {
    const byKindA = groupByKind(a);
    const byKindB = groupByKind(b);
    const removed = [...byKindA.keys()].filter((kind) => !byKindB.has(kind));
    const added = [...byKindB.keys()].filter((kind) => !byKindA.has(kind));
    const integerA = byKindA.get('number')?.every((branch) => branch.integer);
    const integerB = byKindB.get('number')?.every((branch) => branch.integer);
    const numberKindChanged = integerA !== undefined && integerB !== undefined && integerA !== integerB;
    if (removed.length > 0 || added.length > 0 || numberKindChanged) {
      this.#record(path, {
        change: 'type-changed', from: typeNames(a), to: typeNames(b),
        backward: removed.length === 0 && !(numberKindChanged && integerB),
        forward: added.length === 0 && !(numberKindChanged && integerA),
      });
    }
    for (const [kind, branchesA] of byKindA) {
      const branchesB = byKindB.get(kind);
      if (branchesB !== undefined) this.#compareSameKind(kind, branchesA, branchesB, path, numberKindChanged);
    }
  }

  #compareSameKind(kind: Kind, a: Branch[], b: Branch[], path: string, numberKindChanged: boolean): void {
    let [restA, restB] = [this.#distinct(mergeValueLists(a), this.#from), this.#distinct(mergeValueLists(b), this.#to)];
    // A branch the other side has too needs no comparing; what remains is paired, if it can be.
    restA = restA.filter((branch) => {
      const twin = restB.findIndex((other) => this.#from.sameAs(asSchema(branch), this.#to, asSchema(other)));
      if (twin >= 0) restB = restB.filter((_, index) => index !== twin);
      return twin < 0;
    });
    if (restA.length === 1 && restB.length === 1) return this.#compareBranches(restA[0], restB[0], path, numberKindChanged);
    const pairs = restA.length > 0 && restB.length > 0 ? pairByDiscriminator(restA, restB) : { pairs: [], onlyA: restA, onlyB: restB };
    if (pairs === undefined) {
      return this.#undecided(path, restA.map(asSchema), restB.map(asSchema), `several ${kind} alternatives that cannot be paired`);
    }
    for (const branch of pairs.onlyA) this.#record(path, { change: 'variant-removed', from: asSchema(branch), backward: false, forward: true });
    for (const branch of pairs.onlyB) this.#record(path, { change: 'variant-added', to: asSchema(branch), backward: true, forward: false });
    for (const [branchA, branchB] of pairs.pairs) this.#compareBranches(branchA, branchB, path, numberKindChanged);
  }

  /** The branches without repeats: `A | A` accepts what `A` does. */
  #distinct(branches: Branch[], document: SchemaDocument): Branch[] {
    return branches.filter((branch, index) => !branches.slice(0, index).some((earlier) => document.sameAs(asSchema(earlier), document, asSchema(branch))));
  }

  #compareBranches(a: Branch, b: Branch, path: string, numberKindChanged: boolean): void {
    if (!this.#markersAgree(a.markers, b.markers, path)) return;
    if (a.kind === 'object') return this.#compareObjects(a, b, path);
    if (a.kind === 'array') return this.#compareArrays(a, b, path);
    for (const change of compareScalarBranches(a, b, numberKindChanged)) this.#record(path, change);
  }

  #compareArrays(a: Branch, b: Branch, path: string): void {
    for (const change of [...uninterpretedDifferences(a.keywords, b.keywords), ...compareBounds(a, b, 'minItems', 'maxItems')]) this.#record(path, change);
    const prefixA = (a.keywords.prefixItems ?? []) as JsonSchema[];
    const prefixB = (b.keywords.prefixItems ?? []) as JsonSchema[];
    const itemsA = (a.keywords.items ?? true) as JsonSchema;
    const itemsB = (b.keywords.items ?? true) as JsonSchema;
    for (let index = 0; index < Math.max(prefixA.length, prefixB.length); index += 1) {
      this.compare(prefixA[index] ?? itemsA, prefixB[index] ?? itemsB, indexPath(path, index));
    }
    this.compare(itemsA, itemsB, elementPath(path));
  }

  #compareObjects(a: Branch, b: Branch, path: string): void {
    for (const change of uninterpretedDifferences(a.keywords, b.keywords)) this.#record(path, change);
    const fieldsA = objectFields(a, this.#from);
    const fieldsB = objectFields(b, this.#to);
    const removed = new Map(fieldsA.names.filter((name) => !fieldsB.has(name)).map((name) => [name, this.#removedField(fieldsA, fieldsB, name, path)]));
    const added = new Map(fieldsB.names.filter((name) => !fieldsA.has(name)).map((name) => [name, this.#addedField(fieldsA, fieldsB, name, path)]));
    const renames = pairRenames(removed, added, (oldName, newName) => this.#from.sameAs(fieldsA.schema(oldName), this.#to, fieldsB.schema(newName)));
    for (const name of fieldsA.names) {
      const gone = removed.get(name);
      const newName = renames.get(name);
      if (gone !== undefined && newName !== undefined) {
        const arrived = added.get(newName)!;
        this.#changes.push({ path: gone.path, change: 'renamed?', from: name, to: newName, backward: gone.backward && arrived.backward, forward: gone.forward && arrived.forward });
      } else if (gone !== undefined) {
        this.#changes.push(gone);
      } else {
        this.#compareField(fieldsA, fieldsB, name, fieldPath(path, name));
      }
    }
    const renamedTo = new Set(renames.values());
    this.#changes.push(...[...added].filter(([name]) => !renamedTo.has(name)).map(([, change]) => change));
    this.#compareExtras(fieldsA.extras, fieldsB.extras, path);
    if (a.keywords.propertyNames !== undefined || b.keywords.propertyNames !== undefined) {
      const anyName: JsonSchema = { type: 'string' };
      this.compare((a.keywords.propertyNames ?? anyName) as JsonSchema, (b.keywords.propertyNames ?? anyName) as JsonSchema, fieldPath(path, '<key>'));
    }
  }

  /** A field both objects name: whether it must be given, then its own schema. */
  #compareField(a: ObjectFields, b: ObjectFields, name: string, path: string): void {
    if (a.required(name) !== b.required(name)) {
      const backward = !b.required(name) || a.stored(name);
      const forward = !a.required(name) || b.stored(name);
      // A required field that gained a default (or the reverse) is reported as the default's change.
      if (!(backward && forward && a.defaulted(name) !== b.defaulted(name))) {
        this.#record(path, { change: b.required(name) ? 'became-required' : 'became-optional', backward, forward });
      }
    }
    this.compare(a.schema(name), b.schema(name), path);
  }

  /**
   * A field only the old object names. An old value may carry it, which the new schema meets as a
   * field it does not name; a new value may carry it that way, and the old schema checks it as its own.
   */
  #removedField(a: ObjectFields, b: ObjectFields, name: string, parent: string): SchemaChange {
    const backward = this.#acceptsAsExtra(b.extras, a.schema(name), 'backward');
    const forward = a.required(name) ? false : this.#extraFits(b.extras, a.schema(name), 'forward');
    return this.#fieldChange(fieldPath(parent, name), a.required(name) ? 'required-removed' : 'optional-removed', { from: a.schema(name) }, backward, forward);
  }

  /** A field only the new object names; the mirror of #removedField. */
  #addedField(a: ObjectFields, b: ObjectFields, name: string, parent: string): SchemaChange {
    const backward = b.required(name) ? false : this.#extraFits(a.extras, b.schema(name), 'backward');
    const forward = this.#acceptsAsExtra(a.extras, b.schema(name), 'forward');
    return this.#fieldChange(fieldPath(parent, name), b.required(name) ? 'required-added' : 'optional-added', { to: b.schema(name) }, backward, forward);
  }

  /** A removed or added field's change, undecided when whether it fits the other side's extras is. */
  #fieldChange(path: string, change: ChangeKind, values: { from?: unknown; to?: unknown }, backward: boolean | undefined, forward: boolean | undefined): SchemaChange {
    if (backward === undefined || forward === undefined) {
      return { path, ...undecided(values.from, values.to, 'whether the field fits the fields the other schema leaves open cannot be told') };
    }
    return { path, change, ...values, backward, forward };
  }

  #compareExtras(a: Extras, b: Extras, path: string): void {
    if (a.model === 'schema' && b.model === 'schema') return this.compare(a.schema, b.schema, fieldPath(path, '*'));
    if (a.model === b.model) return;
    const backward = this.#extrasFit(a, b, 'backward');
    const forward = this.#extrasFit(b, a, 'forward');
    const shown = { from: extrasKeyword(a), to: extrasKeyword(b) };
    if (backward === undefined || forward === undefined) return this.#undecided(path, shown.from, shown.to, 'whether the fields left open still fit cannot be told');
    this.#record(path, { change: 'constraint-changed', ...shown, backward, forward });
  }

  /** Whether every extra field a value stored under `writer` may carry passes `reader`'s rule for extras. */
  #extrasFit(writer: Extras, reader: Extras, direction: Direction): boolean | undefined {
    if (writer.model === 'strip' || writer.model === 'closed' || reader.model === 'strip' || reader.model === 'open') return true;
    if (reader.model === 'closed') return false;
    if (writer.model === 'open') return this.#fits(true, reader.schema, direction);
    return this.#fits(writer.schema, reader.schema, direction);
  }

  /** Whether a reader with these extras rules accepts a field it does not name whose values fit `field`. */
  #acceptsAsExtra(reader: Extras, field: JsonSchema, direction: Direction): boolean | undefined {
    if (reader.model === 'strip' || reader.model === 'open') return true;
    if (reader.model === 'closed') return false;
    return this.#fits(field, reader.schema, direction);
  }

  /** Whether every extra field a writer with these extras rules may store passes the reader's `field`. */
  #extraFits(writer: Extras, field: JsonSchema, direction: Direction): boolean | undefined {
    if (writer.model === 'strip' || writer.model === 'closed') return true;
    return this.#fits(writer.model === 'open' ? true : writer.schema, field, direction);
  }

  /**
   * Whether every value of `inner` passes `outer`, by a comparison of its own. Backward, `inner` is in
   * the old document; forward, in the new one. Undefined when that comparison cannot decide.
   */
  #fits(inner: JsonSchema, outer: JsonSchema, direction: Direction): boolean | undefined {
    // A record of records of itself would ask forever.
    if (this.#nesting >= MAX_NESTING) return undefined;
    const [from, to] = direction === 'backward' ? [this.#from, this.#to] : [this.#to, this.#from];
    const comparison = new SchemaComparison(from, to, this.#nesting + 1);
    comparison.compare(inner, outer, '');
    if (comparison.changes.some((change) => change.change === 'undecided')) return undefined;
    return comparison.changes.every((change) => change.backward);
  }

  /**
   * zod fills a default in where the field is missing, and stores it as given, without parsing it:
   * each version's default is a value the other version must accept. Beyond that a default changes no
   * verdict; whether a field must be given is the object's to decide.
   */
  #compareDefaults(a: JsonSchema, b: JsonSchema, path: string): void {
    const defaultA = defaultOf(a, this.#from);
    const defaultB = defaultOf(b, this.#to);
    const backward = defaultA === undefined ? true : valueFits(defaultA.value, b, this.#to);
    const forward = defaultB === undefined ? true : valueFits(defaultB.value, a, this.#from);
    const [from, to] = [defaultA?.value, defaultB?.value];
    if (backward === undefined || forward === undefined) {
      return this.#undecided(path, from, to, 'a default, which zod stores without parsing it, cannot be checked against the other schema');
    }
    if (stableJson(from) === stableJson(to)) {
      if (!backward || !forward) this.#record(path, { change: 'default-invalid', from, to, backward, forward });
      return;
    }
    if (defaultA === undefined) this.#record(path, { change: 'default-added', to, backward, forward });
    else if (defaultB === undefined) this.#record(path, { change: 'default-removed', from, backward, forward });
    else this.#record(path, { change: 'default-changed', from, to, backward, forward });
  }

  #record(path: string, change: ChangeDraft): void {
    this.#changes.push({ path, ...change });
  }

  #undecided(path: string, from: unknown, to: unknown, reason: string): void {
    this.#record(path, undecided(from, to, reason));
  }
}

type Direction = 'backward' | 'forward';

function refOf(schema: JsonSchema): unknown {
  return typeof schema === 'object' && typeof schema.$ref === 'string' ? { $ref: schema.$ref } : schema;
}

/** A schema's default, on it or on the schema its `$ref`s lead to. */
function defaultOf(node: JsonSchema, document: SchemaDocument): { value: unknown } | undefined {
  if (typeof node === 'object' && 'default' in node) return { value: node.default };
  const target = followRefs(node, document)?.target;
  return typeof target === 'object' && 'default' in target ? { value: target.default } : undefined;
}

function groupByKind(branches: Branch[]): Map<Kind, Branch[]> {
  const groups = new Map<Kind, Branch[]>();
  for (const branch of branches) groups.set(branch.kind, [...(groups.get(branch.kind) ?? []), branch]);
  return groups;
}

/** Finite scalar branches of one kind (`'a' | 'b'` written as two consts) read as one enum. */
function mergeValueLists(branches: Branch[]): Branch[] {
  const finite = branches.filter((branch) => branch.values !== undefined && Object.keys(branch.keywords).length === 0 && branch.markers.length === 0);
  if (finite.length < 2 || finite.length !== branches.length) return branches;
  return [{ ...finite[0], integer: finite.every((branch) => branch.integer), values: finite.flatMap((branch) => [...branch.values!]) }];
}

/** Pairs object alternatives by a field whose values tell them apart, as in a discriminated union. */
function pairByDiscriminator(a: Branch[], b: Branch[]): { pairs: Array<[Branch, Branch]>; onlyA: Branch[]; onlyB: Branch[] } | undefined {
  if (a[0].kind !== 'object') return undefined;
  const constantsA = a.map(requiredConstants);
  const constantsB = b.map(requiredConstants);
  const name = [...constantsA[0].keys()].find(
    (field) => [...constantsA, ...constantsB].every((constants) => constants.has(field)) && pairwiseDisjoint(constantsA, field) && pairwiseDisjoint(constantsB, field),
  );
  if (name === undefined) return undefined;
  const pairs: Array<[Branch, Branch]> = [];
  const onlyA: Branch[] = [];
  const matchedB = new Set<number>();
  for (const [index, branch] of a.entries()) {
    const mine = constantsA[index].get(name)!;
    const matches = constantsB.flatMap((constants, other) => (constants.get(name)!.some((value) => mine.includes(value)) ? [other] : []));
    if (matches.length > 1) return undefined;
    if (matches.length === 0) onlyA.push(branch);
    else {
      matchedB.add(matches[0]);
      pairs.push([branch, b[matches[0]]]);
    }
  }
  return { pairs, onlyA, onlyB: b.filter((_, index) => !matchedB.has(index)) };
}

function pairwiseDisjoint(constants: Array<Map<string, string[]>>, field: string): boolean {
  const seen = new Set<string>();
  for (const values of constants.map((map) => map.get(field)!)) {
    if (values.some((value) => seen.has(value))) return false;
    for (const value of values) seen.add(value);
  }
  return true;
}

/** A branch as a schema again, to compare or show it. */
function asSchema(branch: Branch): JsonSchema {
  return {
    type: branch.integer ? 'integer' : branch.kind,
    ...(branch.values === undefined ? {} : { enum: branch.values }),
    ...branch.keywords,
    ...(branch.markers.length === 0 ? {} : { [OPAQUE_KEYWORD]: branch.markers }),
  };
}

function typeNames(branches: Branch[]): string | string[] {
  const names = [...new Set(branches.map((branch) => (branch.integer ? 'integer' : branch.kind)))].sort();
  return names.length === 1 ? names[0] : names;
}

function describeShape(shape: Shape): unknown {
  if (shape.form === 'branches') return typeNames(shape.branches);
  return shape.form === 'opaque' ? 'unknown' : shape.form;
}

function extrasKeyword(extras: Extras): unknown {
  const value = { strip: undefined, open: {}, closed: false, schema: extras.model === 'schema' ? extras.schema : undefined }[extras.model];
  return { additionalProperties: value };
}
