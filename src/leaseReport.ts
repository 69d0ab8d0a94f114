import { z } from 'zod';
import { checkOptions } from './checkOptions.js';
import type { StorageBackend } from './storage/index.js';

/** A lease of a store that several processes share, as `rt.leases()` and `llmstate leases` report it. */
export interface LeaseInfo {
  /**
   * What the lease is on: a scope (`agent:ada`), a hook's delivery (`hook:<name>`), the migration lock
   * (`llmstate:migration`), the lock of a store's first open (`llmstate:store-format`).
   */
  resource: string;
  /** The runtime that holds or last held it: its `leases.owner`. */
  owner: string;
  /** Raised each time the lease is taken; a commit under an older one is refused (LEASE_LOST). */
  epoch: number;
  /**
   * `held` until it expires; `expired` when its owner stopped renewing it (the process died, was paused
   * or lost the database) and nobody has taken it since; `released` when its owner gave it up.
   */
  state: 'held' | 'expired' | 'released';
  /** ISO 8601, by the database server's clock; null once released. */
  expiresAt: string | null;
  /** How long it still runs, by the server's clock, in ms; 0 unless held. */
  expiresInMs: number;
  /** Whether this runtime holds it. */
  mine: boolean;
}

export interface LeaseListOptions {
  /** Only the leases whose resource starts with this (`agent:`, `hook:`). @default '' (all) */
  prefix?: string;
}

const LIST_FIELDS = { prefix: [z.string(), 'a string'] } as const;

/**
 * The leases of `storage`, by resource, as of one read of the server's clock; none on a store of one
 * process. `owner` is this runtime's lease owner, undefined when it has none.
 */
export async function readLeases(storage: StorageBackend, owner: string | undefined, options: LeaseListOptions = {}): Promise<LeaseInfo[]> {
  const { prefix = '' } = checkOptions(options, LIST_FIELDS, { what: '`options`' });
  const { leases, readAt } = await storage.listLeases(prefix);
  return leases.map((lease) => {
    const state = lease.expiresAt === -Infinity ? 'released' : lease.expiresAt > readAt ? 'held' : 'expired';
    return {
      resource: lease.resource,
      owner: lease.owner,
      epoch: lease.epoch,
      state,
      expiresAt: state === 'released' ? null : new Date(lease.expiresAt).toISOString(),
      expiresInMs: state === 'held' ? Math.round(lease.expiresAt - readAt) : 0,
      mine: state === 'held' && lease.owner === owner,
    };
  });
}
