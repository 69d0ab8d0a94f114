import { InvalidArgumentError, type Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { escapeForDisplay } from '../displayText.js';
import type { Runtime } from '../runtime.js';
import { checkSchemaName, isVersion } from '../schema/version.js';
import { globalOptions } from './globalOptions.js';
import { ExitError, EXIT_FAILURE, printJson, printLine, printNote, printResult, stdoutStyles, UsageError } from './output.js';
import { formatSchemaDetails, formatSchemaList, type SchemaDetails } from './schemaFormat.js';
import { describeStore } from './storeSource.js';
import { parseOutputFile } from './timelineCommand.js';
import { withRuntime } from './withRuntime.js';

const NAME_HELP = 'the schema name, as schemas list shows it';

/** Adds `schemas list|show|docs`. */
export function registerSchemaCommands(program: Command): void {
  const schemas = program
    .command('schemas')
    .description("list, inspect and document the schema versions the store recorded (with --schemas, also the application's)");

  schemas
    .command('list')
    .description('one line per schema version: name, version, whether it is current, when it was registered, its hash, and whether the code supplied it')
    .option('--json', 'print the list as JSON, with each JSON Schema')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { store, schemas: module } = globalOptions(command);
      const found = await withRuntime(store, 'existing', async (rt) => rt.schemas.list(), { schemas: module });
      printResult(found, options, (list) => formatSchemaList(list, stdoutStyles()), `no schema is registered in ${escapeForDisplay(describeStore(store))}`);
    });

  schemas
    .command('show')
    .description('a schema version: its hash, where it is bound, the migrations from and to it, its fields and its JSON Schema')
    .argument('<name[@version]>', `${NAME_HELP}; the current version unless one is given, as in profile@1.0.0`, parseSchemaRef)
    .option('--json', 'print it as JSON')
    .action(async (ref: { name: string; version?: string }, options: { json?: boolean }, command: Command) => {
      const { store, schemas: module } = globalOptions(command);
      const details = await withRuntime(store, 'existing', async (rt) => collectSchemaDetails(rt, ref.name, ref.version), { schemas: module });
      if (details === undefined) {
        const name = escapeForDisplay(ref.name);
        const what = ref.version === undefined ? `no schema ${name} is registered` : `no version ${ref.version} of schema ${name} is registered`;
        throw new ExitError(EXIT_FAILURE, `${what} in ${escapeForDisplay(describeStore(store))}; llmstate schemas list shows them`);
      }
      if (options.json === true) printJson(details, 2);
      else for (const line of formatSchemaDetails(details, stdoutStyles())) printLine(line);
    });

  schemas
    .command('docs')
    .description('Markdown documentation of every schema, its bindings and its versions, with a table of fields generated from each JSON Schema')
    .option('--out <file>', 'write it to this file instead of printing it', parseOutputFile)
    .action(async (options: { out?: string }, command: Command) => {
      const { store, schemas: module } = globalOptions(command);
      const docs = await withRuntime(store, 'existing', async (rt) => rt.schemas.docs(), { schemas: module });
      if (options.out === undefined) {
        printLine(docs.replace(/\n$/, ''));
        return;
      }
      const path = resolve(options.out);
      await writeFile(path, docs).catch((error: unknown) => {
        throw new UsageError(`cannot write --out ${path}: ${(error as Error).message}`, { cause: error });
      });
      printNote(`wrote the schema documentation to ${path}`);
    });

  // Subcommands copied the program's hint when they were created; name them instead.
  for (const sub of schemas.commands) sub.showHelpAfterError(`(run llmstate schemas ${sub.name()} --help for usage)`);
}

/** What `schemas show` prints, or undefined when that schema or version is not registered. */
export function collectSchemaDetails(rt: Runtime, name: string, version?: string): SchemaDetails | undefined {
  const info = rt.schemas.get(name, version);
  if (info === undefined) return undefined;
  return {
    ...info,
    versions: rt.schemas
      .list()
      .filter((schema) => schema.name === name)
      .map((schema) => schema.version),
    bindings: rt.schemas.bindings().filter((binding) => binding.schema === name),
    migrations: rt.migrations.list(name).filter((migration) => migration.from === info.version || migration.to === info.version),
  };
}

/**
 * `name` or `name@version`, checked before the store is opened. (`--version` is the program's own option,
 * which commander reads wherever it appears.)
 */
export function parseSchemaRef(text: string): { name: string; version?: string } {
  const at = text.indexOf('@');
  if (at === -1) return { name: parseSchemaName(text) };
  return { name: parseSchemaName(text.slice(0, at)), version: parseVersion(text.slice(at + 1)) };
}

/** A schema name argument, checked before the store is opened. */
export function parseSchemaName(text: string): string {
  try {
    checkSchemaName(text);
  } catch {
    throw new InvalidArgumentError('Expected a schema name: letters, digits, `.`, `_` or `-`, starting with a letter, at most 64.');
  }
  return text;
}

/** `--version` and `--to`: `MAJOR.MINOR.PATCH`, checked before the store is opened. */
export function parseVersion(text: string): string {
  if (!isVersion(text)) throw new InvalidArgumentError('Expected a version MAJOR.MINOR.PATCH, such as 1.2.0.');
  return text;
}
