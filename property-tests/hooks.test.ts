/**
 * Hooks under worker crashes and restarts (DESIGN §3 invariants 3 and 5, §7). Two hooks with different
 * filters watch a few scopes while generated commands write, delete, clear, re-register the hooks, and
 * close and reopen the runtime on the same store, some closes with no grace so that running executions
 * are abandoned. Some writes ask the hook (test/fixtures/hooks/crashOnFirstAttempt.mjs) to kill its
 * worker with process.exit, kill it with an uncaught error, throw, or hang past its time limit, on the
 * first attempt only, so every retry succeeds; or to succeed and leave a timer that kills the worker
 * once it is idle. Some writes fail (an injected storage fault, a transaction that throws) and must
 * leave nothing for any hook.
 *
 * Whenever the hooks are idle, every committed event a hook's filter matches (read back from the event
 * log) must be in exactly one succeeded execution of that hook, no event it does not match may have
 * reached it, its follow-up writes must be there, nothing may be dead-lettered or left in the outbox,
 * live or after reopening, and no hook's failure may reach the top of the host process.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createRuntime, Scope, type LoggedEvent, type Runtime } from '../src/index.js';
import { runs } from './budget.js';

const HOOK_MODULE = new URL('../test/fixtures/hooks/crashOnFirstAttempt.mjs', import.meta.url);
const THREADS = 2;
const TIMEOUT_MS = 1000;

type Crash = 'exit' | 'uncaught' | 'throw' | 'hang' | 'late';

/** The hooks under test, with the test's own reading of which events each one takes. */
const HOOKS = [
  {
    name: 'k-keys',
    on: ['state.set'],
    filter: { keyPrefix: 'k' },
    // Follow-up writes go to `global/ack.*`, which neither hook matches.
    options: { ack: true },
    matches: (event: LoggedEvent) => event.kind === 'state.set' && event.key !== undefined && event.key.startsWith('k'),
  },
  {
    name: 'agent-scopes',
    on: ['state.*', 'scope.clear'],
    filter: { scopeKinds: ['agent' as const] },
    options: { ack: false },
    matches: (event: LoggedEvent) =>
      (event.kind.startsWith('state.') || event.kind === 'scope.clear') && event.scope !== undefined && event.scope.split(':')[0] === 'agent',
  },
];

/** The scopes the commands write; `global` is left to the hooks' follow-up writes. */
const SCOPES = [Scope.agent('a1'), Scope.agent('a2'), Scope.session('s1'), Scope.workflow('w1')];
const KEYS = ['k1', 'k2', 'k.x', 'note', 'x'];

interface HookConfig {
  batchSize: number;
  concurrency: number;
  failureThreshold: number;
  cooldownMs: number;
}

interface RunConfig {
  hooks: HookConfig[];
  /** `closeGraceMs` of the first runtime; each restart picks its own. */
  graceMs: number;
  /** How the first write, which both hooks match, crashes its first attempt. */
  first: Crash;
}

interface Write {
  scope: number;
  key: string;
  crash?: Crash;
  sleepMs: number;
}

interface Model {
  /** Values `n` of acknowledged sets made by the commands, each set once. */
  acked: Set<number>;
  /** Values `n` of sets that were rejected: they must leave no event, so no hook sees them. */
  rejected: Set<number>;
  next: number;
  /** Delivery checks made while the run went on. */
  checks: number;
}

interface Real {
  rt: Runtime;
  dataDir: string;
  config: RunConfig;
}

/** What every run adds up to, to show that the runs did crash workers and abandon executions. */
const totals = { runs: 0, failedExecutions: 0, abandonedAtClose: 0, restarts: 0 };

type Command = fc.AsyncCommand<Model, Real>;

/**
 * Exceptions that reached the top of the host process during the current run. A hook's failure must
 * never get there; catching them here, instead of letting mocha fail the whole test, makes one a
 * failure of the run that caused it, which fast-check shrinks and reports with its seed.
 */
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => void uncaught.push(error);

function assertNothingUncaught(): void {
  if (uncaught.length === 0) return;
  const first = uncaught[0];
  throw new Error(`${uncaught.length} exception(s) reached the host process; the first: ${first instanceof Error ? first.stack : String(first)}`, { cause: first });
}

function open(dataDir: string, graceMs: number, autoStart = true): Promise<Runtime> {
  return createRuntime({ dataDir, hooks: { threads: THREADS, closeGraceMs: graceMs, autoStart } });
}

