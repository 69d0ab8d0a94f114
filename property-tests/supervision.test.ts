/**
 * Random supervision trees under random crash plans, compared with a small reference model of OTP's decisions.
 *
 * The tree is a root with 1–3 child supervisors of random strategy, intensity, period and restart type, each
 * with 1–4 workers of random restart type and shutdown. A plan crashes (or ends, normally or with 'shutdown')
 * the current run of random workers at random manual times. The model is written from OTP's supervisor.erl rules
 * alone; the supervisor under test must make the same decisions.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ChildLink, ChildRef, ChildSpec, RestartType, Shutdown } from '../supervisors/childSpec.js';
import { Supervisor, type ChildInfo } from '../supervisors/Supervisor.js';
import { ManualTimers, settle } from '../test/ManualTimers.js';
import { runs } from './budget.js';

type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';
type Reason = 'normal' | 'shutdown' | 'error';

interface WorkerDef {
  id: string;
  restart: RestartType;
  shutdown: Shutdown;
}
interface SupDef {
  id: string;
  strategy: Strategy;
  intensity: number;
  period: number;
  restart: RestartType;
  workers: WorkerDef[];
}
interface TreeDef {
  strategy: Strategy;
  intensity: number;
  period: number;
  sups: SupDef[];
}
interface Crash {
  delay: number;
  sup: number;
  worker: number;
  reason: Reason;
}

const restartType = fc.constantFrom<RestartType>('permanent', 'transient', 'temporary');
const strategy = fc.constantFrom<Strategy>('one_for_one', 'one_for_all', 'rest_for_one');
const intensity = fc.integer({ min: 0, max: 3 });
const period = fc.constantFrom(1000, 3000, 5000);

const tree: fc.Arbitrary<TreeDef> = fc.record({
  strategy,
  intensity,
  period,
  sups: fc
    .array(
      fc.record({
        strategy,
        intensity,
        period,
        restart: restartType,
        workers: fc.array(fc.record({ restart: restartType, shutdown: fc.constantFrom<Shutdown>('brutal_kill', 100, 'infinity') }), { minLength: 1, maxLength: 4 }),
      }),
      { minLength: 1, maxLength: 3 },
    )
    .map((sups) =>
      sups.map((sup, s) => ({ ...sup, id: `s${s}`, workers: sup.workers.map((worker, w) => ({ ...worker, id: `w${w}` })) })),
    ),
});

const crash: fc.Arbitrary<Crash> = fc.record({
  delay: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 })),
  sup: fc.nat(2),
  worker: fc.nat(3),
  reason: fc.oneof({ weight: 4, arbitrary: fc.constant<Reason>('error') }, fc.constant<Reason>('normal'), fc.constant<Reason>('shutdown')),
});

const plan = fc.array(crash, { minLength: 1, maxLength: 25 });

// ---- the reference model: OTP's decisions, synchronously ----

interface MChild {
  id: string;
  restart: RestartType;
  status: 'running' | 'terminated';
  restarts: number;
  /** For a child supervisor: its definition, and its current run while running. */
  def?: SupDef;
  sub?: MSup;
}

interface MSup {
  id: string;
  strategy: Strategy;
  intensity: number;
  period: number;
  status: 'running' | 'failed' | 'stopped';
  window: number[];
  children: MChild[];
  parent?: MSup;
}

class Model {
  readonly root: MSup;
  /** Workers started or stopped by the current event, as `s0/w1`. */
  touched = new Set<string>();
  now = 0;

  constructor(def: TreeDef) {
    this.root = {
      id: 'root',
      strategy: def.strategy,
      intensity: def.intensity,
      period: def.period,
      status: 'running',
      window: [],
      children: def.sups.map((sup) => ({ id: sup.id, restart: sup.restart, status: 'terminated', restarts: 0, def: sup })),
    };
    for (const child of this.root.children) this.#start(this.root, child);
  }

  /** The running worker `path`, if any. */
  worker(supId: string, workerId: string): MChild | undefined {
    const sup = this.root.children.find((child) => child.id === supId);
    if (sup?.status !== 'running' || sup.sub === undefined) return undefined;
    const worker = sup.sub.children.find((child) => child.id === workerId);
    return worker?.status === 'running' ? worker : undefined;
  }

  crash(supId: string, workerId: string, reason: Reason, now: number): void {
    this.now = now;
    this.touched = new Set();
    const sub = this.root.children.find((child) => child.id === supId)?.sub as MSup;
    const worker = sub.children.find((child) => child.id === workerId) as MChild;
    this.#exit(sub, worker, reason);
  }

