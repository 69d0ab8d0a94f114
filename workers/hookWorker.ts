import audit from './builtins/audit.js';
import cacheInvalidation from './builtins/cacheInvalidation.js';
import metrics from './builtins/metrics.js';
import schemaReport from './builtins/schemaReport.js';
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { HookTask, HookWorkerData, ProbeOutcome, RejectedOutcome, RunOutcome, RunTask, StartedMessage, TaskBatch } from './protocol.js';
import { describe, hookResultJson, InvalidHookResult, mergeHookResults, type MergedResult } from './hookResult.js';
import { mightRedactParsed, redactJson, resultPaths } from '../src/redaction/index.js';
import { batchEvents } from './taskEvents.js';

type HookFunction = (events: unknown[], context: unknown, builtinInput?: unknown) => unknown;

/** Built-ins are part of the worker itself, so they load however the worker did (compiled, or under tsx). */
const BUILTINS: Record<string, HookFunction> = {
  audit: audit as HookFunction,
  cacheInvalidation: cacheInvalidation as HookFunction,
  metrics: metrics as HookFunction,
  schemaReport: schemaReport as HookFunction,
};

// Before any hook module loads, so that what it prints as it loads goes the same way. Written at once to
// file descriptor 2: a worker's own stdio reaches the process through the main thread, and what is still
// on its way when the command ends and its pool stops the workers is lost.
if ((workerData as HookWorkerData | null)?.printToStderr === true) {
  process.stdout.write = writeToStderrNow as typeof process.stdout.write;
  process.stderr.write = writeToStderrNow as typeof process.stderr.write;
}

function writeToStderrNow(chunk: string | Uint8Array, encoding?: BufferEncoding | ((error?: Error | null) => void), done?: (error?: Error | null) => void): boolean {
  const callback = typeof encoding === 'function' ? encoding : done;
  try {
    writeSync(2, typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : chunk);
    callback?.(null);
  } catch (error) {
    callback?.(error as Error);
  }
  return true;
}

const loaded = new Map<string, Promise<HookFunction>>();
const require = createRequire(import.meta.url);
const TYPESCRIPT = /^file:.*\.[cm]?ts$/;

/** The piscina task function: runs one hook execution, or probes a module. */
export default async function runHookTask(task: HookTask): Promise<RunOutcome | RejectedOutcome | ProbeOutcome> {
  const hook = await load(task.module);
  if (task.kind === 'probe') return { ok: true };
  if (task.startToken !== undefined) parentPort?.postMessage({ hookStarted: task.startToken } satisfies StartedMessage);
  return run(task, hook);
}

async function run(task: RunTask, hook: HookFunction): Promise<RunOutcome | RejectedOutcome> {
  const events = task.batches.flatMap(batchEvents);
  // Recorded before the hook runs, so a hook that mutates its input cannot change what history shows.
  const inputJson = redactedInput(task.batches, events, task.redact);
  const started = performance.now();
  const context = Object.freeze({ ...task.context });
  const returned = await (task.builtinInput === undefined ? hook(events, context) : hook(events, context, task.builtinInput));
  const durationMs = performance.now() - started;
  // Checked here, before posting: postMessage would drop a result nested too deep (a time-out), and
  // JSON would quietly turn a function into nothing and NaN into null.
  let plainJson: string;
  try {
    plainJson = hookResultJson(mergeHookResults(returned), task.maxResultBytes);
  } catch (error) {
    if (error instanceof InvalidHookResult) return { rejected: error.problem };
    throw error;
  }
  const plain = JSON.parse(plainJson) as MergedResult;
  const resultJson = redactJson(plainJson, resultPaths(task.redact), plain);
  return { actions: plain.actions ?? [], output: plain.output, inputJson, resultJson, durationMs };
}

/** The input as history records it: null when redaction changes nothing, so the events as sent stand. */
function redactedInput(batches: TaskBatch[], events: unknown[], paths: readonly string[]): string | null {
  // The events were parsed from the batches' text; an event's id, seq and at hold no letters.
  if (paths.length === 0 && !mightRedactParsed(batches.map((batch) => batch.eventsJson), events)) return null;
  const texts = events.map((event) => JSON.stringify(event));
  const redacted = texts.map((text, index) => redactJson(text, paths, events[index]));
  return redacted.every((text, index) => text === texts[index]) ? null : `[${redacted.join(',')}]`;
}

function load(module: string): Promise<HookFunction> {
  let hook = loaded.get(module);
  if (hook === undefined) {
    hook = importHook(module);
    loaded.set(module, hook);
    // A module that failed to load may be fixed on disk; try again next time.
    hook.catch(() => loaded.delete(module));
  }
  return hook;
}

async function importHook(module: string): Promise<HookFunction> {
  if (module.startsWith('builtin:')) {
    const builtin = BUILTINS[module.slice(8)];
    if (builtin === undefined) throw new Error(`There is no built-in hook ${module.slice(8)}`);
    return builtin;
  }
  let namespace: { default?: unknown };
  try {
    // Under tsx on Node 20, a worker thread gets tsx's require hook but not its ESM loader, so a
    // TypeScript hook loads through require; anything else is imported.
    namespace = TYPESCRIPT.test(module) ? (require(fileURLToPath(module)) as { default?: unknown }) : ((await import(module)) as { default?: unknown });
  } catch (error) {
    throw new Error(`The hook module ${module} could not be loaded: ${(error as Error).message}`);
  }
  if (typeof namespace.default !== 'function') {
    throw new Error(`The hook module ${module} has no default export function (found ${describe(namespace.default)})`);
  }
  return namespace.default as HookFunction;
}
