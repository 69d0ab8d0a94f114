import { customAlphabet } from 'nanoid';
import { z } from 'zod';
import { checkOptions, checkOptionsArgument } from '../checkOptions.js';
import { LlmStateError } from '../errors.js';
import type { EventSpec } from '../events/eventLog.js';
import type { BatchOp, StorageBackend } from '../storage/index.js';
import type { BackupDescriptor } from '../backup/BackupCatalog.js';
import { boundRecords } from './boundRecords.js';
import { findChain } from './migrationChain.js';
import { migrationRecordOp, type StoredMigration } from './registryRecords.js';
import { RecordMigrator, UNVERSIONED } from './RecordMigrator.js';
import { validate } from './SchemaGuard.js';
import { runMigration, type MigrationProgress, type MigrationResult, type MigrationRunHost } from './runMigration.js';
import type { SchemaRegistry } from './SchemaRegistry.js';
import { copySteps, describeStep, stepFromJson, stepToJson, type MigrationStep } from './steps.js';
import { checkSchemaName, checkVersion } from './version.js';
import { Scope } from '../state/Scope.js';
import { serializeValue } from '../state/values.js';

/** Where a value given to `migrateValue` is said to be, in messages: it has no scope. */
const VALUE_SCOPE = Scope.custom('value');

export type { MigrationProgress, MigrationResult, MigrationSample } from './runMigration.js';

export interface DefineMigrationOptions {
  schema: string;
  from: string;
  to: string;
  steps: MigrationStep[];
}

/** A defined migration, as `list` describes it. */
export interface MigrationInfo {
  schema: string;
  from: string;
  to: string;
  /** Each step, described: `renameField(name → fullName)`. */
  steps: string[];
  definedAt: number;
  /** False when a custom step's code is missing in this process (the CLI without `--schemas`). */
  runnable: boolean;
  missingCode: string[];
}

export interface MigrationPlan {
  schema: string;
  /** The version records are migrated to: the newest registered. */
  to: string;
  /** Records the schema's bindings apply to. */
  records: number;
  /** Records at the target version already. */
  current: number;
  /** Records by version (`unversioned`: matching no registered version). */
  byVersion: Record<string, number>;
  /** For each version that records are at, the migrations that take them to the target. */
  chains: Array<{ from: string; records: number; steps: Array<{ from: string; to: string; steps: string[] }> }>;
}

export interface CheckFailure {
  scope: string;
  key: string;
  version: string;
  reason: string;
}

export interface CheckCounts {
  checked: number;
  /** Valid under the current version. */
  current: number;
  /** At an older version, and the migration to the current one succeeds on them. */
  migratable: number;
  failed: number;
}

export interface CheckReport {
  ok: boolean;
  counts: CheckCounts;
  /** The first failures, up to `limit`. */
  failures: CheckFailure[];
  schemas: Array<{ name: string; current: string; counts: CheckCounts }>;
}

export interface CheckOptions {
  /** Only this schema. */
  schema?: string;
  /** Failures to report at most. @default 100 */
  limit?: number;
}

export interface RunMigrationOptions {
  schema: string;
  /** @default the newest registered version */
  to?: string;
  /** Migrate and validate in memory, report counts and samples, and write nothing. */
  dryRun?: boolean;
  onProgress?: (progress: MigrationProgress) => void;
  /** Before/after samples to report. @default 5 */
  samples?: number;
  /** Take a backup first. @default true where the runtime has a backup directory */
  backup?: boolean;
}

export interface MigrateValueOptions {
  /** The version the value is at. */
  from: string;
  /** @default the newest registered version */
  to?: string;
}

/** What the namespace needs from the runtime. */
export interface MigrationsHost extends MigrationRunHost {
  assertOpen(): void;
  registry: SchemaRegistry;
  storage(): StorageBackend;
  persist(ops: BatchOp[], events: EventSpec[]): Promise<void>;
  /** Runs `work` while no backup or restore runs; `backup` takes one inside, or resolves undefined without a backup directory. */
  exclusive<T>(work: (backup: (reason: string, onProgress?: (done: number) => void) => Promise<BackupDescriptor | undefined>) => Promise<T>): Promise<T>;
  now(): number;
  maxValueBytes: number;
}

