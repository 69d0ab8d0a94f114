import fc from 'fast-check';
import { z } from 'zod';
import { checkOptions } from '../checkOptions.js';
import type { Runtime } from '../runtime.js';
import type { RuntimeOptions } from '../runtimeOptions.js';
import { Simulation, type FaultPlan } from './Simulation.js';

/** How a body is simulated. */
export interface SimulateOptions {
  /** How many runs, each with its own schedule and faults. @default 100 */
  runs?: number;
  /** The seed of the first run; a failure reports the one to replay. @default random */
  seed?: number;
  faults?: FaultOptions;
  /** Virtual milliseconds after which a body that has not settled fails. @default 3600000 (an hour) */
  timeLimitMs?: number;
  /** Options for the runtime under test (not `dataDir`, `memory`, `clock` or `timers`, which the simulation sets). */
  runtime?: Omit<RuntimeOptions, 'dataDir' | 'memory' | 'clock' | 'timers'>;
  /**
   * Runs on each runtime as it opens, before the body and again after every restart: what a process
   * does at start, such as `rt.agents.define` and `rt.hooks.register`.
   */
  setup?: (rt: Runtime) => Promise<void> | void;
}

/**
 * Faults to inject. Each kind has its opportunities, counted from 1 in each run: a probability gives the
 * chance of a fault at each one, and `plan` names opportunities that always fault.
 */
export interface FaultOptions {
  /** Each store batch may fail (`STORAGE_FAILED` for its writers); the process goes on. @default 0 */
  storage?: number;
  /** At each agent message, its agent may crash; its supervisor restarts it. @default 0 */
  actorCrash?: number;
  /** At each hook run, the worker may die; the run is retried, as after a real worker crash. @default 0 */
  hookWorkerCrash?: number;
  /**
   * At each store batch, the process may crash and restart: the batch is written or lost, calls in
   * flight fail with `RUNTIME_CLOSED`, and a new runtime opens on the same store. @default 0
   */
  restart?: number;
  plan?: readonly PlannedFault[];
}

export type FaultKind = 'storage' | 'actorCrash' | 'hookWorkerCrash' | 'restart';

export interface PlannedFault {
  kind: FaultKind;
  /** Which opportunity of that kind, counted from 1 in each run. */
  at: number;
  /** For a restart: whether the batch it interrupts is written. @default false */
  written?: boolean;
}

/** Where to replay a failure from: what a {@link SimulationFailure} carries. */
export interface ReplayOptions extends Omit<SimulateOptions, 'runs' | 'seed'> {
  seed: number;
  path: string;
}

/** A run of the body failed. Replay it with `simulate.replay(body, { seed, path })`. */
export class SimulationFailure extends Error {
  readonly seed: number;
  readonly path: string;
  /** One line per step of the failing run: each task's calls and their results, store batches, faults and time. */
  readonly trace: readonly string[];
  /** Why the run failed: a failed check, an error thrown, or a run that never settles. */
  readonly failures: readonly string[];

  constructor(details: { seed: number; path: string; trace: readonly string[]; failures: readonly string[]; runs: number; shrinks: number }) {
    const { seed, path, trace, failures } = details;
    super(
      [
        `The simulation failed (run ${details.runs}, shrunk ${details.shrinks} times): ${failures.join('; ')}`,
        `Replay it with simulate.replay(body, { seed: ${seed}, path: ${JSON.stringify(path)} }).`,
        'Trace:',
        ...trace.map((line) => `  ${line}`),
      ].join('\n'),
    );
    this.name = 'SimulationFailure';
    this.seed = seed;
    this.path = path;
    this.trace = trace;
    this.failures = failures;
  }
}

/** The body of a simulation: it gets the simulation, with `sim.rt`, `sim.spawn`, `sim.check` and `sim.advance`. */
export type SimulationBody = (sim: Simulation) => Promise<void> | void;

const DEFAULT_RUNS = 100;
const DEFAULT_TIME_LIMIT_MS = 60 * 60 * 1000;
/** How many opportunities per kind a run draws faults for; later ones never fail. */
const FAULT_HORIZON = 256;
/** The resolution of fault probabilities. */
const CHANCES = 10_000;

