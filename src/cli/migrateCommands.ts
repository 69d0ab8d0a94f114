import type { Command } from 'commander';
import { escapeForDisplay } from '../displayText.js';
import { isLlmStateError, LlmStateError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { MigrationPlan, MigrationProgress } from '../schema/Migrations.js';
import { parseBackupDir, parseCount } from './backupArguments.js';
import { globalOptions } from './globalOptions.js';
import { parsePositive } from './hookCommands.js';
import { ExitError, EXIT_FAILURE, formatError, printJson, printLine, printNote, printResult, stdoutStyles } from './output.js';
import { withProgressBar } from './progressBar.js';
import { parseSchemaName, parseVersion } from './schemaCommands.js';
import { formatCheckReport, formatMigrationResult, formatPlan } from './schemaFormat.js';
import { backupDirFor, describeStore, type StoreSource } from './storeSource.js';
import { withRuntime } from './withRuntime.js';

/** What `migrate plan` without a schema finds: a plan per bound schema, or why there is none. */
export interface PlansReport {
  plans: MigrationPlan[];
  /** A MIGRATION_NO_PATH for each schema whose records no chain of migrations takes to the newest version. */
  failures: LlmStateError[];
}

interface RunOptions {
  to?: string;
  dryRun?: boolean;
  samples?: number;
  backup: boolean;
  backupDir?: string;
  json?: boolean;
}

const PHASES: Record<MigrationProgress['phase'], string> = {
  backup: 'backing up',
  migrate: 'migrating',
  apply: 'applying',
};

/** Adds `migrate plan|check|run`. */
export function registerMigrateCommands(program: Command): void {
  const migrate = program
    .command('migrate')
    .description('plan, check and run migrations of stored records to the newest version of their schema (with --schemas, custom steps can run)');

  migrate
    .command('plan')
    .description('the records of a schema by version, and the chain of migrations that takes each version to the newest; every bound schema when none is named')
    .argument('[schema]', 'the schema name; every bound schema when omitted', parseSchemaName)
    .option('--json', 'print the plan as JSON')
    .action(async (schema: string | undefined, options: { json?: boolean }, command: Command) => {
      const { store, schemas: module } = globalOptions(command);
      if (schema !== undefined) {
        const plan = await withRuntime(store, 'existing', (rt) => rt.migrations.plan(schema), { schemas: module });
        printResult(plan, options, formatPlan);
        return;
      }
      const report = await withRuntime(store, 'existing', (rt) => planBoundSchemas(rt), { schemas: module });
      if (options.json === true) printJson({ plans: report.plans, failures: report.failures.map(({ code, message, details }) => ({ code, message, details })) }, 2);
      else if (report.plans.length === 0 && report.failures.length === 0) printNote(`no schema is bound in ${escapeForDisplay(describeStore(store))}: there is nothing to migrate`);
      else for (const line of report.plans.flatMap(formatPlan)) printLine(line);
      if (report.failures.length > 0) {
        for (const failure of report.failures) printNote(formatError(failure));
        throw new ExitError(EXIT_FAILURE);
      }
    });

  migrate
    .command('check')
    .description('before a deploy: that every record bound to a schema loads under its current version or migrates to it, writing nothing; exit 1 when one does not')
    .argument('[schema]', 'check only this schema; every bound schema when omitted', parseSchemaName)
    .option('--limit <n>', 'list at most n failures (default 100)', parsePositive)
    .option('--json', 'print the report as JSON')
    .action(async (schema: string | undefined, options: { limit?: number; json?: boolean }, command: Command) => {
      const { store, schemas: module } = globalOptions(command);
      const { report, lacking } = await withRuntime(
        store,
        'existing',
        async (rt) => ({
          report: await rt.migrations.check({ ...(schema === undefined ? {} : { schema }), ...(options.limit === undefined ? {} : { limit: options.limit }) }),
          lacking: module === undefined ? stepsWithoutCode(rt, schema) : [],
        }),
        { schemas: module },
      );
      printResult(report, options, (found) => formatCheckReport(found, stdoutStyles()));
      if (report.ok) return;
      if (lacking.length > 0) printNote(`${lacking.join(', ')} ${lacking.length === 1 ? 'is a custom step' : 'are custom steps'} whose code is not here: ${SCHEMAS_HINT}`);
      throw new ExitError(EXIT_FAILURE);
    });

  migrate
    .command('run')
    .description('migrate every record of a schema to its newest version (or --to), all or nothing, after a backup; a dry run writes nothing')
    .argument('<schema>', 'the schema name', parseSchemaName)
    .option('--to <version>', 'migrate to this version rather than the newest', parseVersion)
    .option('--dry-run', 'print the counts per version and sample diffs, and write nothing')
    .option('--samples <n>', 'how many sample diffs a dry run prints (default 5)', parseCount)
    .option('--no-backup', 'skip the backup taken first (the migration is still all or nothing)')
    .option('--backup-dir <dir>', 'where the backup taken first goes (default: <data-dir>/backups; with --postgres, needed unless --no-backup or --dry-run)', parseBackupDir)
    .option('--json', 'print the result as JSON')
    .action(async (schema: string, options: RunOptions, command: Command) => {
      const { store, schemas: module } = globalOptions(command);
      const backups = migrationBackups(store, options);
      const result = await withMigrationProgress((onProgress) =>
        withRuntime(
          store,
          'existing',
          async (rt) => {
            const lacking = module === undefined ? stepsWithoutCode(rt, schema) : [];
            try {
              return await rt.migrations.run({
                schema,
                ...(options.to === undefined ? {} : { to: options.to }),
                dryRun: options.dryRun === true,
                ...(options.samples === undefined ? {} : { samples: options.samples }),
                backup: options.backup,
                ...(onProgress === undefined ? {} : { onProgress }),
              });
            } catch (error) {
              throw lacking.length > 0 ? withSchemasHint(error) : error;
            }
          },
          { schemas: module, ...(backups === undefined ? {} : { backups }) },
        ),
      );
      printResult(result, options, formatMigrationResult);
    });

  // Subcommands copied the program's hint when they were created; name them instead.
  for (const sub of migrate.commands) sub.showHelpAfterError(`(run llmstate migrate ${sub.name()} --help for usage)`);
}

/**
 * Where `migrate run` puts the backup it takes first, when it takes one: `--backup-dir`, or
 * `<data-dir>/backups`, as the runtime would. On PostgreSQL, which has no data directory, a run without
 * `--backup-dir` would migrate with no backup at all: that must be asked for, with `--no-backup`.
 */
function migrationBackups(store: StoreSource, options: RunOptions): { dir: string } | undefined {
  if (!options.backup || options.dryRun === true) return undefined;
  const refusal = 'migrate run takes a backup first, and a PostgreSQL store has no data directory to keep it in: give --backup-dir <dir>, or --no-backup to migrate without one';
  return { dir: backupDirFor(store, options.backupDir, refusal) };
}

const SCHEMAS_HINT = 'run llmstate with --schemas <module>, the module that registers the schemas and defines the migrations';

/** The custom steps of a schema's migrations (every schema's, when none is named) that have no code in this process. */
function stepsWithoutCode(rt: Runtime, schema: string | undefined): string[] {
  return [...new Set(rt.migrations.list(schema).flatMap((migration) => migration.missingCode))].sort();
}

/** A migration failure that also says how to give the CLI the code of custom steps. */
function withSchemasHint(error: unknown): unknown {
  if (!isLlmStateError(error, 'MIGRATION_FAILED')) return error;
  return new LlmStateError('MIGRATION_FAILED', `${error.message.replace(/\.?$/, '.')} With the CLI, ${SCHEMAS_HINT}.`, {
    cause: error,
    ...(error.details === undefined ? {} : { details: error.details }),
  });
}

/** A plan for each bound schema; a schema whose records have no path is reported, and the others still planned. */
export async function planBoundSchemas(rt: Runtime): Promise<PlansReport> {
  const names = [...new Set(rt.schemas.bindings().map((binding) => binding.schema))].sort();
  const report: PlansReport = { plans: [], failures: [] };
  for (const name of names) {
    try {
      report.plans.push(await rt.migrations.plan(name));
    } catch (error) {
      if (!isLlmStateError(error, 'MIGRATION_NO_PATH')) throw error;
      report.failures.push(error);
    }
  }
  return report;
}

/** Runs a migration with a bar per phase (backup, migrate, apply) on stderr when it is a terminal; quietly otherwise. */
function withMigrationProgress<T>(work: (onProgress: ((progress: MigrationProgress) => void) | undefined) => Promise<T>): Promise<T> {
  const formats = { knownTotal: '{phase} {bar} {percentage}% | {value} of {total} records | ETA {time_left}', unknownTotal: '{phase} | {value} records' };
  return withProgressBar(formats, (bar) => {
    if (bar === undefined) return work(undefined);
    let phase: MigrationProgress['phase'] | undefined;
    return work((progress) => {
      if (phase !== undefined && progress.phase !== phase) bar.stop();
      phase = progress.phase;
      bar.update(progress.done, progress.total, { phase: PHASES[progress.phase] });
    });
  });
}
