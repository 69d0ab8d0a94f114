import type { Clock } from '../src/clock.js';
import {
  agentIndexKey,
  causalJson,
  correlationIndexKey,
  encodeCommitRecordJson,
  eventsArrayJson,
  encodeSeqKey,
  eventId,
  eventJson,
  stateEventJson,
} from '../src/events/eventLog.js';
import { encodeStateKey } from '../src/state/keyCodec.js';
import { encodeRecord } from '../src/storage/recordEnvelope.js';
import type { Scope } from '../src/state/Scope.js';
import { isUnknownOutcome, type BatchOp, type LeaseHold, type StorageBackend } from '../src/storage/index.js';
import { NO_OUTBOX, type OutboxPort, type StagedOutbox } from './OutboxPort.js';
import type { CommitGroup } from './WriteUnit.js';

/** An actor whose mailbox has writes ready to commit. */
export interface CommitParticipant {
  /** The scope whose state the group's writes change; undefined for a participant that writes none. */
  readonly scope: Scope | undefined;
  /** The lease the participant's writes depend on, in a store that several processes share. */
  readonly lease?: LeaseHold;
  /** Hands over the writes at the head of the mailbox, within the bounds, or nothing. */
  takeGroup(maxOps: number, maxBytes: number): CommitGroup | undefined;
  groupCommitted(group: CommitGroup): void;
  groupFailed(group: CommitGroup, error: unknown): void;
}

export interface CommitSchedulerOptions {
  storage: StorageBackend;
  clock: Clock;
  durability: 'process' | 'sync';
  maxBatchOps: number;
  maxBatchBytes: number;
  /** The last committed sequence, read from the store at open. */
  lastSeq: number;
}

export interface CommitMetrics {
  seq: number;
  batches: number;
  units: number;
  failedBatches: number;
}

type Taken = [CommitParticipant, CommitGroup];

const EMPTY = Buffer.alloc(0);

const scopeJsonCache = new WeakMap<Scope, string>();

/** A scope's string form as JSON text, computed once per scope object. */
function scopeJsonOf(scope: Scope): string {
  let json = scopeJsonCache.get(scope);
  if (json === undefined) scopeJsonCache.set(scope, (json = JSON.stringify(scope.toString())));
  return json;
}

/** The kind part of a scope's string form: `agent` of `agent:a1`. */
function scopeKindOf(scope: string | undefined): string | undefined {
  if (scope === undefined) return undefined;
  const colon = scope.indexOf(':');
  return colon === -1 ? scope : scope.slice(0, colon);
}

/**
 * Merges the ready groups of many actors into one backend batch, with one batch in flight at a time.
 * While a batch commits, new writes pile up in mailboxes and all go in the next batch: group commit
 * across actors, which is how the runtime approaches raw LevelDB batch throughput.
 *
 * Each batch advances the commit sequence once and writes one event-log record. Every change, its
 * event and its index entries are in the same batch, so they commit together or not at all.
 */
export class CommitScheduler {
  readonly #options: CommitSchedulerOptions;
  #ready: CommitParticipant[] = [];
  #scheduled = false;
  #flushing = false;
  #seq: number;
  #idleWaiters: (() => void)[] = [];
  #metrics = { batches: 0, units: 0, failedBatches: 0 };
  #groupCheck: ((scope: Scope | undefined) => void | Promise<void>) | undefined;
  #outbox: OutboxPort = NO_OUTBOX;

  constructor(options: CommitSchedulerOptions) {
    this.#options = options;
    this.#seq = options.lastSeq;
  }

  /** The sequence of the last batch this runtime committed (or found at open). */
  get seq(): number {
    return this.#seq;
  }

