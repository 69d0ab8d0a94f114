import type { Clock } from '../clock.js';
import { LlmStateError } from '../errors.js';
import { redactError, redactView } from '../redaction/index.js';
import type { EventSpec } from '../events/eventLog.js';
import { isUnknownOutcome, type BatchOp, type LeaseHold, type StorageBackend } from '../storage/index.js';
import type { CorrelationContext } from '../events/correlation.js';
import { auditSink, cacheInvalidationSink, metricsSink, type BuiltinSink, type InvalidationKeyspace, type ObservedMetrics } from './builtinSinks.js';
import type { Dispatcher, HookStatus } from './Dispatcher.js';
import type { HookDefinition } from './hookDefinition.js';
import { definitionPut, readDefinition, readDefinitions, type StoredHookDefinition } from './hookRegistryRecords.js';
import type { HookRedactionPaths } from './hookRedaction.js';
import type { HookSlot } from './HookSlot.js';
import { loadOutbox } from './loadOutbox.js';
import { deliveredTexts, eventCount, type PendingEntry } from './pendingEntry.js';
import { encodeDeadLetter, hookSeqKey } from './outboxRecords.js';

/** A registered hook: its definition (its `options` shown redacted) and how it is doing. */
export interface HookInfo extends HookStatus {
  definition: HookDefinition;
}

export interface HookRegistryDeps {
  storage: StorageBackend;
  clock: Clock;
  dispatcher: Dispatcher;
  redaction: HookRedactionPaths;
  observed: ObservedMetrics;
  /** Logs events through the commit path; with a `fence`, refused (LEASE_LOST) once one of its leases is lost. */
  recordEvents(events: EventSpec[], extraOps?: BatchOp[], context?: CorrelationContext, fence?: readonly LeaseHold[]): Promise<void>;
  /** Loads a module in the pool and checks its default export. */
  probe(module: string, timeoutMs: number): Promise<void>;
  /** Waits for acknowledged writes to reach the outbox. */
  commitsIdle(): Promise<void>;
}

/**
 * The registered hooks: each change is recorded (its event and its stored registration in one batch)
 * before the dispatcher sees it, so what runs is what comes back after a restart. Callers serialise
 * changes: each reads a hook's state, waits, then writes it.
 */
export class HookRegistry {
  readonly #deps: HookRegistryDeps;
  /** The keyspaces of the cacheInvalidation hooks registered here: a registration read from the store has none. */
  readonly #keyspaces = new Map<string, InvalidationKeyspace>();

  constructor(deps: HookRegistryDeps) {
    this.#deps = deps;
  }

