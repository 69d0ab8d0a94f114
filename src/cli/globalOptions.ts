import { InvalidArgumentError, type Command } from 'commander';
import { statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';

/** Where the store lives when `--data-dir` is not given. */
export const DEFAULT_DATA_DIR = './.llmstate';

export interface GlobalOptions {
  dataDir: string;
  /** False when `dataDir` is the default, so a command such as `demo` may choose its own. */
  dataDirGiven: boolean;
  /** The `--schemas` module, which registers the application's schemas and migrations. */
  schemas?: string;
}

/** The options of the `llmstate` program, as seen from one of its subcommands. */
export function globalOptions(command: Command): GlobalOptions {
  const { dataDir, schemas } = command.optsWithGlobals<{ dataDir: string; schemas?: string }>();
  return { dataDir, dataDirGiven: command.getOptionValueSourceWithGlobals('dataDir') !== 'default', ...(schemas === undefined ? {} : { schemas }) };
}

/**
 * The commander parser of `--data-dir`: an empty path (which would mean the working directory) or a path
 * to something that is not a directory is a usage error, found before any command opens a store or
 * creates one. A directory that does not exist yet is fine here: `set` and `demo` create it, and the
 * reading commands say that there is no store in it.
 */
export function parseDataDir(text: string): string {
  if (text.length === 0) throw new InvalidArgumentError('Expected the directory of the store, got an empty path.');
  const stats = statPath(text);
  if (stats !== undefined && !stats.isDirectory()) throw new InvalidArgumentError(`${resolve(text)} is not a directory.`);
  return text;
}

/**
 * What is at `path`, or undefined when nothing is, for a parser that checks a path before the command
 * runs. A path that cannot name a file (a part of it is a file, it is too long, it loops) is a usage
 * error. Other errors, such as a permission denied, are left for the command to report with its code.
 */
export function statPath(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP') {
      throw new InvalidArgumentError(`Cannot use ${resolve(path)}: ${(error as Error).message}.`);
    }
    return undefined;
  }
}
