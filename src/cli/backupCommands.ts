import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import type { BackupProgress, BackupRuntimeOptions, RestoreBackupOptions, RetentionPolicy } from '../backup/Backups.js';
import { escapeForDisplay } from '../displayText.js';
import { isLlmStateError, LlmStateError } from '../errors.js';
import { Scope } from '../state/Scope.js';
import { COMPRESSIONS, parseBackupDir, parseCount, parseDuration, parseKeyFile, parsePath, parsePointInTime } from './backupArguments.js';
import { formatBackupList, formatDescriptor, formatPrune, formatRestore, formatVerified } from './backupFormat.js';
import { withBackupProgress } from './backupProgress.js';
import { globalOptions, statPath } from './globalOptions.js';
import { printJson, printLine, printResult, stdoutStyles, UsageError } from './output.js';
import { backupDirFor, type StoreSource } from './storeSource.js';
import { withRuntime } from './withRuntime.js';

interface CommonOptions {
  backupDir?: string;
  json?: boolean;
}

interface KeyOptions extends CommonOptions {
  keyFile?: string;
}

interface CreateOptions extends KeyOptions {
  incremental?: boolean;
  encrypt?: boolean;
  compression?: (typeof COMPRESSIONS)[number];
}

interface RestoreCommandOptions extends KeyOptions {
  at?: Date | number;
  scope?: string[];
  dryRun?: boolean;
  from?: string;
}

interface PruneOptions extends CommonOptions, RetentionPolicy {
  dryRun?: boolean;
}

const ID_HELP = 'the backup id, as backup list shows it';

const KEY_ENV = 'LLMSTATE_BACKUP_KEY';

