import type { Clock } from '../src/clock.js';
import type { LlmStateError } from '../src/errors.js';
import type { Scope } from '../src/state/Scope.js';
import type { StorageBackend } from '../src/storage/index.js';
import { repeatEvery, type Timers } from '../src/timers.js';
import type { CommitScheduler } from './CommitScheduler.js';
import { ScopeActor, type ActorHost } from './ScopeActor.js';
import type { ScopeLeases } from './ScopeLeases.js';
import { StoreReader } from './scopeReads.js';
import { NO_GUARD, type WriteGuard } from './WriteGuard.js';

export interface ActorSystemOptions {
  storage: StorageBackend;
  scheduler: CommitScheduler;
  clock: Clock;
  maxValueBytes: number;
  /** Time limit of a transaction that names none. */
  transactionTimeoutMs: number;
  /** Transaction time limits and the idle sweep run on these. */
  timers: Timers;
  /** Passivate an actor after this long without a message. */
  idleMs: number;
  /** Passivate least recently used actors when caches and actors together exceed this. */
  memoryBudgetBytes: number;
  /** Schemas bound to keys, and the keys a migration holds. */
  guard?: WriteGuard;
  /** Scope leases, on a store that several processes share. */
  leases?: ScopeLeases;
}

export interface ActorMetrics {
  active: number;
  activations: number;
  passivations: number;
  cacheBytes: number;
  memoryBudgetBytes: number;
}

/** Rough heap cost of one live actor (xstate actor, mailbox, maps), counted against the budget. */
const ACTOR_OVERHEAD = 4096;

/**
 * Owns the scope actors: activates one on the first message for its scope, and passivates it when it
 * has been idle for `idleMs` or when memory is over budget (least recently used first). A passivated
 * actor is simply gone; its next message activates a fresh one that reloads lazily from the store.
 */
export class ActorSystem implements ActorHost {
  readonly storage: StorageBackend;
  readonly scheduler: CommitScheduler;
  readonly maxValueBytes: number;
  readonly transactionTimeoutMs: number;
  readonly timers: Timers;
  readonly guard: WriteGuard;
  readonly leases: ScopeLeases | undefined;
  readonly #options: ActorSystemOptions;
  readonly #actors = new Map<string, ScopeActor>();
  #bytes = 0;
  #activations = 0;
  #passivations = 0;
  readonly #stopSweep: () => void;
  #evicting = false;
  #transactionsEnded: ((scope: Scope) => LlmStateError) | undefined;

  constructor(options: ActorSystemOptions) {
    this.#options = options;
    this.storage = options.storage;
    this.scheduler = options.scheduler;
    this.maxValueBytes = options.maxValueBytes;
    this.transactionTimeoutMs = options.transactionTimeoutMs;
    this.timers = options.timers;
    this.guard = options.guard ?? NO_GUARD;
    this.leases = options.leases;
    const every = Math.max(50, Math.min(options.idleMs / 2, 5000));
    this.#stopSweep = repeatEvery(options.timers, every, () => this.passivateIdle());
  }

