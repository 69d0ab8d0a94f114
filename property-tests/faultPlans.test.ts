/**
 * Random fault plans against a real runtime: 2–5 agents under 1–2 supervisors of random strategy and
 * budget, and a plan that interleaves messages, injected crashes (`rt.faults.crashActor`), storage faults
 * on agent scopes (`rt.faults.failStorage`), state writes and moves of a manual clock. Every operation is
 * awaited and the tree is let settle after it, so a run is repeatable from fast-check's seed and the
 * plan's `faultSeed`; nothing waits on the wall clock.
 *
 * What the supervisors decided is read back from the event log (`supervisor.*` events) and replayed
 * against OTP's budget rule; what the agents hold is compared with a model of the acknowledged
 * operations, live and after reopening the store.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createRuntime, LlmStateError, onRuntimeFatal, Scope, type AgentHandle, type LoggedEvent, type Runtime } from '../src/index.js';
import { chatMachine, type ChatContext } from '../test/fixtures/chatMachine.js';
import { ManualClock } from '../test/helpers.js';
import { runs } from './budget.js';

type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';

interface SupervisorDef {
  strategy: Strategy;
  intensity: number;
  period: number;
}

type Op =
  | { op: 'send'; agent: number }
  | { op: 'crash'; agent: number }
  | { op: 'failStorage'; agent: number; count: number; reads: boolean }
  | { op: 'write'; agent: number; key: string; value: number }
  | { op: 'advance'; ms: number };

interface Plan {
  supervisors: SupervisorDef[];
  /** For each agent, the index of its supervisor (modulo the number of supervisors). */
  agents: number[];
  ops: Op[];
  faultSeed: number;
}

const ROOT = { intensity: 3, period: 5000 };

const plan: fc.Arbitrary<Plan> = fc.record({
  supervisors: fc.array(
    fc.record({
      strategy: fc.constantFrom<Strategy>('one_for_one', 'one_for_all', 'rest_for_one'),
      intensity: fc.integer({ min: 0, max: 3 }),
      period: fc.constantFrom(1000, 5000),
    }),
    { minLength: 1, maxLength: 2 },
  ),
  agents: fc.array(fc.nat(1), { minLength: 2, maxLength: 5 }),
  ops: fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.record({ op: fc.constant('send' as const), agent: fc.nat(4) }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant('crash' as const), agent: fc.nat(4) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('failStorage' as const), agent: fc.nat(4), count: fc.integer({ min: 1, max: 2 }), reads: fc.boolean() }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant('write' as const), agent: fc.nat(4), key: fc.constantFrom('k0', 'k1'), value: fc.nat(1000) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.constantFrom(0, 500, 1000, 2500, 6000) }) },
    ),
    { minLength: 1, maxLength: 30 },
  ),
  faultSeed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
});

type Invariant =
  | 'restarts never exceed the budget'
  | 'no acknowledged write is lost'
  | "actors outside the failed strategy's set keep running and keep their state"
  | 'the tree ends in a state OTP would reach';

/** What the test believes, from acknowledged operations only. */
interface Model {
  texts: Map<string, string[]>;
  state: Map<string, Map<string, number>>;
}

/** Replays OTP's budget rule over the supervisor events, and says whether each decision was right. */
class BudgetReplay {
  readonly #budgets: Map<string, { intensity: number; period: number }>;
  readonly #windows = new Map<string, number[]>();
  /** Supervisors that gave up, in order; `root` means runtime.fatal. */
  readonly gaveUp: string[] = [];
  /** Decisions that broke the rule. */
  readonly violations: string[] = [];

  constructor(budgets: Map<string, { intensity: number; period: number }>) {
    this.#budgets = budgets;
  }