  get metrics(): CommitMetrics {
    return { seq: this.#seq, ...this.#metrics };
  }

  /**
   * Consulted for each actor's group before it joins a batch; a group it throws for fails alone, with that
   * error, and the other groups commit. The fault injector fails one scope's writes this way. @internal
   */
  checkGroups(check: (scope: Scope | undefined) => void | Promise<void>): void {
    this.#groupCheck = check;
  }

  /** Routes every committed event to the hooks that want it, in the event's own batch. @internal */
  attachOutbox(outbox: OutboxPort): void {
    this.#outbox = outbox;
  }

  /** Called by an actor when it has writes at the head of its mailbox. Each actor enqueues once. */
  enqueue(participant: CommitParticipant): void {
    this.#ready.push(participant);
    this.#schedule();
  }

  /** Resolves once no batch is waiting or in flight. */
  idle(): Promise<void> {
    if (!this.#busy()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #busy(): boolean {
    return this.#scheduled || this.#flushing || this.#ready.length > 0;
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    // nextTick runs after the current chain of promise reactions settles, so callers that continue
    // after an acknowledgement get their next write into the same batch.
    process.nextTick(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const taken = this.#take();
    if (taken.length === 0) {
      this.#notifyIdle();
      return;
    }
    this.#flushing = true;
    void this.#commit(taken).finally(() => {
      this.#flushing = false;
      if (this.#ready.length > 0) this.#schedule();
      else this.#notifyIdle();
    });
  };

  #take(): Taken[] {
    const { maxBatchOps, maxBatchBytes } = this.#options;
    const taken: Taken[] = [];
    let ops = 0;
    let bytes = 0;
    let index = 0;
    for (; index < this.#ready.length && ops < maxBatchOps && bytes < maxBatchBytes; index++) {
      const participant = this.#ready[index];
      const group = participant.takeGroup(maxBatchOps - ops, maxBatchBytes - bytes);
      if (group === undefined) continue;
      taken.push([participant, group]);
      for (const unit of group.units) ops += unit.writes.length + 1;
      bytes += group.bytes;
    }
    this.#ready = index === this.#ready.length ? [] : this.#ready.slice(index);
    return taken;
  }

  async #commit(taken: Taken[], checked = false): Promise<void> {
    if (!checked && this.#groupCheck !== undefined) {
      const kept: Taken[] = [];
      for (const one of taken) {
        try {
          // Most of the time nothing is armed and the check returns nothing: no await on the hot path.
          const pending = this.#groupCheck(one[0].scope);
          if (pending !== undefined) await pending;
          kept.push(one);
        } catch (error) {
          this.#metrics.failedBatches++;
          one[0].groupFailed(one[1], error);
        }
      }
      if (kept.length === 0) return;
      taken = kept;
    }
    let wrote: boolean;
    try {
      wrote = await this.#write(taken);
    } catch (error) {
      // A batch that may have been written is not written again: every group in it is told what is known.
      if (taken.length === 1 || isUnknownOutcome(error)) {
        this.#metrics.failedBatches++;
        for (const [participant, group] of taken) participant.groupFailed(group, error);
        return;
      }
      // Retry each actor's group on its own, so that one bad group cannot fail the others.
      for (const one of taken) await this.#commit([one], true);
      return;
    }
    if (wrote) this.#metrics.batches++;
    for (const [participant, group] of taken) {
      this.#metrics.units += group.units.length;
      participant.groupCommitted(group);
    }
  }

  async #write(taken: Taken[]): Promise<boolean> {
    const timestamp = this.#options.clock.now();
    let attempted: number | undefined;
    let staged: StagedOutbox | undefined;
    let fence: LeaseHold[] | undefined;
    for (const [participant, group] of taken) {
      if (participant.lease !== undefined) (fence ??= []).push(participant.lease);
      if (group.fence !== undefined) (fence ??= []).push(...group.fence);
    }
    let seq: number | undefined;
    try {
      seq = await this.#options.storage.commitNext(
        this.#seq,
        (next) => {
          attempted = next;
          const built = this.#build(taken, next, timestamp);
          staged = built.staged;
          return built.ops;
        },
        { sync: this.#options.durability === 'sync', fence },
      );
    } catch (error) {
      // A sequence that a failed batch was built with is not handed out again in this process.
      if (attempted !== undefined && attempted > this.#seq) this.#seq = attempted;
      (staged as StagedOutbox | undefined)?.aborted();
      throw error;
    }
    if (seq === undefined) return false;
    this.#seq = seq;
    // Before any caller is acknowledged, so a hook delivery is known as soon as its write is.
    (staged as StagedOutbox | undefined)?.committed();
    return true;
  }

