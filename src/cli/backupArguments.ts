import { InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { statPath } from './globalOptions.js';

/**
 * The commander parsers of the `backup` commands' options. Each turns a malformed value into a usage
 * error (exit 2), found before any store is opened.
 */

export const COMPRESSIONS = ['brotli', 'gzip', 'none'] as const;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;

/**
 * `--at`: a commit sequence (digits), or an ISO 8601 time. A time of day needs its zone (`Z` or an
 * offset), so that the instant does not depend on the machine's time zone; a date alone is midnight UTC.
 */
export function parsePointInTime(text: string): Date | number {
  if (/^\d+$/.test(text)) {
    const seq = Number(text);
    if (Number.isSafeInteger(seq)) return seq;
  } else {
    const date = isoInstant(text);
    if (date !== undefined) return date;
  }
  throw new InvalidArgumentError('Expected an ISO 8601 time with its zone, such as 2026-12-01T10:00:00Z, or a commit sequence, such as 1200.');
}

/**
 * An ISO 8601 time with its zone (`Z` or an offset), or a date alone (midnight UTC), so that the instant
 * does not depend on the machine's time zone; undefined for anything else.
 */
export function isoInstant(text: string): Date | undefined {
  if (!ISO_TIME.test(text)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** `--keep-last` and the other counts: a whole number, 0 or more. */
export function parseCount(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('Expected a whole number, such as 5.');
  return n;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--max-age`: ms, or a number with a unit: `30m`, `12h`, `7d`, `2w` (also `s`, `ms`). */
export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d|w)?$/.exec(text);
  const ms = match === null ? NaN : Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms'];
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new InvalidArgumentError(`Expected a positive duration in ms, or with a unit, such as 7d, 12h or 30m.`);
  }
  return ms;
}

/**
 * `--key-file`: the passphrase in a file, without its trailing line break, so that a key never appears
 * on a command line (where `ps` and the shell's history would show it). The file's contents are never
 * quoted in a message.
 */
export function parseKeyFile(text: string): string {
  const path = resolve(text);
  if (statPath(text)?.isDirectory() === true) throw new InvalidArgumentError(`${path} is a directory; --key-file names the file that holds the passphrase.`);
  let contents: string;
  try {
    contents = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`Cannot read the key file ${path}: ${(error as Error).message}.`);
  }
  const passphrase = contents.replace(/\r?\n$/, '');
  if (passphrase === '') throw new InvalidArgumentError(`The key file ${path} is empty; put the passphrase in it.`);
  return passphrase;
}

/** `--from` and `--backup-dir`: a path that is not empty. Whether it exists is for the command to say. */
export function parsePath(what: string): (text: string) => string {
  return (text) => {
    if (text.length === 0) throw new InvalidArgumentError(`Expected ${what}, got an empty path.`);
    return text;
  };
}


/** `--backup-dir`: a path that is not empty, and not of something other than a directory. */
export function parseBackupDir(text: string): string {
  const path = parsePath('the backup directory')(text);
  const stats = statPath(path);
  if (stats !== undefined && !stats.isDirectory()) throw new InvalidArgumentError(`${resolve(path)} is not a directory.`);
  return path;
}
