import { escapeForDisplay } from '../displayText.js';
import { isLlmStateError } from '../errors.js';
import { cliStreams, type CliOutput } from './cliStreams.js';

/** A way to decorate text on one stream: ANSI colour on a terminal that supports it, identity elsewhere. */
export interface Styles {
  bold(text: string): string;
  dim(text: string): string;
  green(text: string): string;
  red(text: string): string;
  cyan(text: string): string;
}

const PLAIN: Styles = { bold: same, dim: same, green: same, red: same, cyan: same };

const ANSI: Styles = {
  bold: (text) => `\x1b[1m${text}\x1b[22m`,
  dim: (text) => `\x1b[2m${text}\x1b[22m`,
  green: (text) => `\x1b[32m${text}\x1b[39m`,
  red: (text) => `\x1b[31m${text}\x1b[39m`,
  cyan: (text) => `\x1b[36m${text}\x1b[39m`,
};

function same(text: string): string {
  return text;
}

/** Colour only on a terminal; `hasColors()` also honours NO_COLOR, FORCE_COLOR and TERM=dumb. */
export function stylesFor(stream: CliOutput): Styles {
  return hasColors(stream) ? ANSI : PLAIN;
}

export function hasColors(stream: CliOutput): boolean {
  return stream.isTTY === true && stream.hasColors?.() === true;
}

export const stdoutStyles = (): Styles => stylesFor(cliStreams().stdout);
export const stderrStyles = (): Styles => stylesFor(cliStreams().stderr);

let stdoutClosed = false;

// When the reader goes away (`llmstate keys … | head -1`), stop writing instead of crashing, so that the
// command still closes its runtime and exits normally.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  stdoutClosed = true;
});

/**
 * Writes one line of results to stdout, as given: colour may be in it, so it is not escaped here. Any
 * text from the store or the caller in it has passed {@link escapeForDisplay}.
 */
export function printLine(text = ''): void {
  const { stdout } = cliStreams();
  if (stdout !== process.stdout || !stdoutClosed) stdout.write(`${text}\n`);
}

/**
 * Writes commentary to stderr, where it never mixes with results; safe to print. A note may span lines,
 * so a name, id or path in it is escaped on its own first, line breaks included, to forge none.
 */
export function printNote(text: string): void {
  cliStreams().stderr.write(`${escapeForDisplay(text, { lines: 'keep' })}\n`);
}

/**
 * Thrown by a command that has already said why it failed, to end with `exitCode` and print nothing
 * more (for example `get` of a missing key).
 */
export class ExitError extends Error {
  readonly exitCode: number;

  constructor(exitCode: number, message = '') {
    super(message);
    this.name = 'ExitError';
    this.exitCode = exitCode;
  }
}

/**
 * A usage error found while a command runs, after commander parsed its arguments: printed as commander
 * prints its own, `error: message`, with exit code 2. For example an `--output` file that cannot be
 * written.
 */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** Exit codes (DESIGN §13). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * `error[CODE]: message` for an LlmStateError, `error: message` for anything else, on one line: a line
 * break in a message came from what it quotes (a path, a hook's own error), and must not forge a line.
 */
export function formatError(error: unknown): string {
  if (isLlmStateError(error)) return `error[${error.code}]: ${escapeForDisplay(error.message)}`;
  return `error: ${escapeForDisplay(error instanceof Error ? error.message : String(error))}`;
}

/** Free text on one line, cut to `max` code points, safe to print. */
export function oneLine(text: string, max: number): string {
  return escapeForDisplay(text.trim(), { lines: 'join', max });
}

/** Prints a failure (or a {@link UsageError}) and returns its exit code. */
export function reportFailure(error: unknown): number {
  if (error instanceof ExitError) {
    if (error.message !== '') printNote(error.message);
    return error.exitCode;
  }
  // Escaped before it is coloured: the colour's own escape sequences must reach the terminal.
  if (error instanceof UsageError) {
    cliStreams().stderr.write(`${stderrStyles().red(`error: ${escapeForDisplay(error.message)}`)}\n`);
    return EXIT_USAGE;
  }
  const text = formatError(error);
  const colon = text.indexOf(':');
  cliStreams().stderr.write(`${stderrStyles().red(text.slice(0, colon + 1))}${text.slice(colon + 1)}\n`);
  return EXIT_FAILURE;
}

/** A word safe to paste into a POSIX shell: as is when plain, single-quoted otherwise. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Prints `value` as JSON on stdout, on one line or indented. Non-printing characters in its strings are
 * written as `\u` escapes, which JSON reads back as the same characters: the text is safe on a
 * terminal and the value is unchanged.
 */
export function printJson(value: unknown, indent?: number): void {
  printLine(escapeForDisplay(JSON.stringify(value, null, indent), { lines: 'keep' }));
}

/**
 * Prints what a command found: indented JSON with `--json`; otherwise the lines `format` gives, or, for an
 * empty list, the note `whenEmpty` on stderr.
 */
export function printResult<T>(result: T, options: { json?: boolean }, format: (result: T) => Iterable<string>, whenEmpty?: string): void {
  if (options.json === true) printJson(result, 2);
  else if (whenEmpty !== undefined && Array.isArray(result) && result.length === 0) printNote(whenEmpty);
  else for (const line of format(result)) printLine(line);
}

/** JSON on one line, cut to `max` code points for display, safe to print. */
export function previewJson(value: unknown, max = 72): string {
  return escapeForDisplay(JSON.stringify(value) ?? String(value), { max });
}

/**
 * A table with a bold header row, columns separated by two spaces, the columns in `numeric` aligned
 * right. Lines carry no trailing spaces, so the last column may hold free text.
 */
export function formatTable(header: readonly string[], data: readonly (readonly string[])[], numeric: ReadonlySet<number>, styles: Styles): string[] {
  // Cells hold names and ids from the store: escaped before they are measured and styled.
  const rows = data.map((row) => row.map((cell) => escapeForDisplay(cell)));
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (numeric.has(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  return [styles.bold(line(header)), ...rows.map(line)];
}

/** A time as ISO 8601 UTC, to the millisecond. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** `1 event`, `2 events`. */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

/** `512 bytes`, or `1.5 KiB` and the same in bytes: `1.5 KiB (1536 bytes)`. */
export function formatBytes(bytes: number): string {
  const short = shortBytes(bytes);
  return bytes < 1024 ? short : `${short} (${bytes} bytes)`;
}

/** `512 bytes`, `1.5 KiB`, `3.2 GiB`: for a table or a progress bar. */
export function shortBytes(bytes: number): string {
  let size = bytes;
  let unit = 'bytes';
  for (const next of BYTE_UNITS) {
    if (size < 1024) break;
    size /= 1024;
    unit = next;
  }
  return unit === 'bytes' ? `${bytes} bytes` : `${size.toFixed(1)} ${unit}`;
}