const probability = [z.number().min(0).max(1), 'a number from 0 to 1'] as const;
const FIELDS = {
  runs: [z.number().int().positive().max(1_000_000), 'a positive integer'],
  seed: [z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1), 'a 32-bit integer'],
  path: [z.string().regex(/^\d+(:\d+)*$/), 'a path such as "3:0:1", from a SimulationFailure'],
  faults: [
    z.strictObject({
      storage: probability[0].optional(),
      actorCrash: probability[0].optional(),
      hookWorkerCrash: probability[0].optional(),
      restart: probability[0].optional(),
      plan: z
        .array(z.strictObject({ kind: z.enum(['storage', 'actorCrash', 'hookWorkerCrash', 'restart']), at: z.number().int().positive(), written: z.boolean().optional() }))
        .optional(),
    }),
    "an object with probabilities from 0 to 1 (`storage`, `actorCrash`, `hookWorkerCrash`, `restart`) and a `plan` (an array of { kind, at, written? })",
  ],
  timeLimitMs: [z.number().int().positive(), 'a positive integer of ms'],
  runtime: [z.record(z.string(), z.unknown()), 'an object of runtime options'],
  setup: [z.custom<(rt: Runtime) => unknown>((value) => typeof value === 'function'), 'a function of the runtime'],
} as const;

/**
 * Deterministic simulation of a body that uses `sim.rt`: every interleaving of its tasks and of the
 * store's completions, and every fault, comes from one seed; a failure shrinks to a small schedule and
 * fault plan, and replays exactly.
 */
export const simulate = {
  /**
   * Runs `body` under `options.runs` schedules and fault plans. Resolves when every run passes.
   *
   * @throws {SimulationFailure} for the smallest failing run found, with its seed, path and trace
   * @throws {TypeError} for options of the wrong shape
   */
  async assert(body: SimulationBody, options: SimulateOptions = {}): Promise<void> {
    const checked = checkSimulateOptions(body, options, false);
    const property = simulationProperty(body, checked);
    const details = await fc.check(property.property, { numRuns: checked.runs ?? DEFAULT_RUNS, ...(checked.seed === undefined ? {} : { seed: checked.seed }) });
    if (!details.failed) return;
    if (details.errorInstance !== undefined && !(details.errorInstance instanceof RunFailed)) throw details.errorInstance;
    const path = details.counterexamplePath ?? '0';
    // The last run is not always the smallest failure: run that one again, for its trace.
    const replayed = await replayOnce(property, details.seed, path);
    throw new SimulationFailure({ seed: details.seed, path, ...replayed, runs: details.numRuns, shrinks: details.numShrinks });
  },

  /**
   * Runs the one failing run that `seed` and `path` name again, with the same schedule, faults and
   * trace. Resolves when it passes now (after a fix).
   *
   * @throws {SimulationFailure} when it still fails
   */
  async replay(body: SimulationBody, options: ReplayOptions): Promise<void> {
    const checked = checkSimulateOptions(body, options, true);
    const property = simulationProperty(body, checked);
    const replayed = await replayOnce(property, checked.seed!, checked.path!);
    if (replayed.failures.length > 0) throw new SimulationFailure({ seed: checked.seed!, path: checked.path!, ...replayed, runs: 1, shrinks: 0 });
  },
};

/** A run's failures, as the property throws them. */
class RunFailed extends Error {}

interface CheckedSimulateOptions {
  runs?: number;
  seed?: number;
  path?: string;
  faults?: FaultOptions;
  timeLimitMs?: number;
  runtime?: Record<string, unknown>;
  setup?: (rt: Runtime) => Promise<void> | void;
}

