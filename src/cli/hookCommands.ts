import { InvalidArgumentError, Option, type Command } from 'commander';
import { escapeForDisplay } from '../displayText.js';
import type { HookDeadLetter, HookInfo, ReplayResult } from '../hooks/Hooks.js';
import type { HistoryFilter } from '../hooks/HookHistory.js';
import type { DiffOp } from '../hooks/replayDiff.js';
import type { ExecutionStatus, HookExecution, HookExecutionMetadata } from '../hooks/types.js';
import type { Runtime } from '../runtime.js';
import { globalOptions } from './globalOptions.js';
import { count, ExitError, EXIT_FAILURE, formatTable, isoTime, oneLine, printJson, printLine, printResult, printNote, previewJson, stdoutStyles, type Styles } from './output.js';
import { parseCorrelationId } from './stateCommands.js';
import { describeStore } from './storeSource.js';
import { withRuntime } from './withRuntime.js';

/** How many executions `hooks history` prints unless `--limit` says otherwise. */
export const DEFAULT_HISTORY_LIMIT = 20;

export const EXECUTION_STATUSES: readonly ExecutionStatus[] = ['succeeded', 'failed', 'timed_out'];

/**
 * What the store has recorded of a hook's executions, replays left out. History retention may have
 * removed the oldest ones.
 */
export interface RecordedExecutions {
  executions: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  /** Nearest-rank percentiles of the succeeded and timed-out durations, as the latency budget counts them. */
  p50Ms?: number;
  p95Ms?: number;
}

/**
 * One row of `hooks list`. The breaker, `pending` and `inFlight` are the runtime's view as the command
 * opened the store; the counts come from the stored history and dead letters, because the live counters
 * of {@link HookInfo} only count what ran in this process, which is nothing.
 */
export interface HookListing extends Pick<HookInfo, 'name' | 'definition' | 'breaker' | 'disabled' | 'pending' | 'inFlight'> {
  recorded: RecordedExecutions;
  /** Events waiting in the hook's dead letters, for `hooks redeliver`. */
  deadLettered: number;
}