  /** The operations of one batch committed as `seq`: every change, its events, their indexes and outbox entries. */
  #build(taken: Taken[], seq: number, timestamp: number): { ops: BatchOp[]; staged: StagedOutbox | undefined } {
    const ops: BatchOp[] = [];
    const events: string[] = [];
    const outbox = this.#outbox;
    const routing = outbox.active;
    let matches: Map<number, number[]> | undefined;
    // While hooks are registered, each event's correlation id, so the outbox need not parse it back out.
    const correlations: string[] = [];
    let unitCorrelation = '';
    // Hooks see the event by its index in this batch's record; pushes them onto each matching hook's list.
    const route = (kind: string, scopeKind: string | undefined, key: string | undefined) => {
      correlations.push(unitCorrelation);
      const hooks = outbox.route(kind, scopeKind, key);
      if (hooks === undefined) return;
      matches ??= new Map();
      for (const hook of hooks) {
        const list = matches.get(hook);
        if (list === undefined) matches.set(hook, [events.length - 1]);
        else list.push(events.length - 1);
      }
    };
    let correlationIds: Set<string> | undefined;
    let agentIds: Set<string> | undefined;
    for (const [participant, group] of taken) {
      const scope = participant.scope;
      const scopeJson = scope === undefined ? '' : scopeJsonOf(scope);
      const scopeKind = scope?.kind;
      for (const unit of group.units) {
        const context = unit.context;
        let causal: string;
        if (context?.correlationId === undefined) {
          unitCorrelation = eventId(seq, events.length);
          causal = causalJson(unitCorrelation, undefined, undefined, undefined, context?.principal);
        } else {
          unitCorrelation = context.correlationId;
          causal = causalJson(context.correlationId, context.causationId, context.executionId, context.hop, context.principal);
          (correlationIds ??= new Set()).add(context.correlationId);
        }
        for (const write of unit.writes) {
          const key = encodeStateKey(scope!, write.key);
          if (write.json === null) {
            ops.push({ type: 'del', sublevel: 'state', key });
            if (unit.kind !== 'clear') {
              events.push(stateEventJson('state.delete', scopeJson, write.key, causal));
              if (routing) route('state.delete', scopeKind, write.key);
            }
          } else {
            ops.push({ type: 'put', sublevel: 'state', key, value: encodeRecord({ seq, timestamp, schema: write.schema }, write.json) });
            events.push(stateEventJson('state.set', scopeJson, write.key, causal, write.json, undefined, write.schema));
            if (routing) route('state.set', scopeKind, write.key);
          }
        }
        if (unit.kind === 'clear') {
          events.push(stateEventJson('scope.clear', scopeJson, undefined, causal, undefined, unit.cleared));
          if (routing) route('scope.clear', scopeKind, undefined);
        }
        if (unit.extraOps !== undefined) ops.push(...unit.extraOps);
        if (unit.events !== undefined) {
          for (const spec of unit.events) {
            events.push(eventJson(spec, causal));
            if (spec.agentId !== undefined) (agentIds ??= new Set()).add(spec.agentId);
            if (routing) route(spec.kind, scopeKindOf(spec.scope), undefined);
          }
        }
      }
    }
    // Deletes of absent keys change nothing, so they need no batch and no sequence number.
    if (events.length === 0 && ops.length === 0) return { ops, staged: undefined };
    const eventsJson = eventsArrayJson(events);
    ops.push({ type: 'put', sublevel: 'events', key: encodeSeqKey(seq), value: encodeCommitRecordJson(seq, timestamp, eventsJson) });
    if (correlationIds !== undefined) {
      for (const id of correlationIds) ops.push({ type: 'put', sublevel: 'eventsByCorrelation', key: correlationIndexKey(id, seq), value: EMPTY });
    }
    // State events are found by scanning; only events that name an agent are indexed by it, so plain
    // writes to agent scopes cost no index entry.
    if (agentIds !== undefined) {
      for (const id of agentIds) ops.push({ type: 'put', sublevel: 'eventsByAgent', key: agentIndexKey(id, seq), value: EMPTY });
    }
    let staged: StagedOutbox | undefined;
    if (matches !== undefined) {
      staged = outbox.stage({ seq, timestamp, events, eventsJson, correlations }, matches);
      for (const op of staged.ops) ops.push(op);
    }
    return { ops, staged };
  }

  #notifyIdle(): void {
    if (this.#busy()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
