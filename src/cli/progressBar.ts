import type { Options, Params } from 'cli-progress';
import { cliStreams } from './cliStreams.js';

type CliProgress = typeof import('cli-progress');

/**
 * Values for the tokens of a bar's formats, beside cli-progress's own ({bar}, {percentage}, {value} …) and
 * {time_left}: the ETA, or `?` while there is no rate to estimate it from.
 */
export type ProgressPayload = Record<string, string>;

export interface ProgressFormats {
  /** The line when the total is known. */
  knownTotal: string;
  /** The line when it is not, which can show neither a bar nor an ETA. @default knownTotal */
  unknownTotal?: string;
}

/** A progress bar on stderr, drawn from its first update. */
export interface ProgressBar {
  /** Moves the bar to `value` of `total`; a total that is undefined or 0 is unknown. */
  update(value: number, total: number | undefined, payload?: ProgressPayload): void;
  /** Clears the bar's line. A later update draws a new bar, with a fresh ETA. */
  stop(): void;
}

/**
 * Runs `work` with a progress bar on stderr when stderr is a terminal, and with none otherwise, so that
 * piped or redirected output stays quiet. The bar is cleared when `work` settles.
 */
export async function withProgressBar<T>(formats: ProgressFormats, work: (bar: ProgressBar | undefined) => Promise<T>): Promise<T> {
  const { stderr } = cliStreams();
  if (stderr.isTTY !== true) return work(undefined);
  // Loaded only for a terminal: a command whose output is piped never needs it.
  const { default: cliProgress } = await import('cli-progress');
  // A stream that says it is a terminal is one (a tty.WriteStream), which the bar moves the cursor on.
  const bar = terminalBar(cliProgress, formats, stderr as NodeJS.WriteStream);
  try {
    return await work(bar);
  } finally {
    bar.stop();
  }
}

function terminalBar(cliProgress: CliProgress, formats: ProgressFormats, stream: NodeJS.WriteStream): ProgressBar {
  // A CommonJS module: its named exports are only on the default one under ESM.
  const { Format, SingleBar } = cliProgress;
  let known = false;
  const format = (options: Options, params: Params, payload: ProgressPayload) => {
    // cli-progress's own {eta_formatted} shows its placeholders 'NULL' and 'INF' cut to two letters.
    const eta: unknown = params.eta;
    const timeLeft = typeof eta === 'number' && Number.isFinite(eta) ? Format.TimeFormat(eta, options, 1) : '?';
    return Format.Formatter({ ...options, format: known ? formats.knownTotal : (formats.unknownTotal ?? formats.knownTotal) }, params, { ...payload, time_left: timeLeft });
  };
  const bar = new SingleBar({ stream, format, hideCursor: true, clearOnComplete: true });
  let started = false;
  return {
    update(value, total, payload = {}) {
      known = total !== undefined && total > 0;
      // An estimated total can be passed; the bar then stays full rather than going past its end.
      const shown = Math.max(known ? total! : value, value, 1);
      if (!started) bar.start(shown, value, payload);
      else if (shown !== bar.getTotal()) bar.setTotal(shown);
      started = true;
      bar.update(value, payload);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