/** Adds `hooks list`, `hooks history`, `hooks replay`, `hooks dead-letters`, `hooks redeliver`, `hooks disable` and `hooks enable`. */
export function registerHookCommands(program: Command): void {
  const hooks = program
    .command('hooks')
    .description("inspect registered hooks and their history, replay executions, redeliver dead letters, disable and enable hooks (no hook's pending work runs)");

  hooks
    .command('list')
    .description('one line per registered hook: events, breaker, pending, recorded outcomes, p95, disabled')
    .option('--json', 'print the list as JSON, definitions included')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { store } = globalOptions(command);
      const listings = await withRuntime(store, 'existing', collectHookListings);
      printResult(listings, options, (found) => formatHookList(found, stdoutStyles()), `no hooks are registered in ${escapeForDisplay(describeStore(store))}`);
    });

  hooks
    .command('history')
    .description('recorded hook executions, newest first: time, hook, status, attempt, duration, id, events, error')
    .option('--hook <name>', 'only executions of this hook', parseNonEmpty('a hook name'))
    .option('--correlation <id>', "only executions on this correlation's story", parseCorrelationId)
    .addOption(new Option('--status <status>', 'only executions that ended so').choices(EXECUTION_STATUSES))
    .option('--limit <n>', 'print at most n executions', parsePositive, DEFAULT_HISTORY_LIMIT)
    .option('--json', 'print the full records, with their redacted input and result')
    .action(async (options: { hook?: string; correlation?: string; status?: ExecutionStatus; limit: number; json?: boolean }, command: Command) => {
      const { store } = globalOptions(command);
      const filter: HistoryFilter = {
        ...(options.hook === undefined ? {} : { hookName: options.hook }),
        ...(options.correlation === undefined ? {} : { correlationId: options.correlation }),
        ...(options.status === undefined ? {} : { status: options.status }),
        limit: options.limit,
        newestFirst: true,
      };
      const executions = await withRuntime(store, 'existing', (rt) => rt.hooks.history(filter));
      printResult(executions, options, (found) => formatHistory(found, stdoutStyles()), `no recorded hook executions match in ${escapeForDisplay(describeStore(store))}`);
    });

  hooks
    .command('replay')
    .description('run a recorded execution again, in isolation (its actions are not applied), and print how the outcome differs')
    .argument('<executionId>', 'the execution to replay, as hooks history shows it', parseNonEmpty('an execution id'))
    .option(
      '--patch <json>',
      `change the input first: an RFC 6902 patch (array) on the events, or a merge patch (object) applied to each event, such as '{"value":{"name":"rain"}}'`,
      parsePatch,
    )
    .option('--json', 'print the original, the replay, the diff and equal as JSON')
    .action(async (executionId: string, options: { patch?: unknown; json?: boolean }, command: Command) => {
      const { store } = globalOptions(command);
      const result = await withRuntime(store, 'existing', (rt) =>
        rt.hooks.replay(executionId, options.patch === undefined ? {} : { patch: options.patch }),
      );
      if (options.json === true) {
        printJson(result, 2);
        return;
      }
      const { replayed } = result;
      printNote(`replayed ${escapeForDisplay(result.original.executionId)} as ${escapeForDisplay(replayed.executionId)}: ${replayed.status} in ${formatMs(replayed.durationMs)}${replayed.error === undefined ? '' : ` (${replayed.error.code})`}`);
      for (const line of formatReplay(result)) printLine(line);
    });

  hooks
    .command('dead-letters')
    .description('batches of events no execution could take: attempts exhausted, outbox full, or hook unregistered')
    .option('--hook <name>', 'only the dead letters of this hook', parseNonEmpty('a hook name'))
    .option('--json', 'print the dead letters as JSON, with their events')
    .action(async (options: { hook?: string; json?: boolean }, command: Command) => {
      const { store } = globalOptions(command);
      const letters = await withRuntime(store, 'existing', (rt) =>
        rt.hooks.deadLetters({ ...(options.hook === undefined ? {} : { hookName: options.hook }), limit: Number.MAX_SAFE_INTEGER }),
      );
      const forHook = options.hook === undefined ? '' : ` for ${escapeForDisplay(options.hook)}`;
      printResult(letters, options, (found) => formatDeadLetters(found, stdoutStyles()), `no hook dead letters${forHook} in ${escapeForDisplay(describeStore(store))}`);
    });

  hooks
    .command('redeliver')
    .description("put a hook's dead letters back in its outbox, with fresh attempts; they run when the store's program next delivers hooks")
    .argument('<name>', 'the hook, which must be registered', parseNonEmpty('a hook name'))
    .action(async (name: string, _options: unknown, command: Command) => {
      const { store } = globalOptions(command);
      const events = await withRuntime(store, 'existing', (rt) => rt.hooks.redeliver(name));
      printLine(`${count(events, 'event')} back in the outbox of ${escapeForDisplay(name)}`);
    });

  hooks
    .command('disable')
    .description('stop running a hook: what arrives for it waits in the outbox until it is enabled; exit 1 when no hook has that name')
    .argument('<name>', 'the hook, as hooks list shows it', parseNonEmpty('a hook name'))
    .option('--reason <text>', 'why, as hooks list shows it', parseNonEmpty('a reason'), 'disabled by hand')
    .action(async (name: string, options: { reason: string }, command: Command) => {
      const { store } = globalOptions(command);
      const found = await withRuntime(store, 'existing', (rt) => rt.hooks.disable(name, options.reason));
      if (!found) throw noSuchHook(name, store);
      printLine(`disabled ${escapeForDisplay(name)}`);
    });

  hooks
    .command('enable')
    .description('run a disabled hook again, what waited for it first; exit 1 when no hook has that name')
    .argument('<name>', 'the hook, as hooks list shows it', parseNonEmpty('a hook name'))
    .action(async (name: string, _options: unknown, command: Command) => {
      const { store } = globalOptions(command);
      const found = await withRuntime(store, 'existing', (rt) => rt.hooks.enable(name));
      if (!found) throw noSuchHook(name, store);
      printLine(`enabled ${escapeForDisplay(name)}`);
    });

  // Subcommands copied the program's hint when they were created; name them instead.
  for (const sub of hooks.commands) sub.showHelpAfterError(`(run llmstate hooks ${sub.name()} --help for usage)`);
}

