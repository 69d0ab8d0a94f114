import { LlmStateError } from '../errors.js';
import type { Scope } from '../state/Scope.js';
import type { JournalTarget } from './migrationJournal.js';

/**
 * The scopes a migration makes this process's own, on a store that several processes share: each scope
 * whose records go into the journal is claimed (its actor takes the scope's lease, and stays active)
 * before the journal commits, and given back once the journal is applied (or the run failed). No other process can then
 * write those records between the migration's commit and their apply; a record written before the claim
 * is found changed when applied, and left as that process wrote it.
 */
export class ScopeClaims {
  /** Undefined when there is nothing to claim: a dry run, or a store of one process. */
  readonly #target: JournalTarget | undefined;
  readonly #migration: { schema: string; to: string };
  readonly #releases = new Map<string, () => void>();
  /** The scopes whose actors the claims activated: given back at the end, so that their owners have them again at once. */
  readonly #activated: Scope[] = [];

  constructor(target: JournalTarget | undefined, migration: { schema: string; to: string }) {
    this.#target = target;
    this.#migration = migration;
  }

  /**
   * Makes `scope` this process's for the rest of the migration; undefined when it is already, or there is
   * nothing to claim, so that a migration on one process pays no await per record.
   *
   * @throws {MIGRATION_FAILED} naming the process that holds it.
   */
  hold(scope: Scope): Promise<void> | undefined {
    const name = scope.toString();
    if (this.#target === undefined || this.#releases.has(name)) return undefined;
    return this.#claim(this.#target, scope, name);
  }

  async #claim(target: JournalTarget, scope: Scope, name: string): Promise<void> {
    const activates = !target.isLive(scope);
    try {
      this.#releases.set(name, await target.claim(scope));
      if (activates) this.#activated.push(scope);
    } catch (error) {
      if (!(error instanceof LlmStateError && error.code === 'SCOPE_LEASED')) throw error;
      const owner = (error.details as { owner?: string } | undefined)?.owner;
      const { schema, to } = this.#migration;
      throw new LlmStateError(
        'MIGRATION_FAILED',
        `Cannot migrate ${schema} to ${to}: ${name} is active in another process (${owner}). Run the migration once that process ` +
          'has stopped or let the scope go (its lease released or expired); nothing was changed',
        { cause: error, details: { schema, to, scope: name, owner, reason: 'scope_in_use' } },
      );
    }
  }

  /** Ends every claim, and passivates the actors the claims activated, giving their leases back. */
  releaseAll(): void {
    for (const release of this.#releases.values()) release();
    this.#releases.clear();
    for (const scope of this.#activated.splice(0)) this.#target?.letGo(scope);
  }
}