async function register(rt: Runtime, index: number, config: HookConfig): Promise<void> {
  const { matches: _matches, ...hook } = HOOKS[index];
  await rt.hooks.register({
    ...hook,
    module: HOOK_MODULE,
    timeoutMs: TIMEOUT_MS,
    // A write's first attempt fails on purpose; a later one fails only when a late crash or a slow
    // worker start takes its thread. A close abandons attempts without counting them. 20 never run out.
    maxAttempts: 20,
    backoff: { initialMs: 1, maxMs: 5 },
    batchSize: config.batchSize,
    concurrency: config.concurrency,
    breaker: { failureThreshold: config.failureThreshold, cooldownMs: config.cooldownMs },
  });
}

async function write(real: Real, model: Model, w: Write): Promise<void> {
  const n = model.next++;
  await real.rt.state.set(SCOPES[w.scope], w.key, { n, ...(w.crash === undefined ? {} : { crash: w.crash }), ...(w.sleepMs > 0 ? { sleepMs: w.sleepMs } : {}) });
  model.acked.add(n);
}

const describeWrite = (w: Write) => `${SCOPES[w.scope]}/${w.key}${w.crash === undefined ? '' : ` crash:${w.crash}`}${w.sleepMs > 0 ? ` sleep:${w.sleepMs}` : ''}`;

class WriteCommand implements Command {
  constructor(readonly write: Write) {}
  check = () => true;
  run = (model: Model, real: Real) => write(real, model, this.write);
  toString = () => `set(${describeWrite(this.write)})`;
}

/** Writes issued together, so that one commit batch carries several events and outbox entries. */
class BurstCommand implements Command {
  constructor(readonly writes: Write[]) {}
  check = () => true;
  async run(model: Model, real: Real) {
    await Promise.all(this.writes.map((w) => write(real, model, w)));
  }
  toString = () => `burst(${this.writes.map(describeWrite).join(', ')})`;
}

class TransactionCommand implements Command {
  constructor(readonly scope: number, readonly keys: string[], readonly crash: Crash | undefined, readonly fails: boolean) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const ns = this.keys.map(() => model.next++);
    const outcome = real.rt.state.transaction(SCOPES[this.scope], (tx) => {
      this.keys.forEach((key, i) => tx.set(key, { n: ns[i], ...(i === 0 && this.crash !== undefined ? { crash: this.crash } : {}) }));
      if (this.fails) throw new Error('rolled back');
    });
    if (this.fails) {
      await assert.rejects(outcome, /rolled back/);
      for (const n of ns) model.rejected.add(n);
      return;
    }
    await outcome;
    for (const n of ns) model.acked.add(n);
  }
  toString = () => `transaction(${SCOPES[this.scope]}, ${JSON.stringify(this.keys)}${this.crash === undefined ? '' : ` crash:${this.crash}`}${this.fails ? ', throws' : ''})`;
}

/** A write whose commit fails (an injected storage fault): its outbox entries must go with it. */
class FailedWriteCommand implements Command {
  constructor(readonly write: Write) {}
  check = () => true;
  async run(model: Model, real: Real) {
    real.rt.faults.failStorage({ scope: SCOPES[this.write.scope], op: 'batch', count: 1 });
    const before = model.next;
    await assert.rejects(write(real, model, this.write), (error: { code?: string }) => error.code === 'STORAGE_FAILED');
    model.rejected.add(before);
  }
  toString = () => `failedSet(${describeWrite(this.write)})`;
}

class DeleteCommand implements Command {
  constructor(readonly scope: number, readonly key: string) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    await real.rt.state.delete(SCOPES[this.scope], this.key);
  }
  toString = () => `delete(${SCOPES[this.scope]}/${this.key})`;
}

class ClearCommand implements Command {
  constructor(readonly scope: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    await real.rt.state.clearScope(SCOPES[this.scope]);
  }
  toString = () => `clearScope(${SCOPES[this.scope]})`;
}

/** Registers a hook again under its name, with other batching and breaker settings: what waits for it stays. */
class ReregisterCommand implements Command {
  constructor(readonly hook: number, readonly config: HookConfig) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    await register(real.rt, this.hook, this.config);
  }
  toString = () => `reregister(${HOOKS[this.hook].name}, ${JSON.stringify(this.config)})`;
}

/** Closes the runtime without waiting for the hooks (executions still running are abandoned after the grace), then reopens it. */
class RestartCommand implements Command {
  /** `graceMs` is the `closeGraceMs` of the runtime that opens next. */
  constructor(readonly graceMs: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    totals.abandonedAtClose += real.rt.metrics().hooks.inFlight;
    totals.restarts++;
    await real.rt.close();
    real.rt = await open(real.dataDir, this.graceMs);
  }
  toString = () => `restart(next closeGraceMs ${this.graceMs})`;
}