  /** Reads registrations and what waited in the outbox. */
  async load(): Promise<void> {
    const { storage, dispatcher, clock } = this.#deps;
    const slots = new Map<string, HookSlot>();
    for (const { unregisteredAt, ...definition } of await readDefinitions(storage)) {
      if (unregisteredAt !== undefined) {
        this.#deps.redaction.retire(definition);
        continue;
      }
      slots.set(definition.name, dispatcher.upsert(definition));
      dispatcher.setSink(definition.name, this.#sinkFor(definition, undefined), definition.builtin === 'cacheInvalidation');
    }
    // On a shared store, a hook's entries are read by the process that takes its delivery lease, and
    // an entry of a hook not registered here may be another process's to deliver.
    if (dispatcher.shared) return;
    const { ops } = await loadOutbox(storage, slots, clock.now());
    if (ops.length > 0) await storage.batch(ops);
  }

  /** @throws {HOOK_FAILED} when the module cannot be loaded. */
  async register(resolved: HookDefinition, keyspace: InvalidationKeyspace | undefined): Promise<HookInfo> {
    let definition = resolved;
    if (definition.builtin === undefined) {
      try {
        await this.#deps.probe(definition.module, Math.max(definition.timeoutMs, 10_000));
      } catch (error) {
        // A module that throws at import may quote a secret in its message.
        const shown = redactError(error) as Error;
        throw new LlmStateError('HOOK_FAILED', `The hook ${definition.name} cannot be registered: ${shown.message}`, {
          cause: shown,
          details: { hook: definition.name, module: definition.module },
        });
      }
    }
    definition = await this.#writeRegistration(definition);
    const slot = this.#deps.dispatcher.upsert(definition);
    this.#deps.redaction.revive(definition.name);
    if (keyspace === undefined) this.#keyspaces.delete(definition.name);
    else this.#keyspaces.set(definition.name, keyspace);
    this.#deps.dispatcher.setSink(definition.name, this.#sinkFor(definition, keyspace), false);
    await this.#deps.dispatcher.claimDelivery(definition.name);
    return this.#info(slot);
  }

  /**
   * Writes a registration, keeping the hook disabled if it is (by its latency budget, or by hand) until
   * enable() says otherwise; returns the definition as written last. A latency-budget disable runs outside
   * the registry's turn: one that begins during the write changed the definition it had in memory, and
   * wrote it after this one, so the registration is written again, disabled.
   */
  async #writeRegistration(resolved: HookDefinition): Promise<HookDefinition> {
    const { dispatcher, recordEvents } = this.#deps;
    const event: EventSpec = { kind: 'hook.registered', data: { hook: resolved.name, module: resolved.module, on: resolved.on } };
    let events = [event];
    for (;;) {
      const mark = dispatcher.runner.budgetDisablesBegun;
      const disabled = dispatcher.slot(resolved.name)?.definition.disabled;
      const definition = disabled === undefined ? resolved : { ...resolved, disabled };
      await recordEvents(events, [definitionPut(definition)]);
      if (dispatcher.runner.budgetDisablesBegun === mark) return definition;
      await dispatcher.runner.budgetDisablesSettled();
      if (dispatcher.slot(resolved.name)?.definition.disabled === disabled) return definition;
      events = [];
    }
  }

