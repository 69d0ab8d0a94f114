import type { Clock } from '../clock.js';
import { isLlmStateError } from '../errors.js';
import type { LeaseHold, StorageBackend } from '../storage/index.js';
import { repeatEvery, type Timers } from '../timers.js';
import { readDefinition, readDefinitions } from './hookRegistryRecords.js';
import type { HookSlot } from './HookSlot.js';
import { hasOutboxEntries, loadOutbox, type LoadedOutbox } from './loadOutbox.js';

/** The leases of a store several processes share, as hook delivery needs them. */
export interface DeliveryLeases {
  /** The lease on `resource` for this process, or undefined while another live process holds it. */
  tryAcquire(resource: string): Promise<LeaseHold | undefined>;
  release(hold: LeaseHold): Promise<void>;
}

export interface SharedDeliveryDeps {
  storage: StorageBackend;
  leases: DeliveryLeases;
  clock: Clock;
  timers: Timers;
  /** How often a process looks for hooks to take over, and for entries other processes staged. */
  pollMs: number;
  slots(): readonly HookSlot[];
  /** Entries were queued: look for work. */
  poke(): void;
  reportError(error: unknown): void;
}

/** One holding of a hook's delivery lease by this process, as the commit path knows it: opaque. */
export type DeliveryTenure = object;

/** A hook this process delivers: its lease, and how far it has read the hook's outbox. */
interface Delivery {
  hold: LeaseHold;
  /** Every entry up to this sequence is queued here, or was delivered. */
  through: number;
  /** Entries above `through` that this process queued itself as it staged them. */
  staged: Set<number>;
  /**
   * Sequences of staged commits that failed, to be read again even at or below `through`: a read may have
   * skipped the sequence while it was staged, and it may hold an entry after all, another process's
   * commit that took the sequence once this one rolled back, or this one's, when its outcome is unknown.
   */
  failed: Set<number>;
}

const DELIVERY_PREFIX = 'hook:';

/** The lease resource of delivering `hookName`: one process in the cluster holds it at a time. */
export function deliveryResource(hookName: string): string {
  return `${DELIVERY_PREFIX}${hookName}`;
}

/** The hook whose delivery `resource` is the lease of, or undefined for another lease (a scope's). */
export function hookOfDeliveryResource(resource: string): string | undefined {
  return resource.startsWith(DELIVERY_PREFIX) ? resource.slice(DELIVERY_PREFIX.length) : undefined;
}

/**
 * Hook delivery on a store that several processes share. Each hook is delivered by one process at a time,
 * the holder of its delivery lease: every process stages outbox entries with its commits, and the holder
 * queues its own at once and reads the others' from the outbox every `pollMs`. The holder records each
 * execution under its lease (a fenced batch), so a success is recorded once even when a paused holder
 * wakes up after another took over; the hook's breaker lives in the one process that delivers it. When a
 * holder dies, its lease expires and a process that has the hook registered takes it over, with every
 * entry still in the outbox.
 */
export class SharedDelivery {
  readonly #deps: SharedDeliveryDeps;
  readonly #deliveries = new Map<string, Delivery>();
  /** Hooks unregistered here whose outbox another live process delivered: swept once their lease is free. */
  readonly #unswept = new Set<string>();
  /** Whether the first round has looked for them in the store: those of processes that stopped first. */
  #lookedForUnswept = false;
  #stopPolling: (() => void) | undefined;
  #round: Promise<void> | undefined;
  #closed = false;

  constructor(deps: SharedDeliveryDeps) {
    this.#deps = deps;
  }

  /** Whether this process delivers `hookName` now. */
  delivers(hookName: string): boolean {
    return this.#deliveries.has(hookName);
  }

  /** The lease an execution of `hookName` records under. */
  fenceOf(hookName: string): LeaseHold[] | undefined {
    const delivery = this.#deliveries.get(hookName);
    return delivery === undefined ? undefined : [delivery.hold];
  }

  /**
   * This process staged an entry of a hook it delivers: it queues it itself once the batch commits, so
   * reading the outbox skips it. Returns the tenure it was staged under: the entry is this process's to
   * queue only while that tenure lasts ({@link stillDelivers}).
   */
  staging(hookName: string, seq: number): DeliveryTenure | undefined {
    const delivery = this.#deliveries.get(hookName);
    delivery?.staged.add(seq);
    return delivery;
  }

  /**
   * Whether `tenure` is still this process's delivery of `hookName`. The lease lost (and perhaps taken
   * again) since an entry was staged, the entry is read from the outbox like any other.
   */
  stillDelivers(hookName: string, tenure: DeliveryTenure): boolean {
    return this.#deliveries.get(hookName) === tenure;
  }

