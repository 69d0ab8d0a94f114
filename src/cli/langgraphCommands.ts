import { InvalidArgumentError, type Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { escapeForDisplay } from '../displayText.js';
import { LlmStateError } from '../errors.js';
import type { ImportProgress, SqliteImportResult } from '../langgraph/index.js';
import { parsePath } from './backupArguments.js';
import { globalOptions } from './globalOptions.js';
import { count, formatTable, printResult, stdoutStyles, type Styles } from './output.js';
import { withProgressBar } from './progressBar.js';
import { describeStore } from './storeSource.js';
import { withRuntime } from './withRuntime.js';

type LangGraphModule = typeof import('../langgraph/index.js');

interface ImportOptions {
  sqlite: string;
  threads?: string[];
  dryRun?: boolean;
  json?: boolean;
}

const PHASES: Record<ImportProgress['phase'], string> = { check: 'checking', copy: 'copying' };

const FORMATS = { knownTotal: '{phase} {bar} {percentage}% | {value}/{total} | thread {thread} | ETA {time_left}' };

/** Adds `langgraph import`. */
export function registerLangGraphCommands(program: Command): void {
  const langgraph = program.command('langgraph').description('LangGraph checkpoints in the store (llmstate/langgraph)');

  langgraph
    .command('import')
    .description(
      'copy a SqliteSaver database into the store: every thread and namespace, every checkpoint oldest first with its id, parent, metadata and pending writes; ' +
        'each thread is checked whole before it is written and is all or nothing; running it again finishes an import cut short',
    )
    .requiredOption('--sqlite <file>', 'the SqliteSaver database (read-only; @langchain/langgraph-checkpoint-sqlite is loaded from the working directory)', parsePath('a SQLite file'))
    .option('--threads <ids>', 'only these thread ids, separated by commas (the option may be repeated)', collectThreads)
    .option('--dry-run', 'read and check every checkpoint and write, print what would be imported, and write nothing')
    .option('--json', 'print the result as JSON')
    .action(async (options: ImportOptions, command: Command) => {
      const { store } = globalOptions(command);
      const lg = await loadLangGraph();
      // The file and the threads are checked before the store is opened, so that a mistake creates no store.
      const source = lg.SqliteCheckpoints.open(options.sqlite, { resolveFrom: [process.cwd(), fileURLToPath(new URL('.', import.meta.url))] });
      const dryRun = options.dryRun === true;
      let result: SqliteImportResult;
      try {
        source.threads(options.threads);
        result = await withProgressBar(FORMATS, (bar) =>
          withRuntime(
            store,
            dryRun ? 'existing' : 'create',
            (rt) =>
              lg.importSqliteCheckpoints(new lg.LlmStateSaver(rt), source, {
                dryRun,
                ...(options.threads === undefined ? {} : { threads: options.threads }),
                ...(bar === undefined
                  ? {}
                  : { onProgress: (progress: ImportProgress) => bar.update(progress.done, progress.total, { phase: PHASES[progress.phase], thread: escapeForDisplay(progress.threadId, { max: 40 }) }) }),
              }),
            // A dry run on a directory without a store reads nothing from it, and creates nothing.
            { withoutStore: dryRun ? 'memory' : 'refuse' },
          ),
        );
      } finally {
        source.close();
      }
      printResult(result, options, (found) => formatImport(found, describeStore(store), stdoutStyles()));
    });

  for (const sub of langgraph.commands) sub.showHelpAfterError(`(run llmstate langgraph ${sub.name()} --help for usage)`);
}

/**
 * llmstate/langgraph, loaded only by this command: it needs the optional peer dependencies
 * @langchain/langgraph-checkpoint and @langchain/core, which the rest of the command line never does.
 *
 * @throws {IMPORT_FAILED} `peer_missing` when they are not installed.
 */
async function loadLangGraph(): Promise<LangGraphModule> {
  try {
    return await import('../langgraph/index.js');
  } catch (error) {
    const missing = /Cannot find (?:package|module) '(@langchain\/[^'/]+)/.exec(String((error as Error).message))?.[1];
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || missing === undefined) throw error;
    throw new LlmStateError(
      'IMPORT_FAILED',
      `llmstate langgraph needs ${missing}, which is not installed: run \`npm install @langchain/langgraph-checkpoint @langchain/core\` in the project, then run the command there.`,
      { cause: error, details: { reason: 'peer_missing', package: missing } },
    );
  }
}

function collectThreads(text: string, previous: string[] = []): string[] {
  const ids = text.split(',');
  if (ids.some((id) => id === '')) throw new InvalidArgumentError('Expected thread ids separated by commas, such as t1,t2.');
  return [...previous, ...ids];
}

/** What was imported (or would be, in a dry run): a summary line, then a line per thread. */
function formatImport(result: SqliteImportResult, store: string, styles: Styles): string[] {
  const what = `${count(result.threads.length, 'thread')} from ${escapeForDisplay(result.file)} into ${escapeForDisplay(store)}: ${count(result.checkpoints, 'checkpoint')}, ${count(result.writes, 'pending write')}`;
  const rows = result.threads.map((thread) => [thread.threadId, String(thread.namespaces), String(thread.checkpoints), String(thread.writes), thread.existed ? 'yes' : 'no']);
  return [
    result.dryRun ? `dry run: would import ${what}; nothing was written` : `imported ${what}`,
    ...(rows.length === 0 ? [] : formatTable(['thread', 'namespaces', 'checkpoints', 'writes', 'in the store before'], rows, new Set([1, 2, 3]), styles)),
  ];
}
