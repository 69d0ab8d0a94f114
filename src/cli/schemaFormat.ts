import { escapeForDisplay } from '../displayText.js';
import { diffValues } from '../hooks/replayDiff.js';
import type { CheckReport, MigrationInfo, MigrationPlan, MigrationResult } from '../schema/Migrations.js';
import type { SchemaBinding, SchemaInfo } from '../schema/Schemas.js';
import { schemaFields } from '../schema/schemaFields.js';
import { formatDiffOp } from './hookCommands.js';
import { count, formatTable, isoTime, type Styles } from './output.js';

/** The text forms of what the `schemas` and `migrate` commands print. Every name, key and value passes the display escape. */

/** What `schemas show` prints: a version, where its schema is bound, and the migrations that reach or leave it. */
export interface SchemaDetails extends SchemaInfo {
  /** Every registered version of the schema, oldest first. */
  versions: string[];
  bindings: SchemaBinding[];
  /** The migrations from or to this version. */
  migrations: MigrationInfo[];
}

/** `schemas list`: one row per version, by name, oldest version first. */
export function formatSchemaList(schemas: readonly SchemaInfo[], styles: Styles): string[] {
  const rows = schemas.map((schema) => [
    schema.name,
    schema.version,
    schema.current ? 'current' : '-',
    isoTime(schema.registeredAt),
    schema.hash.slice(0, 12),
    schema.fromCode ? 'code' : 'store',
    schema.description ?? '',
  ]);
  return formatTable(['name', 'version', 'status', 'registered', 'hash', 'from', 'description'], rows, new Set(), styles);
}

/** `schemas show`: the version, its bindings and migrations, its fields, then its JSON Schema. */
export function formatSchemaDetails(details: SchemaDetails, styles: Styles): string[] {
  const ref = `${escapeForDisplay(details.name)}@${details.version}`;
  const lines = [
    `schema      ${ref}${details.current ? ' (current)' : ''}`,
    `versions    ${details.versions.join(', ')}`,
    `hash        ${details.hash}`,
    `registered  ${isoTime(details.registeredAt)}`,
    `from        ${details.fromCode ? "the application's code" : 'the store (run with --schemas <module> to use the code)'}`,
  ];
  if (details.description !== undefined) lines.push(`description ${escapeForDisplay(details.description, { lines: 'join' })}`);
  const bindings = details.bindings.map(describeBinding);
  lines.push(`bound to    ${bindings.length === 0 ? 'nothing: no write is validated against it' : bindings[0]}`, ...bindings.slice(1).map((text) => `            ${text}`));
  const migrations = details.migrations.map(describeMigration);
  lines.push(`migrations  ${migrations.length === 0 ? 'none from or to this version' : migrations[0]}`, ...migrations.slice(1).map((text) => `            ${text}`));
  lines.push('', styles.bold('fields'), ...indent(formatFields(details.jsonSchema, styles)));
  lines.push('', styles.bold('JSON Schema'), ...indent(escapeForDisplay(JSON.stringify(details.jsonSchema, null, 2), { lines: 'keep' }).split('\n')));
  return lines;
}

function formatFields(jsonSchema: Record<string, unknown>, styles: Styles): string[] {
  const rows = schemaFields(jsonSchema).map((field) => [
    field.path,
    field.type.map((part) => ('code' in part ? part.code : part.text)).join(''),
    field.presence,
    field.default ?? '',
    field.description ?? '',
  ]);
  return formatTable(['field', 'type', 'required', 'default', 'description'], rows, new Set(), styles);
}

/** `agent scopes, keys starting with profile`. */
export function describeBinding(binding: Pick<SchemaBinding, 'scopeKind' | 'keyPrefix'>): string {
  const scopes = binding.scopeKind === undefined ? 'every scope' : `${binding.scopeKind} scopes`;
  return `${scopes}, ${binding.keyPrefix === undefined ? 'every key' : `keys starting with ${escapeForDisplay(binding.keyPrefix)}`}`;
}

/** `1.0.0 → 2.0.0: renameField(name → fullName), convert(age → number)`, and what it lacks to run. */
function describeMigration(migration: MigrationInfo): string {
  const steps = migration.steps.map((step) => escapeForDisplay(step, { lines: 'join' })).join(', ');
  const missing = migration.runnable ? '' : ` (no code for ${migration.missingCode.map((name) => escapeForDisplay(name)).join(', ')}: run with --schemas <module>)`;
  return `${migration.from} → ${migration.to}: ${steps === '' ? 'no steps' : steps}${missing}`;
}

