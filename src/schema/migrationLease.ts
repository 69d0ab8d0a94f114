import { LlmStateError } from '../errors.js';
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
