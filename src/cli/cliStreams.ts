import { AsyncLocalStorage } from 'node:async_hooks';

/** An output stream of the command line: what it writes to, and whether that is a colour terminal. */
export interface CliOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  hasColors?(): boolean;
}

/**
 * Where one run of the command line reads and writes. The process's own streams, unless {@link runCli}
 * was given others: a program, or a test, that runs the command line in its own process.
 */
export interface CliStreams {
  stdin: AsyncIterable<Buffer | string>;
  stdout: CliOutput;
  stderr: CliOutput;
}

// Getters, because reading process.stdin opens it: a command that reads no input leaves it alone.
const PROCESS_STREAMS: CliStreams = {
  get stdin() {
    return process.stdin;
  },
  get stdout() {
    return process.stdout;
  },
  get stderr() {
    return process.stderr;
  },
};

const given = new AsyncLocalStorage<CliStreams>();

/** The streams of the run in progress. */
export function cliStreams(): CliStreams {
  return given.getStore() ?? PROCESS_STREAMS;
}

/** Runs `work` with the command line reading and writing `streams`. */
export function withCliStreams<T>(streams: CliStreams, work: () => Promise<T>): Promise<T> {
  return given.run(streams, work);
}
