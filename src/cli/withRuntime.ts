import type { BackupRuntimeOptions } from '../backup/Backups.js';
import { isLlmStateError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { formatError, printNote } from './output.js';
import { loadSchemasModule, registerSchemas } from './schemasModule.js';
import { storeOptions, type StoreSource } from './storeSource.js';

/**
 * `create` makes the store when it is missing (`set`, `demo`, `backup restore --from`). `existing`
 * refuses a directory (or a PostgreSQL schema) that holds no store (`get`, `keys`, `del`, `stats`, `agents`, `hooks`, `timeline`,
 * the other `backup` commands) and creates nothing in it, so that a mistyped `--data-dir` is reported
 * instead of silently creating an empty store there.
 */
export type StoreAccess = 'create' | 'existing';

/** How {@link withRuntime} opens the runtime. */
export interface WithRuntimeOptions {
  /**
   * Deliver the hook outbox while the command runs. Off, a command never runs a user's hooks as a side
   * effect: what waits for them stays in the outbox for the program that owns the store. Replays still
   * run, since they use the worker pool and not the outbox.
   * @default false
   */
  deliverHooks?: boolean;
  /** The runtime's `backups` option: where backups go, and how the safety backup of a restore is encrypted. */
  backups?: BackupRuntimeOptions;
  /**
   * When `access` is `existing` and the data directory (or the PostgreSQL schema) holds no store: refuse, or run on an empty store in
   * memory. `memory` is for commands that only read the backup directory (`backup list`, `backup
   * verify`), which must work when the data directory is gone; it creates nothing on disk.
   * @default 'refuse'
   */
  withoutStore?: 'refuse' | 'memory';
  /**
   * The `--schemas` module: imported before the store is opened, and its default export called with the
   * runtime before `fn`, to register the application's schemas and migrations (custom steps need code).
   */
  schemas?: string;
}

/**
 * Opens the runtime on `store` (and registers the `--schemas` module's schemas), runs `fn`, and always
 * closes the runtime, so that the LevelDB lock, or the PostgreSQL connections and leases, are released
 * even when `fn` fails. A failure of `fn` wins over a failure to close.
 *
 * @throws {STORAGE_FAILED} when there is no store and `access` is `existing`, or the store cannot be opened
 * (a permission denied says so, with its EACCES or EPERM).
 */
export async function withRuntime<T>(
  store: StoreSource,
  access: StoreAccess,
  fn: (rt: Runtime) => Promise<T>,
  options: WithRuntimeOptions = {},
): Promise<T> {
  const given = { hooks: { autoStart: options.deliverHooks === true }, ...(options.backups === undefined ? {} : { backups: options.backups }) };
  const register = options.schemas === undefined ? undefined : await loadSchemasModule(options.schemas);
  // Loaded only once a command opens a store, so that --help and usage errors do not load the runtime.
  const { openRuntime } = await import('../runtime.js');
  // stdout carries the command's results, which a hook's console.log (in a replay, say) would corrupt.
  const internals = { hookPrintsToStderr: true };
  const rt = await openRuntime({ ...storeOptions(store), ...given }, access, internals).catch((error: unknown) => {
    if (options.withoutStore !== 'memory' || !isLlmStateError(error, 'STORAGE_FAILED') || error.details?.reason !== 'no_store') throw error;
    return openRuntime({ memory: true, ...given }, 'create', internals);
  });
  let result: T;
  try {
    if (register !== undefined) await registerSchemas(register, options.schemas!, rt);
    result = await fn(rt);
  } catch (error) {
    // The command's error is the one to report, but a failed close is still worth a line.
    await rt.close().catch((closeError: unknown) => printNote(`while closing after the error below: ${formatError(closeError)}`));
    throw error;
  }
  await rt.close();
  return result;
}
