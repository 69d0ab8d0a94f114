/**
 * Which names hold secrets: the names of object fields, and the segments of state keys.
 *
 * Two kinds of noun are told apart, so that ordinary words stay readable:
 * - nouns that are secret on their own (`password`, `secret`, `token`…) match at the end of the name,
 *   whatever its case and separators: `dbPassword`, `webhook_secret`, `to-ken`;
 * - nouns that are ordinary on their own (`key`, `keys`, `tokens`) match only as the name's last word,
 *   after a word that makes them secret: `signingKey`, `aws_secret_access_key`, `apiKeys`,
 *   `accessTokens`, but not `key`, `cacheKey`, `keyboard`, `monkey`, `tokens` or `maxTokens`.
 */

/** Secret on their own: a name that, lowercased and stripped of `-`, `_` and whitespace, ends with one. */
const SECRET_ENDINGS = [
  'password',
  'passwords',
  'passwd',
  'passphrase',
  'passphrases',
  'secret',
  'secrets',
  'token',
  'apikey',
  'credential',
  'credentials',
];

/** Secret as whole names only: as endings they would catch ordinary words. */
const SECRET_NAMES = new Set(['pwd', 'auth', 'authorization', 'cookie', 'cookies', 'setcookie', 'privatekey']);

/** Words that make the next word, `key` or `keys`, a secret. */
const KEY_QUALIFIERS = new Set(['api', 'access', 'secret', 'private', 'signing', 'encryption', 'decryption', 'ssh', 'master', 'hmac', 'pgp', 'gpg', 'auth', 'session']);

/** Words that make `tokens` a list of secrets rather than a count (`maxTokens`, `{ tokens: 123 }`). */
const TOKEN_QUALIFIERS = new Set(['access', 'refresh', 'id', 'session', 'auth', 'oauth', 'bearer', 'api', 'secret', 'private']);

/** Nouns secret only after a qualifier; `keys` before `key`, as the longer ending. */
const QUALIFIED: readonly (readonly [string, ReadonlySet<string>])[] = [
  ['keys', KEY_QUALIFIERS],
  ['key', KEY_QUALIFIERS],
  ['tokens', TOKEN_QUALIFIERS],
];

/** Field names repeat across records; their verdicts are kept, up to a bound. */
const verdicts = new Map<string, boolean>();
const MAX_VERDICTS = 4096;

/**
 * True when a field of this name holds a secret, whatever its value.
 *
 * @example
 * isSecretFieldName('aws_secret_access_key') // true
 * isSecretFieldName('maxTokens') // false
 */
export function isSecretFieldName(name: string): boolean {
  let verdict = verdicts.get(name);
  if (verdict === undefined) {
    verdict = judge(name);
    if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
    verdicts.set(name, verdict);
  }
  return verdict;
}

/**
 * True when a state key names a secret: the key itself, or any of its `/`, `.` or `:` separated
 * segments (`password/admin`, `secrets/openai`, `config.apiKey`).
 */
export function isSecretKeyPath(key: string): boolean {
  return isSecretFieldName(key) || key.split(/[/.:]/).some((segment) => segment.length > 0 && isSecretFieldName(segment));
}

function judge(name: string): boolean {
  const stripped = name.toLowerCase().replace(/[-_\s]/g, '');
  if (SECRET_NAMES.has(stripped) || SECRET_ENDINGS.some((ending) => stripped.endsWith(ending))) return true;
  const words = wordsOf(name);
  const last = words.at(-1);
  if (last === undefined) return false;
  for (const [noun, qualifiers] of QUALIFIED) {
    if (last === noun) return words.length > 1 && qualifiers.has(words[words.length - 2]);
    // One word written together: `apikeys`, `SIGNINGKEY`.
    if (last.endsWith(noun) && qualifiers.has(last.slice(0, -noun.length))) return true;
  }
  return false;
}

/**
 * The lowercased words of a name: split at every character that is not a letter or digit, and where
 * case changes (`signingKey`, `APIKeys` → `api keys`).
 */
export function wordsOf(name: string): string[] {
  return name
    .replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, '$1 $2')
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1 $2')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0);
}
