import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { createActor, type Actor } from 'xstate';
import { LlmStateError } from '../src/errors.js';
import type { Timers } from '../src/timers.js';
import type { CorrelationContext } from '../src/events/correlation.js';
import { encodeStateKey } from '../src/state/keyCodec.js';
import { decodeRecord } from '../src/storage/recordEnvelope.js';
import type { Scope } from '../src/state/Scope.js';
import { parseFrozen } from '../src/state/values.js';
import { isUnknownOutcome, type BatchOp, type LeaseHold, type StorageBackend } from '../src/storage/index.js';
import type { EventSpec } from '../src/events/eventLog.js';
import type { CommitParticipant, CommitScheduler } from './CommitScheduler.js';
import { Mailbox } from './Mailbox.js';
import { readScopeEntries, scanScopeKeys, type EntriesRange } from './scopeReads.js';
import type { ScopeLeases } from './ScopeLeases.js';
import { scopeLifecycle, type LifecycleState } from './scopeLifecycle.js';
import { Transaction, type TransactionFn } from './Transaction.js';
import type { CommitGroup, KeyWrite, WriteUnit } from './WriteUnit.js';
import type { WriteGuard } from './WriteGuard.js';

/** What an actor needs from the system that owns it. */
export interface ActorHost {
  readonly storage: StorageBackend;
  readonly scheduler: CommitScheduler;
  readonly maxValueBytes: number;
  /** Time limit of a transaction that names none. */
  readonly transactionTimeoutMs: number;
  /** Transaction time limits run on these. */
  readonly timers: Timers;
  /** Once close() has ended open transactions: the error a transaction starting now is refused with. */
  transactionsRefused(scope: Scope): LlmStateError | undefined;
  /** The actor was used now: keeps it from passivating and moves it to the back of the LRU. */
  touched(actor: ScopeActor): void;
  /** The actor's cache changed size by `delta` bytes. */
  cacheResized(actor: ScopeActor, delta: number): void;
  /** Schemas bound to keys, and the keys a migration holds. */
  readonly guard: WriteGuard;
  /**
   * The actor that owns `scope` now. A call that waited on the guard goes there: this actor may have
   * been passivated while it waited.
   */
  ownerOf(scope: Scope): ScopeActor;
  /** The scope leases of a store shared by several processes; undefined for a store of one process. */
  readonly leases: ScopeLeases | undefined;
  /** The actor no longer owns its scope: later calls must find a new actor. */
  forget(actor: ScopeActor): void;
}

/** A committed key as the cache knows it. `json` null means known to be absent. */
interface CacheEntry {
  json: string | null;
  value: unknown;
  parsed: boolean;
}

type Settle<T> = { resolve(value: T): void; reject(error: unknown): void };

type Message =
  | ({ type: 'set'; key: string; json: string; schema: string | undefined; context: CorrelationContext | undefined } & Settle<unknown>)
  | ({ type: 'delete'; key: string; context: CorrelationContext | undefined; existed?: boolean } & Settle<unknown>)
  | ({ type: 'get'; key: string } & Settle<unknown>)
  | ({ type: 'list'; prefix: string } & Settle<string[]>)
  | ({ type: 'clear'; context: CorrelationContext | undefined } & Settle<number>)
  | ({ type: 'transaction'; fn: TransactionFn<unknown>; context: CorrelationContext | undefined; timeoutMs: number | undefined } & Settle<unknown>)
  | ({ type: 'record'; record: RecordWrite; context: CorrelationContext | undefined } & Settle<unknown>)
  | ({ type: 'planned'; reads: readonly string[]; plan: PlanFn; context: CorrelationContext | undefined } & Settle<unknown>)
  | ({ type: 'entries'; range: EntriesRange } & Settle<Array<[string, string]>>)
  | ({ type: 'barrier' } & Settle<unknown>);

/** What a planned unit commits (see {@link ScopeActor.commitPlanned}). */
export interface UnitPlan {
  /** Checked JSON; a delete of a key that is absent still logs its `state.delete`. */
  readonly writes?: readonly KeyWrite[];
  /**
   * Clears the scope in the same unit, logging one `scope.clear`; `writes` must then be empty. A function
   * is called with the number of keys cleared and returns more events for the unit.
   */
  readonly clearScope?: boolean | ((cleared: number) => readonly EventSpec[]);
  readonly events?: readonly EventSpec[];
  /** What the call resolves with once the unit is durable. */
  readonly result?: unknown;
}

/** Plans a unit from the committed values of its reads (undefined for an absent key). Synchronous. */
export type PlanFn = (current: ReadonlyMap<string, unknown>) => UnitPlan;

export type { EntriesRange } from './scopeReads.js';

