import type { OutboxPort, StagedBatch, StagedOutbox } from '../../actors/OutboxPort.js';
import type { Timers } from '../timers.js';
import type { HookRunner } from '../../workers/HookPool.js';
import type { Clock } from '../clock.js';
import { runUncorrelated } from '../events/correlation.js';
import { deliveredEventJson } from '../events/eventLog.js';
import type { BatchOp, LeaseHold, StorageBackend } from '../storage/index.js';
import type { BuiltinSink } from './builtinSinks.js';
import type { CircuitState } from './CircuitBreaker.js';
import { ExecutionRunner, type RunnerDeps } from './ExecutionRunner.js';
import type { HookDefinition } from './hookDefinition.js';
import { HookSlot, type SlotCounters } from './HookSlot.js';
import { batchEntry, type PendingEntry } from './pendingEntry.js';
import type { LoadedOutbox } from './loadOutbox.js';
import { SharedDelivery, type DeliveryLeases, type DeliveryTenure } from './SharedDelivery.js';
import { encodeDeadLetter, encodeOutboxValue, hookSeqKey, type DeadLetterValue } from './outboxRecords.js';

export interface DispatcherDeps extends Omit<RunnerDeps, 'pool'> {
  storage: StorageBackend;
  clock: Clock;
  timers: Timers;
  /** The pool, started on first use. */
  pool(): HookRunner;
  /** Executions running at once, across hooks: the pool's thread count. */
  maxInFlight: number;
  /** On a store several processes share: the leases through which one process at a time delivers each hook. */
  deliveryLeases?: DeliveryLeases;
  /** How often, on a shared store, a process looks for hooks to take over and for entries others staged. @default 250 */
  deliveryPollMs?: number;
}

export interface HookStatus {
  name: string;
  priority: number;
  breaker: CircuitState;
  disabled?: { reason: string; at: number };
  /** A built-in waiting for its main-thread sink (a cache invalidation keyspace) to be attached again. */
  detached: boolean;
  pending: number;
  inFlight: number;
  p50Ms?: number;
  p95Ms?: number;
  counters: SlotCounters;
}

/** Longest wait between checks while something waits on time: injected clocks move without timers. */
const MAX_WAKE_MS = 200;

/**
 * Delivers the outbox to hooks. It is the outbox port of the commit path (it decides, in the write's
 * own batch, which hooks get which events), and it drains what committed into the worker pool:
 * priority first, within each hook's concurrency, never more executions than threads.
 */
export class Dispatcher implements OutboxPort {
  readonly #deps: DispatcherDeps;
  readonly #runner: ExecutionRunner;
  readonly #slots = new Map<number, HookSlot>();
  #byPriority: HookSlot[] = [];
  #nextSlotId = 1;
  #inFlight = 0;
  #running = false;
  #closing = false;
  #wakeTimer: unknown;
  #wakeAt = Infinity;
  #immediate = false;
  #idleWaiters: (() => void)[] = [];
  #capacityWaiters: (() => void)[] = [];
  #settleWaiters: (() => void)[] = [];
  #executions: Set<Promise<void>> = new Set();
  /** Breaker events still being written. */
  readonly #recording = new Set<Promise<void>>();

  /** Delivery across processes, on a shared store. */
  readonly #shared: SharedDelivery | undefined;