const DEFINE_FIELDS = {
  schema: [z.string(), 'a schema name'],
  from: [z.string(), 'a version such as `1.0.0`'],
  to: [z.string(), 'a version such as `2.0.0`'],
  steps: [z.array(z.unknown()), 'an array of steps (see `steps`)'],
} as const;

const RUN_FIELDS = {
  schema: [z.string(), 'a schema name'],
  to: [z.string(), 'a version such as `2.0.0`'],
  dryRun: [z.boolean(), 'a boolean'],
  onProgress: [z.custom<(progress: MigrationProgress) => void>((value) => typeof value === 'function'), 'a function'],
  samples: [z.number().int().min(0).max(1000), 'an integer from 0 to 1000'],
  backup: [z.boolean(), 'a boolean'],
} as const;

const PLAN_FIELDS = { to: [z.string(), 'a version such as `2.0.0`'] } as const;

const CHECK_FIELDS = {
  schema: [z.string(), 'a schema name'],
  limit: [z.number().int().min(1).max(100_000), 'an integer from 1 to 100000'],
} as const;

const MIGRATION_ID = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 10);

/**
 * `rt.migrations`: how records go from one schema version to another. `check` and `plan` read only;
 * `run` takes a backup, migrates every record of the schema in a journal beside the store, and commits
 * them all or none of them. See docs/schemas.md.
 */
export class Migrations {
  readonly #host: MigrationsHost;

  /** @internal */
  constructor(host: MigrationsHost) {
    this.#host = host;
  }

  /**
   * Defines how records go from `from` to `to`. The versions need not be registered yet. Defining the same
   * pair again replaces its steps.
   *
   * @example await rt.migrations.define({ schema: 'profile', from: '1.0.0', to: '2.0.0', steps: [steps.renameField('name', 'fullName')] })
   */
  async define(options: DefineMigrationOptions): Promise<MigrationInfo> {
    this.#host.assertOpen();
    checkOptionsArgument(options, 'options', 'required');
    const given = checkOptions(options, DEFINE_FIELDS, { required: ['schema', 'from', 'to', 'steps'] });
    checkSchemaName(given.schema);
    checkVersion(given.from, 'from');
    checkVersion(given.to, 'to');
    if (given.from === given.to) throw new TypeError(`Expected \`from\` and \`to\` to differ, got ${given.from} for both`);
    const steps = copySteps(given.steps);
    const stored: StoredMigration = { schema: given.schema, from: given.from, to: given.to, steps: steps.map(stepToJson), definedAt: this.#host.now() };
    const known = this.#host.registry.migration(given.schema, given.from, given.to);
    if (known === undefined || JSON.stringify(known.stored.steps) !== JSON.stringify(stored.steps)) {
      await this.#host.persist([migrationRecordOp(stored)], [
        { kind: 'migration.defined', data: { schema: stored.schema, from: stored.from, to: stored.to, steps: steps.map(describeStep) } },
      ]);
      this.#host.registry.addMigration(stored, steps);
    } else {
      this.#host.registry.addMigration(known.stored, steps);
    }
    return infoOf(this.#host.registry.migration(given.schema, given.from, given.to)!);
  }

  /** Every defined migration (of one schema, when named), by schema and version. */
  list(schema?: string): MigrationInfo[] {
    this.#host.assertOpen();
    if (schema !== undefined) checkSchemaName(schema);
    return this.#host.registry.migrations(schema).map(infoOf);
  }

