/**
 * Redaction of secrets from what llmstate records and shows: hook history, replays, dead-letter views,
 * timelines and their exports, and error messages (DESIGN §7). Stored state and stored dead letters
 * keep their real values.
 *
 * {@link redact} is the one function every path ends in. It imports nothing outside this folder, so the
 * hook worker runs it off the main thread, and the main thread runs the same rules.
 */
import { advance, compilePaths, type Cursor } from './redactPaths.js';
import { isSecretFieldName, isSecretKeyPath } from './secretNames.js';
import { REDACTED, redactString } from './secretPatterns.js';
import { mightHoldSecretValue, mightNeedRedaction } from './prefilter.js';

export { REDACTED };

/** What a subtree nested deeper than {@link MAX_REDACT_DEPTH} is replaced with. */
export const TOO_DEEP = '[TOO DEEP]';

/** Most levels of nested objects and arrays copied; a deeper object or array becomes {@link TOO_DEEP}. */
export const MAX_REDACT_DEPTH = 200;

/**
 * Returns a deep copy of `value` with secrets replaced by {@link REDACTED}. Object keys are never
 * changed. These rules apply:
 *
 * - **Field names.** The whole value of a field named like a secret is redacted, whatever it holds.
 *   - Secret on their own, ignoring case, `-`, `_` and whitespace: a name that is `pwd`, `auth`,
 *     `authorization`, `cookie(s)`, `set-cookie` or `private_key`, or that ends in `password(s)`,
 *     `passwd`, `passphrase(s)`, `secret(s)`, `token`, `apikey` or `credential(s)` (so `dbPassword`,
 *     `githubToken`, `secret_key`, `passphrase`).
 *   - Secret after a qualifier: a name whose last word is `key` or `keys` after `api`, `access`,
 *     `secret`, `private`, `signing`, `encryption`, `decryption`, `ssh`, `master`, `hmac`, `pgp`,
 *     `gpg`, `auth` or `session`; or `tokens` after `access`, `refresh`, `id`, `session`, `auth`,
 *     `oauth`, `bearer`, `api`, `secret` or `private`. Words are split at any separator and where case
 *     changes: `aws_secret_access_key`, `signingKey`, `SSH-KEY`, `apiKeys`, `accessTokens`.
 *   - Kept: `key`, `keys`, `tokens`, `maxTokens`, `input_tokens`, `tokenCount`, `cacheKey`,
 *     `keyboard`, `monkey`, `passwordHint`, `author`, `secretary`.
 * - **Key and value.** An object with a string `key` that names a secret (the key, or any of its `/`,
 *   `.` or `:` separated segments: `apiKey`, `password/admin`, `secrets/openai`) has its `value`
 *   redacted: a `state.set` event, and the hook action `{ type: 'set', key, value }` that causes one.
 * - **Patterns in strings.** Only the matching part of a string is replaced: OpenAI and Anthropic keys
 *   (`sk-…`), Stripe keys (`sk_live_…`), JWTs, AWS access key ids (`AKIA…`, `ASIA…`), Google API keys
 *   (`AIza…`), GitHub tokens (`ghp_…`, `github_pat_…`), Slack tokens (`xoxb-…`), `Bearer` and `Basic`
 *   credentials, the password of `scheme://user:password@host`, and PEM, OpenPGP and SSH2 private key
 *   blocks; also when glued on by `_` (`id_token_eyJ…`) or URL-encoded (`%20sk-…`,
 *   `Authorization%3A%20Bearer%20…`).
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
 * @param paths Extra values to redact; see `checkRedactPaths`. @default []
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
 * The redacted JSON of the value whose JSON is `text`: the text itself when nothing in it can need
 * redacting, so the common case costs a scan instead of a parse and a copy. Pass `value` when it is
 * already parsed.
 */
export function redactJson(text: string, paths: readonly string[], value: unknown = undefined): string {
  if (paths.length === 0 && !mightNeedRedaction(text)) return text;
  return JSON.stringify(redact(value === undefined ? JSON.parse(text) : value, paths));
}

/**
 * A closer pre-filter than {@link mightNeedRedaction}, for JSON text already parsed: false only when
 * {@link redact}, with no paths, returns a copy equal to each of `values`. `jsonTexts` is the text the
 * values were parsed from, and is scanned for secret values; names are judged only where they are names
 * (fields, and the `key` of a key and value), so prose that mentions a token or a password costs no full
 * redaction. A value may carry fields added since it was parsed, provided their names are not secret and
 * their strings hold no letters (an event's `id`, `seq` and `at`).
 */
export function mightRedactParsed(jsonTexts: readonly string[], values: readonly unknown[]): boolean {
  if (jsonTexts.some(mightHoldSecretValue)) return true;
  return values.some((value) => mightHaveSecretName(value, 0));
}

/** Whether a parsed JSON value has a field named like a secret, a `key` naming one, or nesting too deep to copy. */
function mightHaveSecretName(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth >= MAX_REDACT_DEPTH) return true;
  if (Array.isArray(value)) return value.some((item) => mightHaveSecretName(item, depth + 1));
  const fields = value as Record<string, unknown>;
  if (Object.hasOwn(fields, 'key') && typeof fields.key === 'string' && isSecretKeyPath(fields.key)) return true;
  for (const key of Object.keys(fields)) {
    if (isSecretFieldName(key) || mightHaveSecretName(fields[key], depth + 1)) return true;
  }
  return false;
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
  const fields = value as Record<string, unknown>;
  const secretValue = Object.hasOwn(fields, 'key') && typeof fields.key === 'string' && isSecretKeyPath(fields.key);
  const entries: [string, unknown][] = [];
  for (const [key, item] of Object.entries(fields)) {
    const next = advance(cursors, key);
    if (next === 'redact' || isSecretFieldName(key) || (secretValue && key === 'value')) {
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