/** Records other than state values that commit through this scope's mailbox, in order with its writes. */
export interface RecordWrite {
  /** State writes that go around the write guard: a migration's own, applied while it holds their keys. */
  readonly writes?: readonly KeyWrite[];
  readonly extraOps?: readonly BatchOp[];
  readonly events?: readonly EventSpec[];
  /**
   * Clears every key of the scope in the same unit, so that the clear and the records commit together or
   * not at all. Called with the number of keys removed, once they are known; what it returns is added to
   * the unit's records.
   */
  readonly clearScope?: (cleared: number) => { extraOps?: readonly BatchOp[]; events?: readonly EventSpec[] };
}

/**
 * Where the mailbox is: `idle` can take the next message; `ready` has writes waiting for the commit
 * scheduler; `committing` has a group in the current batch; `busy` is serving a read, scanning for a
 * clear or running a transaction. One phase at a time is what makes this actor the single writer.
 */
type Phase = 'idle' | 'ready' | 'committing' | 'busy';

/** Estimated heap cost of one cache entry beyond its strings, for the memory budget. */
const ENTRY_OVERHEAD = 96;

const activeTransaction = new AsyncLocalStorage<ScopeActor>();

const noop = (): void => {};

/**
 * Owns one scope instance. Every mutation passes through its FIFO mailbox; runs of writes are handed to
 * the shared {@link CommitScheduler} as one group, and their promises settle only once the batch that
 * holds them is committed. The cache holds committed values only, so a read never sees a write that
 * might still fail.
 */
export class ScopeActor implements CommitParticipant {
  readonly scope: Scope;
  /** When the actor last received a message, by the host's clock. */
  lastUsed = 0;
  /** While above 0, the actor is not passivated: a live agent keeps its scope (and lease) here. */
  pins = 0;
  /** Told when the scope's lease is lost: what claimed the scope (a live agent) must stop too. */
  readonly leaseLostListeners = new Set<(error: LlmStateError) => void>();
  readonly #host: ActorHost;
  readonly #mailbox = new Mailbox<Message>();
  readonly #cache = new Map<string, CacheEntry>();
  readonly #lifecycle: Actor<typeof scopeLifecycle>;
  #phase: Phase = 'idle';
  #prepared: WriteUnit | undefined;
  #cacheBytes = 0;
  #stopWaiters: (() => void)[] = [];
  /** The transaction whose callback is running, if any. */
  #transaction: Transaction | undefined;
  /** On a shared store: the scope's lease, once taken. Every commit of this actor is fenced by it. */
  #lease: LeaseHold | undefined;
  /** On a shared store, until the lease is taken or refused: nothing is served meanwhile. */
  #awaitingLease: boolean;
  /** Settles once the lease is taken, or with why it was not. */
  #leaseTaken: Promise<void> = Promise.resolve();
  #leaseSettled: Settle<void> | undefined;
  /** Another process took the lease over: nothing of this actor may be served or released again. */
  #leaseLost = false;

  constructor(scope: Scope, host: ActorHost) {
    this.scope = scope;
    this.#host = host;
    this.#lifecycle = createActor(scopeLifecycle, { id: scope.toString() }).start();
    this.#awaitingLease = host.leases !== undefined;
    if (host.leases !== undefined) {
      this.#leaseTaken = new Promise<void>((resolve, reject) => (this.#leaseSettled = { resolve, reject }));
      this.#leaseTaken.catch(noop);
      void this.#takeLease(host.leases);
      return;
    }
    // Plain scopes load lazily, key by key, so there is nothing to wait for.
    this.#lifecycle.send({ type: 'LOADED' });
  }

  /**
   * On a shared store, a lease that no renewal has confirmed for about its length may have been taken
   * over unseen (this process was paused, or cut off from the database): the cache is dropped, so reads go
   * to the store until a renewal confirms the lease again. Writes need no such care: the fence refuses them.
   */
  #distrustUnconfirmedCache(): void {
    const lease = this.#lease;
    if (lease !== undefined && this.#cache.size > 0 && !this.#host.leases!.confirmed(lease)) this.#cacheClear();
  }

  /** Resolves once this actor owns its scope: at once on a store of one process, once its lease is taken on a shared one. */
  leaseTaken(): Promise<void> {
    return this.#leaseTaken;
  }

  /** The lease this actor's writes commit under (CommitParticipant). */
  get lease(): LeaseHold | undefined {
    return this.#lease;
  }

  get state(): LifecycleState {
    return this.#lifecycle.getSnapshot().value as LifecycleState;
  }

  get cacheBytes(): number {
    return this.#cacheBytes;
  }

  get cachedKeys(): number {
    return this.#cache.size;
  }

