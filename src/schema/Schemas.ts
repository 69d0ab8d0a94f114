import { z } from 'zod';
import { checkOptions, checkOptionsArgument, describeOption } from '../checkOptions.js';
import { LlmStateError } from '../errors.js';
import type { EventSpec } from '../events/eventLog.js';
import { normalizeKey } from '../state/keyRules.js';
import { SCOPE_KINDS } from '../state/Scope.js';
import type { BatchOp } from '../storage/index.js';
import { compareJsonSchemas, compareSchemas, type Compatibility } from './compatibility.js';
import { findChain } from './migrationChain.js';
import { bindingRecordOp, schemaRecordOp, type SchemaBinding, type StoredSchema } from './registryRecords.js';
import { schemaHash, storedJsonSchema } from './schemaHash.js';
import { schemaDocs } from './schemaDocs.js';
import type { SchemaRegistry } from './SchemaRegistry.js';
import { checkSchemaName, checkVersion, compareVersions, parseSchemaRef } from './version.js';

export type { SchemaBinding } from './registryRecords.js';

/** What `register` requires of the new version against the one before it. */
export type CompatibilityRequirement = 'backward' | 'forward' | 'full' | 'none';

export interface RegisterSchemaOptions {
  name: string;
  /** Strict semver, `MAJOR.MINOR.PATCH`. */
  version: string;
  schema: z.ZodType;
  description?: string;
  /**
   * Refuse this version unless it is compatible so with the newest version before it: `backward` (it
   * reads every value the previous one accepted), `forward` (the previous one reads its values) or
   * `full` (both). @default 'none'
   */
  compatibility?: CompatibilityRequirement;
  /** Refuse a breaking version that no defined migration reaches from the current one. @default false */
  strict?: boolean;
}

export interface BindSchemaOptions {
  /** Only scopes of this kind (`agent`, `workflow` …); every kind when absent. */
  scopeKind?: string;
  /** Only keys that start with this; every key when absent. */
  keyPrefix?: string;
}

/** A registered schema version, as `get` and `list` describe it. */
export interface SchemaInfo {
  name: string;
  version: string;
  /** SHA-256 of its JSON Schema, with keys sorted. */
  hash: string;
  registeredAt: number;
  /** The newest version of its name: writes are validated against it. */
  current: boolean;
  /** Whether this process has the zod schema from the application's code (otherwise, only the stored JSON Schema). */
  fromCode: boolean;
  jsonSchema: Record<string, unknown>;
  description?: string;
}

export interface CompareOptions {
  /** Values to decide with where the structure cannot (refinements, patterns, unknown keywords). */
  samples?: readonly unknown[];
}

/** What the namespace needs from the runtime. */
export interface SchemasHost {
  assertOpen(): void;
  registry: SchemaRegistry;
  /** Commits records into the `meta` namespace, with their events, through the commit path. */
  persist(ops: BatchOp[], events: EventSpec[]): Promise<void>;
  now(): number;
}

const REGISTER_FIELDS = {
  name: [z.string(), 'a schema name'],
  version: [z.string(), 'a version such as `1.0.0`'],
  schema: [z.custom<z.ZodType>((value) => value instanceof z.ZodType), 'a zod schema'],
  description: [z.string().max(1000), 'a string of at most 1000 characters'],
  compatibility: [z.enum(['backward', 'forward', 'full', 'none']), "'backward', 'forward', 'full' or 'none'"],
  strict: [z.boolean(), 'a boolean'],
} as const;

const BIND_FIELDS = {
  scopeKind: [z.enum(SCOPE_KINDS), `one of ${SCOPE_KINDS.map((kind) => `'${kind}'`).join(', ')}`],
  keyPrefix: [z.string().min(1), 'a non-empty string'],
} as const;

/**
 * `rt.schemas`: versioned zod schemas, bound to the keys they describe. Writes to a bound key are
 * validated against the newest version of its schema, and the record names that version. The store keeps
 * each version's JSON Schema and hash, so the CLI and `check()` work without the code. See docs/schemas.md.
 */
export class Schemas {
  readonly #host: SchemasHost;

  /** @internal */
  constructor(host: SchemasHost) {
    this.#host = host;
  }

