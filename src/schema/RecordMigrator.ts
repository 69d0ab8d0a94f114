import type { z } from 'zod';
import { LlmStateError } from '../errors.js';
import { checkJsonSize } from '../state/values.js';
import type { BoundRecord } from './boundRecords.js';
import { findChain } from './migrationChain.js';
import type { SchemaRegistry } from './SchemaRegistry.js';
import { validate, type SchemaIssue } from './SchemaGuard.js';
import { applySteps, StepFailure, type MigrationStep } from './steps.js';
import { compareVersions, parseSchemaRef } from './version.js';

/** What becomes of one record. */
export type RecordOutcome =
  | { kind: 'current'; version: string }
  | { kind: 'migrated'; version: string; before: unknown; after: unknown; json: string }
  | { kind: 'failed'; version: string; error: LlmStateError };

/** A version a record cannot be matched to: untagged, and valid under no registered version. */
export const UNVERSIONED = 'unversioned';

/**
 * Takes records of one schema to its target version: finds each record's version (its envelope's, or,
 * for a record written before the binding, the newest version that accepts it), applies the chain of
 * migrations from there, and validates the result against the target. Shared by `check`, `plan`, dry runs
 * and `run`, so that they agree record for record.
 */
export class RecordMigrator {
  readonly schema: string;
  readonly target: string;
  readonly #registry: SchemaRegistry;
  readonly #maxValueBytes: number;
  readonly #targetValidator: z.ZodType;
  readonly #chains = new Map<string, Array<{ from: string; to: string; steps: readonly MigrationStep[] }> | LlmStateError>();

  constructor(registry: SchemaRegistry, schema: string, target: string, maxValueBytes: number) {
    this.schema = schema;
    this.target = target;
    this.#registry = registry;
    this.#maxValueBytes = maxValueBytes;
    const validator = registry.validator(schema, target);
    if (validator === undefined) {
      throw new LlmStateError('MIGRATION_FAILED', `Schema ${schema}@${target} has no zod form in this process: register it from the application's code`, {
        details: { schema, version: target },
      });
    }
    this.#targetValidator = validator;
  }

  /** The version a record is at, or {@link UNVERSIONED}. */
  versionOf(record: BoundRecord, value: () => unknown): string {
    if (record.schemaRef !== undefined) {
      const { name, version } = parseSchemaRef(record.schemaRef);
      if (name === this.schema) return version;
    }
    // Written before the binding (or under another schema's): the newest version that accepts it.
    const versions = this.#registry.versions(this.schema).map((entry) => entry.stored.version).sort((a, b) => compareVersions(b, a));
    for (const version of versions) {
      const validator = this.#registry.validator(this.schema, version);
      if (validator !== undefined && validate(validator, value()) === undefined) return version;
    }
    return UNVERSIONED;
  }

  migrate(record: BoundRecord): RecordOutcome {
    let parsed: unknown;
    const value = () => (parsed ??= JSON.parse(record.json) as unknown);
    const version = this.versionOf(record, value);
    const where = { scope: record.scope.toString(), key: record.key, version };
    if (version === UNVERSIONED) {
      return { kind: 'failed', version, error: failed(`it matches no registered version of ${this.schema}`, where) };
    }
    if (version === this.target) return { kind: 'current', version };
    if (this.#registry.version(this.schema, version) === undefined && record.schemaRef !== undefined) {
      return { kind: 'failed', version, error: failed(`its version ${version} is not registered`, where) };
    }
    const chain = this.#chainFrom(version);
    if (chain instanceof LlmStateError) return { kind: 'failed', version, error: chain };
    let after = value();
    for (const edge of chain) {
      try {
        after = applySteps(after, edge.steps);
      } catch (error) {
        const reason = error instanceof StepFailure ? `step ${error.step} of ${edge.from} → ${edge.to} failed at ${error.path === '' ? 'the value' : error.path}: ${error.reason}` : `the migration ${edge.from} → ${edge.to} threw: ${(error as Error).message}`;
        return { kind: 'failed', version, error: failed(reason, where, error) };
      }
    }
    const issues = validate(this.#targetValidator, after);
    if (issues !== undefined) {
      const shown = issues.slice(0, 3).map((issue) => `${issue.path === '' ? '(the value)' : issue.path}: ${issue.message}`).join('; ');
      return { kind: 'failed', version, error: failed(`the migrated value does not match ${this.schema}@${this.target}: ${shown}`, { ...where, issues }) };
    }
    try {
      // Steps keep a record JSON data (applySteps checks what a custom step returns), so only its size is left to check.
      const json = JSON.stringify(after);
      checkJsonSize(json, this.#maxValueBytes);
      return { kind: 'migrated', version, before: value(), after, json };
    } catch (error) {
      return { kind: 'failed', version, error: failed(`the migrated value cannot be stored: ${(error as Error).message}`, where, error) };
    }
  }

  /** The migrations from `version` to the target, each with its steps, or why there is none. */
  #chainFrom(version: string) {
    let chain = this.#chains.get(version);
    if (chain === undefined) {
      try {
        const registry = this.#registry;
        const edges = registry.migrations(this.schema).map((entry) => entry.stored);
        const registered = registry.versions(this.schema).map((entry) => entry.stored.version);
        chain = findChain(this.schema, edges, version, this.target, registered).map((edge) => {
          const entry = registry.migration(this.schema, edge.from, edge.to)!;
          if (entry.steps === undefined) {
            throw new LlmStateError(
              'MIGRATION_FAILED',
              `The migration ${this.schema} ${edge.from} → ${edge.to} has custom steps (${entry.missingCode.join(', ')}) whose code this process lacks: define it from the application's code`,
              { details: { schema: this.schema, from: edge.from, to: edge.to, missingCode: entry.missingCode } },
            );
          }
          return { from: edge.from, to: edge.to, steps: entry.steps };
        });
      } catch (error) {
        chain = error instanceof LlmStateError ? error : new LlmStateError('MIGRATION_FAILED', (error as Error).message, { cause: error });
      }
      this.#chains.set(version, chain);
    }
    return chain;
  }
}

function failed(reason: string, where: { scope: string; key: string; version: string; issues?: SchemaIssue[] }, cause?: unknown): LlmStateError {
  return new LlmStateError('MIGRATION_FAILED', `Cannot migrate ${where.scope} ${where.key} (version ${where.version}): ${reason}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { ...where, reason },
  });
}