function noSuchHook(name: string, store: Parameters<typeof describeStore>[0]): ExitError {
  return new ExitError(EXIT_FAILURE, `no hook ${escapeForDisplay(name)} is registered in ${escapeForDisplay(describeStore(store))}; llmstate hooks list lists them`);
}

/**
 * Reads what `hooks list` prints: every registered hook, highest priority first, with what its stored
 * history and dead letters hold.
 *
 * @throws {DATA_CORRUPT} when a history record fails its checksum.
 */
export async function collectHookListings(rt: Runtime): Promise<HookListing[]> {
  const infos = rt.hooks.list();
  const recorded = new Map(infos.map((info) => [info.name, [] as HookExecutionMetadata[]]));
  // rt.hooks.history() would also inflate every input and result.
  for (const meta of await rt.hooks.historyMetadata({ replays: 'exclude', limit: Number.MAX_SAFE_INTEGER })) {
    recorded.get(meta.hookName)?.push(meta);
  }
  const deadLettered = new Map<string, number>();
  for (const letter of await rt.hooks.deadLetters({ limit: Number.MAX_SAFE_INTEGER })) {
    deadLettered.set(letter.hookName, (deadLettered.get(letter.hookName) ?? 0) + letter.events.length);
  }
  return infos.map(({ name, definition, breaker, disabled, pending, inFlight }) => ({
    name,
    definition,
    breaker,
    ...(disabled === undefined ? {} : { disabled }),
    pending,
    inFlight,
    recorded: summarizeExecutions(recorded.get(name) ?? []),
    deadLettered: deadLettered.get(name) ?? 0,
  }));
}

/** Counts by status, and latency percentiles, of a hook's recorded executions. */
export function summarizeExecutions(executions: readonly Pick<HookExecution, 'status' | 'durationMs'>[]): RecordedExecutions {
  const summary: RecordedExecutions = { executions: executions.length, succeeded: 0, failed: 0, timedOut: 0 };
  const durations: number[] = [];
  for (const { status, durationMs } of executions) {
    if (status === 'succeeded') summary.succeeded++;
    else if (status === 'failed') summary.failed++;
    else summary.timedOut++;
    // As the latency budget counts: a failure is usually fast and says nothing about the hook's speed.
    if (status !== 'failed') durations.push(durationMs);
  }
  if (durations.length > 0) {
    durations.sort((a, b) => a - b);
    summary.p50Ms = nearestRank(durations, 50);
    summary.p95Ms = nearestRank(durations, 95);
  }
  return summary;
}

