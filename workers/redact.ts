/**
 * Redaction of secrets from hook inputs and results before they are stored in history (DESIGN §7).
 *
 * It runs inside worker threads, so it imports nothing outside `workers/`.
 */

/** What a redacted value, or a redacted part of a string, is replaced with. */
export const REDACTED = '[REDACTED]';

/** What a subtree nested deeper than {@link MAX_REDACT_DEPTH} is replaced with. */
export const TOO_DEEP = '[TOO DEEP]';

/** Most levels of nested objects and arrays copied; a deeper object or array becomes {@link TOO_DEEP}. */
export const MAX_REDACT_DEPTH = 200;

/** Field names, normalised by {@link normaliseName}, whose whole value is redacted. */
const SECRET_FIELDS = new Set([
  'password',
  'passwd',
  'pwd',
  'secret',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'apikey',
  'authorization',
  'auth',
  'cookie',
  'setcookie',
  'privatekey',
  'clientsecret',
  'sessiontoken',
  'credentials',
]);

const SECRET_SUFFIXES = ['password', 'secret', 'token', 'apikey'];

/**
 * Secrets recognised inside any string. Each pattern starts with a lookbehind or a literal that only
 * matches at the start of a token, so a string is scanned once per pattern: no pattern can backtrack
 * over the same characters from many starting points.
 */
const SECRET_PATTERNS: readonly RegExp[] = [
  // A truncated block (no END line) is redacted to its end too: half a private key is still a leak.
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[^-]*(?:-(?!----)[^-]*)*(?:-----END [A-Z0-9 ]*PRIVATE KEY-----)?/g,
  // OpenAI (`sk-`, `sk-proj-`) and Anthropic (`sk-ant-`) keys.
  /(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}/g,
  // JWTs: header and payload are base64url JSON; the signature is empty for `alg: none`.
  /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
  /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
  /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,}/g,
  /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{20,}/g,
  /(?<![A-Za-z0-9])xox[abprs]-[A-Za-z0-9-]{10,}/g,
];

/** Every secret field name holds one of these words once lowercased and stripped (see `normaliseName`). */
const NAME_HINT_WORDS = ['pass', 'pwd', 'secret', 'token', 'apikey', 'auth', 'cookie', 'credential', 'privatekey'];
/**
 * What normalising a name strips, as it appears in JSON text: `-`, `_` and whitespace, raw or as the
 * escapes JSON gives control characters (`\t`, `\n`, `\r`, `\f`, `\u000b`).
 */
const SEPARATORS = String.raw`(?:[-_\s]|\\[tnrf]|\\u000[bB])*`;
/** The words in lower case, with separators anywhere inside them: no stripped copy of the text is needed. */
const NAME_HINT = new RegExp(NAME_HINT_WORDS.map((word) => [...word].join(SEPARATORS)).join('|'));
const NAME_HINT_ANY_CASE = new RegExp(NAME_HINT.source, 'i');
const NON_ASCII = /[^\x00-\x7f]/;
/** Any text holding a secret value holds one of these. */
const VALUE_HINT = /sk-|eyJ|AKIA|ASIA|gh[pousr]_|github_pat_|xox[abprs]-|[Bb][Ee][Aa][Rr][Ee][Rr]|-----BEGIN/;

/**
 * False only when `jsonText` cannot contain anything the built-in rules redact: a cheap scan that lets
 * the common case, data without secrets, skip the copy. True means "look closer", not "found".
 */
export function mightNeedRedaction(jsonText: string): boolean {
  if (VALUE_HINT.test(jsonText)) return true;
  // Lowercasing turns some other characters into ASCII letters (the Kelvin sign into `k`), which a
  // case-insensitive match does not know; ASCII text needs no lowercased copy.
  return NON_ASCII.test(jsonText) ? NAME_HINT.test(jsonText.toLowerCase()) : NAME_HINT_ANY_CASE.test(jsonText);
}

/**
 * The redacted JSON of the value whose JSON is `text`: the text itself when nothing in it can need
 * redacting, so the common case costs a scan instead of a parse and a copy. Pass `value` when it is
 * already parsed.
 */
export function redactJsonText(text: string, paths: readonly string[], value: unknown = undefined, redactValue = redact): string {
  if (paths.length === 0 && !mightNeedRedaction(text)) return text;
  return JSON.stringify(redactValue(value === undefined ? JSON.parse(text) : value, paths));
}

