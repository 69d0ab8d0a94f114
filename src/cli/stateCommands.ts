import { InvalidArgumentError, type Command } from 'commander';
import { escapeForDisplay } from '../displayText.js';
import { LlmStateError } from '../errors.js';
import { DEFAULT_MAX_VALUE_BYTES } from '../state/values.js';
import { checkCorrelationId } from '../events/correlation.js';
import { Scope } from '../state/Scope.js';
import { normalizeKey } from '../state/keyRules.js';
import { cliStreams } from './cliStreams.js';
import { globalOptions } from './globalOptions.js';
import { ExitError, EXIT_FAILURE, printJson, printLine } from './output.js';
import { withRuntime } from './withRuntime.js';

const SCOPE_HELP = 'global, agent:<id>, workflow:<id>, step:<workflowId>/<stepName>, session:<id> or custom:<name>';

/** Adds `set`, `get`, `keys` and `del`. */
export function registerStateCommands(program: Command): void {
  program
    .command('set')
    .description('store a JSON value under a key')
    .argument('<scope>', SCOPE_HELP)
    .argument('<key>', 'the key, such as topic or cfg.model')
    .argument('<json>', `the value as JSON: '{"name":"weather"}', 42, '"text"'; - reads it from stdin`)
    .option('--correlation-id <id>', 'record the write under this correlation id', parseCorrelationId)
    .action(async (scopeText: string, keyText: string, json: string, options: { correlationId?: string }, command: Command) => {
      const scope = Scope.parse(scopeText);
      const key = normalizeKey(keyText);
      const value = parseJsonValue(json === '-' ? await readStdin(cliStreams().stdin, DEFAULT_MAX_VALUE_BYTES) : json);
      await withRuntime(globalOptions(command).store, 'create', (rt) =>
        rt.state.set(scope, key, value, options),
      );
    });

  program
    .command('get')
    .description('print the value of a key as JSON (nothing, and exit 1, when there is none)')
    .argument('<scope>', SCOPE_HELP)
    .argument('<key>', 'the key')
    .option('--pretty', 'indent the JSON')
    .action(async (scopeText: string, keyText: string, options: { pretty?: boolean }, command: Command) => {
      const scope = Scope.parse(scopeText);
      const key = normalizeKey(keyText);
      const value = await withRuntime(globalOptions(command).store, 'existing', (rt) => rt.state.get(scope, key));
      if (value === undefined) throw new ExitError(EXIT_FAILURE, `no value at ${scope} ${key}`);
      printJson(value, options.pretty === true ? 2 : undefined);
    });

  program
    .command('keys')
    .description('list the keys of a scope, one per line, in key order')
    .argument('<scope>', SCOPE_HELP)
    .option('--prefix <prefix>', 'only keys that start with this')
    .action(async (scopeText: string, options: { prefix?: string }, command: Command) => {
      const scope = Scope.parse(scopeText);
      const keys = await withRuntime(globalOptions(command).store, 'existing', (rt) =>
        rt.state.listKeys(scope, { prefix: options.prefix ?? '' }),
      );
      // One key a line: a key may hold a bidi or zero-width character, which would make it look like another.
      for (const key of keys) printLine(escapeForDisplay(key));
    });

  program
    .command('del')
    .description('delete a key; prints deleted or not found')
    .argument('<scope>', SCOPE_HELP)
    .argument('<key>', 'the key')
    .option('--correlation-id <id>', 'record the delete under this correlation id', parseCorrelationId)
    .action(async (scopeText: string, keyText: string, options: { correlationId?: string }, command: Command) => {
      const scope = Scope.parse(scopeText);
      const key = normalizeKey(keyText);
      const existed = await withRuntime(globalOptions(command).store, 'existing', (rt) =>
        rt.state.delete(scope, key, options),
      );
      printLine(existed ? 'deleted' : 'not found');
    });
}

/** @throws {VALUE_INVALID} naming the JSON syntax problem. */
export function parseJsonValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    // A bare word is the usual slip: the shell has already eaten the quotes of a JSON string.
    const hint = /^[^\s"'{}[\]]+$/.test(text) ? `. To store it as a string, write it as JSON: '${JSON.stringify(text)}'` : '';
    throw new LlmStateError('VALUE_INVALID', `The value is not valid JSON: ${(error as Error).message}${hint}`, {
      cause: error,
      details: { rule: 'json-syntax' },
    });
  }
}

/**
 * All of `input` as UTF-8 text, for values too large for a command-line argument (Linux caps one at
 * 128 KiB). Reading stops as soon as more than `maxBytes` have come, so a huge or endless input costs
 * no more than the limit. The limit applies to the text as given: the runtime's `maxValueBytes` (the
 * CLI opens the runtime with the default), which bounds the value's compact JSON.
 *
 * @throws {VALUE_TOO_LARGE} when the input is longer than `maxBytes`; the rest is not read.
 * @throws {VALUE_INVALID} when the input is not valid UTF-8.
 */
export async function readStdin(input: AsyncIterable<Buffer | string>, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  // Leaving the loop early (the throw) destroys the stream: nothing more is read.
  for await (const chunk of input) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    bytes += buffer.length;
    if (bytes > maxBytes) {
      throw new LlmStateError('VALUE_TOO_LARGE', `The value on standard input is more than ${maxBytes} bytes; the limit is ${maxBytes} (maxValueBytes)`, {
        details: { limit: maxBytes, source: 'stdin' },
      });
    }
    chunks.push(buffer);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks, bytes));
  } catch (error) {
    throw new LlmStateError('VALUE_INVALID', 'The value on standard input is not valid UTF-8 text', {
      cause: error,
      details: { rule: 'utf-8', source: 'stdin' },
    });
  }
}

/** A commander argument parser for a correlation id; a bad one is a usage error. */
export function parseCorrelationId(id: string): string {
  try {
    checkCorrelationId(id);
  } catch {
    throw new InvalidArgumentError('A correlation id is 1–128 characters without control characters.');
  }
  return id;
}
