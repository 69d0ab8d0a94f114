import { z } from 'zod';
import type { Scope } from '../state/Scope.js';
import { compareVersions } from './version.js';
import { stepFromJson, type MigrationStep } from './steps.js';
import { bindingId, type SchemaBinding, type StoredMigration, type StoredRegistry, type StoredSchema } from './registryRecords.js';

/** One schema version: its stored form, and the zod schema to validate with. */
export interface VersionEntry {
  readonly stored: StoredSchema;
  /** Supplied by the application's code in this process. */
  readonly code: z.ZodType | undefined;
}

/** A migration between two versions: its steps, runnable unless a custom step's code is missing. */
export interface MigrationEntry {
  readonly stored: StoredMigration;
  readonly steps: readonly MigrationStep[] | undefined;
  /** Names the custom steps this process has no code for. */
  readonly missingCode: readonly string[];
}

/**
 * Every schema version, binding and migration this runtime knows: what the application's code
 * registered, merged with what the store recorded (so that the CLI, with no code, sees them too). It
 * lives as long as the runtime, across the stores a restore switches between.
 */
export class SchemaRegistry {
  readonly #versions = new Map<string, Map<string, VersionEntry>>();
  /** Most specific first: the first that matches a key is the one that applies. */
  #bindings: SchemaBinding[] = [];
  readonly #migrations = new Map<string, MigrationEntry>();
  /** Validators rebuilt from stored JSON Schemas; null where that failed. */
  readonly #rebuilt = new Map<string, z.ZodType | null>();
  readonly #current = new Map<string, string>();

  get hasBindings(): boolean {
    return this.#bindings.length > 0;
  }

  /** Takes in what a store recorded, keeping what the code supplied for the same versions. */
  load(stored: StoredRegistry): void {
    for (const schema of stored.schemas) {
      const known = this.version(schema.name, schema.version);
      if (known === undefined) this.addVersion(schema, undefined);
    }
    for (const binding of stored.bindings) this.addBinding(binding);
    for (const migration of stored.migrations) {
      if (!this.#migrations.has(migrationKey(migration))) this.addMigration(migration, undefined);
    }
  }

  /** Everything the code supplied, to write into a store that lacks it (a new store, or a restored one). */
  supplied(): StoredRegistry {
    const schemas = [...this.#versions.values()].flatMap((versions) => [...versions.values()]).filter((entry) => entry.code !== undefined).map((entry) => entry.stored);
    const migrations = [...this.#migrations.values()].filter((entry) => entry.missingCode.length === 0).map((entry) => entry.stored);
    return { schemas, bindings: [...this.#bindings], migrations };
  }

  addVersion(stored: StoredSchema, code: z.ZodType | undefined): void {
    let versions = this.#versions.get(stored.name);
    if (versions === undefined) this.#versions.set(stored.name, (versions = new Map()));
    versions.set(stored.version, { stored, code });
    this.#rebuilt.delete(`${stored.name}@${stored.version}`);
    this.#current.delete(stored.name);
  }

  version(name: string, version: string): VersionEntry | undefined {
    return this.#versions.get(name)?.get(version);
  }

  /** The versions of a schema, oldest first. */
  versions(name: string): VersionEntry[] {
    return [...(this.#versions.get(name)?.values() ?? [])].sort((a, b) => compareVersions(a.stored.version, b.stored.version));
  }

  names(): string[] {
    return [...this.#versions.keys()].sort();
  }

  /** The newest registered version: the one writes are validated against, and migrations go to. */
  current(name: string): string | undefined {
    // Asked on every bound write, so kept rather than found by sorting each time.
    let current = this.#current.get(name);
    if (current === undefined) {
      current = this.versions(name).at(-1)?.stored.version;
      if (current !== undefined) this.#current.set(name, current);
    }
    return current;
  }

  /**
   * The zod schema that validates `name@version`: the code's, or one rebuilt from the stored JSON
   * Schema, or undefined when neither exists.
   */
  validator(name: string, version: string): z.ZodType | undefined {
    const entry = this.version(name, version);
    if (entry === undefined) return undefined;
    if (entry.code !== undefined) return entry.code;
    const ref = `${name}@${version}`;
    let rebuilt = this.#rebuilt.get(ref);
    if (rebuilt === undefined) {
      try {
        rebuilt = z.fromJSONSchema(entry.stored.jsonSchema as Parameters<typeof z.fromJSONSchema>[0]);
      } catch {
        rebuilt = null;
      }
      this.#rebuilt.set(ref, rebuilt);
    }
    return rebuilt ?? undefined;
  }

  addBinding(binding: SchemaBinding): void {
    const id = bindingId(binding);
    this.#bindings = [...this.#bindings.filter((known) => bindingId(known) !== id), binding].sort(bySpecificity);
  }

  bindings(name?: string): SchemaBinding[] {
    return this.#bindings.filter((binding) => name === undefined || binding.schema === name);
  }

  /** The binding that applies to a key: the most specific that matches. */
  bindingFor(scope: Scope, key: string): SchemaBinding | undefined {
    for (const binding of this.#bindings) {
      if (binding.scopeKind !== undefined && binding.scopeKind !== scope.kind) continue;
      if (binding.keyPrefix !== undefined && !key.startsWith(binding.keyPrefix)) continue;
      return binding;
    }
    return undefined;
  }

  /** Another schema's binding to exactly the same place, which would make the choice between them arbitrary. */
  conflictingBinding(binding: Pick<SchemaBinding, 'schema' | 'scopeKind' | 'keyPrefix'>): SchemaBinding | undefined {
    return this.#bindings.find((known) => known.schema !== binding.schema && known.scopeKind === binding.scopeKind && known.keyPrefix === binding.keyPrefix);
  }

  addMigration(stored: StoredMigration, code: readonly MigrationStep[] | undefined): void {
    let steps = code;
    const missingCode: string[] = [];
    if (steps === undefined) {
      const rebuilt = stored.steps.map((json) => stepFromJson(json));
      for (const step of rebuilt) if (step.op === 'custom' && step.fn === undefined) missingCode.push(step.name);
      steps = missingCode.length === 0 ? (rebuilt as MigrationStep[]) : undefined;
    }
    this.#migrations.set(migrationKey(stored), { stored, steps, missingCode });
  }

  migration(schema: string, from: string, to: string): MigrationEntry | undefined {
    return this.#migrations.get(migrationKey({ schema, from, to }));
  }

  migrations(schema?: string): MigrationEntry[] {
    return [...this.#migrations.values()]
      .filter((entry) => schema === undefined || entry.stored.schema === schema)
      .sort((a, b) => a.stored.schema.localeCompare(b.stored.schema) || compareVersions(a.stored.from, b.stored.from) || compareVersions(a.stored.to, b.stored.to));
  }
}

function migrationKey(migration: Pick<StoredMigration, 'schema' | 'from' | 'to'>): string {
  return `${migration.schema}@${migration.from}>${migration.to}`;
}

/** A longer key prefix is more specific than a scope kind; a binding with both beats either. */
function bySpecificity(a: SchemaBinding, b: SchemaBinding): number {
  const prefix = (b.keyPrefix?.length ?? -1) - (a.keyPrefix?.length ?? -1);
  if (prefix !== 0) return prefix;
  return (b.scopeKind === undefined ? 0 : 1) - (a.scopeKind === undefined ? 0 : 1);
}