/** `migrate plan`: the records by version, and the chain of migrations from each version to the target. */
export function formatPlan(plan: MigrationPlan): string[] {
  const name = escapeForDisplay(plan.schema);
  const toMigrate = plan.records - plan.current;
  const lines = [
    `${name} → ${plan.to}: ${count(plan.records, 'record')}, ${plan.current} at ${plan.to} already, ${toMigrate === 0 ? 'nothing to migrate' : `${toMigrate} to migrate`}`,
  ];
  for (const chain of plan.chains) {
    const versions = [chain.from, ...chain.steps.map((step) => step.to)].join(' → ');
    lines.push(`  from ${escapeForDisplay(chain.from)}, ${count(chain.records, 'record')}: ${versions}`);
    for (const step of chain.steps) {
      lines.push(`    ${step.from} → ${step.to}: ${step.steps.map((text) => escapeForDisplay(text, { lines: 'join' })).join(', ') || 'no steps'}`);
    }
  }
  return lines;
}

/** `migrate check`: counts per schema and in all, the first failures, and the verdict. */
export function formatCheckReport(report: CheckReport, styles: Styles): string[] {
  if (report.schemas.length === 0) return ['no schema is bound: there is nothing to check'];
  const counted = (counts: CheckReport['counts']) => [String(counts.checked), String(counts.current), String(counts.migratable), String(counts.failed)];
  const rows = report.schemas.map((schema) => [`${schema.name}@${schema.current}`, ...counted(schema.counts)]);
  if (report.schemas.length > 1) rows.push(['total', ...counted(report.counts)]);
  const lines = formatTable(['schema', 'checked', 'current', 'migratable', 'failed'], rows, new Set([1, 2, 3, 4]), styles);
  if (report.failures.length > 0) {
    lines.push('', styles.bold('failures'));
    for (const failure of report.failures) {
      lines.push(`  ${escapeForDisplay(failure.scope)} ${escapeForDisplay(failure.key)} (${escapeForDisplay(failure.version)}): ${escapeForDisplay(failure.reason, { lines: 'join' })}`);
    }
    const unlisted = report.counts.failed - report.failures.length;
    if (unlisted > 0) lines.push(`  … and ${unlisted} more (--limit shows more)`);
  }
  lines.push(
    '',
    report.ok
      ? styles.green('ok: every record bound to a schema loads under its current version or migrates to it')
      : styles.red(`FAILED: ${count(report.counts.failed, 'record')} neither ${report.counts.failed === 1 ? 'loads' : 'load'} under the current version nor ${report.counts.failed === 1 ? 'migrates' : 'migrate'} to it; define the missing migrations, or fix the records`),
  );
  return lines;
}

/** `migrate run`: what was migrated, or for a dry run what would be, with sample diffs. */
export function formatMigrationResult(result: MigrationResult): string[] {
  const name = escapeForDisplay(result.schema);
  const versions = Object.entries(result.byVersion)
    .filter(([version]) => version !== result.to)
    .map(([version, n]) => `${escapeForDisplay(version)}: ${n}`);
  const from = versions.length === 0 ? '' : ` (from ${versions.join(', ')})`;
  const what = `${count(result.migrated, 'record')} of ${result.records}${from}; ${result.current} at ${result.to} already`;
  const lines = [result.dryRun ? `dry run: migrating ${name} to ${result.to} would change ${what}` : `migrated ${name} to ${result.to}: ${what}, in ${formatDuration(result.durationMs)}`];
  if (result.backupId !== undefined) lines.push(`backup ${escapeForDisplay(result.backupId)}, taken first: restore it to undo this`);
  if (result.committedSeq !== undefined) lines.push(`committed at sequence ${result.committedSeq}`);
  // After a real run the backup and the event log tell what changed; samples preview a dry run.
  for (const sample of result.dryRun ? result.samples : []) {
    lines.push(`sample ${escapeForDisplay(sample.scope)} ${escapeForDisplay(sample.key)} (${escapeForDisplay(sample.from)} → ${result.to})`);
    const diff = diffValues(sample.before, sample.after);
    lines.push(...(diff.length === 0 ? ['  unchanged'] : diff.map((op) => `  ${escapeForDisplay(formatDiffOp(op, sample.before))}`)));
  }
  if (result.dryRun) lines.push('nothing was written');
  return lines;
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function indent(lines: readonly string[]): string[] {
  return lines.map((line) => (line === '' ? line : `  ${line}`));
}