  /**
   * Registers a version. Registering the same schema again (at every start, say) changes nothing.
   *
   * @throws {SCHEMA_INCOMPATIBLE} when the version is already registered with a different schema, when it
   * fails its `compatibility` requirement, or, with `strict`, when it breaks and no migration reaches it.
   * @example await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: z.object({ name: z.string() }) })
   */
  async register(options: RegisterSchemaOptions): Promise<SchemaInfo> {
    this.#host.assertOpen();
    checkOptionsArgument(options, 'options', 'required');
    const given = checkOptions(options, REGISTER_FIELDS, { required: ['name', 'version', 'schema'] });
    checkSchemaName(given.name);
    checkVersion(given.version);
    const registry = this.#host.registry;
    const jsonSchema = storedJsonSchema(given.schema);
    const hash = schemaHash(jsonSchema);
    const known = registry.version(given.name, given.version);
    if (known !== undefined) {
      if (known.stored.hash !== hash) {
        throw new LlmStateError(
          'SCHEMA_INCOMPATIBLE',
          `Schema ${given.name}@${given.version} is already registered with a different schema (hash ${known.stored.hash.slice(0, 12)}…, now ${hash.slice(0, 12)}…): register the change as a new version`,
          { details: { name: given.name, version: given.version, registeredHash: known.stored.hash, hash } },
        );
      }
      registry.addVersion(known.stored, given.schema);
      return this.#info(given.name, given.version)!;
    }
    this.#checkRequirements(given.name, given.version, given.schema, given.compatibility ?? 'none', given.strict === true);
    const stored: StoredSchema = {
      name: given.name,
      version: given.version,
      hash,
      jsonSchema,
      registeredAt: this.#host.now(),
      ...(given.description === undefined ? {} : { description: given.description }),
    };
    await this.#host.persist([schemaRecordOp(stored)], [{ kind: 'schema.registered', data: { name: stored.name, version: stored.version, hash } }]);
    registry.addVersion(stored, given.schema);
    return this.#info(given.name, given.version)!;
  }