  /** Feeds the supervisor events logged by one operation, all decided at `now`. */
  feed(events: LoggedEvent[], now: number): void {
    const of = (event: LoggedEvent) => (event.data as { supervisor: string }).supervisor;
    events.forEach((event, index) => {
      const supervisor = of(event);
      const budget = this.#budgets.get(supervisor);
      if (budget === undefined) return;
      const later = events.slice(index + 1).filter((next) => of(next) === supervisor);
      if (event.kind === 'supervisor.shutdown') {
        this.#windows.set(supervisor, []); // the next run of this supervisor starts with a fresh budget
        return;
      }
      if (event.kind === 'supervisor.restart_intensity_reached') this.gaveUp.push(supervisor);
      const decision =
        event.kind === 'supervisor.child_exited' ||
        // A start that fails while restarting is retried as a new restart; one that fails while the
        // supervisor itself starts makes it fail to start instead (a shutdown follows).
        (event.kind === 'supervisor.child_start_failed' &&
          !later.some((next) => next.kind === 'supervisor.shutdown' && (next.data as { reason: string }).reason === 'failed_to_start_child'));
      if (!decision) return;
      const window = [...(this.#windows.get(supervisor) ?? []).filter((at) => at >= now - budget.period), now];
      this.#windows.set(supervisor, window);
      const exceeded = window.length > budget.intensity;
      // The supervisor's answer to an exit is the next thing it logs: giving up, or restarting.
      const next = later[0];
      const gaveUp = next?.kind === 'supervisor.restart_intensity_reached';
      if (gaveUp !== exceeded) {
        this.violations.push(
          `${supervisor}: ${window.length} restarts within ${budget.period} ms (intensity ${budget.intensity}) after ${event.kind} ${JSON.stringify(event.data)}, ` +
            `but the supervisor ${gaveUp ? 'gave up' : `went on (${next?.kind ?? 'nothing'})`}`,
        );
      }
    });
  }
}

class Run {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'llmstate-faults-'));
  readonly clock = new ManualClock();
  readonly machine = chatMachine();
  readonly model: Model = { texts: new Map(), state: new Map() };
  readonly supervisorOf = new Map<string, string>();
  readonly members = new Map<string, string[]>();
  readonly handles = new Map<string, AgentHandle>();
  fatal: LlmStateError | undefined;
  rt!: Runtime;
  replay!: BudgetReplay;
  #seen = 0;

  constructor(
    readonly plan: Plan,
    readonly checks: ReadonlySet<Invariant>,
  ) {}

  check(invariant: Invariant, assertion: () => void): void {
    if (!this.checks.has(invariant)) return;
    try {
      assertion();
    } catch (error) {
      (error as Error).message = `[${invariant}] ${(error as Error).message}`;
      throw error;
    }
  }

  async start(): Promise<void> {
    this.rt = await createRuntime({ dataDir: this.dataDir, clock: this.clock, faultSeed: this.plan.faultSeed });
    onRuntimeFatal(this.rt, (error) => (this.fatal = error));
    const budgets = new Map([['root', ROOT]]);
    this.plan.supervisors.forEach((def, index) => {
      const id = `s${index}`;
      this.rt.supervisors.create({ id, ...def });
      budgets.set(id, def);
      this.members.set(id, []);
    });
    this.replay = new BudgetReplay(budgets);
    for (const [index, supervisorIndex] of this.plan.agents.entries()) {
      const id = `a${index}`;
      const supervisor = `s${supervisorIndex % this.plan.supervisors.length}`;
      this.handles.set(id, await this.rt.agents.spawn({ id, type: 'chat', machine: this.machine, supervisor }));
      this.supervisorOf.set(id, supervisor);
      this.members.get(supervisor)!.push(id);
      this.model.texts.set(id, []);
      this.model.state.set(id, new Map());
    }
    await this.#logged();
  }

  agentId(index: number): string {
    return `a${index % this.plan.agents.length}`;
  }

  /** Runs the plan; returns early once the root has given up. */
  async execute(): Promise<void> {
    for (const [index, op] of this.plan.ops.entries()) {
      if (this.fatal !== undefined) return;
      if (op.op === 'advance') {
        this.clock.advance(op.ms);
        continue;
      }
      const id = this.agentId(op.agent);
      const agent = this.handles.get(id)!;
      if (op.op === 'failStorage') {
        this.rt.faults.failStorage({ scope: Scope.agent(id), count: op.count, ...(op.reads ? {} : { op: 'batch' as const }) });
        continue;
      }
      if (op.op === 'write') {
        const outcome = await settled(this.rt.state.set(Scope.agent(id), op.key, op.value), `state.set of agent:${id}/${op.key}`);
        if (outcome.ok) this.model.state.get(id)!.set(op.key, op.value);
        else assert.equal(outcome.code, 'STORAGE_FAILED', `state.set rejected with ${outcome.code}`);
        continue;
      }
      if (op.op === 'crash') this.rt.faults.crashActor(id);
      const before = this.#restarts();
      const text = `${op.op}-${index}`;
      const outcome = await settled(agent.send({ type: 'SAY', text }), `the message ${text} to ${id}`);
      if (outcome.ok) {
        assert.notEqual(op.op, 'crash', `the message ${text} was armed to crash ${id}, but it was acknowledged`);
        this.model.texts.get(id)!.push(text);
        continue;
      }
      // A crash, or a save that failed (the agent then restarts from the store): both exit the agent.
      assert.ok(
        outcome.code === 'ACTOR_CRASHED' || (op.op === 'send' && outcome.code === 'STORAGE_FAILED'),
        `the message ${text} to ${id} was rejected with ${outcome.code}`,
      );
      const events = await this.#settle();
      if (this.fatal !== undefined) return;
      this.#checkContainment(id, before, events);
    }
  }