  /**
   * A staged entry's batch failed: its sequence may be taken by another process's commit, or (its outcome
   * unknown) be this one's after all. Either way the entry is read from the outbox: by the next read as any
   * other, or, when a read passed the sequence while it was staged, read again.
   */
  unstaged(hookName: string, seq: number, tenure: DeliveryTenure): void {
    const delivery = this.#deliveries.get(hookName);
    if (delivery !== tenure || delivery === undefined) return;
    delivery.staged.delete(seq);
    // A read under way that skipped it is seen to by that read (see #read).
    if (seq <= delivery.through) delivery.failed.add(seq);
  }

  /**
   * Starts taking hooks over and reading the outbox; the first round runs at once. Hooks unregistered
   * while no process could sweep their entries (their deliverer died, and those that heard stopped) are
   * swept by the rounds, once their lease is free.
   */
  start(): void {
    if (this.#stopPolling !== undefined || this.#closed) return;
    this.#stopPolling = repeatEvery(this.#deps.timers, this.#deps.pollMs, () => this.#startRound());
    this.#startRound();
  }

  /** Resolves once the round under way, if any, is over. */
  settled(): Promise<void> {
    return this.#round ?? Promise.resolve();
  }

  /**
   * The delivery lease of `hookName` was lost (to a process that took it over after it expired): what is
   * queued here is left in the outbox for the new holder.
   */
  lost(hookName: string, slot: HookSlot | undefined): void {
    if (!this.#deliveries.delete(hookName)) return;
    slot?.abandonQueued();
  }

  /**
   * Moves every outbox entry of `hookName`, which was unregistered, to its dead letters, under the hook's
   * delivery lease: the one this process held, or one taken now. Holding it, no process runs an entry
   * while it is swept, so none is both run and dead-lettered. `commit` writes the sweep, fenced. Runs in
   * turn with the rounds, so that no round takes the lease again meanwhile.
   *
   * While another live process delivers the hook, the sweep is left to it: it sweeps as it hears of the
   * unregistration. In case it dies first, this process sweeps once the lease is free (each round), and a
   * process that starts delivering sweeps every unregistered hook's entries (see {@link start}).
   *
   * @param unregistering The caller writes the unregistration with the sweep. Otherwise the stored
   * registration is read again under the lease: a hook registered again meanwhile is not swept.
   * @returns what was swept, or undefined when it was left to another process (or to a later round).
   */
  sweepUnregistered(hookName: string, unregistering: boolean, commit: (swept: LoadedOutbox, fence: LeaseHold[]) => Promise<void>): Promise<LoadedOutbox | undefined> {
    return this.#inTurn(async () => {
      const held = this.#deliveries.get(hookName)?.hold;
      this.#deliveries.delete(hookName);
      // Closing without the lease: a process that delivers hooks sweeps once it is free, or as it starts.
      if (this.#closed && held === undefined) return undefined;
      const hold = held ?? (await this.#deps.leases.tryAcquire(deliveryResource(hookName)));
      if (hold === undefined) {
        this.#unswept.add(hookName);
        return undefined;
      }
      try {
        return await this.#sweepHolding(hold, hookName, unregistering, commit);
      } catch (error) {
        this.#unswept.add(hookName);
        // Taken over meanwhile (this process was paused past the lease): the new holder sweeps.
        if (isLlmStateError(error, 'LEASE_LOST')) return undefined;
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopPolling?.();
    await this.#round;
  }

  /**
   * Gives up the delivery of every hook delivered here, and its lease, once {@link close}d: what is queued
   * here is left in the outbox, and an execution still running records nothing, for the process that takes
   * the lease next. For a runtime that refuses writes (runtime.fatal).
   */
  async relinquish(): Promise<void> {
    const deliveries = [...this.#deliveries];
    this.#deliveries.clear();
    for (const [hookName] of deliveries) this.#deps.slots().find((slot) => slot.name === hookName)?.abandonQueued();
    await Promise.all(deliveries.map(([, delivery]) => this.#deps.leases.release(delivery.hold)));
  }

  /**
   * Takes `slot`'s hook over now if its lease is free, and queues what waits for it: a hook registered
   * while the process runs delivers at once, as on a store of one process.
   */
  claim(slot: HookSlot): Promise<void> {
    return this.#serially(async () => {
      if (await this.#takeAndRead(slot)) this.#deps.poke();
    });
  }

  #startRound(): void {
    if (this.#round !== undefined || this.#closed) return;
    void this.#serially(async () => {
      let queued = false;
      for (const slot of this.#deps.slots()) {
        if (this.#closed) return;
        queued = (await this.#takeAndRead(slot)) || queued;
      }
      if (queued) this.#deps.poke();
      if (!this.#lookedForUnswept) {
        this.#lookedForUnswept = true;
        for (const definition of await readDefinitions(this.#deps.storage)) {
          if (definition.unregisteredAt !== undefined && (await hasOutboxEntries(this.#deps.storage, definition.name))) this.#unswept.add(definition.name);
        }
      }
      for (const hookName of this.#unswept) {
        if (this.#closed) return;
        await this.#sweepOnceFree(hookName);
      }
    });
  }

  /** Runs `work` after the round under way; one at a time, so a hook is never read twice at once. */
  #serially(work: () => Promise<void>): Promise<void> {
    return this.#inTurn(work).catch((error: unknown) => this.#deps.reportError(error));
  }

  /** As {@link #serially}, for work whose caller is told how it went. */
  #inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = (this.#round ?? Promise.resolve()).then(work);
    const round: Promise<void> = run.then(
      () => {},
      () => {},
    );
    this.#round = round;
    void round.finally(() => {
      if (this.#round === round) this.#round = undefined;
    });
    return run;
  }

  /** Takes the lease of `slot`'s hook if it is free, and reads its outbox if this process delivers it. */
  async #takeAndRead(slot: HookSlot): Promise<boolean> {
    if (this.#closed) return false;
    let delivery = this.#deliveries.get(slot.name);
    if (delivery === undefined) {
      // A parked hook (a cacheInvalidation built-in without its keyspace here) could not run what it took.
      if (slot.detached) return false;
      const hold = await this.#deps.leases.tryAcquire(deliveryResource(slot.name));
      if (hold === undefined) return false;
      // Removed while the lease was being taken: nothing here would run what it took, or give it back.
      if (!this.#deps.slots().includes(slot)) {
        await this.#deps.leases.release(hold);
        return false;
      }
      delivery = { hold, through: 0, staged: new Set(), failed: new Set() };
      this.#deliveries.set(slot.name, delivery);
    }
    return this.#read(slot, delivery);
  }

  /** What {@link sweepUnregistered} left to another process, done once its delivery lease is free. */
  async #sweepOnceFree(hookName: string): Promise<void> {
    // Registered here again: its entries are to be delivered.
    if (this.#deps.slots().some((slot) => slot.name === hookName)) {
      this.#unswept.delete(hookName);
      return;
    }
    const hold = await this.#deps.leases.tryAcquire(deliveryResource(hookName));
    if (hold === undefined) return;
    await this.#sweepHolding(hold, hookName, false, async (swept, fence) => {
      if (swept.ops.length > 0) await this.#deps.storage.batch(swept.ops, { fence });
    });
  }

  /**
   * The sweep, under `hold` (released at the end); undefined when the hook was registered again meanwhile
   * (read again unless `unregistering`), whose entries are then to be delivered. A hook swept, or found
   * registered again, is no longer left to sweep.
   */
  async #sweepHolding(hold: LeaseHold, hookName: string, unregistering: boolean, commit: (swept: LoadedOutbox, fence: LeaseHold[]) => Promise<void>): Promise<LoadedOutbox | undefined> {
    try {
      if (!unregistering && !(await this.#stillUnregistered(hookName))) {
        this.#unswept.delete(hookName);
        return undefined;
      }
      const swept = await this.#sweep(hookName);
      await commit(swept, [hold]);
      this.#unswept.delete(hookName);
      return swept;
    } finally {
      await this.#deps.leases.release(hold);
    }
  }

  async #stillUnregistered(hookName: string): Promise<boolean> {
    const stored = await readDefinition(this.#deps.storage, hookName);
    return stored === undefined || stored.unregisteredAt !== undefined;
  }

  /** Every outbox entry of `hookName`, as dead letters (reason `unregistered`). */
  #sweep(hookName: string): Promise<LoadedOutbox> {
    return loadOutbox(this.#deps.storage, new Map(), this.#deps.clock.now(), { hookName, after: 0, skip: () => false });
  }

  /**
   * Queues the entries of `slot`'s hook that other processes committed since the last read, and those of
   * failed staged commits that a read may have skipped.
   */
  async #read(slot: HookSlot, delivery: Delivery): Promise<boolean> {
    const { storage, clock } = this.#deps;
    const slots = new Map([[slot.name, slot]]);
    const { through } = delivery;
    const again = new Set([...delivery.failed].filter((seq) => seq <= through));
    let after = through;
    for (const seq of again) after = Math.min(after, seq - 1);
    const skippedStaged = new Set<number>();
    const skip = (seq: number) => {
      if (delivery.staged.has(seq)) {
        skippedStaged.add(seq);
        return true;
      }
      return seq <= through && !again.has(seq);
    };
    const read = await loadOutbox(storage, slots, clock.now(), { hookName: slot.name, after, skip });
    // Lost while reading: the new holder delivers them.
    if (this.#deliveries.get(slot.name) !== delivery) {
      if (read.loaded > 0) slot.abandonQueued();
      return false;
    }
    for (const seq of again) delivery.failed.delete(seq);
    // Skipped as staged, and its batch failed while this read went on: read it again next time.
    for (const seq of skippedStaged) if (!delivery.staged.has(seq)) delivery.failed.add(seq);
    delivery.through = Math.max(through, read.through);
    for (const seq of delivery.staged) if (seq <= delivery.through) delivery.staged.delete(seq);
    if (read.ops.length > 0) await storage.batch(read.ops, { fence: [delivery.hold] });
    return read.loaded > 0;
  }
}