  /**
   * Binds a schema to where it applies. Takes effect at once, for the next write; the promise resolves
   * once the binding is stored. Where bindings overlap, the most specific applies: the longest key
   * prefix, then one that names a scope kind.
   *
   * @throws {SCHEMA_INCOMPATIBLE} when another schema is bound to exactly the same place.
   * @example rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' })
   */
  bind(name: string, options: BindSchemaOptions = {}): Promise<SchemaBinding> {
    try {
      this.#host.assertOpen();
      checkSchemaName(name);
      checkOptionsArgument(options);
      const given = checkOptions(options, BIND_FIELDS);
      const registry = this.#host.registry;
      if (registry.current(name) === undefined) {
        throw new TypeError(`No version of schema \`${name}\` is registered: register one before binding it`);
      }
      const binding: SchemaBinding = {
        schema: name,
        ...(given.scopeKind === undefined ? {} : { scopeKind: given.scopeKind }),
        ...(given.keyPrefix === undefined ? {} : { keyPrefix: normalizeKey(given.keyPrefix) }),
        boundAt: this.#host.now(),
      };
      const same = registry.bindings(name).find((known) => known.scopeKind === binding.scopeKind && known.keyPrefix === binding.keyPrefix);
      if (same !== undefined) return Promise.resolve(same);
      const conflict = registry.conflictingBinding(binding);
      if (conflict !== undefined) {
        throw new LlmStateError('SCHEMA_INCOMPATIBLE', `${describeBinding(binding)} is already bound to schema ${conflict.schema}: bind one of them more narrowly`, {
          details: { schema: name, boundTo: conflict.schema, scopeKind: binding.scopeKind, keyPrefix: binding.keyPrefix },
        });
      }
      registry.addBinding(binding);
      const { boundAt: _, ...data } = binding;
      const stored = this.#host.persist([bindingRecordOp(binding)], [{ kind: 'schema.bound', data }]).then(() => binding);
      // Applied already; a caller that does not await still hears of a failure to store it.
      stored.catch(() => {});
      return stored;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A version (the current one when `version` is absent), or undefined. */
  get(name: string, version?: string): SchemaInfo | undefined {
    this.#host.assertOpen();
    checkSchemaName(name);
    if (version !== undefined) checkVersion(version);
    const chosen = version ?? this.#host.registry.current(name);
    return chosen === undefined ? undefined : this.#info(name, chosen);
  }

  /** Every registered version, by name, oldest version first. */
  list(): SchemaInfo[] {
    this.#host.assertOpen();
    const registry = this.#host.registry;
    return registry.names().flatMap((name) => registry.versions(name).map((entry) => this.#info(name, entry.stored.version)!));
  }

  /** Every binding, most specific first. */
  bindings(): SchemaBinding[] {
    this.#host.assertOpen();
    return this.#host.registry.bindings();
  }

  /**
   * How `b` differs from `a`, both written `name@version`: `identical`, `backward-compatible` (b reads
   * every value a accepted), `forward-compatible` (a reads every value b accepts) or `breaking`, with each
   * change and its JSON path. See docs/schemas.md for the rule.
   *
   * @example rt.schemas.compare('profile@1.0.0', 'profile@2.0.0')
   */
  compare(a: string, b: string, options: CompareOptions = {}): Compatibility {
    this.#host.assertOpen();
    checkOptionsArgument(options);
    const samples = options.samples;
    if (samples !== undefined && !Array.isArray(samples)) throw new TypeError(`Expected \`samples\` to be an array, got ${describeOption(samples)}`);
    const [from, to] = [this.#resolve(a), this.#resolve(b)];
    if (from.zod !== undefined && to.zod !== undefined) return compareSchemas(from.zod, to.zod, samples === undefined ? {} : { samples });
    return compareJsonSchemas(from.stored.jsonSchema, to.stored.jsonSchema);
  }

  /** Markdown documentation of every schema, version and binding, generated from the JSON Schemas. */
  docs(): string {
    this.#host.assertOpen();
    const registry = this.#host.registry;
    return schemaDocs(
      registry.names().map((name) => ({ name, versions: registry.versions(name).map((entry) => entry.stored), bindings: registry.bindings(name) })),
    );
  }

  #resolve(ref: string) {
    const { name, version } = parseSchemaRef(ref);
    const entry = this.#host.registry.version(name, version);
    if (entry === undefined) throw new TypeError(`No schema ${name}@${version} is registered`);
    return { stored: entry.stored, zod: this.#host.registry.validator(name, version) };
  }

  #checkRequirements(name: string, version: string, schema: z.ZodType, requirement: CompatibilityRequirement, strict: boolean): void {
    const registry = this.#host.registry;
    const earlier = registry.versions(name).filter((entry) => compareVersions(entry.stored.version, version) < 0);
    const previous = earlier[earlier.length - 1];
    if (previous === undefined) return;
    const previousRef = `${name}@${previous.stored.version}`;
    const previousZod = registry.validator(name, previous.stored.version);
    const compatibility = previousZod === undefined ? compareJsonSchemas(previous.stored.jsonSchema, storedJsonSchema(schema)) : compareSchemas(previousZod, schema);
    const backward = compatibility.changes.every((change) => change.backward);
    const forward = compatibility.changes.every((change) => change.forward);
    const met = requirement === 'none' || (requirement === 'backward' && backward) || (requirement === 'forward' && forward) || (requirement === 'full' && backward && forward);
    if (!met) {
      throw new LlmStateError(
        'SCHEMA_INCOMPATIBLE',
        `${name}@${version} is ${compatibility.level} with ${previousRef}, and its registration requires ${requirement} compatibility: ${describeChanges(compatibility)}`,
        { details: { name, version, previous: previous.stored.version, requirement, ...compatibility } },
      );
    }
    if (strict && compatibility.level === 'breaking') {
      const current = registry.current(name)!;
      try {
        findChain(name, registry.migrations(name).map((entry) => entry.stored), current, version, [...registry.versions(name).map((entry) => entry.stored.version), version]);
      } catch (error) {
        throw new LlmStateError(
          'SCHEMA_INCOMPATIBLE',
          `${name}@${version} breaks ${previousRef} (${describeChanges(compatibility)}) and no migration reaches it from ${name}@${current}: define one first, or register without \`strict\``,
          { cause: error, details: { name, version, current, ...compatibility } },
        );
      }
    }
  }

  #info(name: string, version: string): SchemaInfo | undefined {
    const registry = this.#host.registry;
    const entry = registry.version(name, version);
    if (entry === undefined) return undefined;
    const { stored } = entry;
    return {
      name,
      version,
      hash: stored.hash,
      registeredAt: stored.registeredAt,
      current: registry.current(name) === version,
      fromCode: entry.code !== undefined,
      jsonSchema: stored.jsonSchema,
      ...(stored.description === undefined ? {} : { description: stored.description }),
    };
  }
}

export function describeBinding(binding: Pick<SchemaBinding, 'scopeKind' | 'keyPrefix'>): string {
  const scopes = binding.scopeKind === undefined ? 'every scope' : `${binding.scopeKind} scopes`;
  return binding.keyPrefix === undefined ? `Every key of ${scopes}` : `Keys starting with "${binding.keyPrefix}" in ${scopes}`;
}

function describeChanges(compatibility: Compatibility): string {
  const shown = compatibility.changes.slice(0, 4).map((change) => `${change.change} at ${change.path === '' ? '(root)' : change.path}`);
  return shown.join(', ') + (compatibility.changes.length > 4 ? ` and ${compatibility.changes.length - 4} more` : '');
}