function checkSimulateOptions(body: unknown, options: unknown, replay: boolean): CheckedSimulateOptions {
  if (typeof body !== 'function') throw new TypeError(`Expected the body to be a function of the simulation, got ${typeof body}`);
  const checked = checkOptions(options ?? {}, FIELDS) as CheckedSimulateOptions;
  if (replay) {
    if (checked.seed === undefined || checked.path === undefined) throw new TypeError('Expected `seed` and `path` to replay, as a SimulationFailure carries them');
    if (checked.runs !== undefined) throw new TypeError('Expected no `runs` in a replay: it runs the one failing run');
  } else if (checked.path !== undefined) {
    throw new TypeError('Expected no `path` here: use simulate.replay to replay a failure');
  }
  return checked;
}

interface SimulationProperty {
  property: fc.IAsyncProperty<[fc.Scheduler, FaultPlan]>;
  /** What the last run recorded. */
  last: { trace: readonly string[]; failures: readonly string[] };
}

function simulationProperty(body: SimulationBody, options: CheckedSimulateOptions): SimulationProperty {
  const result: SimulationProperty = {
    last: { trace: [], failures: [] },
    property: fc.asyncProperty(fc.scheduler(), faultPlan(options.faults), async (scheduler, faults) => {
      const sim = new Simulation({
        scheduler,
        faults,
        timeLimitMs: options.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS,
        runtime: options.runtime ?? {},
        ...(options.setup === undefined ? {} : { onStart: options.setup }),
      });
      const failures = await sim.run(body);
      result.last = { trace: sim.trace, failures };
      if (failures.length > 0) throw new RunFailed(failures.join('\n'));
    }),
  };
  return result;
}

async function replayOnce(property: SimulationProperty, seed: number, path: string): Promise<{ trace: readonly string[]; failures: readonly string[] }> {
  property.last = { trace: [], failures: [] };
  const details = await fc.check(property.property, { seed, path, numRuns: 1, endOnFailure: true });
  if (details.failed && details.errorInstance !== undefined && !(details.errorInstance instanceof RunFailed)) throw details.errorInstance;
  return property.last;
}

/**
 * The faults of one run, as an arbitrary that shrinks towards fewer faults: each opportunity of each
 * kind draws a number, and faults when the number is in the top `probability` of its range. Shrinking
 * moves the numbers towards zero, where nothing faults. A restart's draw also says, by its parity,
 * whether the batch it interrupts is written.
 */
function faultPlan(faults: FaultOptions | undefined): fc.Arbitrary<FaultPlan> {
  const kinds: FaultKind[] = ['storage', 'actorCrash', 'hookWorkerCrash', 'restart'];
  const draws = Object.fromEntries(kinds.map((kind) => [kind, drawsFor(faults?.[kind] ?? 0)])) as Record<FaultKind, fc.Arbitrary<readonly number[]>>;
  const planned = (kind: FaultKind, at: number) => faults?.plan?.find((fault) => fault.kind === kind && fault.at === at);
  return fc.record(draws).map((drawn) => {
    const faulted = (kind: FaultKind, at: number) => {
      const draw = drawn[kind][at - 1];
      return draw !== undefined && draw >= CHANCES - chanceOf(faults?.[kind] ?? 0);
    };
    return {
      storageFails: (batch) => planned('storage', batch) !== undefined || faulted('storage', batch),
      restartAt: (batch) => {
        const plannedRestart = planned('restart', batch);
        if (plannedRestart !== undefined) return plannedRestart.written === true ? 'written' : 'lost';
        if (!faulted('restart', batch)) return undefined;
        return drawn.restart[batch - 1] % 2 === 0 ? 'written' : 'lost';
      },
      agentCrashes: (message) => planned('actorCrash', message) !== undefined || faulted('actorCrash', message),
      hookWorkerCrashes: (run) => planned('hookWorkerCrash', run) !== undefined || faulted('hookWorkerCrash', run),
    };
  });
}

function chanceOf(probability: number): number {
  return Math.round(probability * CHANCES);
}

/** One draw per opportunity, or none at all for a kind that never faults by chance. */
function drawsFor(probability: number): fc.Arbitrary<readonly number[]> {
  if (chanceOf(probability) === 0) return fc.constant([]);
  return fc.array(fc.integer({ min: 0, max: CHANCES - 1 }), { minLength: FAULT_HORIZON, maxLength: FAULT_HORIZON });
}