  /** Removes a hook; what still waited for it is dead-lettered (reason `unregistered`). False for an unknown name. */
  async unregister(name: string): Promise<boolean> {
    const definition = this.#deps.dispatcher.slot(name)?.definition;
    if (definition === undefined) return false;
    const keyspace = this.#keyspaces.get(name);
    this.#deps.redaction.retire(definition);
    this.#keyspaces.delete(name);
    // Batches already routed to the hook commit into its queue first, so they are dead-lettered too.
    const { dispatcher, recordEvents } = this.#deps;
    const waiting = await dispatcher.remove(name, this.#deps.commitsIdle);
    const now = this.#deps.clock.now();
    const unregistered = (count: number, ops: BatchOp[] = [], fence?: readonly LeaseHold[]) =>
      recordEvents([{ kind: 'hook.unregistered', data: { hook: name, deadLettered: count } }], [definitionPut({ ...definition, unregisteredAt: now }), ...ops], undefined, fence);
    try {
      if (!dispatcher.shared) {
        await unregistered(waiting.reduce((sum, entry) => sum + eventCount(entry), 0), deadLettered(name, waiting, now));
        return true;
      }
      // The outbox is swept with the registration, under the hook's delivery lease (see sweepUnregistered):
      // what another process staged, and the deliverer had not read yet, would otherwise wait there for good.
      const swept = await dispatcher.sweepUnregistered(name, true, (outbox, fence) => unregistered(outbox.deadLettered, outbox.ops, fence));
      if (swept === undefined) await unregistered(0);
      return true;
    } catch (error) {
      await this.#afterFailedUnregister(definition, keyspace, waiting, error);
      throw error;
    }
  }

  /**
   * An unregistration that failed wrote nothing (its batch is all or nothing): the hook is put back as it
   * was, with what waited for it, so that this process goes on routing to it and a retry finds it. On a
   * shared store what waited is in the outbox, and taking the delivery back reads it; there, a commit
   * whose outcome is unknown may have landed, and the stored registration decides.
   */
  async #afterFailedUnregister(definition: HookDefinition, keyspace: InvalidationKeyspace | undefined, waiting: PendingEntry[], error: unknown): Promise<void> {
    const { dispatcher, redaction } = this.#deps;
    if (isUnknownOutcome(error)) {
      // Should this read fail too, the announcement of the commit, if it landed, makes the same read.
      await this.refresh([definition.name]).catch(() => {});
      return;
    }
    const slot = dispatcher.upsert(definition);
    redaction.revive(definition.name);
    if (keyspace !== undefined) this.#keyspaces.set(definition.name, keyspace);
    dispatcher.setSink(definition.name, this.#sinkFor(definition, keyspace), definition.builtin === 'cacheInvalidation' && keyspace === undefined);
    if (dispatcher.shared) await dispatcher.claimDelivery(definition.name);
    else for (const entry of waiting) slot.restore(entry);
    dispatcher.poke();
  }

  /**
   * Takes in what another process changed of the registrations named (or of all), on a store that several
   * share: a hook registered there is registered here too, so that this process's commits stage its
   * deliveries and this process may take its delivery over; a changed registration (disabled, enabled,
   * registered again with other options) applies here; a hook unregistered there is removed here, and what
   * this process had queued for it is dead-lettered, as the unregistering process did with its own.
   * Reads the store, so a change of this process's that committed since is what it finds.
   */
  async refresh(names: readonly string[] | 'all'): Promise<void> {
    const { dispatcher } = this.#deps;
    let read = await this.#readPastBudgetDisables(names);
    const affected = names === 'all' ? new Set([...read.stored.keys(), ...dispatcher.slots.map((slot) => slot.name)]) : new Set(names);
    for (const name of affected) {
      if (dispatcher.runner.budgetDisablesBegun !== read.mark) read = await this.#readPastBudgetDisables(names);
      const found = read.stored.get(name);
      if (found === undefined || found.unregisteredAt !== undefined) await this.#removeHere(name);
      else await this.#takeIn(found);
    }
  }

  /**
   * The stored registrations named (or all), read once every latency-budget disable begun before the read
   * is written. Such a disable runs outside the registry's turn, and changes memory before the store.
   */
  async #readPastBudgetDisables(names: readonly string[] | 'all'): Promise<{ stored: Map<string, StoredHookDefinition>; mark: number }> {
    const { storage, dispatcher } = this.#deps;
    for (;;) {
      const mark = dispatcher.runner.budgetDisablesBegun;
      await dispatcher.runner.budgetDisablesSettled();
      const stored = new Map<string, StoredHookDefinition>();
      if (names === 'all') {
        for (const definition of await readDefinitions(storage)) stored.set(definition.name, definition);
      } else {
        for (const name of names) {
          const definition = await readDefinition(storage, name);
          if (definition !== undefined) stored.set(name, definition);
        }
      }
      if (dispatcher.runner.budgetDisablesBegun === mark) return { stored, mark };
    }
  }

  async #takeIn(definition: HookDefinition): Promise<void> {
    const { dispatcher, redaction } = this.#deps;
    const { name } = definition;
    const slot = dispatcher.slot(name);
    if (slot !== undefined && JSON.stringify(slot.definition) === JSON.stringify(definition)) return;
    const before = slot?.definition;
    const taken = dispatcher.upsert(definition);
    // A built-in's main-thread half follows what the hook is now; a keyspace given here is kept.
    const keyspace = definition.builtin === 'cacheInvalidation' ? this.#keyspaces.get(name) : undefined;
    const parked = definition.builtin === 'cacheInvalidation' && keyspace === undefined;
    if (before === undefined || before.builtin !== definition.builtin || JSON.stringify(before.options) !== JSON.stringify(definition.options)) {
      dispatcher.setSink(name, this.#sinkFor(definition, keyspace), parked);
    }
    if (before === undefined) {
      redaction.revive(name);
      // A hook parked here could not run what it took: its delivery is left to a process that can.
      if (!parked) await dispatcher.claimDelivery(name);
      return;
    }
    // Enabled again: it starts afresh, as enable() does where it is called.
    if (before.disabled !== undefined && definition.disabled === undefined) taken.enable();
    dispatcher.poke();
  }

