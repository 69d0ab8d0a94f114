import fc from 'fast-check';
import { z } from 'zod';
import { checkOptions } from '../checkOptions.js';
import type { Runtime } from '../runtime.js';
import { resolveRuntimeOptions, type RuntimeOptions } from '../runtimeOptions.js';
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
  /**
   * How many runs shrinking a failure may take; it keeps the smallest failure found by then. A replay
   * must be given the same budget as the search it replays. @default 1000
   */
  shrinkRuns?: number;
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
        `Replay it with simulate.replay(body, { seed: ${seed}, path: ${JSON.stringify(path)} }), with the same options as this search (faults, setup, runtime, timeLimitMs, shrinkRuns).`,
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
const DEFAULT_SHRINK_RUNS = 1000;
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
  shrinkRuns: [z.number().int().min(0).max(10_000_000), 'a non-negative integer'],
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
    await search(body, checked, checked.runs ?? DEFAULT_RUNS, checked.seed);
  },

  /**
   * Runs the failing run that `seed` and `path` name again, with the same schedule, faults, drawn
   * inputs and trace. Resolves when it passes now (after a fix).
   *
   * The search is run again from `seed` up to the failing run, and shrunk again: every step of it is
   * deterministic, so it ends at the same run. (fast-check cannot walk a path of values drawn during a
   * run, such as `sim.draw`'s and the faults', without running the search.)
   *
   * @throws {SimulationFailure} when it still fails, with the path it fails at now
   */
  async replay(body: SimulationBody, options: ReplayOptions): Promise<void> {
    const checked = checkSimulateOptions(body, options, true);
    const failingRun = Number(checked.path!.split(':')[0]);
    await search(body, checked, failingRun + 1, checked.seed);
  },
};

/** Runs and shrinks; throws the smallest failure as a SimulationFailure. */
async function search(body: SimulationBody, options: CheckedSimulateOptions, runs: number, seed: number | undefined): Promise<void> {
  const property = simulationProperty(body, options);
  const details = await fc.check(property.property, { numRuns: runs, ...(seed === undefined ? {} : { seed }) });
  if (!details.failed) return;
  if (details.errorInstance !== undefined && !(details.errorInstance instanceof RunFailed)) throw details.errorInstance;
  // Shrinking ends with the smallest failure it found, and runs nothing after it passes over: the last
  // failing run is that failure.
  const { trace, failures } = property.lastFailure;
  throw new SimulationFailure({ seed: details.seed, path: details.counterexamplePath ?? '0', trace, failures, runs: details.numRuns, shrinks: details.numShrinks });
}

/** A run's failures, as the property throws them. */
class RunFailed extends Error {}

interface CheckedSimulateOptions {
  runs?: number;
  shrinkRuns?: number;
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
  if (checked.runtime !== undefined) {
    const reserved = ['dataDir', 'memory', 'clock', 'timers'].filter((name) => name in checked.runtime!);
    if (reserved.length > 0) throw new TypeError(`Expected \`runtime\` without ${reserved.map((name) => `\`${name}\``).join(', ')}: the simulation sets the store and time itself`);
    // Checked here, at the edge, rather than failing every run.
    resolveRuntimeOptions({ ...checked.runtime, memory: true });
  }
  return checked;
}

interface SimulationProperty {
  property: fc.IAsyncProperty<[fc.Scheduler, fc.GeneratorValue, fc.GeneratorValue]>;
  /** What the last failing run recorded. */
  lastFailure: { trace: readonly string[]; failures: readonly string[] };
}

function simulationProperty(body: SimulationBody, options: CheckedSimulateOptions): SimulationProperty {
  const shrinkRuns = options.shrinkRuns ?? DEFAULT_SHRINK_RUNS;
  let executions = 0;
  let firstFailure: number | undefined;
  const result: SimulationProperty = {
    lastFailure: { trace: [], failures: [] },
    // Generators, not values mapped from them: fast-check clones a generator for each run it replays,
    // which a mapped value would not be.
    property: fc.asyncProperty(fc.scheduler(), fc.gen(), fc.gen(), async (scheduler, faultDraws, generator) => {
      executions++;
      // Past its budget, shrinking is stopped by passing every further candidate without running it:
      // a count of runs, not of time, so that a replay stops at the same candidate.
      if (firstFailure !== undefined && executions - firstFailure > shrinkRuns) return;
      const sim = new Simulation({
        scheduler,
        generator,
        faults: faultPlan(options.faults, faultDraws),
        timeLimitMs: options.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS,
        runtime: options.runtime ?? {},
        ...(options.setup === undefined ? {} : { onStart: options.setup }),
      });
      const failures = await sim.run(body);
      if (failures.length === 0) return;
      firstFailure ??= executions;
      result.lastFailure = { trace: sim.trace, failures };
      throw new RunFailed(failures.join('\n'));
    }),
  };
  return result;
}


/**
 * The faults of one run. Each opportunity of each kind with a probability draws a number when it comes
 * up, and faults when the number is in the top `probability` of its range: only opportunities that are
 * reached draw anything. Shrinking moves the numbers towards zero, where nothing faults. A restart's draw
 * also says, by its parity, whether the batch it interrupts is written.
 */
function faultPlan(faults: FaultOptions | undefined, generator: fc.GeneratorValue): FaultPlan {
  const chance = (kind: FaultKind) => Math.round((faults?.[kind] ?? 0) * CHANCES);
  const planned = (kind: FaultKind, at: number) => faults?.plan?.find((fault) => fault.kind === kind && fault.at === at);
  /** The draw of one opportunity that faults, or undefined. */
  const drawFault = (kind: FaultKind): number | undefined => {
    if (chance(kind) === 0) return undefined;
    const draw = generator(fc.integer, { min: 0, max: CHANCES - 1 });
    return draw >= CHANCES - chance(kind) ? draw : undefined;
  };
  const faulted = (kind: FaultKind, at: number) => planned(kind, at) !== undefined || drawFault(kind) !== undefined;
  return {
    storageFails: (batch) => faulted('storage', batch),
    restartAt: (batch) => {
      const plannedRestart = planned('restart', batch);
      if (plannedRestart !== undefined) return plannedRestart.written === true ? 'written' : 'lost';
      const draw = drawFault('restart');
      if (draw === undefined) return undefined;
      return draw % 2 === 0 ? 'written' : 'lost';
    },
    agentCrashes: (message) => faulted('actorCrash', message),
    hookWorkerCrashes: (run) => faulted('hookWorkerCrash', run),
  };
}
