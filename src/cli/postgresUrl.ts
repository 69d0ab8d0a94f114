import { UsageError } from './output.js';

const SCHEMES = new Set(['postgres:', 'postgresql:']);

/** Query parameters that libpq and pg read a secret from, such as `?password=`. */
const SECRET_PARAMETER = /pass/i;

const HIDDEN = '***';

/**
 * `text` if it is a PostgreSQL URL (`postgres://` or `postgresql://`), checked before anything connects.
 * A message never quotes the URL as given, since it may hold a password: only {@link redactPostgresUrl}'s
 * form of it, when it parses.
 *
 * @param from Where the URL came from, for the message: `--postgres`, or the environment variable.
 * @throws {UsageError} when it is empty, does not parse as a URL, or has another scheme.
 */
export function checkPostgresUrl(text: string, from: string): string {
  const example = 'such as postgres://user:password@host:5432/database';
  if (text === '') throw new UsageError(`${from} is empty: give the URL of a PostgreSQL database, ${example}`);
  const url = parseUrl(text);
  if (url === undefined) {
    throw new UsageError(
      `${from} is not a URL (it is not repeated here, since it may hold a password): give one ${example}, ` +
        'with special characters in the user name and password percent-encoded (@ as %40, / as %2F, # as %23)',
    );
  }
  if (!SCHEMES.has(url.protocol)) {
    throw new UsageError(`${from} must start with postgres:// or postgresql://, ${example}; got ${redact(url)}`);
  }
  return text;
}

/**
 * The URL with its password, and any query parameter that holds one, replaced by `***`: the only form
 * of a PostgreSQL URL that the command line prints. Text that does not parse as a URL is not shown at
 * all.
 */
export function redactPostgresUrl(text: string): string {
  const url = parseUrl(text);
  return url === undefined ? '(a URL that does not parse, not shown)' : redact(url);
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function redact(url: URL): string {
  const shown = new URL(url.href);
  if (shown.password !== '') shown.password = HIDDEN;
  for (const name of [...shown.searchParams.keys()]) if (SECRET_PARAMETER.test(name)) shown.searchParams.set(name, HIDDEN);
  return shown.href;
}