/**
 * A logged event, redacted as {@link redact} does, and one more rule: a state change whose key is named
 * like a secret (`rt.state.set(scope, 'apiKey', …)`) has its whole `value` redacted, as a field of that
 * name would.
 */
export function redactEvent(event: unknown, paths: readonly string[] = []): unknown {
  const redacted = redact(event, paths);
  if (typeof redacted === 'object' && redacted !== null && !Array.isArray(redacted)) {
    const fields = redacted as Record<string, unknown>;
    if (typeof fields.key === 'string' && 'value' in fields && isSecretFieldName(fields.key)) fields.value = REDACTED;
  }
  return redacted;
}

/** {@link redactJsonText} for one event's JSON, with the rule of {@link redactEvent}. */
export function redactEventJson(text: string, paths: readonly string[], event: unknown = undefined): string {
  // A secret-like key shows in the text too, so the pre-filter sees it.
  return redactJsonText(text, paths, event, redactEvent);
}

/** `Bearer <token>`; the scheme is kept so the redacted text still reads as a header. */
const BEARER = /\b(bearer[ \t]+)([A-Za-z0-9._~+/-]+=*)/gi;

/** One step of a compiled redact path. */
type PathStep = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'any' };

/** A compiled path and how many of its steps the current position has matched. */
interface Cursor {
  steps: readonly PathStep[];
  at: number;
}

/**
 * Returns a deep copy of `value` with secrets replaced by {@link REDACTED}. Object keys are never
 * changed. Three rules apply:
 *
 * - **Field names.** The whole value of a field named like a secret is redacted, whatever it holds.
 *   Names are compared ignoring case, `-`, `_` and spaces, so `apiKey`, `api_key` and `API-KEY` are one
 *   name. The names are `password`, `passwd`, `pwd`, `secret`, `token`, `access_token`,
 *   `refresh_token`, `id_token`, `api_key`, `authorization`, `auth`, `cookie`, `set-cookie`,
 *   `private_key`, `client_secret`, `session_token`, `credentials`, and any name ending in `password`,
 *   `secret`, `token` or `apikey` (so `dbPassword` and `githubToken`, but not `maxTokens`).
 * - **Patterns in strings.** Only the matching part of a string is replaced: OpenAI and Anthropic keys
 *   (`sk-…`), JWTs, AWS access key ids (`AKIA…`, `ASIA…`), GitHub tokens (`ghp_…`, `github_pat_…`),
 *   Slack tokens (`xoxb-…`), `Bearer <token>` credentials and PEM private key blocks.
 * - **Paths.** Each of `paths` names values to redact, from the root of `value`:
 *   - `name` steps into an object's field, joined by `.`: `user.email`.
 *   - `[n]` steps into an array's element `n`: `events[0].data`, `[0].value`.
 *   - `*` (or `[*]`) steps into any field or any element: `*.value.card`.
 *
 *   A name cannot contain `.`, `[`, `]` or `*`.
 *
 * Values are treated as JSON: `toJSON()` is honoured; `undefined`, functions and symbols are dropped
 * from objects and become `null` in arrays. Nesting deeper than {@link MAX_REDACT_DEPTH} becomes
 * {@link TOO_DEEP}. The input is not modified.
 *
 * @param paths Extra values to redact; see {@link checkRedactPaths}. @default []
 * @throws {TypeError} when a path is not valid syntax.
 * @example
 * redact({ user: { apiKey: 'abc', email: 'a@b.c' } }, ['user.email'])
 * // → { user: { apiKey: '[REDACTED]', email: '[REDACTED]' } }
 */
export function redact(value: unknown, paths: readonly string[] = []): unknown {
  const cursors = compilePaths(paths).map((steps) => ({ steps, at: 0 }));
  return copy(value, 0, cursors);
}

/**
 * Checks redact paths without redacting anything, so a hook's `redact` option can be rejected when the
 * hook is registered rather than when it first runs. See {@link redact} for the syntax.
 *
 * @throws {TypeError} when `paths` is not an array of strings, or a path is not valid syntax.
 * @example
 * checkRedactPaths(['*.value.card', 'events[0].data']) // passes
 * checkRedactPaths(['user..email']) // throws TypeError
 */
export function checkRedactPaths(paths: unknown): asserts paths is readonly string[] {
  if (!Array.isArray(paths)) {
    throw new TypeError(`Expected redact paths to be an array of strings, got \`${String(paths)}\` (${typeof paths})`);
  }
  compilePaths(paths);
}

