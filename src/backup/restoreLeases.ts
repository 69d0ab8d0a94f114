import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { LlmStateError } from '../errors.js';
import type { LeaseHold, StorageBackend } from '../storage/index.js';

/** Long enough for the comparison and the batch of a restore of scopes; a restore that dies frees them by then. */
const RESTORE_LEASE_TTL_MS = 60_000;

/**
 * On a store that several processes share, takes the leases of the scopes a restore replaces, so that
 * no other process serves them while they change, and a process that held one before fails its fence
 * afterwards. Returns the holds, to fence the restore's commit with and to give back after. A store of
 * one process has no leases: it returns none.
 *
 * @throws {RESTORE_FAILED} naming the process that holds a scope; no lease is kept.
 */
export async function takeScopeLeases(storage: StorageBackend, scopes: readonly string[], backupId: string): Promise<LeaseHold[]> {
  if (!storage.shared) return [];
  const owner = `restore:${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const holds: LeaseHold[] = [];
  try {
    for (const scope of [...scopes].sort()) {
      const attempt = await storage.acquireLease(scope, owner, RESTORE_LEASE_TTL_MS);
      if (!attempt.acquired) {
        throw new LlmStateError(
          'RESTORE_FAILED',
          `Cannot restore ${scope} from backup ${backupId}: another process (${attempt.owner}) is using it, until ${new Date(attempt.expiresAt).toISOString()} ` +
            'unless it renews its lease. Restore it from that process, or stop that process first; the current state is untouched',
          { details: { id: backupId, scope, owner: attempt.owner, reason: 'scope_in_use' } },
        );
      }
      holds.push(attempt.hold);
    }
  } catch (error) {
    await giveBackScopeLeases(storage, holds);
    throw error;
  }
  return holds;
}

/** Gives back what {@link takeScopeLeases} took. A failure only delays others until the leases expire. */
export async function giveBackScopeLeases(storage: StorageBackend, holds: readonly LeaseHold[]): Promise<void> {
  await storage.releaseLeases(holds).catch(() => {});
}
