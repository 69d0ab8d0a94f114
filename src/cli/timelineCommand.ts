import { Option, type Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { renderTimeline, TIMELINE_FORMATS, type TimelineFormat } from '../events/timelineExport.js';
import { globalOptions } from './globalOptions.js';
import { count, ExitError, EXIT_FAILURE, printLine, printNote } from './output.js';
import { parseCorrelationId } from './stateCommands.js';
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
    .option('--output <file>', 'write the export to this file instead of printing it')
    .action(async (correlationId: string, options: { format: TimelineFormat; output?: string }, command: Command) => {
      const { dataDir } = globalOptions(command);
      const timeline = await withRuntime(dataDir, 'existing', (rt) => rt.events.timeline(correlationId));
      // An empty story is almost always a mistyped id: say so rather than print an empty tree.
      if (timeline.eventCount === 0 && timeline.executionCount === 0) {
        throw new ExitError(EXIT_FAILURE, `nothing is recorded under correlation id ${correlationId} in ${resolve(dataDir)}`);
      }
      const text = renderTimeline(timeline, options.format);
      if (options.output === undefined) {
        printLine(text);
        return;
      }
      const path = resolve(options.output);
      await writeFile(path, `${text}\n`);
      printNote(
        `wrote the ${options.format} timeline of ${correlationId} (${count(timeline.eventCount, 'event')}, ${count(timeline.executionCount, 'hook execution')}) to ${path}`,
      );
    });
}
