import { LlmStateError } from '../src/errors.js';
import type { Scope } from '../src/state/Scope.js';
import type { LeaseHold, StorageBackend } from '../src/storage/index.js';
import type { Clock } from '../src/clock.js';
import { repeatEvery, type Timers } from '../src/timers.js';

export interface ScopeLeasesOptions {
  storage: StorageBackend;
  clock: Clock;
  timers: Timers;
  /** This process's name in the lease table: unique per runtime, and shown to others in SCOPE_LEASED. */
  owner: string;
  /** How long a lease lasts without renewal. Renewed every third of it. */
  ttlMs: number;
  /** How long a call waits for a scope that another process holds before SCOPE_LEASED. 0 fails at once. */
  waitMs: number;
  /** A lease this process held was found taken over, at renewal: what depends on it must stop. */
  lost(resource: string, error: LlmStateError): void;
  reportError(error: unknown): void;
}

/** Where another process's lease was last seen, so that reads of its scopes skip a doomed attempt. */
interface HeldElsewhere {
  owner: string;
  epoch: number;
  /** By the local clock: when to try again. */
  until: number;
}

/**
 * The leases of one runtime on a store that several processes share (DESIGN §17): those of its scopes,
 * and of the hooks it delivers. A scope actor
 * takes its scope's lease before it serves anything, keeps it while it lives (renewed here, all in one
 * statement), and gives it up when it is passivated. A commit carries its scopes' holds as its fence, so
 * a process that lost a lease, however long it was paused, cannot write over the lease's new owner.
 */
export class ScopeLeases {
  readonly owner: string;
  readonly #options: ScopeLeasesOptions;
  readonly #held = new Map<string, LeaseHold>();
  /**
   * Until when, by the local clock, each hold is known to be this process's: the time its last taking or
   * renewal was sent, plus the lease's length. Past it, another process may have taken it over unseen.
   */
  readonly #confirmedUntil = new WeakMap<LeaseHold, number>();
  readonly #elsewhere = new Map<string, HeldElsewhere>();
  readonly #stopRenewing: () => void;
  #renewing: Promise<void> | undefined;
  readonly #releasing = new Set<Promise<void>>();
  /** Why no lease is taken any more (see {@link refuseNew}). */
  #refusal: LlmStateError | undefined;