  async #removeHere(name: string): Promise<void> {
    const definition = this.#deps.dispatcher.slot(name)?.definition;
    if (definition === undefined) return;
    this.#deps.redaction.retire(definition);
    this.#keyspaces.delete(name);
    const { dispatcher, storage } = this.#deps;
    // What this process queued is in the outbox, which is swept (a refresh happens only on a shared store).
    await dispatcher.remove(name, this.#deps.commitsIdle);
    await dispatcher.sweepUnregistered(name, false, async (outbox, fence) => {
      if (outbox.ops.length > 0) await storage.batch(outbox.ops, { fence });
    });
  }

  /** Disables a hook (with `disabled`) or enables it again (without). False for an unknown name. */
  async setDisabled(name: string, disabled: HookDefinition['disabled']): Promise<boolean> {
    const slot = this.#deps.dispatcher.slot(name);
    if (slot === undefined) return false;
    const { disabled: _previous, ...base } = slot.definition;
    const definition: HookDefinition = disabled === undefined ? base : { ...base, disabled };
    const event: EventSpec =
      disabled === undefined
        ? { kind: 'hook.enabled', data: { hook: name } }
        : { kind: 'hook.disabled', data: { hook: name, reason: disabled.reason } };
    await this.#deps.recordEvents([event], [definitionPut(definition)]);
    if (disabled === undefined) slot.enable();
    else slot.disable(disabled);
    // Enabled, its waiting entries may start; disabled, they are parked and idle() stops waiting for them.
    this.#deps.dispatcher.poke();
    return true;
  }

  /** Every registered hook, highest priority first. */
  list(): HookInfo[] {
    return this.#deps.dispatcher.slots.map((slot) => this.#info(slot));
  }

  get(name: string): HookInfo | undefined {
    const slot = this.#deps.dispatcher.slot(name);
    return slot === undefined ? undefined : this.#info(slot);
  }

  #info(slot: HookSlot): HookInfo {
    const { definition } = slot;
    // Options are configuration, and may hold a webhook URL's password or a key: shown redacted, used whole.
    const shown = definition.options === undefined ? definition : { ...definition, options: redactView(definition.options) };
    return { definition: shown, ...this.#deps.dispatcher.status(slot) };
  }

  #sinkFor(definition: HookDefinition, keyspace: InvalidationKeyspace | undefined): BuiltinSink | undefined {
    switch (definition.builtin) {
      case 'audit':
        return definition.options !== undefined && (definition.options as { file?: unknown }).file !== undefined ? undefined : auditSink();
      case 'metrics':
        return metricsSink(this.#deps.observed);
      case 'cacheInvalidation':
        return keyspace === undefined ? undefined : cacheInvalidationSink(keyspace);
      default:
        return undefined;
    }
  }
}

/** What moves `waiting` entries of an unregistered hook from the outbox to its dead letters. */
function deadLettered(name: string, waiting: readonly PendingEntry[], now: number): BatchOp[] {
  const ops: BatchOp[] = [];
  for (const entry of waiting) {
    const key = hookSeqKey(name, entry.seq);
    ops.push({ type: 'del', sublevel: 'outbox', key });
    ops.push({ type: 'put', sublevel: 'hookDeadLetters', key, value: encodeDeadLetter({ hookName: name, seq: entry.seq, reason: 'unregistered', attempts: entry.attempts, at: now, events: deliveredTexts(entry) }) });
  }
  return ops;
}