/** Adds `backup create|list|verify|restore|prune|pin|unpin`. */
export function registerBackupCommands(program: Command): void {
  const backup = program
    .command('backup')
    .description('take, list, check, restore and prune backups of the store; backups go to <data-dir>/backups unless --backup-dir says (which a PostgreSQL store needs)');

  withKeyOption(withCommonOptions(backup.command('create')))
    .description('take a backup while writes go on: full, or --incremental on the newest backup of this store; prints its descriptor')
    .option('--incremental', 'only what changed since the newest backup of this store (a full backup is needed first)')
    .option('--encrypt', `encrypt with AES-256-GCM, with the passphrase in --key-file or ${KEY_ENV}`)
    .addOption(new Option('--compression <codec>', 'how the records are compressed').choices(COMPRESSIONS).default('brotli'))
    .action(async (options: CreateOptions, command: Command) => {
      const { store } = globalOptions(command);
      const created = await keyHinted((onProgress) =>
        withRuntime(
          store,
          'existing',
          (rt) =>
            rt.backups.create({
              incremental: options.incremental === true,
              encrypt: options.encrypt === true,
              ...(options.compression === undefined ? {} : { compression: options.compression }),
              ...keyAndProgress(options, onProgress),
            }),
          { backups: runtimeBackupOptions(store, options) },
        ),
      );
      printResult(created, options, formatDescriptor);
    });

  withCommonOptions(backup.command('list'))
    .description('one line per backup, oldest first: id, time, kind, parent, sequence, records, size, pinned or encrypted, why it was taken')
    .action(async (options: CommonOptions, command: Command) => {
      const { store } = globalOptions(command);
      const backups = await withRuntime(store, 'existing', (rt) => rt.backups.list(), { backups: runtimeBackupOptions(store, options), withoutStore: 'memory' });
      printResult(backups, options, (found) => formatBackupList(found, stdoutStyles()), `no backups in ${escapeForDisplay(backupDirOf(store, options))}`);
    });

  withKeyOption(withCommonOptions(backup.command('verify')))
    .description('read a backup and every backup its chain needs, and check checksums, decryption and structure; exit 1 on damage')
    .argument('<id>', ID_HELP)
    .action(async (id: string, options: KeyOptions, command: Command) => {
      const { store } = globalOptions(command);
      const result = await keyHinted((onProgress) =>
        withRuntime(
          store,
          'existing',
          (rt) => rt.backups.verify(id, keyAndProgress(options, onProgress)),
          { backups: runtimeBackupOptions(store, options), withoutStore: 'memory' },
        ),
      );
      printResult(result, options, formatVerified);
    });

  withKeyOption(withCommonOptions(backup.command('restore')))
    .description('restore a backup, all or nothing, after a safety backup: everything, a point in time (--at), some scopes (--scope), or a file alone (--from)')
    .argument('[id]', `${ID_HELP}; with --at, the backup to start from (by default the newest at or before it)`)
    .option('--at <time|seq>', 'the state as it was at an ISO 8601 time (with its zone) or a commit sequence: a backup, then the event log', parsePointInTime)
    .option('--scope <scopes...>', 'replace only these scopes, such as agent:a1; their keys absent from the backup are deleted')
    .option('--dry-run', 'print what would be added, changed and removed per scope, and change nothing')
    .option('--from <file>', 'restore this backup file (and the backups beside it that it builds on), which may be outside the backup directory; creates the store if there is none', parsePath('a backup file'))
    .action(async (id: string | undefined, options: RestoreCommandOptions, command: Command) => {
      const { store } = globalOptions(command);
      const restore = restoreOptionsOf(id, options);
      const result = await keyHinted((onProgress) =>
        withRuntime(store, options.from === undefined ? 'existing' : 'create', (rt) => rt.backups.restore({ ...restore, ...keyAndProgress(options, onProgress) }), {
          backups: { ...runtimeBackupOptions(store, options), encrypt: keyAvailable(options) },
        }),
      );
      printResult(result, options, formatRestore);
    });

  withCommonOptions(backup.command('prune'))
    .description('delete the backups a retention policy does not keep (never a pinned one, nor one a kept backup builds on); print each decision and why')
    .option('--keep-last <n>', 'keep the n newest backups', parseCount)
    .option('--keep-daily <n>', 'keep the newest backup of each of the n latest UTC days that have one', parseCount)
    .option('--keep-weekly <n>', 'keep the newest backup of each of the n latest ISO weeks that have one', parseCount)
    .option('--keep-monthly <n>', 'keep the newest backup of each of the n latest months that have one', parseCount)
    .option('--max-age <duration>', 'delete backups older than this, whatever rule keeps them (pins still hold): ms, or 30m, 12h, 7d, 2w', parseDuration)
    .option('--max-total-bytes <n>', 'then delete the oldest until the backups take at most n bytes', parseCount)
    .option('--dry-run', 'print the decisions and delete nothing')
    .action(async (options: PruneOptions, command: Command) => {
      const { store } = globalOptions(command);
      const policy = retentionPolicyOf(options);
      const dryRun = options.dryRun === true;
      const { plan, backups, result } = await withRuntime(
        store,
        'existing',
        async (rt) => {
          if (dryRun) {
            const backups = await rt.backups.list();
            return { plan: await rt.backups.plan(policy), backups, result: undefined };
          }
          const result = await rt.backups.prune(policy);
          return { plan: result.plan, backups: [...result.kept, ...result.deleted], result };
        },
        { backups: runtimeBackupOptions(store, options) },
      );
      if (options.json === true) printJson(result === undefined ? { dryRun, plan } : { dryRun, ...result }, 2);
      else for (const line of formatPrune(plan, backups, dryRun, stdoutStyles())) printLine(line);
    });

  for (const [name, pinned] of [
    ['pin', true],
    ['unpin', false],
  ] as const) {
    withCommonOptions(backup.command(name))
      .description(pinned ? 'keep a backup whatever prune says' : 'let prune delete a backup again')
      .argument('<id>', ID_HELP)
      .action(async (id: string, options: CommonOptions, command: Command) => {
        const { store } = globalOptions(command);
        const descriptor = await withRuntime(store, 'existing', (rt) => (pinned ? rt.backups.pin(id) : rt.backups.unpin(id)), {
          backups: runtimeBackupOptions(store, options),
        });
        printResult(descriptor, options, (found) => [`${pinned ? 'pinned' : 'unpinned'} ${escapeForDisplay(found.id)}`]);
      });
  }

  // Subcommands copied the program's hint when they were created; name them instead.
  for (const sub of backup.commands) sub.showHelpAfterError(`(run llmstate backup ${sub.name()} --help for usage)`);
}

function withCommonOptions(command: Command): Command {
  return command
    .option('--backup-dir <dir>', 'the directory of the backups (default: <data-dir>/backups; required with --postgres)', parseBackupDir)
    .option('--json', 'print the result as JSON');
}

