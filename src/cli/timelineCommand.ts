import { InvalidArgumentError, Option, type Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { escapeForDisplay } from '../displayText.js';
import { renderTimeline, TIMELINE_FORMATS, type TimelineFormat } from '../events/timelineExport.js';
import { globalOptions, statPath } from './globalOptions.js';
import { count, ExitError, EXIT_FAILURE, printLine, printNote, UsageError } from './output.js';
import { parseCorrelationId } from './stateCommands.js';
import { describeStore } from './storeSource.js';
import { withRuntime } from './withRuntime.js';

/** Adds `timeline`. */
export function registerTimelineCommand(program: Command): void {
  program
    .command('timeline')
    .description("a correlation's causal story: each write, the hooks it triggered, their actions, and the writes those caused")
    .argument('<correlationId>', 'the correlation id, as the demo prints it or --correlation-id gave it', parseCorrelationId)
    .addOption(
      new Option('--format <format>', 'text (a tree), mermaid (a sequence diagram), json, or html (a self-contained page)')
        .choices(TIMELINE_FORMATS)
        .default('text'),
    )
    .option('--output <file>', 'write the export to this file instead of printing it', parseOutputFile)
    .action(async (correlationId: string, options: { format: TimelineFormat; output?: string }, command: Command) => {
      const { store } = globalOptions(command);
      const timeline = await withRuntime(store, 'existing', (rt) => rt.events.timeline(correlationId));
      // An empty story is almost always a mistyped id: say so rather than print an empty tree.
      if (timeline.eventCount === 0 && timeline.executionCount === 0) {
        throw new ExitError(EXIT_FAILURE, `nothing is recorded under correlation id ${escapeForDisplay(correlationId)} in ${escapeForDisplay(describeStore(store))}`);
      }
      // The text, Mermaid and HTML exports escape what they show; JSON keeps the characters, which are
      // escaped here as JSON escapes them, so that it stays the same JSON.
      const text = escapeForDisplay(renderTimeline(timeline, options.format), { lines: 'keep' });
      if (options.output === undefined) {
        printLine(text);
        return;
      }
      const path = resolve(options.output);
      await writeFile(path, `${text}\n`).catch((error: unknown) => {
        // Checked when parsed, so this is rare (no permission, a full disk): still a problem with --output.
        throw new UsageError(`cannot write --output ${path}: ${(error as Error).message}`, { cause: error });
      });
      printNote(
        `wrote the ${options.format} timeline of ${escapeForDisplay(correlationId)} (${count(timeline.eventCount, 'event')}, ${count(timeline.executionCount, 'hook execution')}) to ${escapeForDisplay(path)}`,
      );
    });
}

/**
 * The commander parser of `--output`: a path to a file in a directory that exists. An empty path, a
 * directory, or a missing directory is a usage error, found before the store is opened.
 */
export function parseOutputFile(text: string): string {
  if (text.length === 0) throw new InvalidArgumentError('Expected a file to write, got an empty path.');
  const path = resolve(text);
  if (statPath(path)?.isDirectory() === true) throw new InvalidArgumentError(`${path} is a directory; name a file in it.`);
  const directory = dirname(path);
  const parent = statPath(directory);
  if (parent === undefined) throw new InvalidArgumentError(`The directory ${directory} does not exist.`);
  if (!parent.isDirectory()) throw new InvalidArgumentError(`${directory} is not a directory.`);
  return text;
}