class IdleCommand implements Command {
  check = () => true;
  async run(model: Model, real: Real) {
    await checkDelivery(real.rt, model);
    model.checks++;
  }
  toString = () => 'idle+check()';
}

/**
 * Waits for the hooks, then compares what they received with the event log: exactly one success per
 * matching event and hook, nothing that does not match, every follow-up write, no dead letter.
 */
async function checkDelivery(rt: Runtime, model: Model): Promise<void> {
  await rt.hooks.idle();
  assertNothingUncaught();
  const events = await rt.events.query({ kinds: ['state.*', 'scope.clear'], limit: 1_000_000 });

  // Invariant 3's side of it: each acknowledged set is in the log once (the outbox entry rides with it).
  const setsOf = new Map<number, number>();
  for (const event of events) {
    if (event.kind !== 'state.set' || event.executionId !== undefined) continue;
    const n = (event.value as { n: number }).n;
    setsOf.set(n, (setsOf.get(n) ?? 0) + 1);
  }
  for (const n of model.acked) assert.equal(setsOf.get(n), 1, `acknowledged write n=${n} is in the event log ${setsOf.get(n) ?? 0} times`);
  for (const n of model.rejected) assert.equal(setsOf.get(n), undefined, `rejected write n=${n} is in the event log`);

  for (const hook of HOOKS) {
    const matching = events.filter(hook.matches).map((event) => event.id);
    const matchingSet = new Set(matching);
    const executions = await rt.hooks.history({ hookName: hook.name, replays: 'exclude', limit: 1_000_000 });
    const successes = new Map<string, string[]>();
    for (const execution of executions) {
      for (const id of execution.eventIds) {
        assert.ok(matchingSet.has(id), `${hook.name} received event ${id}, which its filter does not match (execution ${execution.executionId})`);
      }
      if (execution.status !== 'succeeded') {
        totals.failedExecutions++;
        continue;
      }
      // What the hook itself saw is what history says it was given.
      assert.deepEqual((execution.result?.output as { seen?: string[] } | undefined)?.seen, execution.eventIds, `execution ${execution.executionId}`);
      for (const id of execution.eventIds) successes.set(id, [...(successes.get(id) ?? []), execution.executionId]);
    }
    for (const id of matching) {
      const found = successes.get(id) ?? [];
      assert.equal(found.length, 1, `${hook.name}: event ${id} is recorded as ${found.length} successes (${found.join(', ')}); expected exactly one`);
    }
  }

  // The follow-up writes of the `ack` hook: applied, and caused by their event.
  const ackHook = HOOKS[0];
  const ackEvents = new Map<string, LoggedEvent[]>();
  for (const event of events) {
    if (event.kind === 'state.set' && event.scope === 'global' && event.key?.startsWith('ack.')) {
      const id = event.key.slice(4);
      ackEvents.set(id, [...(ackEvents.get(id) ?? []), event]);
    }
  }
  for (const event of events.filter(ackHook.matches)) {
    const acks = ackEvents.get(event.id) ?? [];
    assert.ok(acks.length >= 1, `the follow-up write of ${ackHook.name} for event ${event.id} is missing`);
    for (const ack of acks) {
      assert.equal(ack.causationId, event.id, `follow-up write ${ack.id} names cause ${ack.causationId}, expected ${event.id}`);
      assert.equal(ack.correlationId, event.correlationId, `follow-up write ${ack.id} left the correlation of ${event.id}`);
    }
    assert.notEqual(await rt.state.get(Scope.global(), `ack.${event.id}`), undefined, `global/ack.${event.id} is not in the state`);
  }

  assert.deepEqual(await rt.hooks.deadLetters(), [], 'nothing may be dead-lettered');
  const metrics = rt.metrics().hooks;
  assert.equal(metrics.deadLettered, 0, 'metrics().hooks.deadLettered');
  assert.equal(metrics.overflowed, 0, 'metrics().hooks.overflowed');
  assert.equal(metrics.pending, 0, 'metrics().hooks.pending once idle');
  assert.equal(metrics.inFlight, 0, 'metrics().hooks.inFlight once idle');
  for (const hook of HOOKS) {
    const status = rt.hooks.get(hook.name);
    assert.equal(status?.definition.disabled, undefined, `${hook.name} was disabled: ${JSON.stringify(status?.definition.disabled)}`);
  }
}

