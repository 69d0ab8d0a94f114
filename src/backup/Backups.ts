import { z } from 'zod';
import { checkOptions, checkOptionsArgument, describeOption } from '../checkOptions.js';
import type { Clock } from '../clock.js';
import { LlmStateError } from '../errors.js';
import type { EventSpec } from '../events/eventLog.js';
import { Scope } from '../state/Scope.js';
import { Serial } from '../Serial.js';
import { repeatEvery, type Timers } from '../timers.js';
import { BackupCatalog, catalogOfFile, describeFile, type BackupDescriptor } from './BackupCatalog.js';
import { resolveChain } from './chain.js';
import { backupKeyFrom, verifyBackupFile, type BackupKeyInput, type Compression } from './file/index.js';
import { backupsInHistory, baseFor, targetSeq } from './pointInTime.js';
import type { BackupProgress } from './progress.js';
import { chainProgress } from './progress.js';
import { restoreChain, type RestoreHost, type RestoreBackupResult } from './restore.js';
import { checkRetentionPolicy, planRetention, type RetentionPlan, type RetentionPolicy } from './retention.js';
import { writeBackup } from './writeBackup.js';
import { readStoreId } from '../state/storeIdentity.js';
import type { BackupRuntimeOptions } from './backupOptions.js';

export type { BackupDescriptor } from './BackupCatalog.js';
export type { BackupRuntimeOptions } from './backupOptions.js';
export type { BackupProgress } from './progress.js';
export type { RestoreBackupResult } from './restore.js';
export type { ScopeChanges } from './diffState.js';
export type { RetentionPlan, RetentionPolicy, RetentionDecision } from './retention.js';

export interface CreateBackupOptions {
  /** Only what changed since this store's newest backup in its current history. @default false */
  incremental?: boolean;
  compression?: Compression;
  /** @default true when a `key` is given here, else the runtime's `backups.encrypt` */
  encrypt?: boolean;
  key?: BackupKeyInput;
  onProgress?: (progress: BackupProgress) => void;
}

export interface RestoreBackupOptions {
  /** The backup to restore. */
  id?: string;
  /** A backup file to restore, which need not be in the backup directory (disaster recovery). */
  from?: string;
  /** A point in time: a time, or a commit sequence. Restores the newest backup at or before it (or `id`), then replays the log up to it. */
  at?: Date | number;
  /** Replace only these scopes; their keys absent from the backup are deleted. Scopes or their string forms (`agent:a1`). */
  scopes?: ReadonlyArray<Scope | string>;
  /** Report what would change, per scope, and change nothing. */
  dryRun?: boolean;
  key?: BackupKeyInput;
  onProgress?: (progress: BackupProgress) => void;
}

export interface VerifyBackupResult {
  id: string;
  /** The chain that was checked, full backup first. */
  chain: BackupDescriptor[];
  records: number;
}

export interface PruneBackupsResult {
  plan: RetentionPlan;
  deleted: BackupDescriptor[];
  kept: BackupDescriptor[];
}

/** What the namespace needs from the runtime. */
export interface BackupsHost extends Omit<RestoreHost, 'safetyBackup'> {
  assertOpen(): void;
  record(events: readonly EventSpec[]): Promise<void>;
  reportError(error: unknown): void;
  clock: Clock;
  timers: Timers;
  /** Where backups go, or undefined (a memory or PostgreSQL runtime without `backups.dir`). */
  dir: string | undefined;
  /** What the runtime keeps its store in, for the message when it has no backup directory. */
  store: 'disk' | 'memory' | 'postgres';
  /** Throws when the store must not be backed up now (a migration committed but not fully applied). */
  checkBackupable(): Promise<void>;
  options: BackupRuntimeOptions;
}

/** What every id `create()` makes matches, and what a file name may carry: nothing that reaches outside the directory. */
const BACKUP_ID = /^[0-9A-Za-z][0-9A-Za-z_-]{0,99}$/;

const COMPRESSION = [z.enum(['brotli', 'gzip', 'none']), "'brotli', 'gzip' or 'none'"] as const;
const KEY = [z.union([z.instanceof(Buffer), z.string()]), 'a 32-byte Buffer or a passphrase string'] as const;
const PROGRESS = [z.custom<(progress: BackupProgress) => void>((value) => typeof value === 'function'), 'a function'] as const;