function withKeyOption(command: Command): Command {
  return command.option('--key-file <path>', `read the passphrase from this file (trailing newline dropped) instead of ${KEY_ENV}`, parseKeyFile);
}

/** @throws {UsageError} on a PostgreSQL store without `--backup-dir`. */
function backupDirOf(store: StoreSource, options: CommonOptions): string {
  return backupDirFor(store, options.backupDir, 'a PostgreSQL store has no data directory to keep its backups in: give --backup-dir <dir>');
}

function runtimeBackupOptions(store: StoreSource, options: CommonOptions): BackupRuntimeOptions {
  return { dir: backupDirOf(store, options) };
}

/** The key from `--key-file` (else the API reads LLMSTATE_BACKUP_KEY), and the progress bar's callback. */
function keyAndProgress(options: KeyOptions, onProgress: ((progress: BackupProgress) => void) | undefined): { key?: string; onProgress?: (progress: BackupProgress) => void } {
  return { ...(options.keyFile === undefined ? {} : { key: options.keyFile }), ...(onProgress === undefined ? {} : { onProgress }) };
}

/** {@link withBackupProgress}, where a missing key also says how to give one on the command line. */
async function keyHinted<T>(work: Parameters<typeof withBackupProgress<T>>[0]): Promise<T> {
  try {
    return await withBackupProgress(work);
  } catch (error) {
    if (!isLlmStateError(error, 'BACKUP_KEY_REQUIRED')) throw error;
    throw new LlmStateError('BACKUP_KEY_REQUIRED', `${error.message.replace(/\.?$/, '.')} With llmstate, set ${KEY_ENV} or pass --key-file <path>, a file that holds the passphrase.`, {
      cause: error,
      ...(error.details === undefined ? {} : { details: error.details }),
    });
  }
}

/** A key is at hand: the safety backup of a restore is then encrypted with it, like the backups it protects. */
function keyAvailable(options: KeyOptions): boolean {
  return options.keyFile !== undefined || (process.env[KEY_ENV] ?? '') !== '';
}

/** The options of `rt.backups.restore`, checked before the store is opened. */
function restoreOptionsOf(id: string | undefined, options: RestoreCommandOptions): RestoreBackupOptions {
  if (options.from !== undefined && (id !== undefined || options.at !== undefined)) {
    throw new UsageError('--from restores a file alone: give no backup id and no --at with it');
  }
  if (id === undefined && options.from === undefined && options.at === undefined) {
    const hint = options.scope === undefined ? '' : ' (--scope takes every word after it: put the backup id before --scope)';
    throw new UsageError(`name what to restore: a backup id, --at <time|seq>, or --from <file>${hint}`);
  }
  if (options.from !== undefined) checkBackupFile(options.from);
  const scopes = options.scope?.map((text) => Scope.parse(text));
  return {
    ...(id === undefined ? {} : { id }),
    ...(options.from === undefined ? {} : { from: resolve(options.from) }),
    ...(options.at === undefined ? {} : { at: options.at }),
    ...(scopes === undefined ? {} : { scopes }),
    dryRun: options.dryRun === true,
  };
}

/** Before `--from` opens (and perhaps creates) a store: the file must be there. */
function checkBackupFile(file: string): void {
  const path = resolve(file);
  const stats = statPath(file);
  if (stats?.isDirectory() === true) throw new UsageError(`--from ${path} is a directory; name a backup file in it (llmstate-<id>.backup)`);
  if (stats === undefined) {
    throw new LlmStateError('BACKUP_NOT_FOUND', `There is no backup file ${path}: check the path, or name a file llmstate-<id>.backup of a backup directory`, {
      details: { file: path },
    });
  }
}

const RULES = ['keepLast', 'keepDaily', 'keepWeekly', 'keepMonthly', 'maxAge', 'maxTotalBytes'] as const satisfies readonly (keyof RetentionPolicy)[];

function retentionPolicyOf(options: PruneOptions): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const rule of RULES) if (options[rule] !== undefined) policy[rule] = options[rule];
  if (Object.keys(policy).length === 0) {
    throw new UsageError('prune needs a rule: --keep-last, --keep-daily, --keep-weekly, --keep-monthly, --max-age or --max-total-bytes');
  }
  return policy;
}