const crash = fc.constantFrom<Crash>('exit', 'uncaught', 'throw', 'hang', 'late');
/** Most writes are plain; the rest crash their first attempt (hangs are rarer: each costs a time limit). */
const maybeCrash = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constantFrom<Crash>('exit', 'uncaught', 'throw', 'late') },
  { weight: 1, arbitrary: fc.constant<Crash>('hang') },
);
const writeArb: fc.Arbitrary<Write> = fc.record({
  scope: fc.nat(SCOPES.length - 1),
  key: fc.constantFrom(...KEYS),
  crash: maybeCrash,
  sleepMs: fc.constantFrom(0, 0, 0, 5, 30),
});
const hookConfig: fc.Arbitrary<HookConfig> = fc.record({
  batchSize: fc.constantFrom(1, 3, 100),
  concurrency: fc.constantFrom(1, 2),
  failureThreshold: fc.integer({ min: 1, max: 4 }),
  cooldownMs: fc.constantFrom(5, 30),
});
const graceMs = fc.constantFrom(0, 0, 10, 5000);

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: writeArb.map((w) => new WriteCommand(w)) },
  { weight: 3, arbitrary: fc.array(writeArb, { minLength: 2, maxLength: 6 }).map((ws) => new BurstCommand(ws)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.nat(SCOPES.length - 1), fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 1, maxLength: 3 }), maybeCrash, fc.boolean())
      .map(([s, keys, c, fails]) => new TransactionCommand(s, keys, c, fails)),
  },
  { weight: 1, arbitrary: writeArb.map((w) => new FailedWriteCommand(w)) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(SCOPES.length - 1), fc.constantFrom(...KEYS)).map(([s, k]) => new DeleteCommand(s, k)) },
  { weight: 1, arbitrary: fc.nat(SCOPES.length - 1).map((s) => new ClearCommand(s)) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(HOOKS.length - 1), hookConfig).map(([h, c]) => new ReregisterCommand(h, c)) },
  { weight: 3, arbitrary: graceMs.map((g) => new RestartCommand(g)) },
  { weight: 1, arbitrary: fc.constant(new IdleCommand()) },
);

const runConfig: fc.Arbitrary<RunConfig> = fc.record({
  hooks: fc.tuple(hookConfig, hookConfig),
  graceMs,
  first: crash,
});

describe('hooks under worker crashes and restarts (fc.commands)', function () {
  this.timeout(600_000);

  it('every matching change is delivered at least once, and recorded as exactly one success per change and hook, across worker crashes and restarts', async () => {
    const numRuns = runs(12);
    const mochaListeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      await fc.assert(
        fc.asyncProperty(runConfig, fc.commands([command], { maxCommands: 14 }), async (config, cmds) => {
          const dataDir = mkdtempSync(join(tmpdir(), 'llmstate-hooks-'));
          const real: Real = { rt: await open(dataDir, config.graceMs), dataDir, config };
          const model: Model = { acked: new Set(), rejected: new Set(), next: 0, checks: 0 };
          totals.runs++;
          uncaught.length = 0;
          try {
            for (const [index, hook] of config.hooks.entries()) await register(real.rt, index, hook);
            // Every run crashes a worker at least once: the first write matches both hooks.
            await write(real, model, { scope: 0, key: 'k1', crash: config.first, sleepMs: 0 });
            await fc.asyncModelRun(() => ({ model, real }), cmds);
            // End with writes still being delivered when the runtime closes with no grace.
            await Promise.all([0, 1].map((scope) => write(real, model, { scope, key: 'k2', sleepMs: 30 })));
            await new RestartCommand(config.graceMs).run(model, real);
            await checkDelivery(real.rt, model);
            // The outbox is empty on disk too: nothing is delivered again after another reopen.
            await real.rt.close();
            real.rt = await open(dataDir, 0, false);
            assert.equal(real.rt.metrics().hooks.pending, 0, 'outbox entries were left behind after every delivery succeeded');
            await real.rt.close();
            real.rt = await open(dataDir, 0);
            await checkDelivery(real.rt, model);
            await real.rt.close();
            // close() has stopped the workers; one more turn delivers anything they reported on the way out.
            await new Promise((resolve) => setImmediate(resolve));
            assertNothingUncaught();
          } finally {
            await real.rt.close();
            rmSync(dataDir, { recursive: true, force: true });
          }
        }),
        { numRuns },
      );
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const listener of mochaListeners) process.on('uncaughtException', listener);
    }
    // The property must have met what it is about: crashed workers and executions abandoned at close.
    if (numRuns >= 5) {
      assert.ok(totals.failedExecutions > 0, `no hook execution failed in ${totals.runs} runs`);
      assert.ok(totals.abandonedAtClose > 0, `no execution was running at a close in ${totals.runs} runs (${totals.restarts} restarts)`);
    }
  });
});