function nearestRank(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The text form of `hooks list`: a table with a header; the disabled reason, free text, comes last. */
export function formatHookList(listings: readonly HookListing[], styles: Styles): string[] {
  const header = ['NAME', 'ON', 'PRIORITY', 'BREAKER', 'PENDING', 'IN_FLIGHT', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'DEAD_LETTERED', 'P95', 'DISABLED'];
  const rows = listings.map((hook) => [
    hook.name,
    hook.definition.on.join(','),
    String(hook.definition.priority),
    hook.breaker,
    String(hook.pending),
    String(hook.inFlight),
    String(hook.recorded.succeeded),
    String(hook.recorded.failed),
    String(hook.recorded.timedOut),
    String(hook.deadLettered),
    hook.recorded.p95Ms === undefined ? '-' : formatMs(hook.recorded.p95Ms),
    hook.disabled === undefined ? 'no' : `yes: ${oneLine(hook.disabled.reason, 60)}`,
  ]);
  return formatTable(header, rows, new Set([2, 4, 5, 6, 7, 8, 9, 10]), styles);
}

/** How many triggering event ids a history line shows before it counts the rest. */
const SHOWN_EVENT_IDS = 3;

/** The text form of `hooks history`: a table with a header, one line per execution, in the order given. */
export function formatHistory(executions: readonly HookExecution[], styles: Styles): string[] {
  const header = ['TIME', 'HOOK', 'STATUS', 'ATTEMPT', 'DURATION', 'EXECUTION', 'EVENTS', 'ERROR', 'REPLAY_OF'];
  const rows = executions.map((execution) => {
    const ids = execution.eventIds.slice(0, SHOWN_EVENT_IDS);
    const more = execution.eventIds.length - ids.length;
    return [
      isoTime(execution.startedAt),
      execution.hookName,
      execution.status,
      String(execution.attempt),
      formatMs(execution.durationMs),
      execution.executionId,
      (more > 0 ? [...ids, `…+${more}`] : ids).join(',') || '-',
      execution.error?.code ?? '-',
      execution.replayOf ?? '-',
    ];
  });
  return formatTable(header, rows, new Set([3, 4]), styles);
}

/** The text form of `hooks dead-letters`: a table with a header; the error, free text, comes last. */
export function formatDeadLetters(letters: readonly HookDeadLetter[], styles: Styles): string[] {
  const header = ['TIME', 'HOOK', 'REASON', 'ATTEMPTS', 'EVENTS', 'ERROR'];
  const rows = letters.map((letter) => [
    isoTime(letter.at),
    letter.hookName,
    letter.reason,
    String(letter.attempts),
    letter.eventIds.join(','),
    letter.error === undefined ? '-' : `${letter.error.code}: ${oneLine(letter.error.message, 80)}`,
  ]);
  return formatTable(header, rows, new Set([3]), styles);
}

/** `equal`, or one line per difference between the original outcome and the replayed one. */
export function formatReplay(result: ReplayResult): string[] {
  if (result.equal) return ['equal'];
  const before = outcomeOf(result.original);
  // A path names keys of the hook's result, which may hold anything.
  return result.diff.map((op) => escapeForDisplay(formatDiffOp(op, before)));
}

/**
 * One RFC 6902 operation, with the value it replaced or removed looked up in `before`:
 * `replace /result/output/name: "a" → "b"`, `add /result/output/note: "x"`, `remove /error (was {…})`.
 */
export function formatDiffOp(op: DiffOp, before: unknown): string {
  switch (op.op) {
    case 'replace':
      return `replace ${op.path}: ${shown(lookUp(before, op.path))} → ${shown(op.value)}`;
    case 'remove':
      return `remove ${op.path} (was ${shown(lookUp(before, op.path))})`;
    case 'add':
    case 'test':
      return `${op.op} ${op.path}: ${shown(op.value)}`;
    case 'move':
    case 'copy':
      return `${op.op} ${op.from} → ${op.path}`;
  }
}

/** What a replay is compared on, as rt.hooks.replay compares it: how it ended and what it returned. */
export function outcomeOf(execution: HookExecution): unknown {
  return { status: execution.status, result: execution.result ?? null, error: execution.error ?? null };
}

/** The value at a JSON Pointer (RFC 6901), or undefined when there is none. */
function lookUp(document: unknown, pointer: string): unknown {
  if (pointer === '') return document;
  let value = document;
  for (const token of pointer.slice(1).split('/')) {
    const name = token.replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, name)) return undefined;
    value = (value as Record<string, unknown>)[name];
  }
  return value;
}

function shown(value: unknown): string {
  return value === undefined ? '(nothing)' : previewJson(value, 100);
}

/** A duration without spaces, so a table column stays one word: `0.106ms`, `12.3ms`, `1520ms`. */
export function formatMs(ms: number): string {
  if (ms < 1) return `${ms.toFixed(3)}ms`;
  if (ms < 100) return `${ms.toFixed(1)}ms`;
  return `${Math.round(ms)}ms`;
}

/** A parser for an argument that must not be empty, checked before the store is opened. */
function parseNonEmpty(what: string): (text: string) => string {
  return (text) => {
    if (text.length === 0) throw new InvalidArgumentError(`Expected ${what}, got an empty string.`);
    return text;
  };
}

export function parsePositive(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('Expected a positive whole number, such as 20.');
  return n;
}

function parsePatch(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`The patch is not valid JSON: ${(error as Error).message}. Write it as JSON, such as '{"value":{"name":"rain"}}'.`);
  }
}
