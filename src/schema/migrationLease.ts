import { isLlmStateError, LlmStateError } from '../errors.js';
import type { LeaseHold } from '../storage/index.js';

/**
 * The lease one migration at a time holds on a store that several processes share: a run, and the finish
 * of a journal left behind, which a process opening the store would otherwise discard or apply while the
 * process that wrote it goes on.
 */
export interface MigrationLease {
  take(): Promise<{ hold: LeaseHold } | { owner: string }>;
  give(hold: LeaseHold): Promise<void>;
}

export const MIGRATION_LEASE = 'llmstate:migration';

/**
 * Runs `work` holding the migration lease when there is one to hold, with the hold as the fence of what it
 * writes outside the commit path; `elsewhere` instead while another process holds it.
 */
export async function underMigrationLease<T>(
  lease: MigrationLease | undefined,
  work: (fence: readonly LeaseHold[] | undefined) => Promise<T>,
  elsewhere: (owner: string) => T | Promise<T>,
): Promise<T> {
  if (lease === undefined) return work(undefined);
  const taken = await lease.take();
  if (!('hold' in taken)) return elsewhere(taken.owner);
  try {
    return await work([taken.hold]);
  } finally {
    await lease.give(taken.hold);
  }
}

export function migrationInProgress(schema: string, to: string, owner: string): LlmStateError {
  return new LlmStateError(
    'MIGRATION_FAILED',
    `Cannot migrate ${schema} to ${to}: another process (${owner}) is running a migration of this store, or finishing one. ` +
      'Run it again once that one has finished; nothing was changed',
    { details: { schema, to, owner, reason: 'migration_in_progress' } },
  );
}

/** Whether `error` is the store refusing a write fenced by the migration lease, which another process took over. */
export function isMigrationLeaseLost(error: unknown): error is LlmStateError {
  return isLlmStateError(error, 'LEASE_LOST') && error.details?.scope === MIGRATION_LEASE;
}

/**
 * This process's migration lease was taken over by another process (this one was paused, or cut off,
 * past the lease's time to live), so the store refused what it went on to write. When the migration had
 * committed, the process that took the lease over finishes applying it; otherwise that process discards
 * its journal, and the store is as it was.
 */
export function migrationLeaseLost(migration: { id: string; schema: string; to: string }, committed: boolean, cause: LlmStateError): LlmStateError {
  const { id, schema, to } = migration;
  const outcome = committed
    ? 'It had committed: the process that took the lease over finishes applying it'
    : 'It had not committed: the process that took the lease over discards its journal, and nothing is changed';
  return new LlmStateError('MIGRATION_FAILED', `Migration ${id} of ${schema} to ${to} lost its lease to another process, which took the store's migration over. ${outcome}`, {
    cause,
    details: { id, schema, to, committed, reason: 'lease_lost' },
  });
}