  /** Waits until every supervisor has done what the last exit asked of it, then reads what they logged. */
  async #settle(): Promise<LoggedEvent[]> {
    for (let turn = 0; turn < 50_000; turn++) {
      if (this.fatal !== undefined || this.#isSettled()) return this.#logged();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.check('the tree ends in a state OTP would reach', () =>
      assert.fail(`the tree never settled: ${JSON.stringify(this.#tree())}`),
    );
    return this.#logged();
  }

  #isSettled(): boolean {
    for (const supervisor of this.rt.supervisors.list()) {
      if (supervisor.status !== 'running') return false;
      if (this.rt.supervisors.whichChildren(supervisor.id).some((child) => child.status !== 'running')) return false;
    }
    return [...this.handles.values()].every((agent) => agent.status().state === 'running');
  }

  /**
   * The supervisor events logged since the last call, fed to the budget replay. A write to a scope no
   * fault touches goes through the commit path after the events already queued, so they are all durable
   * when it is.
   */
  async #logged(): Promise<LoggedEvent[]> {
    if (this.fatal === undefined) await this.rt.state.set(Scope.custom('barrier'), 'n', this.#seen).catch(() => {});
    else await this.#untilLogged('runtime.fatal');
    const events = await this.rt.events.query({ kinds: ['supervisor.*'], limit: 1_000_000 });
    const fresh = events.slice(this.#seen);
    this.#seen = events.length;
    this.replay.feed(fresh, this.clock.now());
    this.check('restarts never exceed the budget', () => assert.deepEqual(this.replay.violations, []));
    return fresh;
  }

  /**
   * Once the runtime refuses writes there is no barrier to write: wait for `kind`, which is logged after
   * every supervisor event that led to it.
   */
  async #untilLogged(kind: string): Promise<void> {
    for (let turn = 0; turn < 50_000; turn++) {
      if ((await this.rt.events.query({ kinds: [kind] })).length > 0) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.fail(`${kind} was never logged`);
  }

  #restarts(): Map<string, number> {
    return new Map([...this.handles].map(([id, agent]) => [id, agent.status().restarts]));
  }

  #checkContainment(crashed: string, before: Map<string, number>, events: LoggedEvent[]): void {
    const supervisor = this.supervisorOf.get(crashed)!;
    const members = this.members.get(supervisor)!;
    const strategy = this.plan.supervisors[Number(supervisor.slice(1))].strategy;
    const group = strategy === 'one_for_one' ? [crashed] : strategy === 'one_for_all' ? members : members.slice(members.indexOf(crashed));
    const escalated = events.some((event) => event.kind === 'supervisor.restart_intensity_reached');
    const retried = events.some((event) => event.kind === 'supervisor.child_start_failed');
    const after = this.#restarts();
    this.check("actors outside the failed strategy's set keep running and keep their state", () => {
      for (const [id, restarts] of after) {
        const delta = restarts - before.get(id)!;
        const inGroup = this.supervisorOf.get(id) === supervisor && (escalated || group.includes(id));
        if (!inGroup) assert.equal(delta, 0, `${id} was restarted when ${crashed} (${strategy} under ${supervisor}) crashed`);
        else if (!escalated && !retried) assert.equal(delta, 1, `${id} is in the restart set of ${crashed} (${strategy}) but was restarted ${delta} times`);
        else assert.ok(delta >= 1 || retried, `${id} should have been restarted with ${supervisor}`);
        assert.equal(this.handles.get(id)!.status().state, 'running', `${id} is not running`);
        assert.deepEqual(textsOf(this.handles.get(id)!), this.model.texts.get(id), `${id} lost or gained messages`);
      }
    });
  }

  /** The tree as a user sees it. */
  #tree(): unknown {
    return {
      supervisors: this.rt.supervisors.list(),
      children: this.rt.supervisors.list().map((supervisor) => [supervisor.id, this.rt.supervisors.whichChildren(supervisor.id)]),
      agents: [...this.handles].map(([id, agent]) => [id, agent.status().state]),
    };
  }

  async finish(): Promise<void> {
    const rootGaveUp = this.replay.gaveUp.includes('root');
    this.check('the tree ends in a state OTP would reach', () => {
      assert.equal(this.fatal !== undefined, rootGaveUp, `runtime.fatal ${this.fatal ? 'was' : 'was not'} raised, but the root ${rootGaveUp ? 'did' : 'did not'} give up`);
      if (this.fatal !== undefined) {
        for (const supervisor of this.rt.supervisors.list()) assert.ok(['failed', 'stopped'].includes(supervisor.status), `${supervisor.id} is ${supervisor.status} after runtime.fatal`);
        return;
      }
      for (const [supervisor, members] of this.members) {
        assert.deepEqual(
          this.rt.supervisors.whichChildren(supervisor).map(({ id, status }) => ({ id, status })),
          members.map((id) => ({ id, status: 'running' })),
          `${supervisor} does not run all its agents: ${JSON.stringify(this.#tree())}`,
        );
      }
      assert.deepEqual(
        this.rt.supervisors.whichChildren('root').map(({ id, status }) => ({ id, status })),
        ['agents', ...this.members.keys()].map((id) => ({ id, status: 'running' })),
      );
      for (const [id, agent] of this.handles) assert.equal(agent.status().state, 'running', `${id} is not running`);
    });
    if (this.fatal !== undefined) {
      this.check('the tree ends in a state OTP would reach', () => assert.ok(this.fatal instanceof LlmStateError && this.fatal.code === 'SUPERVISOR_SHUTDOWN'));
      const refused = await settled(this.rt.state.set(Scope.agent('a0'), 'k0', -1), 'a write after runtime.fatal');
      this.check('the tree ends in a state OTP would reach', () => assert.equal(refused.ok ? 'acknowledged' : refused.code, 'SUPERVISOR_SHUTDOWN'));
    }
    await this.#checkStored(this.rt, 'live');
    await this.rt.close();
    const reopened = await createRuntime({ dataDir: this.dataDir });
    try {
      await this.#checkStored(reopened, 'after reopening');
    } finally {
      await reopened.close();
    }
  }

  /** Every acknowledged write (state and messages) is there, and nothing that was rejected. */
  async #checkStored(rt: Runtime, when: string): Promise<void> {
    for (const [id, keys] of this.model.state) {
      for (const key of ['k0', 'k1']) {
        const stored = await readRetrying(() => rt.state.get(Scope.agent(id), key));
        this.check('no acknowledged write is lost', () => assert.equal(stored, keys.get(key), `${when}: agent:${id}/${key}`));
      }
      const record = await readRetrying(() => rt.agents.show(id));
      // A record saved before its machine first ran (at spawn) holds no snapshot: the machine starts afresh.
      const texts = (record.machineSnapshot as { context: ChatContext } | null)?.context.texts ?? [];
      this.check('no acknowledged write is lost', () => assert.deepEqual(texts, this.model.texts.get(id), `${when}: the messages of ${id}`));
    }
  }

  dispose(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function textsOf(agent: AgentHandle): string[] {
  return (agent.record().machineSnapshot as { context: ChatContext }).context.texts;
}

/**
 * The outcome of an operation. One that never settles fails the run at once (after a bounded number of
 * event-loop turns) rather than at the test's timeout.
 */
async function settled(promise: Promise<unknown>, what: string): Promise<{ ok: true } | { ok: false; code: string }> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let turn = 0; turn < 200_000 && !done; turn++) await new Promise((resolve) => setImmediate(resolve));
  if (!done) assert.fail(`${what} never settled`);
  try {
    await promise;
    return { ok: true };
  } catch (error) {
    return { ok: false, code: (error as LlmStateError).code ?? String(error) };
  }
}

/** A storage fault armed for reads may fail a read; that loses nothing, so read again (faults have counts). */
async function readRetrying<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (attempt >= 100 || (error as LlmStateError).code !== 'STORAGE_FAILED') throw error;
    }
  }
}

async function runPlan(p: Plan, checks: ReadonlySet<Invariant>): Promise<void> {
  const run = new Run(p, checks);
  try {
    await run.start();
    await run.execute();
    await run.finish();
  } finally {
    if (!run.rt?.closed) await run.rt?.close().catch(() => {});
    run.dispose();
  }
}

describe('fault plans against agents under supervisors', function () {
  this.timeout(600_000);

  const invariants: Invariant[] = [
    'restarts never exceed the budget',
    'no acknowledged write is lost',
    "actors outside the failed strategy's set keep running and keep their state",
    'the tree ends in a state OTP would reach',
  ];
  for (const invariant of invariants) {
    it(invariant, async () => {
      await fc.assert(
        fc.asyncProperty(plan, (p) => runPlan(p, new Set([invariant]))),
        { numRuns: runs(25) },
      );
    });
  }
});
