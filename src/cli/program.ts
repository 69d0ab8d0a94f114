import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { escapeForDisplay, quoteForDisplay } from '../displayText.js';
import { registerAccessCommands } from './accessCommands.js';
import { registerAgentCommands } from './agentCommands.js';
import { registerAuditCommand } from './auditCommand.js';
import { registerBackupCommands } from './backupCommands.js';
import { registerDemoCommand } from './demo.js';
import { DEFAULT_DATA_DIR, DEFAULT_PG_SCHEMA, globalOptions, parseDataDir, PG_SCHEMA_ENV, POSTGRES_URL_ENV } from './globalOptions.js';
import { registerHookCommands } from './hookCommands.js';
import { registerLangGraphCommands } from './langgraphCommands.js';
import { registerLeasesCommand } from './leasesCommand.js';
import { cliStreams, withCliStreams, type CliOutput, type CliStreams } from './cliStreams.js';
import { EXIT_OK, EXIT_USAGE, hasColors, reportFailure, stderrStyles, UsageError } from './output.js';
import { registerMigrateCommands } from './migrateCommands.js';
import { firstInvalidUtf8 } from './rawArguments.js';
import { registerSchemaCommands } from './schemaCommands.js';
import { registerSessionCommands } from './sessionCommands.js';
import { parseSchemasModule } from './schemasModule.js';
import { registerStateCommands } from './stateCommands.js';
import { registerStatsCommand } from './stats.js';
import { registerTimelineCommand } from './timelineCommand.js';
import { registerVerifyCommands } from './verifyCommands.js';

const EXAMPLES = `
Scopes are written global, agent:<id>, workflow:<id>, step:<workflowId>/<stepName>,
session:<id> or custom:<name>. Values are JSON.

Examples:
  llmstate set agent:a1 topic '{"name":"weather"}'
  llmstate get agent:a1 topic --pretty
  llmstate keys global --prefix cfg.
  llmstate --data-dir ./state stats
  llmstate --postgres postgres://ada@db.example:5432/app keys agent:a1
  LLMSTATE_POSTGRES_URL=postgres://ada@db.example/app llmstate --pg-schema team_b agents list
  llmstate --postgres postgres://ada@db.example/app leases --prefix agent:
  llmstate agents list
  llmstate agents show a1 --json
  llmstate hooks history --hook summarise --status failed
  llmstate hooks replay <executionId> --patch '{"value":{"name":"rain"}}'
  llmstate timeline <correlationId> --format mermaid
  llmstate verify
  llmstate repair
  llmstate backup create --incremental
  llmstate backup restore --at 2026-12-01T10:00:00Z --scope agent:a1 --dry-run
  llmstate backup prune --keep-last 5 --keep-daily 7 --dry-run
  llmstate --schemas ./schemas.mjs schemas list
  llmstate schemas docs --out docs/state-schemas.md
  llmstate migrate check
  llmstate access grant agent:ada 'workflow:report-*' read,write --expires 7d
  llmstate access check agent:ada agent:bob read
  llmstate access quarantine bob --reason 'prompt injection suspected'
  llmstate audit --principal agent:ada --outcome denied --since 1h
  llmstate sessions list --status active
  llmstate artifacts show report-7.pdf
  llmstate --schemas ./schemas.mjs migrate run profile --dry-run
  llmstate langgraph import --sqlite ./checkpoints.sqlite --dry-run
  llmstate demo`;