  constructor(options: ScopeLeasesOptions) {
    this.#options = options;
    this.owner = options.owner;
    this.#stopRenewing = repeatEvery(options.timers, Math.max(1, Math.floor(options.ttlMs / 3)), () => {
      this.#renewing ??= this.#renew().finally(() => (this.#renewing = undefined));
    });
  }

  /**
   * The lease on `scope`, taken now, or after waiting up to `waitMs` for another process to give it up.
   *
   * @throws {SCOPE_LEASED} naming the process that holds it, when it is still held after the wait.
   */
  async acquire(scope: Scope): Promise<LeaseHold> {
    const resource = scope.toString();
    const { storage, ttlMs, waitMs, timers, clock } = this.#options;
    const deadline = clock.now() + waitMs;
    for (;;) {
      if (this.#refusal !== undefined) throw this.#refusal;
      const sentAt = clock.now();
      const attempt = await storage.acquireLease(resource, this.owner, ttlMs);
      if (attempt.acquired) {
        await this.#keep(attempt.hold, sentAt);
        this.#elsewhere.delete(resource);
        return attempt.hold;
      }
      const left = deadline - clock.now();
      if (left <= 0) {
        this.#elsewhere.set(resource, { owner: attempt.owner, epoch: attempt.epoch, until: clock.now() + Math.min(ttlMs / 10, 1000) });
        throw leasedElsewhere(scope, attempt.owner, attempt.expiresAt, waitMs);
      }
      await new Promise<void>((resolve) => timers.setTimeout(resolve, Math.min(left, Math.max(10, ttlMs / 20))));
    }
  }

  /**
   * The lease on `resource` (not a scope: a hook's delivery, say), taken now, or undefined while another
   * live process holds it. It is renewed and given up with the others.
   */
  async tryAcquire(resource: string): Promise<LeaseHold | undefined> {
    const taken = await this.take(resource);
    return 'hold' in taken ? taken.hold : undefined;
  }

  /** As {@link tryAcquire}, saying who holds the lease when it is not taken. */
  async take(resource: string): Promise<{ hold: LeaseHold } | { owner: string; expiresAt: number }> {
    if (this.#refusal !== undefined) throw this.#refusal;
    const sentAt = this.#options.clock.now();
    const attempt = await this.#options.storage.acquireLease(resource, this.owner, this.#options.ttlMs);
    if (!attempt.acquired) return { owner: attempt.owner, expiresAt: attempt.expiresAt };
    await this.#keep(attempt.hold, sentAt);
    return { hold: attempt.hold };
  }

  /**
   * Takes no lease from now on: every later {@link acquire} or {@link take} throws `reason`, and one under
   * way gives back what it took. A runtime that refuses writes (runtime.fatal) stops taking leases before it
   * gives up those it holds, so that nothing it starts meanwhile holds one again.
   */
  refuseNew(reason: LlmStateError): void {
    this.#refusal ??= reason;
  }

  /** Keeps a lease just taken, sent for at `sentAt`: or gives it back at once, when no lease is to be kept. */
  async #keep(hold: LeaseHold, sentAt: number): Promise<void> {
    if (this.#refusal !== undefined) {
      await this.#giveBack([hold]);
      throw this.#refusal;
    }
    this.#held.set(hold.resource, hold);
    this.#confirmedUntil.set(hold, sentAt + this.#options.ttlMs);
  }

  /**
   * SCOPE_LEASED when another process was seen holding `scope` a moment ago and no wait is configured:
   * a read then goes to the store without asking for the lease again.
   */
  knownElsewhere(scope: Scope): LlmStateError | undefined {
    if (this.#options.waitMs > 0) return undefined;
    const seen = this.#elsewhere.get(scope.toString());
    if (seen === undefined) return undefined;
    if (this.#options.clock.now() >= seen.until) {
      this.#elsewhere.delete(scope.toString());
      return undefined;
    }
    return leasedElsewhere(scope, seen.owner, undefined, 0);
  }

  /** Gives up the lease of a scope whose actor has stopped. */
  release(hold: LeaseHold): Promise<void> {
    if (this.#held.get(hold.resource) !== hold) return Promise.resolve();
    this.#held.delete(hold.resource);
    return this.#giveBack([hold]);
  }

  /** Ends `holds` in the store; {@link close} waits for it. Never rejects. */
  #giveBack(holds: LeaseHold[]): Promise<void> {
    const releasing = this.#options.storage.releaseLeases(holds).then(
      () => {},
      // It expires by itself; until then another process waits for it, or is told who holds it.
      (error: unknown) => this.#options.reportError(error),
    );
    this.#releasing.add(releasing);
    void releasing.finally(() => this.#releasing.delete(releasing));
    return releasing;
  }

  /** Forgets a lease found lost at commit; its new owner has it. */
  forget(hold: LeaseHold): void {
    if (this.#held.get(hold.resource) === hold) this.#held.delete(hold.resource);
  }

  /** Stops renewing and gives up every lease still held. */
  async close(): Promise<void> {
    this.#stopRenewing();
    await this.#renewing;
    await Promise.all(this.#releasing);
    const holds = [...this.#held.values()];
    this.#held.clear();
    if (holds.length === 0) return;
    try {
      await this.#options.storage.releaseLeases(holds);
    } catch (error) {
      this.#options.reportError(error);
    }
  }

  /**
   * Whether `hold` is surely still this process's: its lease was taken or renewed less than a lease's
   * length ago (less a margin for clocks that drift). A process that was paused, or could not renew, may
   * have lost it unseen: what it cached under the lease must not be served until a renewal confirms it.
   */
  confirmed(hold: LeaseHold): boolean {
    const until = this.#confirmedUntil.get(hold);
    return until !== undefined && this.#options.clock.now() < until - this.#options.ttlMs / 10;
  }

  get heldCount(): number {
    return this.#held.size;
  }

  async #renew(): Promise<void> {
    const holds = [...this.#held.values()];
    if (holds.length === 0) return;
    const sentAt = this.#options.clock.now();
    let lost: LeaseHold[];
    try {
      lost = await this.#options.storage.renewLeases(holds, this.#options.ttlMs);
    } catch (error) {
      // Commits stay fenced by epoch, so a missed renewal risks only losing the lease, never a stale write.
      this.#options.reportError(error);
      return;
    }
    const lostSet = new Set(lost);
    for (const hold of holds) if (!lostSet.has(hold)) this.#confirmedUntil.set(hold, sentAt + this.#options.ttlMs);
    // Released while the renewal was on its way, which may have reached the row after the release and
    // extended it again: end them again, or they would stand for a whole lease with nobody using them.
    const releasedMeanwhile = holds.filter((hold) => !lostSet.has(hold) && this.#held.get(hold.resource) !== hold);
    if (releasedMeanwhile.length > 0) await this.#giveBack(releasedMeanwhile);
    for (const hold of lost) {
      if (this.#held.get(hold.resource) !== hold) continue;
      this.#held.delete(hold.resource);
      this.#options.lost(hold.resource, leaseLost(hold, undefined));
    }
  }
}

export function leasedElsewhere(scope: Scope, owner: string, expiresAt: number | undefined, waitedMs: number): LlmStateError {
  const waited = waitedMs > 0 ? ` after waiting ${waitedMs} ms` : '';
  return new LlmStateError(
    'SCOPE_LEASED',
    `${scope} is active in another process (${owner})${waited}: send this call to that process (route by agent id), ` +
      'or wait for its lease to be released or to expire',
    { details: { scope: scope.toString(), owner, ...(expiresAt === undefined ? {} : { expiresAt: new Date(expiresAt).toISOString() }) } },
  );
}

export function leaseLost(hold: LeaseHold, owner: string | undefined): LlmStateError {
  return new LlmStateError(
    'LEASE_LOST',
    `This process (${hold.owner}) no longer holds the lease on ${hold.resource}: ${owner === undefined ? 'another process took it over' : `${owner} took it over`} ` +
      'after it expired. Nothing was written; the call can be retried in the process that owns the scope now',
    { details: { scope: hold.resource, owner: owner ?? null, heldEpoch: hold.epoch } },
  );
}