/** Redacts the secrets that {@link SECRET_PATTERNS} and {@link BEARER} recognise in one string. */
export function redactString(text: string): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, REDACTED);
  return out.replace(BEARER, (match, scheme: string, token: string) =>
    // A plain word after "bearer" is prose ("the bearer of bad news"), not a credential.
    token.length >= 8 && /[^A-Za-z]/.test(token) ? `${scheme}${REDACTED}` : match,
  );
}

/** True when a field of this name holds a secret, whatever its value. */
export function isSecretFieldName(name: string): boolean {
  const normalised = normaliseName(name);
  return SECRET_FIELDS.has(normalised) || SECRET_SUFFIXES.some((suffix) => normalised.endsWith(suffix));
}

function normaliseName(name: string): string {
  return name.toLowerCase().replace(/[-_\s]/g, '');
}

function copy(value: unknown, depth: number, cursors: readonly Cursor[]): unknown {
  if (typeof value === 'string') return redactString(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_REDACT_DEPTH) return TOO_DEEP;
  const json = typeof (value as { toJSON?: unknown }).toJSON === 'function' ? (value as { toJSON(): unknown }).toJSON() : value;
  if (json !== value) return copy(json, depth + 1, cursors);

  if (Array.isArray(value)) {
    return value.map((item, index) => {
      const next = advance(cursors, index);
      if (next === 'redact') return REDACTED;
      const out = copy(item, depth + 1, next);
      return isJsonValue(out) ? out : null;
    });
  }
  const entries: [string, unknown][] = [];
  for (const [key, item] of Object.entries(value)) {
    const next = advance(cursors, key);
    if (next === 'redact' || isSecretFieldName(key)) {
      entries.push([key, REDACTED]);
      continue;
    }
    const out = copy(item, depth + 1, next);
    if (isJsonValue(out)) entries.push([key, out]);
  }
  // fromEntries defines own properties, so a `__proto__` key is copied as data, never as a prototype.
  return Object.fromEntries(entries);
}

function isJsonValue(value: unknown): boolean {
  return value !== undefined && typeof value !== 'function' && typeof value !== 'symbol';
}

/** The cursors still matching after stepping into `child`, or `'redact'` when one matched fully. */
function advance(cursors: readonly Cursor[], child: string | number): readonly Cursor[] | 'redact' {
  if (cursors.length === 0) return cursors;
  const next: Cursor[] = [];
  for (const cursor of cursors) {
    const step = cursor.steps[cursor.at];
    const matches =
      step.kind === 'any' ||
      (step.kind === 'key' && typeof child === 'string' && step.key === child) ||
      (step.kind === 'index' && typeof child === 'number' && step.index === child);
    if (!matches) continue;
    if (cursor.at + 1 === cursor.steps.length) return 'redact';
    next.push({ steps: cursor.steps, at: cursor.at + 1 });
  }
  return next;
}

/** One token of a path: a name, `*`, or a bracketed index, each with its leading `.` if any. */
const PATH_TOKEN = /\.?([^.[\]*]+|\*)|\[(0|[1-9][0-9]*|\*)\]/y;

function compilePaths(paths: readonly unknown[]): PathStep[][] {
  return paths.map((path) => compilePath(path));
}

function compilePath(path: unknown): PathStep[] {
  if (typeof path !== 'string') {
    throw new TypeError(`Expected a redact path to be a string, got \`${String(path)}\` (${typeof path})`);
  }
  const steps: PathStep[] = [];
  let at = 0;
  while (at < path.length) {
    PATH_TOKEN.lastIndex = at;
    const match = PATH_TOKEN.exec(path);
    // A name or `*` needs a dot before it, except as the first step; an index never takes one.
    if (match === null || (match[2] === undefined && (path[at] === '.') !== at > 0)) {
      throw new TypeError(
        `Expected redact path \`${path}\` to be names or \`*\` joined by \`.\`, with optional \`[n]\` or \`[*]\` indexes; ` +
          `invalid at position ${at}`,
      );
    }
    const [, name, index] = match;
    if (name === '*' || index === '*') steps.push({ kind: 'any' });
    else if (name !== undefined) steps.push({ kind: 'key', key: name });
    else steps.push({ kind: 'index', index: Number(index) });
    at = PATH_TOKEN.lastIndex;
  }
  if (steps.length === 0) throw new TypeError('Expected a redact path to be a non-empty string, got `""`');
  return steps;
}
