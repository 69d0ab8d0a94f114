import type { CorrelationContext } from '../events/correlation.js';
import type { EventSpec } from '../events/eventLog.js';
import type { Scope } from '../state/Scope.js';
import type { BatchOp, LeaseHold, StorageBackend } from '../storage/index.js';
import type { RecordWrite } from '../../actors/ScopeActor.js';
import { Migrations, type MigrationsHost } from './Migrations.js';
import { bindingId, bindingRecordOp, migrationRecordOp, readStoredRegistry, schemaRecordOp } from './registryRecords.js';
import { resumeMigrationAtOpen } from './runMigration.js';
import { MIGRATION_LEASE } from './migrationLease.js';
import { readMarker } from './migrationJournal.js';
import { LlmStateError } from '../errors.js';
import { SchemaGuard } from './SchemaGuard.js';
import { SchemaRegistry } from './SchemaRegistry.js';
import { Schemas } from './Schemas.js';

/** The part of a process's leases a migration takes and gives back (actors/ScopeLeases.ts). */
export interface ProcessLeases {
  take(resource: string): Promise<{ hold: LeaseHold } | { owner: string }>;
  release(hold: LeaseHold): Promise<void>;
}

/** What schemas and migrations need from the runtime, whichever store it runs on. */
export interface SchemaRuntimeHost {
  assertOpen(): void;
  storage(): StorageBackend;
  /** Logs events through the commit path; with a `fence`, refused (LEASE_LOST) once one of its leases is lost. */
  record(events: readonly EventSpec[], extraOps?: readonly BatchOp[], fence?: readonly LeaseHold[]): Promise<void>;
  /** Resolves once every live actor whose scope `matches` has committed what was queued before. */
  drain(matches: (scope: Scope) => boolean): Promise<void>;
  ownerOf(scope: Scope): { commitRecord(record: RecordWrite, context: CorrelationContext | undefined): Promise<void> };
  /** Makes this process the owner of `scope` until the returned function is called (see ActorSystem.claim). */
  claim(scope: Scope): Promise<() => void>;
  /** Whether `scope`'s actor is live in this process. */
  isLive(scope: Scope): boolean;
  /** Passivates `scope`'s actor now if it is idle and unclaimed (see ActorSystem.letGo). */
  letGo(scope: Scope): void;
  lastSeq(): number;
  /** The leases of this process, on a store that several processes share; undefined otherwise. */
  leases(): ProcessLeases | undefined;
  /** Resolves, or rejects with an injected fault, before a batch written outside the commit path. */
  beforeUnscopedBatch(): Promise<void> | undefined;
  exclusive: MigrationsHost['exclusive'];
  now(): number;
  reportError(error: unknown): void;
  maxValueBytes: number;
}

/**
 * The schema registry, the guard the actors consult, and the `schemas` and `migrations` namespaces. They
 * outlive the runtime's core: a full restore switches stores, and the schemas the code registered apply
 * to the new one as they did to the old.
 */
export class SchemaRuntime {
  readonly registry = new SchemaRegistry();
  readonly guard = new SchemaGuard(this.registry);
  readonly schemas: Schemas;
  readonly migrations: Migrations;
  readonly #host: SchemaRuntimeHost;

  constructor(host: SchemaRuntimeHost) {
    this.#host = host;
    const persist = (ops: BatchOp[], events: EventSpec[]) => host.record(events, ops);
    this.schemas = new Schemas({ assertOpen: () => host.assertOpen(), registry: this.registry, persist, now: () => host.now() });
    this.migrations = new Migrations(this.#migrationsHost(persist));
  }

  /**
   * Takes in a store a core has just started on: the schemas, bindings and migrations it recorded, then
   * what the code registered that it lacks (a store restored from an older backup), then a migration it
   * left unfinished.
   */
  async attach(): Promise<void> {
    const storage = this.#host.storage();
    const stored = await readStoredRegistry(storage);
    this.registry.load(stored);
    const supplied = this.registry.supplied();
    const has = {
      schemas: new Set(stored.schemas.map((schema) => `${schema.name}@${schema.version}`)),
      bindings: new Set(stored.bindings.map(bindingId)),
      migrations: new Set(stored.migrations.map((migration) => `${migration.schema}@${migration.from}>${migration.to}`)),
    };
    const missing: BatchOp[] = [
      ...supplied.schemas.filter((schema) => !has.schemas.has(`${schema.name}@${schema.version}`)).map(schemaRecordOp),
      ...supplied.bindings.filter((binding) => !has.bindings.has(bindingId(binding))).map(bindingRecordOp),
      ...supplied.migrations.filter((migration) => !has.migrations.has(`${migration.schema}@${migration.from}>${migration.to}`)).map(migrationRecordOp),
    ];
    if (missing.length > 0) await storage.batch(missing);
    await resumeMigrationAtOpen(this.#runHost());
  }

  /**
   * Refuses a backup while a migration is committed but not fully applied: the backup would hold some
   * records migrated and some not, and none of the journal that finishes them.
   *
   * @throws {MIGRATION_FAILED} naming the migration and how to finish it.
   */
  async checkBackupable(): Promise<void> {
    const marker = await readMarker(this.#host.storage());
    if (marker?.state !== 'committed') return;
    throw new LlmStateError(
      'MIGRATION_FAILED',
      `Migration ${marker.id} of ${marker.schema} to ${marker.to} is committed but its records are not all applied, so a backup now would hold it half done: ` +
        'finish it first, by running rt.migrations.run again or by closing and opening the runtime',
      { details: { id: marker.id, schema: marker.schema, to: marker.to } },
    );
  }

  #runHost() {
    const host = this.#host;
    return {
      registry: this.registry,
      guard: this.guard,
      storage: () => host.storage(),
      drain: (schema: string) => host.drain((scope) => this.guard.mayHold(schema, scope)),
      record: (events: readonly EventSpec[], extraOps?: BatchOp[], fence?: readonly LeaseHold[]) => host.record(events, extraOps, fence),
      journalTarget: {
        ownerOf: (scope: Scope) => host.ownerOf(scope),
        claim: (scope: Scope) => host.claim(scope),
        isLive: (scope: Scope) => host.isLive(scope),
        letGo: (scope: Scope) => host.letGo(scope),
      },
      writeBatch: async (ops: BatchOp[], sync = false, fence?: readonly LeaseHold[]) => {
        await host.beforeUnscopedBatch();
        await host.storage().batch(ops, { sync, ...(fence === undefined ? {} : { fence }) });
      },
      migrationLease: () => {
        const leases = host.leases();
        if (leases === undefined) return undefined;
        return { take: () => leases.take(MIGRATION_LEASE), give: (hold: LeaseHold) => leases.release(hold) };
      },
      lastSeq: () => host.lastSeq(),
      now: () => host.now(),
      reportError: (error: unknown) => host.reportError(error),
    };
  }

  #migrationsHost(persist: MigrationsHost['persist']): MigrationsHost {
    const host = this.#host;
    return {
      ...this.#runHost(),
      assertOpen: () => host.assertOpen(),
      persist,
      exclusive: (work) => host.exclusive(work),
      maxValueBytes: host.maxValueBytes,
    };
  }
}
