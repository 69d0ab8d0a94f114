import { z } from 'zod';
import { checkOptions, describeOption } from '../src/checkOptions.js';
import { CLOCK_OPTION, systemClock, type Clock } from '../src/clock.js';
import type { LlmStateError } from '../src/errors.js';
import { checkChildSpecs, checkChildTemplate, MAX_SHUTDOWN_MS } from './checkChildSpecs.js';
import { resolveChildSpec, type ChildSpec, type ChildTemplate, type ResolvedChildSpec } from './childSpec.js';
import type { BackoffOptions } from './restartBudget.js';
import type { SupervisorEvent } from './supervisorEvents.js';
import { systemTimers, TIMERS_OPTION, type Timers } from '../src/timers.js';

/** How a supervisor restarts its children when one of them is to be restarted (OTP strategies). */
export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one' | 'simple_one_for_one';

/** Options of a {@link Supervisor}. */
export interface SupervisorOptions<Args = unknown> {
  /** Names the supervisor in events, errors and its parent's child list. */
  id: string;
  /**
   * `one_for_one`: restart only the child that stopped. `one_for_all`: stop the others and restart them all.
   * `rest_for_one`: stop the children started after it and restart it and them. `simple_one_for_one`:
   * `one_for_one` over children started dynamically from `childTemplate`.
   */
  strategy: Strategy;
  /** At most this many restarts within `period`; one more and the supervisor gives up. @default 3 */
  intensity?: number;
  /** The window of the restart budget, in ms. @default 5000 */
  period?: number;
  /** An exponential backoff before each restart. @default none: restarts are immediate, as in OTP */
  backoff?: BackoffOptions;
  /** Started in order by start(), stopped in reverse. Must be empty for `simple_one_for_one`. @default [] */
  children?: ChildSpec[];
  /** What startChild(args) starts; required by `simple_one_for_one`, and only there. */
  childTemplate?: ChildTemplate<Args>;
  /** Source of time for the restart budget. @default the system clock */
  clock?: Clock;
  /** Source of timeouts, for backoff and shutdown grace periods. @default the host's timers */
  timers?: Timers;
  /** Random numbers in [0, 1), for backoff jitter. @default Math.random */
  random?: () => number;
  /** Receives every supervisor event. Must not throw. @default ignores them */
  emit?: (event: SupervisorEvent) => void;
  /**
   * Called when a root supervisor (one started without a parent link) fails: it reached its restart intensity
   * and has stopped all its children. Not called on stop() or kill(). @default none
   */
  onFatal?: (reason: { error: LlmStateError }) => void;
}

/** The options with every default filled, and the children with theirs. @internal */
export interface ResolvedSupervisorOptions<Args = unknown> {
  id: string;
  strategy: Strategy;
  intensity: number;
  period: number;
  backoff: Required<BackoffOptions> | undefined;
  children: ResolvedChildSpec[];
  childTemplate: ChildTemplate<Args> | undefined;
  clock: Clock;
  timers: Timers;
  random: () => number;
  emit: (event: SupervisorEvent) => void;
  onFatal: ((reason: { error: LlmStateError }) => void) | undefined;
}

/** The documented defaults of {@link SupervisorOptions}. */
export const DEFAULT_SUPERVISOR_OPTIONS = {
  intensity: 3,
  period: 5000,
  jitter: 0,
} as const;

const STRATEGIES = ['one_for_one', 'one_for_all', 'rest_for_one', 'simple_one_for_one'] as const;
const aFunction = <Fn>() => z.custom<Fn>((value) => typeof value === 'function');
const timerMs = z.number().int().min(0).max(MAX_SHUTDOWN_MS);

