/**
 * A cheap scan of JSON text that tells when nothing in it can need redacting, so that the common case,
 * data without secrets, skips the parse and the copy. It must answer "look closer" for anything the
 * rules of `secretNames.ts` and `secretPatterns.ts` redact; a property test holds it to that.
 */

/** Every name `isSecretFieldName` accepts holds one of these once lowercased and stripped of `-`, `_` and whitespace. */
const NAME_HINT_WORDS = ['pass', 'pwd', 'secret', 'token', 'apikey', 'auth', 'cookie', 'credential', 'privatekey'];
/**
 * Qualifiers that make `key` or `keys` secret and hold no hint word above (`auth`, `secret` do).
 * Those of `tokens` need none: `token` is a hint word.
 */
const KEY_QUALIFIER_WORDS = ['api', 'access', 'private', 'signing', 'encryption', 'decryption', 'ssh', 'master', 'hmac', 'pgp', 'gpg', 'session'];
/**
 * What the ending rule strips, as it appears in JSON text: `-`, `_` and whitespace, raw or as the
 * escapes JSON gives control characters (`\t`, `\n`, `\r`, `\f`, `\u000b`).
 */
const STRIPPED = String.raw`(?:[-_\s]|\\[tnrf]|\\u000[bB])*`;
/** What may separate two words: anything but a letter or digit, raw or escaped. */
const BETWEEN_WORDS = String.raw`(?:[^a-z0-9\\]|\\[^u]|\\u[0-9a-f]{4})*`;
/** The words in lower case, with separators anywhere inside them: no stripped copy of the text is needed. */
const NAME_HINT = new RegExp(
  [
    ...NAME_HINT_WORDS.map((word) => [...word].join(STRIPPED)),
    `(?:${KEY_QUALIFIER_WORDS.join('|')})${BETWEEN_WORDS}key`,
  ].join('|'),
);
const NAME_HINT_ANY_CASE = new RegExp(NAME_HINT.source, 'i');
const NON_ASCII = /[^\x00-\x7f]/;
/**
 * Any text holding a secret value holds one of these. Scanned as two expressions, literals and schemes,
 * because one alternation of both is several times slower.
 */
const VALUE_HINT = new RegExp(
  [
    'sk-',
    '[sr]k_(?:live|test)_',
    'eyJ',
    'AKIA',
    'ASIA',
    'AIza',
    'gh[pousr]_',
    'github_pat_',
    'xox[abprs]-',
    '-----BEGIN',
    '---- BEGIN',
    String.raw`:\/\/[^\s/?#@]*@`,
  ].join('|'),
);
const SCHEME_HINT = /bearer|basic/i;

/**
 * False only when `text` (any string, or JSON text) cannot hold a secret value the patterns of
 * `secretPatterns.ts` recognise: every one of them needs one of these literals or schemes.
 */
export function mightHoldSecretValue(text: string): boolean {
  return VALUE_HINT.test(text) || SCHEME_HINT.test(text);
}

/**
 * False only when `jsonText` cannot contain anything the built-in rules redact. True means "look
 * closer", not "found".
 */
export function mightNeedRedaction(jsonText: string): boolean {
  if (mightHoldSecretValue(jsonText)) return true;
  // Lowercasing turns some other characters into ASCII letters (the Kelvin sign into `k`), which a
  // case-insensitive match does not know; ASCII text needs no lowercased copy.
  return NON_ASCII.test(jsonText) ? NAME_HINT.test(jsonText.toLowerCase()) : NAME_HINT_ANY_CASE.test(jsonText);
}