const CREATE_FIELDS = { incremental: [z.boolean(), 'a boolean'], compression: COMPRESSION, encrypt: [z.boolean(), 'a boolean'], key: KEY, onProgress: PROGRESS } as const;
const VERIFY_FIELDS = { key: KEY, onProgress: PROGRESS } as const;
const RESTORE_FIELDS = {
  id: [z.string().min(1), 'a backup id'],
  from: [z.string().min(1), 'a file path'],
  at: [z.union([z.date().refine((date) => !Number.isNaN(date.getTime())), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)]), 'a Date or a commit sequence'],
  scopes: [z.array(z.unknown()).min(1), 'a non-empty array of scopes'],
  dryRun: [z.boolean(), 'a boolean'],
  key: KEY,
  onProgress: PROGRESS,
} as const;

/**
 * `rt.backups`: online backups, full or incremental, compressed, checksummed and optionally encrypted;
 * verification of whole chains; restores that are all or nothing (full, to a point in time, or of some
 * scopes); and retention. See docs/backups.md.
 *
 * Operations that write or delete backups, and restores, run one at a time.
 */
export class Backups {
  readonly #host: BackupsHost;
  readonly #serial = new Serial();
  #stopSchedule: (() => void) | undefined;
  #scheduled: Promise<unknown> | undefined;

  constructor(host: BackupsHost) {
    this.#host = host;
  }

  /**
   * Takes a backup while writes go on: it holds exactly the commits up to its `seq`.
   *
   * @throws {BACKUP_KEY_REQUIRED} when encrypting without a key. @throws {BACKUP_FULL_REQUIRED} for an
   * increment with nothing to build on, or one the log cannot describe. @throws {BACKUP_NOT_FOUND} for a
   * memory or PostgreSQL runtime without `backups.dir`.
   * @example const { id, file } = await rt.backups.create({ incremental: true })
   */
  async create(options?: CreateBackupOptions): Promise<BackupDescriptor> {
    this.#host.assertOpen();
    checkOptionsArgument(options);
    const given = checkOptions(options ?? {}, CREATE_FIELDS);
    return this.#serial.run(() => this.#create(given, 'manual'));
  }

  /**
   * Runs `work` while no backup, pruning or restore runs (a migration, which must not be backed up half
   * done). `work` may take backups itself through `backup`, which resolves undefined when the runtime has
   * no backup directory. @internal
   */
  exclusive<T>(work: (backup: (reason: string, onProgress?: (records: number) => void) => Promise<BackupDescriptor | undefined>) => Promise<T>): Promise<T> {
    return this.#serial.run(() =>
      work(async (reason, onProgress) => {
        if (this.#host.dir === undefined) return undefined;
        const report = onProgress === undefined ? {} : { onProgress: (progress: BackupProgress) => onProgress(progress.records) };
        const incremental = this.#host.options.incremental === true;
        try {
          return await this.#create({ incremental, ...report }, reason);
        } catch (error) {
          if (!(incremental && error instanceof LlmStateError && error.code === 'BACKUP_FULL_REQUIRED')) throw error;
          return this.#create({ incremental: false, ...report }, reason);
        }
      }),
    );
  }

  /** Every complete backup in the directory, oldest first. */
  async list(): Promise<BackupDescriptor[]> {
    this.#host.assertOpen();
    return this.#catalog().list();
  }

  /** @throws {BACKUP_NOT_FOUND} */
  async get(id: string): Promise<BackupDescriptor> {
    this.#host.assertOpen();
    checkId(id);
    return this.#catalog().get(id);
  }