/** Each scalar option's schema, and how a message describes what it expects. */
const FIELDS = {
  id: [z.string().min(1), 'a non-empty string'],
  strategy: [z.enum(STRATEGIES), "'one_for_one', 'one_for_all', 'rest_for_one' or 'simple_one_for_one'"],
  intensity: [z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), 'a non-negative integer'],
  period: [z.number().int().positive().max(Number.MAX_SAFE_INTEGER), 'a positive integer of ms'],
  backoff: [z.object({}).passthrough(), 'an object { minMs, maxMs, jitter? }'],
  children: [z.unknown(), 'an array of child specs'],
  childTemplate: [z.unknown(), 'a child template'],
  clock: CLOCK_OPTION,
  timers: TIMERS_OPTION,
  random: [aFunction<() => number>(), 'a function returning numbers in [0, 1)'],
  emit: [aFunction<(event: SupervisorEvent) => void>(), 'a function'],
  onFatal: [aFunction<(reason: { error: LlmStateError }) => void>(), 'a function'],
} as const;

/**
 * Checks supervisor options once, at the edge, and fills defaults.
 *
 * @throws {TypeError} reading like ``Expected `intensity` to be a non-negative integer, got `-1` (number)``.
 * @internal
 */
export function resolveSupervisorOptions<Args>(input: unknown): ResolvedSupervisorOptions<Args> {
  const options = checkOptions(input, FIELDS, { what: 'the supervisor options', required: ['id', 'strategy'] });
  const { strategy } = options;
  const children = options.children ?? [];
  checkChildSpecs(children, 'children');
  const template = options.childTemplate;
  if (strategy === 'simple_one_for_one') {
    if (children.length > 0) {
      throw new TypeError(`Expected \`children\` to be empty for a simple_one_for_one supervisor (it starts children from \`childTemplate\`), got ${children.length} specs`);
    }
    if (template === undefined) {
      throw new TypeError('Expected `childTemplate` to be a child template for a simple_one_for_one supervisor, got `undefined` (undefined)');
    }
    checkChildTemplate(template, 'childTemplate');
  } else if (template !== undefined) {
    throw new TypeError(`Expected no \`childTemplate\` for a ${strategy} supervisor (only simple_one_for_one uses one), got ${describeOption(template)}`);
  }
  return {
    id: options.id,
    strategy,
    intensity: options.intensity ?? DEFAULT_SUPERVISOR_OPTIONS.intensity,
    period: options.period ?? DEFAULT_SUPERVISOR_OPTIONS.period,
    backoff: options.backoff === undefined ? undefined : resolveBackoff(options.backoff),
    children: children.map(resolveChildSpec),
    childTemplate: template as ChildTemplate<Args> | undefined,
    clock: options.clock ?? systemClock,
    timers: options.timers ?? systemTimers,
    random: options.random ?? Math.random,
    emit: options.emit ?? (() => {}),
    onFatal: options.onFatal,
  };
}

/** A backoff's fields; `maxMs` is checked after, against `minMs`. */
const BACKOFF_FIELDS = {
  minMs: [timerMs, `a non-negative integer of ms up to ${MAX_SHUTDOWN_MS}`],
  maxMs: [z.unknown(), `an integer of ms from \`backoff.minMs\` up to ${MAX_SHUTDOWN_MS}`],
  jitter: [z.number().min(0).max(1), 'a number from 0 to 1'],
} as const;

function resolveBackoff(input: unknown): Required<BackoffOptions> {
  const backoff = checkOptions(input, BACKOFF_FIELDS, { required: ['minMs'], nested: { path: 'backoff', kind: 'a backoff' } });
  const { minMs } = backoff;
  const maxMs = timerMs.min(minMs).safeParse(backoff.maxMs);
  if (!maxMs.success) {
    throw new TypeError(`Expected \`backoff.maxMs\` to be an integer of ms from \`backoff.minMs\` (${minMs}) up to ${MAX_SHUTDOWN_MS}, got ${describeOption(backoff.maxMs)}`);
  }
  return { minMs, maxMs: maxMs.data, jitter: backoff.jitter ?? DEFAULT_SUPERVISOR_OPTIONS.jitter };
}