  constructor(deps: DispatcherDeps) {
    this.#deps = deps;
    this.#shared =
      deps.deliveryLeases === undefined
        ? undefined
        : new SharedDelivery({
            storage: deps.storage,
            leases: deps.deliveryLeases,
            clock: deps.clock,
            timers: deps.timers,
            pollMs: deps.deliveryPollMs ?? 250,
            slots: () => this.#byPriority,
            poke: () => this.#schedulePump(),
            reportError: (error) => deps.onBackgroundError(error),
          });
    const shared = this.#shared;
    this.#runner = new ExecutionRunner({
      ...deps,
      pool: () => deps.pool(),
      ...(shared === undefined ? {} : { fenceOf: (name: string) => shared.fenceOf(name), deliveryLost: (name: string) => this.deliveryLost(name) }),
    });
  }

  /** Whether this process delivers `name` (always, on a store of one process). */
  deliversHere(name: string): boolean {
    return this.#shared === undefined || this.#shared.delivers(name);
  }

  /** Whether other processes may deliver hooks too: what waited in the outbox is read when a hook's lease is taken. */
  get shared(): boolean {
    return this.#shared !== undefined;
  }

  /** This process no longer delivers `hookName`: another took its lease over. */
  deliveryLost(hookName: string): void {
    this.#shared?.lost(hookName, this.slot(hookName));
  }

  get active(): boolean {
    return this.#byPriority.length > 0;
  }

  route(kind: string, scopeKind: string | undefined, key: string | undefined): readonly number[] | undefined {
    let hooks: number[] | undefined;
    for (const slot of this.#byPriority) {
      if (slot.matches(kind, scopeKind, key)) (hooks ??= []).push(slot.id);
    }
    return hooks;
  }

  stage(batch: StagedBatch, matches: Map<number, number[]>): StagedOutbox {
    const { seq, timestamp, events } = batch;
    const ops: BatchOp[] = [];
    const reserved: [HookSlot, number][] = [];
    /** With the delivery tenure each was staged under, on a shared store. */
    const accepted: [HookSlot, number[], DeliveryTenure | undefined][] = [];
    const overflowed: [HookSlot, number][] = [];
    const shared = this.#shared;
    const stagedHere: [string, DeliveryTenure][] = [];
    for (const [slotId, indexes] of matches) {
      const slot = this.#slots.get(slotId);
      if (slot === undefined) continue;
      const key = hookSeqKey(slot.name, seq);
      if (shared !== undefined && !shared.delivers(slot.name)) {
        // Another process delivers this hook: it reads the entry from the outbox.
        ops.push({ type: 'put', sublevel: 'outbox', key, value: encodeOutboxValue(seq, timestamp, { indexes, attempts: 0 }) });
        continue;
      }
      if (!slot.reserve(indexes.length)) {
        const letter: DeadLetterValue = {
          hookName: slot.name,
          seq,
          reason: 'overflow',
          attempts: 0,
          at: timestamp,
          events: indexes.map((index) => deliveredEventJson(seq, index, timestamp, events[index])),
        };
        ops.push({ type: 'put', sublevel: 'hookDeadLetters', key, value: encodeDeadLetter(letter) });
        overflowed.push([slot, indexes.length]);
        continue;
      }
      reserved.push([slot, indexes.length]);
      const tenure = shared?.staging(slot.name, seq);
      accepted.push([slot, indexes, tenure]);
      if (tenure !== undefined) stagedHere.push([slot.name, tenure]);
      ops.push({ type: 'put', sublevel: 'outbox', key, value: encodeOutboxValue(seq, timestamp, { indexes, attempts: 0 }) });
    }
    return {
      ops,
      committed: () => {
        for (const [slot, indexes, tenure] of accepted) {
          // The delivery lease was lost while the batch committed (and perhaps taken again): whoever holds
          // it now reads the entry.
          if (shared !== undefined && (tenure === undefined || !shared.stillDelivers(slot.name, tenure))) {
            slot.release(indexes.length);
            continue;
          }
          slot.enqueue(batchEntry(seq, timestamp, events, batch.eventsJson, indexes, batch.correlations));
        }
        for (const [slot, count] of overflowed) slot.overflowed(count);
        if (accepted.length > 0) this.#schedulePump();
      },
      aborted: () => {
        for (const [slot, count] of reserved) slot.release(count);
        for (const [name, tenure] of stagedHere) shared!.unstaged(name, seq, tenure);
      },
    };
  }

  /** Adds a hook, or replaces the definition of one with the same name (its queue and sink stay). */
  upsert(definition: HookDefinition): HookSlot {
    let slot = this.slot(definition.name);
    if (slot === undefined) {
      slot = new HookSlot(this.#nextSlotId++, definition, this.#deps.clock, (from, to) => this.#breakerMoved(slot!, from, to));
      this.#slots.set(slot.id, slot);
    } else {
      slot.redefine(definition);
    }
    this.#sortSlots();
    this.#schedulePump();
    return slot;
  }

  /**
   * Attaches the main-thread half of a built-in. `detached` parks the hook until a later call attaches
   * what it needs (a cache invalidation keyspace does not survive a restart).
   */
  setSink(name: string, sink: BuiltinSink | undefined, detached: boolean): void {
    this.#runner.setSink(name, sink);
    const slot = this.slot(name);
    if (slot === undefined) return;
    slot.setDetached(detached);
    this.#schedulePump();
  }

  /** Looks for work now: after entries were put in a queue from outside the commit path. */
  poke(): void {
    this.#schedulePump();
  }

  /**
   * Stops routing to a hook, waits for the batches already routed to it to commit (`commitsSettled`)
   * and for its running executions; returns what was waiting. On a shared store the hook's delivery lease
   * is kept, so that its running executions record under it, for {@link sweepUnregistered}.
   */
  async remove(name: string, commitsSettled: () => Promise<void>): Promise<PendingEntry[]> {
    const slot = this.slot(name);
    if (slot === undefined) return [];
    this.#slots.delete(slot.id);
    this.#sortSlots();
    await commitsSettled();
    while (slot.inFlight > 0) await this.#nextSettled();
    this.#runner.setSink(name, undefined);
    return slot.drain();
  }

  /** On a shared store: see {@link SharedDelivery.sweepUnregistered}. */
  sweepUnregistered(name: string, unregistering: boolean, commit: (swept: LoadedOutbox, fence: LeaseHold[]) => Promise<void>): Promise<LoadedOutbox | undefined> {
    if (this.#shared === undefined) throw new Error('sweepUnregistered is for a store that several processes share');
    return this.#shared.sweepUnregistered(name, unregistering, commit);
  }

  slot(name: string): HookSlot | undefined {
    for (const slot of this.#slots.values()) if (slot.name === name) return slot;
    return undefined;
  }

  get slots(): HookSlot[] {
    return [...this.#byPriority];
  }

  /** Starts draining the outbox. */
  start(): void {
    if (this.#closing) return;
    this.#running = true;
    this.#shared?.start();
    this.#schedulePump();
  }

  get running(): boolean {
    return this.#running;
  }

  status(slot: HookSlot): HookStatus {
    return {
      name: slot.name,
      priority: slot.definition.priority,
      breaker: slot.breakerState,
      ...(slot.definition.disabled === undefined ? {} : { disabled: slot.definition.disabled }),
      detached: slot.detached,
      pending: slot.pending,
      inFlight: slot.inFlight,
      ...slot.latency(),
      counters: slot.counters,
    };
  }

  /**
   * Resolves once no enabled hook has anything waiting or running; after runtime.fatal, once nothing
   * runs (what waits stays in the outbox).
   */
  async idle(): Promise<void> {
    // On a shared store, a round of taking hooks over may be about to queue entries.
    if (this.#shared !== undefined) await this.#shared.settled();
    if (this.#isIdle()) return;
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * On a shared store, takes the delivery of a hook just registered here when no other process has it,
   * so that it delivers from the next write on. Nothing to do on a store of one process.
   */
  async claimDelivery(name: string): Promise<void> {
    const slot = this.slot(name);
    if (this.#shared === undefined || slot === undefined || !this.#running) return;
    await this.#shared.claim(slot);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Waits for a free thread, for work outside the outbox (replays), so the pool never queues tasks and
   * every task's time limit starts when it runs. Returns the release function.
   */
  async acquire(): Promise<() => void> {
    if (this.#inFlight < this.#deps.maxInFlight) this.#inFlight++;
    // Otherwise the next execution to settle hands its thread over (counted for us), before the pump
    // can take it: a replay is not starved by a busy outbox.
    else await new Promise<void>((resolve) => this.#capacityWaiters.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight--;
      this.#afterSettle();
    };
  }

  get runner(): ExecutionRunner {
    return this.#runner;
  }

  /**
   * Stops starting executions, waits up to `graceMs` for running ones, and abandons the rest: they stay
   * in the outbox and run after the next start.
   */
  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    this.#running = false;
    await this.#shared?.close();
    if (this.#wakeTimer !== undefined) this.#deps.timers.clearTimeout(this.#wakeTimer);
    this.#runner.close();
    await this.#settledWithin(graceMs);
    this.#runner.abandon();
  }

  /**
   * On a shared store, after runtime.fatal: takes no more hooks over and reads no more of the outbox, waits
   * up to `graceMs` for the executions still running to record how they went (so that another process does
   * not run their entries a second time), then gives up every delivery and its lease.
   */
  async stopDelivering(graceMs: number): Promise<void> {
    const shared = this.#shared;
    if (shared === undefined) return;
    await shared.close();
    await this.#settledWithin(graceMs);
    await shared.relinquish();
  }

  async #settledWithin(graceMs: number): Promise<void> {
    if (this.#executions.size === 0) return;
    let timer: unknown;
    const grace = new Promise((resolve) => (timer = this.#deps.timers.setTimeout(() => resolve(undefined), graceMs)));
    await Promise.race([this.settled(), grace]);
    this.#deps.timers.clearTimeout(timer);
  }

  /** Every execution started (and not abandoned) has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#executions]);
  }

  #schedulePump(): void {
    if (!this.#running) return;
    this.#wake(0);
  }

  #wake(delayMs: number): void {
    if (delayMs === 0) {
      // setImmediate, not a 0 ms timer: timers wait at least a millisecond.
      if (this.#immediate) return;
      this.#immediate = true;
      setImmediate(() => {
        this.#immediate = false;
        runUncorrelated(() => this.#pump());
      });
      return;
    }
    const at = this.#deps.clock.now() + delayMs;
    if (this.#wakeTimer !== undefined && this.#wakeAt <= at) return;
    if (this.#wakeTimer !== undefined) this.#deps.timers.clearTimeout(this.#wakeTimer);
    this.#wakeAt = at;
    // Executions belong to no caller: they must not inherit the correlation of whichever write woke them.
    this.#wakeTimer = this.#deps.timers.setTimeout(() => {
      this.#wakeTimer = undefined;
      this.#wakeAt = Infinity;
      runUncorrelated(() => this.#pump());
    }, delayMs);
  }

  #pump(): void {
    if (!this.#running) return;
    if (this.#deps.writesRefused() !== undefined) {
      // After runtime.fatal nothing starts: what waits stays in the outbox for the next open.
      this.#notifyIdle();
      return;
    }
    const now = this.#deps.clock.now();
    let waitMs = Infinity;
    for (const slot of this.#byPriority) {
      if (this.#inFlight >= this.#deps.maxInFlight) break;
      if (this.#shared !== undefined && !this.#shared.delivers(slot.name)) continue;
      while (this.#inFlight < this.#deps.maxInFlight && slot.canStart(now)) this.#start(slot);
      waitMs = Math.min(waitMs, slot.waitMs(now));
    }
    if (waitMs !== Infinity) this.#wake(Math.min(waitMs, MAX_WAKE_MS));
    this.#notifyIdle();
  }

  #start(slot: HookSlot): void {
    const started = slot.begin();
    this.#inFlight++;
    const running = this.#runner
      .execute(slot, started)
      .catch((error: unknown) => this.#deps.onBackgroundError(error))
      .finally(() => {
        slot.end();
        this.#inFlight--;
        this.#executions.delete(running);
        this.#afterSettle();
      });
    this.#executions.add(running);
  }

  #afterSettle(): void {
    const waiter = this.#capacityWaiters.shift();
    if (waiter !== undefined) {
      this.#inFlight++;
      waiter();
    }
    for (const settle of this.#settleWaiters.splice(0)) settle();
    if (this.#running) this.#pump();
    else this.#notifyIdle();
  }

  #nextSettled(): Promise<void> {
    return new Promise((resolve) => this.#settleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    if (this.#inFlight > 0 || this.#recording.size > 0) return false;
    if (this.#deps.writesRefused() !== undefined) return true;
    for (const slot of this.#slots.values()) if (slot.waiting) return false;
    return true;
  }

  #notifyIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#isIdle()) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #sortSlots(): void {
    this.#byPriority = [...this.#slots.values()].sort((a, b) => b.definition.priority - a.definition.priority || a.id - b.id);
  }

  #breakerMoved(slot: HookSlot, from: CircuitState, to: CircuitState): void {
    const kind = to === 'open' ? 'hook.circuit_opened' : to === 'half_open' ? 'hook.circuit_half_open' : 'hook.circuit_closed';
    // idle() waits for it: a hook listening for breaker events has its delivery queued by then.
    const recording = this.#deps
      .recordEvents([{ kind, data: { hook: slot.name, from, to, ...(to === 'open' ? { code: 'CIRCUIT_OPEN' } : {}) } }])
      .catch((error: unknown) => this.#deps.onBackgroundError(error))
      .finally(() => {
        this.#recording.delete(recording);
        this.#notifyIdle();
      });
    this.#recording.add(recording);
    if (to === 'half_open' || to === 'closed') this.#schedulePump();
  }
}