  /**
   * Reads a backup and every backup its chain needs, and checks everything: structure, checksums,
   * decryption, and that the chain fits together.
   *
   * @throws {BACKUP_CORRUPT} naming the file and where. @throws {BACKUP_NOT_FOUND} @throws {BACKUP_KEY_REQUIRED}
   */
  async verify(id: string, options?: { key?: BackupKeyInput; onProgress?: (progress: BackupProgress) => void }): Promise<VerifyBackupResult> {
    this.#host.assertOpen();
    checkId(id);
    checkOptionsArgument(options);
    const given = checkOptions(options ?? {}, VERIFY_FIELDS);
    const catalog = this.#catalog();
    const chain = await resolveChain(await catalog.get(id), [catalog]);
    const records = await verifyChain(chain, this.#key(given.key), given.onProgress);
    await this.#host.record([{ kind: 'backup.verified', data: { id, chain: chain.map((backup) => backup.id) } }]);
    return { id, chain, records };
  }

  /**
   * Restores a backup, all or nothing: everything (`id`, or `from` a file), the state as it was at a
   * point in time (`at`), or only some scopes (`scopes`). A safety backup is taken first. See
   * docs/backups.md for what happens to agents and hook deliveries.
   *
   * @throws {BACKUP_NOT_FOUND} @throws {BACKUP_CORRUPT} @throws {BACKUP_KEY_REQUIRED}
   * @throws {RESTORE_FAILED} when the log cannot reach `at`, or the switch failed; the current state is untouched.
   */
  async restore(options: RestoreBackupOptions): Promise<RestoreBackupResult> {
    this.#host.assertOpen();
    checkOptionsArgument(options, 'options', 'required');
    const given = checkOptions(options, RESTORE_FIELDS);
    if ((given.id === undefined) === (given.from === undefined) && given.at === undefined) {
      throw new TypeError('Expected one of `id`, `from` or `at` (a point in time, optionally with `id`), got ' + (given.id === undefined ? 'none' : 'both `id` and `from`'));
    }
    if (given.from !== undefined && (given.id !== undefined || given.at !== undefined)) throw new TypeError('Expected `from` alone, without `id` or `at`');
    if (given.id !== undefined) checkId(given.id);
    const scopes = uniqueScopes(given.scopes?.map((scope, index) => toScope(scope, index)));
    return this.#serial.run(async () => {
      this.#host.assertOpen();
      const catalog = this.#catalog();
      const key = this.#key(given.key);
      let chain: BackupDescriptor[];
      let toSeq: number | undefined;
      if (given.from !== undefined) {
        const fromCatalog = catalogOfFile(given.from);
        chain = await resolveChain({ ...(await describeFile(given.from)), pinned: false }, [fromCatalog, catalog]);
      } else {
        let target: BackupDescriptor;
        if (given.at === undefined) target = await catalog.get(given.id!);
        else {
          // A point in time continues this store's history: only its own backups can start it.
          const storeId = await readStoreId(this.#host.storage());
          const ours = (await catalog.list()).filter((backup) => backup.storeId !== null && backup.storeId === storeId);
          const backups = await backupsInHistory(this.#host.storage(), ours);
          toSeq = await targetSeq(this.#host.storage(), given.at, backups);
          target = given.id === undefined ? baseFor(toSeq, backups, catalog.dir) : ofThisStore(await catalog.get(given.id), storeId);
        }
        if (toSeq !== undefined && target.seq > toSeq) {
          throw new LlmStateError('RESTORE_FAILED', `Backup ${target.id} is at sequence ${target.seq}, after the target ${toSeq}: a backup cannot be taken back, only forward`, {
            details: { id: target.id, seq: target.seq, toSeq },
          });
        }
        if (toSeq === target.seq) toSeq = undefined;
        chain = await resolveChain(target, [catalog]);
      }
      const result = await restoreChain(this.#restoreHost(key), {
        chain,
        ...(toSeq === undefined ? {} : { toSeq }),
        ...(scopes === undefined ? {} : { scopes }),
        dryRun: given.dryRun === true,
        key,
        ...(given.onProgress === undefined ? {} : { onProgress: given.onProgress }),
      });
      return result;
    });
  }

  /** What {@link prune} would delete under `policy`, and why; changes nothing. */
  async plan(policy?: RetentionPolicy): Promise<RetentionPlan> {
    this.#host.assertOpen();
    checkOptionsArgument(policy, 'policy');
    const checked = checkRetentionPolicy(policy ?? this.#host.options.retention ?? {});
    return planRetention(await this.#catalog().list(), checked, this.#host.clock.now());
  }

  /**
   * Deletes the backups that `policy` (by default the runtime's `backups.retention`) does not keep.
   * Pinned backups, and every backup a kept increment needs, are kept. Each run is logged as a
   * `backup.pruned` event with every decision and its reasons.
   */
  async prune(policy?: RetentionPolicy): Promise<PruneBackupsResult> {
    this.#host.assertOpen();
    checkOptionsArgument(policy, 'policy');
    const checked = checkRetentionPolicy(policy ?? this.#host.options.retention ?? {});
    return this.#serial.run(() => this.#prune(checked));
  }

  /** Keeps a backup whatever the retention policy says. @throws {BACKUP_NOT_FOUND} */
  async pin(id: string): Promise<BackupDescriptor> {
    this.#host.assertOpen();
    checkId(id);
    return this.#serial.run(() => this.#catalog().setPinned(id, true));
  }

  /** @throws {BACKUP_NOT_FOUND} */
  async unpin(id: string): Promise<BackupDescriptor> {
    this.#host.assertOpen();
    checkId(id);
    return this.#serial.run(() => this.#catalog().setPinned(id, false));
  }

  /** Starts the `backups.every` schedule, if there is one. @internal */
  startSchedule(): void {
    const { every } = this.#host.options;
    if (every === undefined || this.#stopSchedule !== undefined) return;
    this.#stopSchedule = repeatEvery(this.#host.timers, every, () => {
      if (this.#scheduled !== undefined) return;
      this.#scheduled = this.#serial
        .run(() => this.#scheduledRun())
        .catch((error: unknown) => this.#recordFailure(error))
        .finally(() => (this.#scheduled = undefined));
    });
  }

  /** Stops the schedule and waits for a scheduled backup that is running. @internal */
  async stopSchedule(): Promise<void> {
    this.#stopSchedule?.();
    this.#stopSchedule = undefined;
    await this.#scheduled;
  }

  /** Resolves once the operation running now (a backup, a restore, a prune) has ended, and a scheduled one's failure is logged. @internal */
  async idle(): Promise<void> {
    await this.#serial.run(async () => {});
    await this.#scheduled;
  }

  async #recordFailure(error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof LlmStateError ? error.code : undefined;
    await this.#host.record([{ kind: 'backup.failed', data: { message, ...(code === undefined ? {} : { code }) } }]).catch((failure: unknown) => this.#host.reportError(failure));
  }

  async #scheduledRun(): Promise<void> {
    const incremental = this.#host.options.incremental === true;
    try {
      await this.#create({ incremental }, 'scheduled');
    } catch (error) {
      if (!(incremental && error instanceof LlmStateError && error.code === 'BACKUP_FULL_REQUIRED')) throw error;
      await this.#create({ incremental: false }, 'scheduled');
    }
    if (this.#host.options.retention !== undefined) await this.#prune(this.#host.options.retention);
  }

  async #create(given: Omit<CreateBackupOptions, 'onProgress'> & { onProgress?: (progress: BackupProgress) => void }, reason: string): Promise<BackupDescriptor> {
    await this.#host.checkBackupable();
    const descriptor = await this.#write(this.#host.storage(), given, reason);
    await this.#host.record([{ kind: 'backup.created', data: createdData(descriptor) }]);
    return descriptor;
  }

  #write(storage: ReturnType<BackupsHost['storage']>, given: CreateBackupOptions, reason: string): Promise<BackupDescriptor> {
    const defaults = this.#host.options;
    const encrypt = given.encrypt ?? (given.key !== undefined || defaults.encrypt === true);
    const key = encrypt ? this.#key(given.key) : undefined;
    if (encrypt && key === undefined) {
      throw new LlmStateError('BACKUP_KEY_REQUIRED', 'An encrypted backup needs a key: pass `key` (a 32-byte Buffer or a passphrase), or set LLMSTATE_BACKUP_KEY', {
        details: { reason: 'no_key' },
      });
    }
    return writeBackup(storage, this.#catalog(), {
      incremental: given.incremental === true,
      compression: given.compression ?? defaults.compression ?? 'brotli',
      key,
      reason,
      now: this.#host.clock.now(),
      ...(given.onProgress === undefined ? {} : { onProgress: given.onProgress }),
    });
  }

  async #prune(policy: RetentionPolicy): Promise<PruneBackupsResult> {
    const catalog = this.#catalog();
    const backups = await catalog.list();
    const plan = planRetention(backups, policy, this.#host.clock.now());
    const byId = new Map(backups.map((backup) => [backup.id, backup]));
    const deleted: BackupDescriptor[] = [];
    const kept: BackupDescriptor[] = [];
    for (const decision of plan.decisions) {
      const backup = byId.get(decision.id)!;
      if (decision.keep) {
        kept.push(backup);
        continue;
      }
      await catalog.remove(decision.id);
      deleted.push(backup);
    }
    const reasons = (keep: boolean) => plan.decisions.filter((decision) => decision.keep === keep).map(({ id, reasons }) => ({ id, reasons }));
    await this.#host.record([{ kind: 'backup.pruned', data: { deleted: reasons(false), kept: reasons(true) } }]);
    return { plan, deleted, kept };
  }

  #restoreHost(key: BackupKeyInput | undefined): RestoreHost {
    const host = this.#host;
    return {
      storage: () => host.storage(),
      quiesce: () => host.quiesce(),
      resume: (storage) => host.resume(storage),
      newStore: (id) => host.newStore(id),
      now: () => host.clock.now(),
      // The safety backup is encrypted like the others, and incremental when it can be: it is taken while
      // the runtime is stopped, so it should be quick.
      safetyBackup: async (storage, onProgress) => {
        // The runtime's own key first: the safety backup must be readable the way this runtime's backups are.
        const safetyKey = this.#key(undefined) ?? key;
        const options = {
          compression: host.options.compression ?? 'brotli',
          ...(host.options.encrypt === true && safetyKey !== undefined ? { key: safetyKey } : {}),
          ...(onProgress === undefined ? {} : { onProgress }),
        } as const;
        let descriptor: BackupDescriptor;
        try {
          descriptor = await this.#write(storage, { ...options, incremental: true, encrypt: host.options.encrypt === true }, 'safety');
        } catch (error) {
          if (!(error instanceof LlmStateError && error.code === 'BACKUP_FULL_REQUIRED')) throw error;
          descriptor = await this.#write(storage, { ...options, incremental: false, encrypt: host.options.encrypt === true }, 'safety');
        }
        return descriptor;
      },
    };
  }

  #key(option: BackupKeyInput | undefined): BackupKeyInput | undefined {
    return backupKeyFrom(option ?? this.#host.options.key);
  }

  #catalog(): BackupCatalog {
    if (this.#host.dir === undefined) {
      const why = this.#host.store === 'postgres' ? 'keeps its store in PostgreSQL, so it has no data directory to keep backups in' : 'keeps its store in memory and has no backup directory';
      throw new LlmStateError('BACKUP_NOT_FOUND', `This runtime ${why}: pass \`backups: { dir }\` to createRuntime`, {
        details: { reason: 'no_backup_dir' },
      });
    }
    return new BackupCatalog(this.#host.dir);
  }
}

async function verifyChain(chain: readonly BackupDescriptor[], key: BackupKeyInput | undefined, onProgress?: (progress: BackupProgress) => void): Promise<number> {
  const report = chainProgress('verify', chain, onProgress);
  let records = 0;
  for (const [index, backup] of chain.entries()) {
    const { trailer } = await verifyBackupFile(backup.file, { ...(key === undefined ? {} : { key }), onProgress: (progress) => report(index, progress) });
    records += trailer.records;
  }
  return records;
}

function ofThisStore(backup: BackupDescriptor, storeId: string | undefined): BackupDescriptor {
  if (backup.storeId !== null && backup.storeId === storeId) return backup;
  throw new LlmStateError('RESTORE_FAILED', `Backup ${backup.id} is of another store: this store's event log cannot bring it forward to a point in time. Restore it by id alone`, {
    details: { id: backup.id },
  });
}

function createdData(backup: BackupDescriptor) {
  const { id, kind, parentId, seq, records, bytes, reason } = backup;
  return { id, kind, parentId, seq, records, bytes, reason };
}

function checkId(id: unknown): void {
  if (typeof id !== 'string' || !BACKUP_ID.test(id)) {
    throw new TypeError(`Expected \`id\` to be a backup id (letters, digits, - and _, such as 20261203-141500-k2v9qd), got ${describeOption(id)}`);
  }
}

function uniqueScopes(scopes: Scope[] | undefined): Scope[] | undefined {
  if (scopes === undefined) return undefined;
  const seen = new Set<string>();
  return scopes.filter((scope) => !seen.has(scope.toString()) && seen.add(scope.toString()) !== undefined);
}

function toScope(value: unknown, index: number): Scope {
  if (Scope.isScope(value)) return value;
  if (typeof value === 'string') return Scope.parse(value);
  throw new TypeError(`Expected \`scopes[${index}]\` to be a Scope or a scope string such as 'agent:a1', got ${describeOption(value)}`);
}