/** The `llmstate` program, with every subcommand. Commander errors throw instead of exiting. */
export function createProgram(): Command {
  const program = new Command('llmstate')
    .description('Inspect and edit an llmstate store: persistent state for LLM agents over LevelDB, or PostgreSQL with --postgres')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--data-dir <dir>', 'directory of the store', parseDataDir, DEFAULT_DATA_DIR)
    // Checked by globalOptions, not by a commander parser: commander's message would quote the password.
    .addOption(
      new Option('--postgres <url>', 'a PostgreSQL store instead, such as postgres://user:password@host:5432/db, which several processes may share').env(POSTGRES_URL_ENV),
    )
    .addOption(new Option('--pg-schema <name>', 'the schema of the PostgreSQL store, created when missing').env(PG_SCHEMA_ENV).default(DEFAULT_PG_SCHEMA))
    .option('--schemas <module>', "an ES module whose default export, (rt) => …, registers the application's schemas and migrations (read by schemas and migrate)", parseSchemasModule)
    // Commander's messages quote the arguments as typed: escape them like every other line printed.
    .configureOutput({
      writeOut: (text) => cliStreams().stdout.write(text),
      writeErr: (text) => cliStreams().stderr.write(text),
      getOutHelpWidth: () => terminalColumns(cliStreams().stdout),
      getErrHelpWidth: () => terminalColumns(cliStreams().stderr),
      getOutHasColors: () => hasColors(cliStreams().stdout),
      getErrHasColors: () => hasColors(cliStreams().stderr),
      outputError: (text, write) => write(`${stderrStyles().red(escapeForDisplay(text.trimEnd(), { lines: 'keep' }))}\n`),
    })
    // Set before the subcommands are added, so that they inherit it.
    .exitOverride()
    .showHelpAfterError('(run llmstate --help for usage)')
    // Before any command does anything, such as reading its input: a usage error about the store.
    .hook('preAction', (_program, command) => {
      globalOptions(command);
    })
    .addHelpText('after', EXAMPLES);
  registerStateCommands(program);
  registerStatsCommand(program);
  registerLeasesCommand(program);
  registerAgentCommands(program);
  registerHookCommands(program);
  registerTimelineCommand(program);
  registerVerifyCommands(program);
  registerBackupCommands(program);
  registerSchemaCommands(program);
  registerMigrateCommands(program);
  registerAccessCommands(program);
  registerAuditCommand(program);
  registerSessionCommands(program);
  registerLangGraphCommands(program);
  registerDemoCommand(program);
  for (const command of program.commands) command.showHelpAfterError(`(run llmstate ${command.name()} --help for usage)`);
  return program;
}

/**
 * Runs the command line and returns the exit code: 0 for success, 1 for a failure, 2 for a usage error
 * (DESIGN §13). Never throws.
 *
 * @param raw The user's arguments as bytes (see {@link rawArguments}), when known: an argument that is
 * not valid UTF-8 is then a usage error, rather than text with U+FFFD in place of its bad bytes.
 * @param streams What the run reads and writes instead of the process's stdin, stdout and stderr.
 */
export async function runCli(argv: readonly string[], raw?: readonly Buffer[], streams?: CliStreams): Promise<number> {
  if (streams !== undefined) return withCliStreams(streams, () => runCli(argv, raw));
  try {
    const invalid = raw === undefined ? 0 : firstInvalidUtf8(raw);
    if (invalid > 0) {
      throw new UsageError(
        `argument ${invalid}, ${quoteForDisplay(argv[invalid + 1])}, is not valid UTF-8 (U+FFFD marks the bytes that are not); llmstate takes UTF-8 text only`,
      );
    }
    await createProgram().parseAsync([...argv]);
    return EXIT_OK;
  } catch (error) {
    // Commander has already printed its message (or the help, or the version) when it throws.
    if (error instanceof CommanderError) return error.exitCode === EXIT_OK ? EXIT_OK : EXIT_USAGE;
    return reportFailure(error);
  }
}

/** A terminal's width; undefined elsewhere, as commander's own default, which then wraps help at 80 (its types say number). */
function terminalColumns(stream: CliOutput): number {
  return (stream.isTTY === true ? stream.columns : undefined) as number;
}

/** The version in package.json, found by walking up from this file (in src/cli or dist/src/cli). */
function packageVersion(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'llmstate' && manifest.version !== undefined) return manifest.version;
    } catch {
      // No readable package.json here; keep walking up.
    }
    const parent = dirname(directory);
    if (parent === directory) return 'unknown';
    directory = parent;
  }
}