  /** OTP do_restart. */
  #exit(sup: MSup, child: MChild, reason: Reason): void {
    child.status = 'terminated';
    child.sub = undefined;
    const restart = child.restart === 'permanent' || (child.restart === 'transient' && reason === 'error');
    if (restart) this.#restart(sup, child);
    else this.#forget(sup, child);
  }

  #forget(sup: MSup, child: MChild): void {
    if (child.restart === 'temporary') sup.children = sup.children.filter((c) => c !== child);
    else child.status = 'terminated';
  }

  /** OTP restart/2: count against the budget, then restart the strategy's group, or give up. */
  #restart(sup: MSup, child: MChild): void {
    sup.window = [...sup.window.filter((at) => at >= this.now - sup.period), this.now];
    if (sup.window.length > sup.intensity) {
      this.#forget(sup, child);
      this.#fail(sup);
      return;
    }
    const index = sup.children.indexOf(child);
    const group = sup.strategy === 'one_for_one' ? [child] : sup.strategy === 'one_for_all' ? [...sup.children] : sup.children.slice(index);
    for (const sibling of [...group].reverse()) {
      if (sibling === child) continue;
      if (sibling.status === 'running') this.#stop(sibling);
      if (sibling.restart === 'temporary') sup.children = sup.children.filter((c) => c !== sibling);
    }
    for (const member of group) {
      if (!sup.children.includes(member)) continue;
      this.#start(sup, member);
      member.restarts += 1;
    }
  }

  /** Stops every child in reverse and reports the failure up, as an abnormal exit of this supervisor. */
  #fail(sup: MSup): void {
    this.#shutdown(sup, 'failed');
    const parent = sup.parent;
    if (parent === undefined) return;
    const entry = parent.children.find((child) => child.sub === sup) as MChild;
    this.#exit(parent, entry, 'error');
  }

  #shutdown(sup: MSup, status: 'failed' | 'stopped'): void {
    for (const child of [...sup.children].reverse()) if (child.status === 'running') this.#stop(child);
    sup.children = sup.children.filter((child) => child.restart !== 'temporary');
    for (const child of sup.children) child.status = 'terminated';
    sup.status = status;
  }

  #stop(child: MChild): void {
    if (child.sub !== undefined) this.#shutdown(child.sub, 'stopped');
    else this.touched.add(this.#path(child));
    child.status = 'terminated';
    child.sub = undefined;
  }

  #start(sup: MSup, child: MChild): void {
    child.status = 'running';
    if (child.def === undefined) {
      this.touched.add(this.#path(child));
      return;
    }
    const def = child.def;
    child.sub = {
      id: def.id,
      strategy: def.strategy,
      intensity: def.intensity,
      period: def.period,
      status: 'running',
      window: [],
      parent: sup,
      children: def.workers.map((worker) => ({ id: worker.id, restart: worker.restart, status: 'running', restarts: 0 })),
    };
    for (const worker of child.sub.children) this.touched.add(`${def.id}/${worker.id}`);
  }

  #path(worker: MChild): string {
    for (const sup of this.root.children) if (sup.sub?.children.includes(worker)) return `${sup.id}/${worker.id}`;
    throw new Error(`worker ${worker.id} is in no running supervisor`);
  }
}

function modelChildren(sup: MSup): ChildInfo[] {
  return sup.children.map((child) => ({
    id: child.id,
    type: child.def === undefined ? 'worker' : 'supervisor',
    status: child.status,
    restarts: child.restarts,
  }));
}

// ---- the system under test ----

class FakeWorker implements ChildRef {
  alive = true;
  constructor(
    readonly path: string,
    readonly link: ChildLink,
    readonly log: string[],
  ) {}
  stop(): Promise<void> {
    this.log.push(`stop ${this.path}`);
    this.alive = false;
    return Promise.resolve();
  }
  kill(): void {
    this.log.push(`kill ${this.path}`);
    this.alive = false;
  }
}

interface Trace {
  /** One entry per crash that hit a running worker. */
  events: Array<{ crash: string; touchedByModel: Set<string>; touched: Set<string>; untouchedKeptRunning: string[] }>;
  /** Every supervisor instance seen, with its budget. */
  instances: Array<{ sup: Supervisor; intensity: number; period: number }>;
  /** Disagreements between the model and the supervisors, at each step and at the end. */
  mismatches: string[];
}

