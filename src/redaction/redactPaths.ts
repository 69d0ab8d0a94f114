/**
 * The per-hook `redact` option: paths naming values to hide, compiled once and followed as `redact`
 * copies a value.
 */

/** One step of a compiled redact path. */
export type PathStep = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'any' };

/** A compiled path and how many of its steps the current position has matched. */
export interface Cursor {
  steps: readonly PathStep[];
  at: number;
}

/**
 * Checks redact paths without redacting anything, so a hook's `redact` option can be rejected when the
 * hook is registered rather than when it first runs. See `redact` for the syntax.
 *
 * @throws {TypeError} when `paths` is not an array of strings, or a path is not valid syntax.
 * @example
 * checkRedactPaths(['*.value.card', 'events[0].data']) // passes
 * checkRedactPaths(['user..email']) // throws TypeError
 */
export function checkRedactPaths(paths: unknown): asserts paths is readonly string[] {
  if (!Array.isArray(paths)) {
    throw new TypeError(`Expected redact paths to be an array of strings, got \`${String(paths)}\` (${typeof paths})`);
  }
  compilePaths(paths);
}

/** @throws {TypeError} when a path is not valid syntax. */
export function compilePaths(paths: readonly unknown[]): PathStep[][] {
  return paths.map((path) => compilePath(path));
}

/**
 * `paths` moved under `prefix`: a hook's paths name fields of one event, and an event sits at
 * `input[*]` of an execution, at `events[*]` of a dead letter. Valid paths stay valid.
 */
export function pathsUnder(prefix: string, paths: readonly string[]): string[] {
  return paths.map((path) => (path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`));
}

/** The cursors still matching after stepping into `child`, or `'redact'` when one matched fully. */
export function advance(cursors: readonly Cursor[], child: string | number): readonly Cursor[] | 'redact' {
  if (cursors.length === 0) return cursors;
  const next: Cursor[] = [];
  for (const cursor of cursors) {
    const step = cursor.steps[cursor.at];
    const matches =
      step.kind === 'any' ||
      (step.kind === 'key' && typeof child === 'string' && step.key === child) ||
      (step.kind === 'index' && typeof child === 'number' && step.index === child);
    if (!matches) continue;
    if (cursor.at + 1 === cursor.steps.length) return 'redact';
    next.push({ steps: cursor.steps, at: cursor.at + 1 });
  }
  return next;
}

/** One token of a path: a name, `*`, or a bracketed index, each with its leading `.` if any. */
const PATH_TOKEN = /\.?([^.[\]*]+|\*)|\[(0|[1-9][0-9]*|\*)\]/y;

function compilePath(path: unknown): PathStep[] {
  if (typeof path !== 'string') {
    throw new TypeError(`Expected a redact path to be a string, got \`${String(path)}\` (${typeof path})`);
  }
  const steps: PathStep[] = [];
  let at = 0;
  while (at < path.length) {
    PATH_TOKEN.lastIndex = at;
    const match = PATH_TOKEN.exec(path);
    // A name or `*` needs a dot before it, except as the first step; an index never takes one.
    if (match === null || (match[2] === undefined && (path[at] === '.') !== at > 0)) {
      throw new TypeError(
        `Expected redact path \`${path}\` to be names or \`*\` joined by \`.\`, with optional \`[n]\` or \`[*]\` indexes; ` +
          `invalid at position ${at}`,
      );
    }
    const [, name, index] = match;
    if (name === '*' || index === '*') steps.push({ kind: 'any' });
    else if (name !== undefined) steps.push({ kind: 'key', key: name });
    else steps.push({ kind: 'index', index: Number(index) });
    at = PATH_TOKEN.lastIndex;
  }
  if (steps.length === 0) throw new TypeError('Expected a redact path to be a non-empty string, got `""`');
  return steps;
}