  /** Resolves once every live actor whose scope `matches` has processed what was queued before this call. */
  async drain(matches: (scope: Scope) => boolean): Promise<void> {
    // An actor that is stopping takes no barrier, and has nothing left to commit.
    await Promise.all([...this.#actors.values()].filter((actor) => matches(actor.scope)).map((actor) => actor.drained().catch(() => {})));
  }

  /** The actor that owns `scope`, activating it if needed. */
  ownerOf(scope: Scope): ScopeActor {
    const name = scope.toString();
    let actor = this.#actors.get(name);
    if (actor === undefined) {
      actor = new ScopeActor(scope, this);
      this.#actors.set(name, actor);
      this.#activations++;
      this.touched(actor);
      // The new actor is idle until its first message is queued, so it must not be the one evicted.
      this.#resize(ACTOR_OVERHEAD, actor);
    }
    return actor;
  }

  /**
   * Makes this process the owner of `scope` and keeps it so: resolves once the scope's actor holds its
   * lease (at once on a store of one process), and keeps that actor from passivating until the returned
   * function is called. A live agent holds its own scope this way, so it is active in one process only;
   * `onLost` is told when another process takes the scope over, so the agent stops too.
   *
   * @throws {SCOPE_LEASED} when another live process holds the scope.
   */
  async claim(scope: Scope, onLost?: (error: LlmStateError) => void): Promise<() => void> {
    const actor = this.ownerOf(scope);
    actor.pins++;
    if (onLost !== undefined) actor.leaseLostListeners.add(onLost);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      actor.pins--;
      if (onLost !== undefined) actor.leaseLostListeners.delete(onLost);
    };
    try {
      await actor.leaseTaken();
    } catch (error) {
      release();
      throw error;
    }
    return release;
  }

  /**
   * What serves reads of `scope`: its actor, with its cache, when this process owns the scope or the store
   * is this process's alone; otherwise the store itself, since another process may be writing the scope.
   */
  readerOf(scope: Scope): ScopeActor | StoreReader {
    if (this.leases === undefined) return this.ownerOf(scope);
    return this.#actors.get(scope.toString()) ?? new StoreReader(this.storage, scope);
  }

  /**
   * Passivates `scope`'s actor at once when it is idle and nothing pins it: on a shared store its lease is
   * given back now, not when the actor would have been found idle.
   */
  letGo(scope: Scope): void {
    const actor = this.#actors.get(scope.toString());
    if (actor !== undefined && actor.isIdle && actor.pins === 0) this.#passivate(actor);
  }

  /** The live actor for `scope`, without activating one. */
  peek(scope: Scope): ScopeActor | undefined {
    return this.#actors.get(scope.toString());
  }

  forget(actor: ScopeActor): void {
    const name = actor.scope.toString();
    if (this.#actors.get(name) !== actor) return;
    this.#actors.delete(name);
    this.#resize(-ACTOR_OVERHEAD);
  }

  /** A renewal found `scope`'s lease taken over: its actor stops serving at once. */
  leaseLost(scope: string, error: LlmStateError): void {
    this.#actors.get(scope)?.leaseLost(error);
  }

  touched(actor: ScopeActor): void {
    actor.lastUsed = this.#options.clock.now();
  }

  cacheResized(_actor: ScopeActor, delta: number): void {
    this.#resize(delta);
  }

  transactionsRefused(scope: Scope): LlmStateError | undefined {
    return this.#transactionsEnded?.(scope);
  }

  /**
   * Ends every transaction, for close(): a running callback is abandoned with `reasonFor(its scope)`,
   * and a transaction that reaches the head of its mailbox later is refused with it. Other messages go
   * on, so the mailboxes drain and close() settles.
   */
  /** Rejects what is queued on `scope`'s state, if its actor is live (see {@link ScopeActor.rejectQueued}). */
  rejectQueued(scope: Scope, error: LlmStateError): void {
    this.#actors.get(scope.toString())?.rejectQueued(error);
  }

  /** Rejects the writes `principal` has queued on any scope. */
  rejectQueuedBy(principal: string, error: LlmStateError): void {
    for (const actor of this.#actors.values()) actor.rejectQueued(error, principal);
  }

  endTransactions(reasonFor: (scope: Scope) => LlmStateError): void {
    this.#transactionsEnded = reasonFor;
    for (const actor of this.#actors.values()) actor.abortTransaction(reasonFor);
  }

  /** Passivates every idle actor unused for longer than `idleMs`. Runs on a timer; callable directly. */
  passivateIdle(): number {
    const cutoff = this.#options.clock.now() - this.#options.idleMs;
    let count = 0;
    for (const actor of this.#actors.values()) {
      if (actor.isIdle && actor.pins === 0 && actor.lastUsed <= cutoff) {
        this.#passivate(actor);
        count++;
      }
    }
    return count;
  }

  get metrics(): ActorMetrics {
    return {
      active: this.#actors.size,
      activations: this.#activations,
      passivations: this.#passivations,
      cacheBytes: this.#bytes,
      memoryBudgetBytes: this.#options.memoryBudgetBytes,
    };
  }

  /**
   * Passivates every actor, pinned or busy ones too, once what is queued on it is done; the system stays
   * open, and later calls activate actors again. On a shared store each actor gives its lease back as it
   * stops.
   */
  async passivateAll(): Promise<void> {
    const actors = [...this.#actors.values()];
    for (const actor of actors) this.#passivate(actor);
    await Promise.all(actors.map((actor) => actor.stop()));
  }

  /** Drains every mailbox and stops every actor, then waits for the last batch. */
  async close(): Promise<void> {
    this.#stopSweep();
    await Promise.all([...this.#actors.values()].map((actor) => actor.stop()));
    await this.scheduler.idle();
    this.#actors.clear();
    await this.leases?.close();
  }

  #resize(delta: number, keep?: ScopeActor): void {
    this.#bytes += delta;
    if (this.#bytes > this.#options.memoryBudgetBytes && !this.#evicting) this.#evict(keep);
  }

  /** Frees memory down to 90% of the budget: least recently used idle actors go first. */
  #evict(keep: ScopeActor | undefined): void {
    this.#evicting = true;
    try {
      const target = this.#options.memoryBudgetBytes * 0.9;
      const idle = [...this.#actors.values()].filter((actor) => actor.isIdle && actor.pins === 0 && actor !== keep).sort((a, b) => a.lastUsed - b.lastUsed);
      for (const actor of idle) {
        if (this.#bytes <= target) return;
        this.#passivate(actor);
      }
      // Everything left is busy; shed their caches, which reload from the store on demand.
      for (const actor of this.#actors.values()) {
        if (this.#bytes <= target) return;
        actor.dropCache();
      }
    } finally {
      this.#evicting = false;
    }
  }

  #passivate(actor: ScopeActor): void {
    this.#actors.delete(actor.scope.toString());
    this.#passivations++;
    void actor.stop();
    this.#resize(-ACTOR_OVERHEAD);
  }
}
