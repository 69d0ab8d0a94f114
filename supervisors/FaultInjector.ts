import { checkOptionsArgument } from '../src/checkOptions.js';
import { LlmStateError } from '../src/errors.js';
import type { EventSpec } from '../src/events/eventLog.js';
import type { EventData } from '../src/events/eventKinds.js';
import { decodeStateKey } from '../src/state/keyCodec.js';
import type { Scope } from '../src/state/Scope.js';
import type { BatchOp, StorageBackend, SublevelName } from '../src/storage/index.js';
import { seededRandom } from '../src/seededRandom.js';
import type { Timers } from '../src/timers.js';

/** Which store operations a storage fault hits. */
export interface StorageFaultSpec {
  /** Only operations touching this scope's state; every operation when omitted. */
  scope?: Scope;
  /** `batch` (every write), `get` (reads), or both when omitted. */
  op?: 'batch' | 'get';
  /** Fail this many matching operations, then stop. Unlimited when omitted. */
  count?: number;
  /** Fail each matching operation with this probability (seeded). @default 1 */
  probability?: number;
  /** Delay matching operations by this many ms instead of, or before, failing them. */
  delayMs?: number;
  /** With `delayMs`: delay only, never fail. @default false when `delayMs` is absent */
  delayOnly?: boolean;
}

export interface FaultInjectorOptions {
  storage: StorageBackend;
  /** Seed of the random choices (`probability`), so a run can be repeated exactly. */
  seed: number;
  /** `delayMs` waits on these. */
  timers: Timers;
  /** Logs `fault.injected` events. */
  record(events: EventSpec[]): Promise<void>;
  /** Throws RUNTIME_CLOSED once close() has begun: nothing can be armed or disarmed from then on. */
  assertOpen(): void;
}

interface ArmedStorageFault extends StorageFaultSpec {
  id: number;
  fired: number;
}

/**
 * `rt.faults`: rehearse failures on purpose. Storage faults are interceptors on the real write path, so
 * a failed batch leaves no trace, exactly as a real one would. Every armed fault is logged as a
 * `fault.injected` event.
 *
 * @example
 * rt.faults.crashActor('a1');                    // a1's next message crashes it
 * rt.faults.failStorage({ scope: Scope.agent('a1'), count: 2 });
 */
export class FaultInjector {
  readonly #options: FaultInjectorOptions;
  #random: () => number;
  #seed: number;
  readonly #crashes = new Map<string, number>();
  #storageFaults: ArmedStorageFault[] = [];
  #nextId = 1;
  #fired = 0;
  readonly #stopIntercepting: () => void;