  /** Nothing queued, nothing in flight: safe to passivate. */
  get isIdle(): boolean {
    return this.#phase === 'idle' && this.#mailbox.size === 0 && this.#prepared === undefined;
  }

  get(key: string): Promise<unknown> {
    if (this.#host.guard.active) {
      const held = this.#host.guard.hold(this.scope, key, 'read');
      if (held !== undefined) return held.then(() => this.#host.ownerOf(this.scope).get(key));
    }
    this.#distrustUnconfirmedCache();
    // A cached committed value is current when nothing is queued ahead of this read.
    if (this.#phase === 'idle' && this.#mailbox.size === 0 && this.state === 'ready') {
      const entry = this.#cache.get(key);
      if (entry !== undefined) {
        this.#host.touched(this);
        return Promise.resolve(valueOf(entry));
      }
    }
    return this.#send<unknown>({ type: 'get', key, resolve: noop, reject: noop });
  }

  set(key: string, json: string, context: CorrelationContext | undefined): Promise<void> {
    let schema: string | undefined;
    const guard = this.#host.guard;
    if (guard.active) {
      const held = guard.hold(this.scope, key, 'write');
      if (held !== undefined) return held.then(() => this.#host.ownerOf(this.scope).set(key, json, context));
      try {
        schema = guard.schemaFor(this.scope, key, json);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#send({ type: 'set', key, json, schema, context, resolve: noop, reject: noop }) as Promise<void>;
  }

  delete(key: string, context: CorrelationContext | undefined): Promise<boolean> {
    if (this.#host.guard.active) {
      const held = this.#host.guard.hold(this.scope, key, 'write');
      if (held !== undefined) return held.then(() => this.#host.ownerOf(this.scope).delete(key, context));
    }
    return this.#send({ type: 'delete', key, context, existed: undefined, resolve: noop, reject: noop }) as Promise<boolean>;
  }

  listKeys(prefix: string): Promise<string[]> {
    return this.#send<string[]>({ type: 'list', prefix, resolve: noop, reject: noop });
  }

  clear(context: CorrelationContext | undefined): Promise<number> {
    if (this.#host.guard.active) {
      const held = this.#host.guard.hold(this.scope, undefined, 'write');
      if (held !== undefined) return held.then(() => this.#host.ownerOf(this.scope).clear(context));
    }
    return this.#send<number>({ type: 'clear', context, resolve: noop, reject: noop });
  }

  /** `timeoutMs` undefined takes the host's `transactionTimeoutMs`. */
  transaction<T>(fn: TransactionFn<T>, context: CorrelationContext | undefined, timeoutMs?: number): Promise<T> {
    if (this.#host.guard.active) {
      const held = this.#host.guard.hold(this.scope, undefined, 'write');
      if (held !== undefined) return held.then(() => this.#host.ownerOf(this.scope).transaction(fn, context, timeoutMs));
    }
    // Run the callback in the caller's async context, not in whichever callback drains the mailbox.
    const bound = AsyncResource.bind((tx: Transaction) => activeTransaction.run(this, () => fn(tx)));
    return this.#send({ type: 'transaction', fn: bound, context, timeoutMs, resolve: noop, reject: noop }) as Promise<T>;
  }

  /**
   * Abandons the transaction whose callback is running, if any: it rejects with `reasonFor(scope)`, its
   * signal aborts, and the mailbox moves on. A transaction that is already committing is left to finish.
   */
  abortTransaction(reasonFor: (scope: Scope) => LlmStateError): void {
    this.#transaction?.abort(reasonFor(this.scope));
  }

  /**
   * Rejects queued calls on the scope's state with `error`: all of them when the scope was cut off (its
   * agent was quarantined), or those `principal` made when it was. What is already committing finishes;
   * records and barriers stay queued.
   */
  rejectQueued(error: LlmStateError, principal?: string): void {
    const cut = (queued: Message) =>
      queued.type !== 'record' && queued.type !== 'barrier' && (principal === undefined || ('context' in queued && queued.context?.principal === principal));
    for (const message of this.#mailbox.extract(cut)) message.reject(error);
  }

  /**
   * Commits records outside the `state` namespace (an agent record, lifecycle events) in mailbox order
   * with this scope's writes, so everything about the scope has one writer.
   */
  commitRecord(record: RecordWrite, context: CorrelationContext | undefined): Promise<void> {
    if (record.clearScope !== undefined && record.writes !== undefined) {
      return Promise.reject(new TypeError('A record that clears its scope cannot also write keys of it'));
    }
    if (record.clearScope !== undefined && this.#host.guard.active) {
      const held = this.#host.guard.hold(this.scope, undefined, 'write');
      if (held !== undefined) return held.then(() => this.#host.ownerOf(this.scope).commitRecord(record, context));
    }
    return this.#send({ type: 'record', record, context, resolve: noop, reject: noop }) as Promise<void>;
  }

  /**
   * Commits a unit planned from committed values: once every message queued before it has committed,
   * `plan` runs with the values of `reads` (from the cache, or the store), and what it returns commits as
   * one unit. Read and write are one step of this mailbox, so no other write comes between them.
   */
  commitPlanned(reads: readonly string[], plan: PlanFn, context: CorrelationContext | undefined): Promise<unknown> {
    if (this.#host.guard.active) {
      const held = this.#host.guard.hold(this.scope, undefined, 'write');
      if (held !== undefined) return held.then(() => this.#host.ownerOf(this.scope).commitPlanned(reads, plan, context));
    }
    return this.#send({ type: 'planned', reads, plan, context, resolve: noop, reject: noop });
  }

  /** The committed [key, JSON] pairs in `range`, in key order (or reversed), in mailbox order. */
  entries(range: EntriesRange): Promise<Array<[string, string]>> {
    return this.#send<Array<[string, string]>>({ type: 'entries', range, resolve: noop, reject: noop });
  }

  /** Resolves once every message queued before it has been processed, and its writes are durable. */
  drained(): Promise<void> {
    if (this.isIdle) return Promise.resolve();
    return this.#send({ type: 'barrier', resolve: noop, reject: noop }) as Promise<void>;
  }

  /** Stops taking messages until {@link resume}; queued ones wait. */
  pause(): void {
    this.#lifecycle.send({ type: 'PAUSE' });
  }

  resume(): void {
    this.#lifecycle.send({ type: 'RESUME' });
    this.#process();
  }

  /** Processes everything already queued, then stops. Later messages reject with ACTOR_STOPPED. */
  stop(): Promise<void> {
    const state = this.state;
    if (state === 'stopped') return Promise.resolve();
    if (state === 'paused') this.#lifecycle.send({ type: 'RESUME' });
    if (state !== 'stopping') this.#lifecycle.send({ type: 'STOP' });
    const stopped = new Promise<void>((resolve) => this.#stopWaiters.push(resolve));
    this.#process();
    return stopped;
  }

  /**
   * Queues `message`. Its resolve/reject placeholders are overwritten in place: building a message by
   * spreading a partial costs more than a microsecond per call on this V8, on the hottest path we have.
   */
  #send<T>(message: Message): Promise<T> {
    const state = this.state;
    if (state === 'stopping' || state === 'stopped' || state === 'failed') {
      return Promise.reject(
        new LlmStateError('ACTOR_STOPPED', `The actor for ${this.scope} is ${state} and takes no more messages`, {
          details: { scope: this.scope.toString(), state },
        }),
      );
    }
    if (activeTransaction.getStore() === this) {
      return Promise.reject(
        new TypeError(
          `A transaction on ${this.scope} cannot call rt.state on the same scope: it would wait for itself. Use the tx argument`,
        ),
      );
    }
    this.#host.touched(this);
    return new Promise<T>((resolve, reject) => {
      message.resolve = resolve as (value: never) => void;
      message.reject = reject;
      this.#mailbox.push(message);
      this.#process();
    });
  }

  #process(): void {
    if (this.#awaitingLease) return;
    this.#distrustUnconfirmedCache();
    while (this.#phase === 'idle') {
      const state = this.state;
      if (state !== 'ready' && state !== 'stopping') return;
      if (this.#prepared !== undefined) return this.#becomeReady();
      const message = this.#mailbox.peek();
      if (message === undefined) return this.#finishStopping();
      switch (message.type) {
        case 'record':
          if (message.record.clearScope !== undefined) {
            this.#mailbox.shift();
            return this.#runBusy(() => this.#prepareClearingRecord(message));
          }
          return this.#becomeReady();
        case 'set':
          return this.#becomeReady();
        case 'delete':
          if (message.existed === undefined) {
            const cached = this.#cache.get(message.key);
            if (cached === undefined) return this.#runBusy(() => this.#checkExistence(message));
            // Taken now, not at the flush: the memory budget may drop the cache in between.
            message.existed = cached.json !== null;
          }
          return this.#becomeReady();
        case 'get': {
          const entry = this.#cache.get(message.key);
          this.#mailbox.shift();
          if (entry !== undefined) {
            message.resolve(valueOf(entry));
            continue;
          }
          return this.#runBusy(() => settle(message, () => this.#readCommitted(message.key)));
        }
        case 'list':
          this.#mailbox.shift();
          return this.#runBusy(() => settle(message, () => this.#scanKeys(message.prefix)));
        case 'clear':
          this.#mailbox.shift();
          return this.#runBusy(() => this.#prepareClear(message));
        case 'transaction':
          this.#mailbox.shift();
          return this.#runBusy(() => this.#runTransaction(message));
        case 'planned': {
          this.#mailbox.shift();
          // Busy while the reads fill the cache (the memory budget must not passivate this actor meanwhile)
          // and while build runs (a call it makes on this scope queues behind the unit, not inside it).
          this.#phase = 'busy';
          let current: Map<string, unknown> | undefined;
          try {
            current = this.#committedNow(message.reads);
          } catch (error) {
            this.#phase = 'idle';
            message.reject(error);
            continue;
          }
          if (current === undefined) {
            this.#phase = 'idle';
            return this.#runBusy(() => this.#runPlanned(message));
          }
          const plan = planOf(message, current);
          this.#phase = 'idle';
          if (clears(plan)) return this.#runBusy(() => this.#prepareClearingPlan(message, plan!));
          if (plan !== undefined) this.#preparePlan(message, plan);
          continue;
        }
        case 'entries':
          this.#mailbox.shift();
          return this.#runBusy(() => settle(message, () => this.#readEntries(message.range)));
        case 'barrier':
          this.#mailbox.shift();
          message.resolve(undefined);
          continue;
      }
    }
  }

  #becomeReady(): void {
    this.#phase = 'ready';
    this.#host.scheduler.enqueue(this);
  }

  #runBusy(work: () => Promise<void>): void {
    this.#phase = 'busy';
    void work().then(() => {
      this.#phase = 'idle';
      this.#process();
    });
  }

  #finishStopping(): void {
    if (this.state !== 'stopping') return;
    this.#lifecycle.send({ type: 'STOPPED' });
    this.#lifecycle.stop();
    this.#cacheClear();
    if (this.#lease !== undefined && !this.#leaseLost) void this.#host.leases?.release(this.#lease);
    const waiters = this.#stopWaiters;
    this.#stopWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Called by the scheduler at flush time (CommitParticipant, so not stripped from the typings). */
  takeGroup(maxOps: number, maxBytes: number): CommitGroup | undefined {
    if (this.#phase !== 'ready') return undefined;
    const units: WriteUnit[] = [];
    let ops = 0;
    let bytes = 0;
    // The group's own effect on keys, so a delete after a set in the same group knows the key exists.
    let overlay: Map<string, boolean> | undefined;
    let clearedInGroup = false;
    if (this.#prepared !== undefined) {
      const unit = this.#prepared;
      this.#prepared = undefined;
      units.push(unit);
      ops += unit.writes.length + 1;
      overlay = new Map();
      if (unit.kind === 'clear') clearedInGroup = true;
      for (const write of unit.writes) {
        overlay.set(write.key, write.json !== null);
        bytes += write.json?.length ?? 0;
      }
    }
    for (let message = this.#mailbox.peek(); message !== undefined; message = this.#mailbox.peek()) {
      let unit: WriteUnit;
      if (message.type === 'set') {
        unit = writeUnit('set', [{ key: message.key, json: message.json, schema: message.schema }], message.context, undefined, message);
        overlay?.set(message.key, true);
        bytes += message.json.length;
      } else if (message.type === 'record' && message.record.clearScope === undefined) {
        unit = { kind: 'record', writes: message.record.writes ?? [], extraOps: message.record.extraOps, events: message.record.events, context: message.context, result: undefined, resolve: message.resolve, reject: message.reject };
        for (const op of message.record.extraOps ?? []) if (op.type === 'put') bytes += op.value.length;
        for (const write of unit.writes) {
          overlay?.set(write.key, write.json !== null);
          bytes += write.json?.length ?? 0;
        }
      } else if (message.type === 'delete') {
        overlay ??= this.#overlayOf(units);
        const existed =
          overlay.get(message.key) ??
          (clearedInGroup ? false : undefined) ??
          (this.#cache.has(message.key) ? this.#cache.get(message.key)!.json !== null : message.existed);
        if (existed === undefined) break;
        unit = writeUnit('delete', existed ? [{ key: message.key, json: null }] : [], message.context, existed, message);
        overlay.set(message.key, false);
      } else {
        break;
      }
      if (units.length > 0 && (ops >= maxOps || bytes >= maxBytes)) break;
      this.#mailbox.shift();
      units.push(unit);
      ops += unit.writes.length + 1;
    }
    if (units.length === 0) {
      // Nothing could be taken: go back to the mailbox rather than wait for a flush that never comes.
      this.#phase = 'idle';
      queueMicrotask(() => this.#process());
      return undefined;
    }
    this.#phase = 'committing';
    return { units, bytes };
  }

  #overlayOf(units: WriteUnit[]): Map<string, boolean> {
    const overlay = new Map<string, boolean>();
    for (const unit of units) for (const write of unit.writes) overlay.set(write.key, write.json !== null);
    return overlay;
  }

  /** Called by the scheduler once the batch holding `group` is durable (CommitParticipant). */
  groupCommitted(group: CommitGroup): void {
    let delta = 0;
    for (const unit of group.units) {
      if (unit.kind === 'clear') this.#cacheClear();
      for (const write of unit.writes) delta += this.#cacheSet(write.key, write.json);
    }
    // One report per group: the budget check then runs once per batch, not once per write.
    if (delta !== 0) this.#host.cacheResized(this, delta);
    this.#phase = 'idle';
    for (const unit of group.units) unit.resolve(unit.result);
    this.#process();
  }

  /** Called by the scheduler when the batch holding `group` failed: nothing of it was written (CommitParticipant). */
  groupFailed(group: CommitGroup, error: unknown): void {
    this.#phase = 'idle';
    for (const unit of group.units) unit.reject(error);
    if (error instanceof LlmStateError && error.code === 'LEASE_LOST') this.leaseLost(error);
    // The writes may be in the store after all: the cache must not keep what was there before them.
    else if (isUnknownOutcome(error)) this.#cacheClear();
    this.#process();
  }

  /**
   * Another process took the scope's lease over: everything queued is refused with `error`, and the actor
   * stops, so that its cache is never served again. Later calls find a new actor, which asks for the lease.
   */
  leaseLost(error: LlmStateError): void {
    // The stale hold stays this actor's fence: whatever it still commits (a transaction that was running)
    // is refused by the store, never written unfenced.
    if (this.#lease !== undefined) this.#host.leases?.forget(this.#lease);
    this.#leaseLost = true;
    this.#host.forget(this);
    for (const listener of this.leaseLostListeners) listener(error);
    this.#cacheClear();
    if (this.#prepared !== undefined && this.#phase === 'idle') {
      this.#prepared.reject(error);
      this.#prepared = undefined;
    }
    for (const message of this.#mailbox.extract(() => true)) message.reject(error);
    this.#stopNow();
  }

  async #takeLease(leases: ScopeLeases): Promise<void> {
    let refused = leases.knownElsewhere(this.scope);
    if (refused === undefined) {
      try {
        this.#lease = await leases.acquire(this.scope);
      } catch (error) {
        refused = error instanceof LlmStateError ? error : new LlmStateError('STORAGE_FAILED', `Taking the lease on ${this.scope} failed`, { cause: error });
      }
    } else {
      // Decided inside the constructor, before the system has registered this actor: forgetting it now
      // would leave it registered, refusing the scope long after its owner has let it go.
      await Promise.resolve();
    }
    if (refused === undefined) {
      this.#awaitingLease = false;
      this.#leaseSettled?.resolve();
      if (this.state === 'loading') this.#lifecycle.send({ type: 'LOADED' });
      this.#process();
      return;
    }
    this.#leaseSettled?.reject(refused);
    this.#host.forget(this);
    await this.#serveFromStore(refused);
  }

  /**
   * Another process owns the scope: what is queued is answered from the store where it only reads, since
   * the store has every write that process acknowledged, and refused with `refused` where it writes.
   */
  async #serveFromStore(refused: LlmStateError): Promise<void> {
    this.#stopNow();
    for (;;) {
      const message = this.#mailbox.shift();
      if (message === undefined) break;
      switch (message.type) {
        case 'get':
          await settle(message, () => this.#readCommitted(message.key));
          break;
        case 'list':
          await settle(message, () => this.#scanKeys(message.prefix));
          break;
        case 'entries':
          await settle(message, () => this.#readEntries(message.range));
          break;
        case 'barrier':
          message.resolve(undefined);
          break;
        default:
          message.reject(refused);
      }
    }
    this.#awaitingLease = false;
    this.#finishStopping();
  }

  /** Takes no more messages; the mailbox is emptied by the caller. */
  #stopNow(): void {
    const state = this.state;
    if (state === 'paused') this.#lifecycle.send({ type: 'RESUME' });
    if (state !== 'stopping' && state !== 'stopped') this.#lifecycle.send({ type: 'STOP' });
  }

  async #checkExistence(message: Extract<Message, { type: 'delete' }>): Promise<void> {
    try {
      const raw = await this.#host.storage.get('state', encodeStateKey(this.scope, message.key));
      // A corrupt record still exists, and deleting it is how a user gets rid of it.
      message.existed = raw !== undefined;
    } catch (error) {
      this.#mailbox.shift();
      message.reject(error);
    }
  }

  /** `abandoned`: a transaction's signal; once it aborts, a read still in flight must not fill the cache. */
  async #readCommitted(key: string, abandoned?: AbortSignal): Promise<unknown> {
    this.#distrustUnconfirmedCache();
    const cached = this.#cache.get(key);
    if (cached !== undefined) return valueOf(cached);
    const raw = await this.#host.storage.get('state', encodeStateKey(this.scope, key));
    // The mailbox has moved on, and a later write may have committed since this read.
    abandoned?.throwIfAborted();
    if (raw === undefined) {
      this.#cachePut(key, null);
      return undefined;
    }
    const { payload } = decodeRecord(raw, { scope: this.scope.toString(), key });
    const json = payload.toString('utf8');
    const entry = this.#cachePut(key, json);
    return valueOf(entry);
  }

  #scanKeys(prefix: string): Promise<string[]> {
    return scanScopeKeys(this.#host.storage, this.scope, prefix);
  }

  async #prepareClear(message: Extract<Message, { type: 'clear' }>): Promise<void> {
    let keys: string[];
    try {
      keys = await this.#scanKeys('');
    } catch (error) {
      message.reject(error);
      return;
    }
    if (keys.length === 0) {
      message.resolve(0);
      return;
    }
    const writes = keys.map((key) => ({ key, json: null }));
    this.#prepared = writeUnit('clear', writes, message.context, keys.length, message, keys.length);
  }

  /** A record that clears the scope: one unit of kind `clear` (or `record` when there is nothing to clear). */
  async #prepareClearingRecord(message: Extract<Message, { type: 'record' }>): Promise<void> {
    let keys: string[];
    let added: ReturnType<NonNullable<RecordWrite['clearScope']>>;
    try {
      keys = await this.#scanKeys('');
      added = message.record.clearScope!(keys.length);
    } catch (error) {
      message.reject(error);
      return;
    }
    const { extraOps = [], events = [] } = message.record;
    this.#prepared = {
      kind: keys.length === 0 ? 'record' : 'clear',
      writes: keys.map((key) => ({ key, json: null })),
      extraOps: [...extraOps, ...(added.extraOps ?? [])],
      events: [...events, ...(added.events ?? [])],
      context: message.context,
      cleared: keys.length,
      result: undefined,
      resolve: message.resolve,
      reject: message.reject,
    };
  }

  /**
   * The committed values of `keys`, from the cache or read from the store without waiting; undefined
   * when a key needs a read that waits (the store cannot read at once, or a fault may act on reads).
   */
  #committedNow(keys: readonly string[]): Map<string, unknown> | undefined {
    const current = new Map<string, unknown>();
    for (const key of keys) {
      let entry = this.#cache.get(key);
      if (entry === undefined) {
        const read = this.#host.storage.getNow('state', encodeStateKey(this.scope, key));
        if (read === undefined) return undefined;
        const json = read.value === undefined ? null : decodeRecord(read.value, { scope: this.scope.toString(), key }).payload.toString('utf8');
        entry = this.#cachePut(key, json);
      }
      current.set(key, valueOf(entry));
    }
    return current;
  }

  async #runPlanned(message: Extract<Message, { type: 'planned' }>): Promise<void> {
    const current = new Map<string, unknown>();
    try {
      // Read together: a task's writes are several keys, each a miss the first time.
      const values = await Promise.all(message.reads.map((key) => this.#readCommitted(key)));
      message.reads.forEach((key, i) => current.set(key, values[i]));
    } catch (error) {
      message.reject(error);
      return;
    }
    const plan = planOf(message, current);
    if (clears(plan)) return this.#prepareClearingPlan(message, plan!);
    if (plan !== undefined) this.#preparePlan(message, plan);
  }

  #preparePlan(message: Extract<Message, { type: 'planned' }>, plan: UnitPlan): void {
    let writes = plan.writes ?? [];
    const events = plan.events ?? [];
    if (writes.length === 0 && events.length === 0) {
      message.resolve(plan.result);
      return;
    }
    const guard = this.#host.guard;
    if (guard.active) {
      try {
        // A bound schema binds a unit's values as it binds a set's.
        writes = writes.map((write) => (write.json === null ? write : { ...write, schema: guard.schemaFor(this.scope, write.key, write.json) }));
      } catch (error) {
        message.reject(error);
        return;
      }
    }
    this.#prepared = { kind: 'record', writes, events, context: message.context, result: plan.result, resolve: message.resolve, reject: message.reject };
  }

  async #prepareClearingPlan(message: Extract<Message, { type: 'planned' }>, plan: UnitPlan): Promise<void> {
    let keys: string[];
    let events: readonly EventSpec[];
    try {
      if (plan.writes !== undefined && plan.writes.length > 0) throw new TypeError('A unit that clears its scope cannot also write keys of it');
      keys = await this.#scanKeys('');
      events = typeof plan.clearScope === 'function' ? [...(plan.events ?? []), ...plan.clearScope(keys.length)] : (plan.events ?? []);
    } catch (error) {
      message.reject(error);
      return;
    }
    const writes = keys.map((key) => ({ key, json: null }));
    if (keys.length === 0 && events.length === 0) {
      message.resolve(plan.result);
      return;
    }
    this.#prepared = { kind: keys.length === 0 ? 'record' : 'clear', writes, events, context: message.context, cleared: keys.length, result: plan.result, resolve: message.resolve, reject: message.reject };
  }

  #readEntries(range: EntriesRange): Promise<Array<[string, string]>> {
    return readScopeEntries(this.#host.storage, this.scope, range);
  }

  async #runTransaction(message: Extract<Message, { type: 'transaction' }>): Promise<void> {
    const refused = this.#host.transactionsRefused(this.scope);
    if (refused !== undefined) {
      message.reject(refused);
      return;
    }
    const guard = this.#host.guard;
    const tx = new Transaction(this.scope, this.#host.maxValueBytes, (key, signal) => this.#readCommitted(key, signal), guard.active ? (key, json) => guard.schemaFor(this.scope, key, json) : undefined);
    let result: unknown;
    let writes: KeyWrite[];
    this.#transaction = tx;
    try {
      // Rejects at the time limit or on close() without waiting for the callback, which may never settle.
      result = await tx.run(message.fn, this.#host.timers, message.timeoutMs ?? this.#host.transactionTimeoutMs);
      writes = await tx.finish((key) => this.#exists(key));
    } catch (error) {
      tx.abandon();
      message.reject(error);
      return;
    } finally {
      this.#transaction = undefined;
    }
    if (writes.length === 0) {
      message.resolve(result);
      return;
    }
    this.#prepared = writeUnit('transaction', writes, message.context, result, message);
  }

  async #exists(key: string): Promise<boolean> {
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached.json !== null;
    return (await this.#host.storage.get('state', encodeStateKey(this.scope, key))) !== undefined;
  }

  #cachePut(key: string, json: string | null): CacheEntry {
    const delta = this.#cacheSet(key, json);
    // Take the entry before reporting: the report may evict this very cache to meet the budget.
    const entry = this.#cache.get(key)!;
    if (delta !== 0) this.#host.cacheResized(this, delta);
    return entry;
  }

  /** Updates the cache and returns the change in its estimated size; the caller reports it. */
  #cacheSet(key: string, json: string | null): number {
    const entry = this.#cache.get(key);
    let delta: number;
    if (entry === undefined) {
      this.#cache.set(key, { json, value: undefined, parsed: false });
      delta = entrySize(key, json);
    } else {
      delta = entrySize(key, json) - entrySize(key, entry.json);
      entry.json = json;
      entry.value = undefined;
      entry.parsed = false;
    }
    this.#cacheBytes += delta;
    return delta;
  }

  #cacheClear(): void {
    if (this.#cacheBytes === 0 && this.#cache.size === 0) return;
    const freed = this.#cacheBytes;
    this.#cache.clear();
    this.#cacheBytes = 0;
    this.#host.cacheResized(this, -freed);
  }

  /** Drops cached values to free memory; they are reloaded from the store on demand. */
  dropCache(): void {
    this.#cacheClear();
  }
}

function writeUnit(
  kind: WriteUnit['kind'],
  writes: KeyWrite[],
  context: CorrelationContext | undefined,
  result: unknown,
  settle: Settle<never>,
  cleared?: number,
): WriteUnit {
  return { kind, writes, context, result, cleared, resolve: settle.resolve, reject: settle.reject };
}

function valueOf(entry: CacheEntry): unknown {
  if (!entry.parsed) {
    entry.value = entry.json === null ? undefined : parseFrozen(entry.json);
    entry.parsed = true;
  }
  return entry.value;
}

function entrySize(key: string, json: string | null): number {
  // Strings are UTF-16 in the heap; the parsed value roughly doubles the footprint once read.
  return ENTRY_OVERHEAD + key.length * 2 + (json === null ? 0 : json.length * 4);
}

function clears(plan: UnitPlan | undefined): boolean {
  return plan?.clearScope !== undefined && plan.clearScope !== false;
}

/** The plan of a planned unit, or undefined when planning threw (the call is then rejected). */
function planOf(message: Extract<Message, { type: 'planned' }>, current: ReadonlyMap<string, unknown>): UnitPlan | undefined {
  try {
    return message.plan(current);
  } catch (error) {
    message.reject(error);
    return undefined;
  }
}

async function settle<T>(target: Settle<T>, work: () => Promise<T>): Promise<void> {
  try {
    target.resolve(await work());
  } catch (error) {
    target.reject(error);
  }
}
