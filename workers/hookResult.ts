import { findNonJsonData, type JsonDataProblem, type JsonDataRules } from '../src/state/jsonData.js';

/**
 * How deep a hook's `output`, or one of its actions, may nest, counted from itself. Well below what a
 * result can cross the thread boundary with: postMessage silently drops an object nested about 1,900
 * levels deep (Node 20, measured), which would leave the execution to time out.
 */
export const MAX_HOOK_RESULT_DEPTH = 512;

/** How many times `maxValueBytes` a hook's whole result (actions and output, as JSON) may take. */
export const HOOK_RESULT_BYTES_FACTOR = 8;

/** The byte limit of a hook's result, as JSON, for a runtime's `maxValueBytes`. */
export function hookResultByteLimit(maxValueBytes: number): number {
  return HOOK_RESULT_BYTES_FACTOR * maxValueBytes;
}

/** A field left undefined is left out, as JSON.stringify does: `{ echo: flag ? x : undefined }` is common. */
const RESULT_RULES: JsonDataRules = { maxDepth: MAX_HOOK_RESULT_DEPTH, undefinedFields: 'omitted' };

/**
 * A result that breaks a rule, and where. The worker hands the problem back rather than a message, so
 * that the main thread words it (a path can be thousands of characters long; messages shorten it).
 */
export class InvalidHookResult extends Error {
  readonly problem: JsonDataProblem;

  constructor(problem: JsonDataProblem) {
    super(invalidResultMessage(problem.path, problem.reason));
    this.name = 'InvalidHookResult';
    this.problem = problem;
  }
}

/** The one wording of an invalid result; `path` as the message should show it. */
export function invalidResultMessage(path: string, reason: string): string {
  return `The hook result is invalid at ${path}: ${reason}`;
}

/** The merged result of a hook, checked: plain JSON data. */
export interface MergedResult {
  actions?: unknown[];
  output?: unknown;
}

/**
 * Checks what a hook returned and merges it: nothing, `{ actions?, output? }`, or an array of those
 * (merged in order). Every `output` and action must be JSON data within {@link MAX_HOOK_RESULT_DEPTH}.
 * Paths start at `$`, the value the hook returned.
 *
 * @throws {InvalidHookResult} naming the first part that is not JSON data, and what is wrong there.
 * @throws {Error} for a result that is not shaped `{ actions?, output? }`.
 */
export function mergeHookResults(returned: unknown): MergedResult {
  if (returned === undefined || returned === null) return {};
  const many = Array.isArray(returned);
  const results = many ? returned : [returned];
  const merged: MergedResult = {};
  const outputs: unknown[] = [];
  for (const [index, result] of results.entries()) {
    if (result === undefined || result === null) continue;
    const at = many ? `$[${index}]` : '$';
    if (typeof result !== 'object' || Array.isArray(result)) {
      throw new Error(`The hook returned ${describe(result)} at ${at}; expected { actions?, output? }`);
    }
    const { actions, output, ...rest } = result as Record<string, unknown>;
    const unknownKeys = Object.keys(rest);
    if (unknownKeys.length > 0) throw new Error(`The hook result at ${at} has unknown field(s) ${unknownKeys.join(', ')}; expected { actions?, output? }`);
    if (actions !== undefined) {
      if (!Array.isArray(actions)) throw new Error(`The hook result's actions at ${at}.actions is ${describe(actions)}; expected an array`);
      actions.forEach((action, position) => checkPart(action, `${at}.actions[${position}]`));
      (merged.actions ??= []).push(...actions);
    }
    if (output !== undefined) {
      checkPart(output, `${at}.output`);
      outputs.push(output);
    }
  }
  if (outputs.length === 1) merged.output = outputs[0];
  else if (outputs.length > 1) merged.output = outputs;
  return merged;
}

/**
 * The merged result as JSON text, within the byte limit.
 *
 * @throws {InvalidHookResult} at `$` when it is larger than `maxBytes`.
 */
export function hookResultJson(merged: MergedResult, maxBytes: number): string {
  const json = JSON.stringify(merged);
  // UTF-8 takes one to three bytes per UTF-16 unit, so the exact count is rarely needed.
  if (json.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > maxBytes) {
      throw new InvalidHookResult({ path: '$', reason: `it is too large: ${bytes} bytes as JSON; the limit is ${maxBytes} (${HOOK_RESULT_BYTES_FACTOR} × maxValueBytes)` });
    }
  }
  return json;
}

function checkPart(value: unknown, path: string): void {
  const problem = findNonJsonData(value, path, RESULT_RULES);
  if (problem !== undefined) throw new InvalidHookResult(problem);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value).slice(0, 40)}`;
}