async function simulate(def: TreeDef, crashes: Crash[]): Promise<Trace> {
  const timers = new ManualTimers();
  const log: string[] = [];
  const current = new Map<string, FakeWorker>();
  const workerSpec = (supId: string, worker: WorkerDef): ChildSpec => ({
    id: worker.id,
    restart: worker.restart,
    shutdown: worker.shutdown,
    start: async (link) => {
      const path = `${supId}/${worker.id}`;
      const ref = new FakeWorker(path, link, log);
      current.set(path, ref);
      log.push(`start ${path}`);
      return ref;
    },
  });
  const common = { clock: timers.clock, timers };
  const root = new Supervisor({
    ...common,
    id: 'root',
    strategy: def.strategy,
    intensity: def.intensity,
    period: def.period,
    onFatal: () => {},
    children: def.sups.map((sup) =>
      Supervisor.childSpec(
        { ...common, id: sup.id, strategy: sup.strategy, intensity: sup.intensity, period: sup.period, children: sup.workers.map((w) => workerSpec(sup.id, w)) },
        { restart: sup.restart },
      ),
    ),
  });
  await root.start();
  const model = new Model(def);
  const trace: Trace = { events: [], instances: [{ sup: root as Supervisor, intensity: def.intensity, period: def.period }], mismatches: [] };
  const seen = new Set<Supervisor>([root as Supervisor]);
  const collect = (): void => {
    for (const sup of def.sups) {
      const instance = root.childRef(sup.id);
      if (instance instanceof Supervisor && !seen.has(instance)) {
        seen.add(instance);
        trace.instances.push({ sup: instance, intensity: sup.intensity, period: sup.period });
      }
    }
  };
  collect();

  for (const step of crashes) {
    await timers.advance(step.delay);
    const sup = def.sups[step.sup % def.sups.length];
    const worker = sup.workers[step.worker % sup.workers.length];
    const path = `${sup.id}/${worker.id}`;
    const target = current.get(path);
    const running = target?.alive === true;
    const modelRunning = model.worker(sup.id, worker.id) !== undefined;
    if (running !== modelRunning) trace.mismatches.push(`at ${path}: running ${running}, model says ${modelRunning}`);
    if (!running || !modelRunning) continue;

    const before = new Map([...current].filter(([, ref]) => ref.alive));
    log.length = 0;
    target.alive = false;
    target.link.exited(step.reason === 'error' ? { error: new Error(`${path} crashed`) } : step.reason);
    model.crash(sup.id, worker.id, step.reason, timers.clock.now());
    await settle();
    collect();

    const touched = new Set(log.map((entry) => entry.split(' ')[1]));
    const untouchedKeptRunning = [...before]
      .filter(([p]) => p !== path && !touched.has(p))
      .filter(([p, ref]) => current.get(p) !== ref || !ref.alive)
      .map(([p]) => p);
    trace.events.push({ crash: `${path} ${step.reason}`, touchedByModel: model.touched, touched, untouchedKeptRunning });
  }

  // The final state of every supervisor, against the model's.
  const compare = (label: string, actual: unknown, expected: unknown): void => {
    try {
      assert.deepEqual(actual, expected);
    } catch {
      trace.mismatches.push(`${label}: got ${JSON.stringify(actual)}, model says ${JSON.stringify(expected)}`);
    }
  };
  compare('root status', root.status, model.root.status);
  compare('root children', root.whichChildren(), modelChildren(model.root));
  for (const child of model.root.children) {
    if (child.sub === undefined) continue;
    const instance = root.childRef(child.id) as Supervisor | undefined;
    compare(`${child.id} status`, instance?.status, child.sub.status);
    compare(`${child.id} children`, instance?.whichChildren(), modelChildren(child.sub));
  }
  await root.stop();
  const stillAlive = [...current].filter(([, ref]) => ref.alive).map(([p]) => p);
  if (stillAlive.length > 0) trace.mismatches.push(`alive after the root stopped: ${stillAlive.join(', ')}`);
  return trace;
}

describe('supervision (fast-check)', function () {
  this.timeout(600_000);

  it('restarts never exceed the budget within any period window', async () => {
    await fc.assert(
      fc.asyncProperty(tree, plan, async (def, crashes) => {
        const trace = await simulate(def, crashes);
        for (const { sup, intensity: limit, period: window } of trace.instances) {
          const times = sup.restartLog.map((entry) => entry.at);
          for (const at of times) {
            const inWindow = times.filter((t) => t >= at - window && t <= at).length;
            assert.ok(inWindow <= limit, `${sup.id}: ${inWindow} restarts within ${window} ms of ${at}, budget ${limit}`);
          }
        }
      }),
      { numRuns: runs(200) },
    );
  });

  it("children outside the strategy's set keep running (never stopped or restarted)", async () => {
    await fc.assert(
      fc.asyncProperty(tree, plan, async (def, crashes) => {
        const trace = await simulate(def, crashes);
        for (const event of trace.events) {
          assert.deepEqual(event.untouchedKeptRunning, [], `after ${event.crash}, untouched workers were replaced or stopped`);
          const outside = [...event.touched].filter((path) => !event.touchedByModel.has(path));
          assert.deepEqual(outside, [], `after ${event.crash}, workers outside the strategy's set were stopped or started`);
        }
      }),
      { numRuns: runs(200) },
    );
  });

  it('the tree ends in a state OTP would reach', async () => {
    await fc.assert(
      fc.asyncProperty(tree, plan, async (def, crashes) => {
        const trace = await simulate(def, crashes);
        assert.deepEqual(trace.mismatches, []);
        for (const event of trace.events) {
          assert.deepEqual([...event.touched].sort(), [...event.touchedByModel].sort(), `after ${event.crash}, the workers stopped or started differ from OTP's`);
        }
      }),
      { numRuns: runs(200) },
    );
  });
});