  /** @internal */
  constructor(options: FaultInjectorOptions) {
    this.#options = options;
    this.#seed = options.seed;
    this.#random = seededRandom(options.seed);
    // Batch faults are checked per commit group (beforeGroup), so only reads need an interceptor; an
    // interceptor on batches would cost an await on every commit for nothing.
    this.#stopIntercepting = options.storage.intercept({
      beforeGet: (sublevel, key) => this.#beforeGet([{ type: 'del', sublevel, key }]),
      interceptsReads: () => this.#storageFaults.length > 0,
    });
  }

  /** Stops watching the store's reads: the runtime's core that owns this injector has stopped. @internal */
  detach(): void {
    this.#stopIntercepting();
  }

  /** The seed in use. */
  get seed(): number {
    return this.#seed;
  }

  /** How many injected faults have fired so far. */
  get fired(): number {
    return this.#fired;
  }

  /** The agent's next message crashes it, as if its machine had thrown. Calls add up. @throws {RUNTIME_CLOSED} */
  crashActor(agentId: string): void {
    this.#options.assertOpen();
    if (typeof agentId !== 'string' || agentId.length === 0) throw new TypeError('Expected `agentId` to be a non-empty string');
    this.#crashes.set(agentId, (this.#crashes.get(agentId) ?? 0) + 1);
    void this.#log({ fault: 'crashActor', agentId }, agentId);
  }

  /**
   * Fails (or delays) matching store operations until `count` is used up or {@link reset} is called.
   * Returns an id for the log.
   *
   * @throws {RUNTIME_CLOSED}
   */
  failStorage(spec: StorageFaultSpec = {}): number {
    this.#options.assertOpen();
    checkOptionsArgument(spec, 'spec');
    checkSpec(spec);
    const id = this.#nextId++;
    this.#storageFaults.push({ ...spec, id, fired: 0 });
    void this.#log({
      fault: 'failStorage',
      id,
      scope: spec.scope?.toString(),
      op: spec.op,
      count: spec.count,
      probability: spec.probability,
      delayMs: spec.delayMs,
    });
    return id;
  }

  /** Disarms every fault and, when given a seed, restarts the random sequence from it. @throws {RUNTIME_CLOSED} */
  reset(seed?: number): void {
    this.#options.assertOpen();
    this.#crashes.clear();
    this.#storageFaults = [];
    if (seed !== undefined) {
      this.#seed = seed;
      this.#random = seededRandom(seed);
    }
  }

  /** @internal Consumes one armed crash of `agentId`. */
  takeCrash(agentId: string): boolean {
    const armed = this.#crashes.get(agentId) ?? 0;
    if (armed === 0) return false;
    if (armed === 1) this.#crashes.delete(agentId);
    else this.#crashes.set(agentId, armed - 1);
    this.#fired++;
    return true;
  }

  /**
   * @internal Runs a scope's batch faults against one actor's commit group, so that a fault on a scope fails
   * that scope's writes (state and agent records alike), however the commit scheduler merges groups.
   */
  beforeGroup(scope: Scope | undefined): Promise<void> | undefined {
    if (this.#storageFaults.length === 0 || scope === undefined) return undefined;
    return this.#fire('batch', (fault) => fault.scope === undefined || fault.scope.equals(scope));
  }

  /**
   * @internal Runs the faults that name no scope against a batch written outside the commit path (a
   * migration's journal), so that `failStorage()` reaches every write.
   */
  beforeUnscopedBatch(): Promise<void> | undefined {
    if (this.#storageFaults.length === 0) return undefined;
    return this.#fire('batch', (fault) => fault.scope === undefined);
  }

  async #beforeGet(ops: readonly BatchOp[]): Promise<void> {
    if (this.#storageFaults.length === 0) return;
    await this.#fire('get', (fault) => fault.scope === undefined || ops.some((o) => touchesScope(o.sublevel, o.key, fault.scope!)));
  }

  async #fire(op: 'batch' | 'get', matches: (fault: ArmedStorageFault) => boolean): Promise<void> {
    for (const fault of this.#storageFaults) {
      if (fault.op !== undefined && fault.op !== op) continue;
      if (!matches(fault)) continue;
      if (fault.count !== undefined && fault.fired >= fault.count) continue;
      if (fault.probability !== undefined && this.#random() >= fault.probability) continue;
      fault.fired++;
      this.#fired++;
      if (fault.delayMs !== undefined) await new Promise<void>((resolve) => this.#options.timers.setTimeout(resolve, fault.delayMs!));
      if (fault.delayMs !== undefined && fault.delayOnly === true) continue;
      throw new LlmStateError('STORAGE_FAILED', `Injected storage fault #${fault.id} on ${op}`, { details: { injected: true, fault: fault.id } });
    }
    this.#storageFaults = this.#storageFaults.filter((f) => f.count === undefined || f.fired < f.count);
  }

  async #log(data: EventData<'fault.injected'>, agentId?: string): Promise<void> {
    try {
      await this.#options.record([{ kind: 'fault.injected', ...(agentId === undefined ? {} : { agentId }), data: JSON.parse(JSON.stringify(data)) }]);
    } catch {
      // A storage fault armed just now may refuse its own log entry; the fault still stands.
    }
  }
}

function touchesScope(sublevel: SublevelName, key: Buffer, scope: Scope): boolean {
  if (sublevel !== 'state') return false;
  return decodeStateKey(key)?.scope.equals(scope) ?? false;
}

function checkSpec(spec: StorageFaultSpec): void {
  if (typeof spec !== 'object' || spec === null) throw new TypeError('Expected the storage fault to be an object');
  const { op, count, probability, delayMs } = spec;
  if (op !== undefined && op !== 'batch' && op !== 'get') throw new TypeError(`Expected \`op\` to be 'batch' or 'get', got \`${String(op)}\``);
  if (count !== undefined && !(Number.isSafeInteger(count) && count > 0)) throw new TypeError(`Expected \`count\` to be a positive integer, got \`${String(count)}\``);
  if (probability !== undefined && !(typeof probability === 'number' && probability >= 0 && probability <= 1)) {
    throw new TypeError(`Expected \`probability\` to be a number from 0 to 1, got \`${String(probability)}\``);
  }
  if (delayMs !== undefined && !(Number.isSafeInteger(delayMs) && delayMs >= 0)) throw new TypeError(`Expected \`delayMs\` to be a non-negative integer, got \`${String(delayMs)}\``);
}