  /**
   * Which versions the schema's records are at, and the chain of migrations that takes each to the newest
   * version. Reads only.
   *
   * @throws {MIGRATION_NO_PATH} naming the missing step, when records are at a version no chain leaves.
   */
  async plan(name: string, options: { to?: string } = {}): Promise<MigrationPlan> {
    this.#host.assertOpen();
    checkSchemaName(name);
    checkOptionsArgument(options);
    const to = this.#target(name, checkOptions(options, PLAN_FIELDS).to);
    const registry = this.#host.registry;
    const migrator = new RecordMigrator(registry, name, to, this.#host.maxValueBytes);
    const byVersion: Record<string, number> = {};
    let records = 0;
    await this.#eachRecord(name, (record) => {
      records++;
      let parsed: unknown;
      const version = migrator.versionOf(record, () => (parsed ??= JSON.parse(record.json)));
      byVersion[version] = (byVersion[version] ?? 0) + 1;
    });
    const chains: MigrationPlan['chains'] = [];
    const edges = registry.migrations(name).map((entry) => entry.stored);
    const registered = registry.versions(name).map((entry) => entry.stored.version);
    for (const [version, count] of Object.entries(byVersion)) {
      if (version === to) continue;
      if (version === UNVERSIONED) {
        throw new LlmStateError('MIGRATION_NO_PATH', `${count} record${count === 1 ? '' : 's'} of ${name} match no registered version, so no migration can reach ${to}: run rt.migrations.check() to list them`, {
          details: { schema: name, from: UNVERSIONED, to, records: count },
        });
      }
      try {
        const chain = findChain(name, edges, version, to, registered);
        chains.push({ from: version, records: count, steps: chain.map((edge) => ({ ...edge, steps: registry.migration(name, edge.from, edge.to)!.stored.steps.map(describeStoredStep) })) });
      } catch (error) {
        if (error instanceof LlmStateError) (error.details as Record<string, unknown>).records = count;
        throw error;
      }
    }
    return { schema: name, to, records, current: byVersion[to] ?? 0, byVersion, chains };
  }

  /**
   * The pre-deploy gate: checks, writing nothing, that every record a schema is bound to is valid under
   * its current version, or migrates to it (the chain's steps are run in memory and the result
   * validated). Reports counts and the first failures.
   */
  async check(options: CheckOptions = {}): Promise<CheckReport> {
    this.#host.assertOpen();
    checkOptionsArgument(options);
    const given = checkOptions(options, CHECK_FIELDS);
    if (given.schema !== undefined) checkSchemaName(given.schema);
    const limit = given.limit ?? 100;
    const registry = this.#host.registry;
    const names = given.schema !== undefined ? [given.schema] : [...new Set(registry.bindings().map((binding) => binding.schema))].sort();
    const total: CheckCounts = { checked: 0, current: 0, migratable: 0, failed: 0 };
    const failures: CheckFailure[] = [];
    const schemas: CheckReport['schemas'] = [];
    for (const name of names) {
      const current = this.#target(name, undefined);
      const counts: CheckCounts = { checked: 0, current: 0, migratable: 0, failed: 0 };
      const migrator = new RecordMigrator(registry, name, current, this.#host.maxValueBytes);
      const validator = registry.validator(name, current)!;
      await this.#eachRecord(name, (record) => {
        counts.checked++;
        const outcome = migrator.migrate(record);
        let reason: string | undefined;
        if (outcome.kind === 'failed') reason = outcome.error.message;
        else if (outcome.kind === 'current' && record.schemaRef !== undefined) {
          // Tagged with the current version: it was valid when written, but the zod schema may have gained a refinement since.
          const issues = validate(validator, JSON.parse(record.json));
          if (issues !== undefined) reason = `it does not match ${name}@${current}: ${issues[0].path === '' ? '' : `${issues[0].path}: `}${issues[0].message}`;
        }
        if (reason === undefined) {
          if (outcome.kind === 'current') counts.current++;
          else counts.migratable++;
          return;
        }
        counts.failed++;
        if (failures.length < limit) failures.push({ scope: record.scope.toString(), key: record.key, version: outcome.version, reason });
      });
      for (const field of Object.keys(total) as Array<keyof CheckCounts>) total[field] += counts[field];
      schemas.push({ name, current, counts });
    }
    return { ok: total.failed === 0, counts: total, failures, schemas };
  }

  /**
   * Migrates every record of a schema to its newest version (or `to`), all or nothing. Takes a backup
   * first, migrates into a journal while the runtime keeps serving (writes to the schema's keys wait),
   * validates every migrated record, then commits and applies them. A failure before the commit leaves
   * the store exactly as it was; a process killed after it finishes the migration when reopened.
   *
   * @throws {MIGRATION_FAILED} naming the first record that failed. @throws {MIGRATION_NO_PATH}
   * @example await rt.migrations.run({ schema: 'profile', dryRun: true })
   */
  async run(options: RunMigrationOptions): Promise<MigrationResult> {
    this.#host.assertOpen();
    checkOptionsArgument(options, 'options', 'required');
    const given = checkOptions(options, RUN_FIELDS, { required: ['schema'] });
    checkSchemaName(given.schema);
    const to = this.#target(given.schema, given.to);
    const migrator = new RecordMigrator(this.#host.registry, given.schema, to, this.#host.maxValueBytes);
    const request = {
      id: `m${MIGRATION_ID()}`,
      migrator,
      dryRun: given.dryRun === true,
      samples: given.samples ?? 5,
      ...(given.onProgress === undefined ? {} : { onProgress: given.onProgress }),
    };
    if (request.dryRun) return runMigration(this.#host, request, undefined);
    return this.#host.exclusive((backup) => runMigration(this.#host, request, given.backup === false ? undefined : backup));
  }

  /**
   * Takes one value from `from` to the newest version (or `to`) in memory, through the same chain and
   * validation as `run`, and returns it. For imports, and for testing migrations (see `assertMigrates`
   * in `llmstate/testing`).
   *
   * @throws {MIGRATION_FAILED} when a step fails or the result does not match the target. @throws {MIGRATION_NO_PATH}
   */
  migrateValue(schema: string, value: unknown, options: MigrateValueOptions): unknown {
    this.#host.assertOpen();
    checkSchemaName(schema);
    checkOptionsArgument(options, 'options', 'required');
    checkVersion(options.from, 'from');
    const to = this.#target(schema, options.to);
    const migrator = new RecordMigrator(this.#host.registry, schema, to, this.#host.maxValueBytes);
    const json = serializeValue(value, this.#host.maxValueBytes);
    const outcome = migrator.migrate({ stateKey: Buffer.alloc(0), scope: VALUE_SCOPE, key: '(value)', seq: 0, schemaRef: `${schema}@${options.from}`, json });
    if (outcome.kind === 'failed') throw outcome.error;
    return outcome.kind === 'current' ? JSON.parse(json) : outcome.after;
  }

  #target(name: string, to: string | undefined): string {
    if (to !== undefined) checkVersion(to, 'to');
    const registry = this.#host.registry;
    const current = registry.current(name);
    if (current === undefined) throw new TypeError(`No version of schema \`${name}\` is registered`);
    if (to !== undefined && registry.version(name, to) === undefined) throw new TypeError(`No schema ${name}@${to} is registered`);
    return to ?? current;
  }

  async #eachRecord(name: string, visit: (record: Parameters<RecordMigrator['migrate']>[0]) => void): Promise<void> {
    const storage = this.#host.storage();
    const snapshot = storage.snapshot();
    try {
      for await (const record of boundRecords(storage, snapshot, this.#host.registry, name)) visit(record);
    } finally {
      await snapshot.close();
    }
  }
}

function infoOf(entry: { stored: StoredMigration; missingCode: readonly string[] }): MigrationInfo {
  const { schema, from, to, steps, definedAt } = entry.stored;
  return { schema, from, to, steps: steps.map(describeStoredStep), definedAt, runnable: entry.missingCode.length === 0, missingCode: [...entry.missingCode] };
}

function describeStoredStep(json: unknown): string {
  return describeStep(stepFromJson(json));
}
