import type { Command } from 'commander';

/** Where the store lives when `--data-dir` is not given. */
export const DEFAULT_DATA_DIR = './.llmstate';

export interface GlobalOptions {
  dataDir: string;
  /** False when `dataDir` is the default, so a command such as `demo` may choose its own. */
  dataDirGiven: boolean;
}

/** The options of the `llmstate` program, as seen from one of its subcommands. */
export function globalOptions(command: Command): GlobalOptions {
  const { dataDir } = command.optsWithGlobals<{ dataDir: string }>();
  return { dataDir, dataDirGiven: command.getOptionValueSourceWithGlobals('dataDir') !== 'default' };
}
