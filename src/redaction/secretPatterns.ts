/**
 * Secrets recognised inside any string, wherever they sit: alone, inside a sentence, after `_` in an
 * identifier, or after a URL-encoded separator (`%20sk-…`, `Bearer%20eyJ…`).
 *
 * Each pattern can start only where a token starts (a lookbehind), or at a literal, and what it then
 * reads cannot hold the start of another match of the same pattern: so a string is scanned once per
 * pattern, and no pattern backtracks over the same characters from many starting points. The test suite
 * times hostile strings built to break this.
 */

import { mightHoldSecretValue } from './prefilter.js';

/** What a redacted value, or a redacted part of a string, is replaced with. */
export const REDACTED = '[REDACTED]';

/** Not inside a token: no letter, digit, `_` or `-` just before, unless that is the end of a `%XX` escape. */
const TOKEN_START = String.raw`(?:(?<![A-Za-z0-9_-])|(?<=%[0-9A-Fa-f]{2}))`;

/** A private key block, to its END line, or to the end of the string when it was cut short. */
const PRIVATE_KEY_BLOCKS: readonly RegExp[] = [
  // PEM (PKCS#1, PKCS#8, OpenSSH, encrypted) and OpenPGP (`PRIVATE KEY BLOCK`).
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[^-]*(?:-(?!----)[^-]*)*(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)?/g,
  // SSH2 (RFC 4716) private keys, as ssh.com and PuTTY export them.
  /---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----[^-]*(?:-(?!---)[^-]*)*(?:---- END SSH2 ENCRYPTED PRIVATE KEY ----)?/g,
];

const TOKEN_PATTERNS: readonly RegExp[] = [
  // OpenAI (`sk-`, `sk-proj-`) and Anthropic (`sk-ant-`) keys.
  new RegExp(String.raw`${TOKEN_START}sk-[A-Za-z0-9_-]{20,}`, 'g'),
  // Stripe secret and restricted keys; `_` is not part of the key body, so one may follow another.
  new RegExp(String.raw`(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2}))[sr]k_(?:live|test)_[A-Za-z0-9]{16,}`, 'g'),
  // JWTs: header and payload are base64url JSON; the signature is empty for `alg: none`.
  new RegExp(String.raw`${TOKEN_START}eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`, 'g'),
  // A JWT glued to a name by `_` (`id_token_eyJ…`); its header holds no `_`, so the scan stops at the next one.
  /(?<=_)eyJ[A-Za-z0-9-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
  new RegExp(String.raw`(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2}))(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])`, 'g'),
  // Google API keys.
  new RegExp(String.raw`${TOKEN_START}AIza[A-Za-z0-9_-]{35}`, 'g'),
  new RegExp(String.raw`(?:(?<![A-Za-z0-9_])|(?<=%[0-9A-Fa-f]{2}))gh[pousr]_[A-Za-z0-9]{36,}`, 'g'),
  new RegExp(String.raw`(?:(?<![A-Za-z0-9_])|(?<=%[0-9A-Fa-f]{2}))github_pat_[A-Za-z0-9_]{20,}`, 'g'),
  new RegExp(String.raw`(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2}))xox[abprs]-[A-Za-z0-9-]{10,}`, 'g'),
];

/** A space or tab, or either URL-encoded (`%20`, `%09`). */
const GAP = String.raw`(?:[ \t]|%20|%09)+`;

/** `Bearer <token>`; the scheme is kept so the redacted text still reads as a header. */
const BEARER = new RegExp(String.raw`(?<![A-Za-z])(bearer${GAP})((?:[A-Za-z0-9._~+/-]|%(?!20|09)[0-9A-Fa-f]{2})+(?:=|%3[Dd])*)`, 'gi');

/** `Basic <base64 of user:password>`. */
const BASIC = new RegExp(String.raw`(?<![A-Za-z])(basic${GAP})((?:[A-Za-z0-9+/]|%2[Bb]|%2[Ff])+(?:=|%3[Dd]){0,2})`, 'gi');

/** The password of a URL's user info: `https://user:password@host`. */
const URL_PASSWORD = /(:\/\/[^\s/?#@:]*:)[^\s/?#@]+(?=@)/g;

/**
 * The string with every secret these patterns recognise replaced by {@link REDACTED}; the rest of the
 * string is kept. Callers redact through `redact`, which applies this to every string it copies.
 */
export function redactString(text: string): string {
  // Most strings hold no hint of a secret: one scan instead of one per pattern.
  return mightHoldSecretValue(text) ? replaceSecretPatterns(text) : text;
}

/** {@link redactString} without its first scan, which a property test holds to these patterns. @internal */
export function replaceSecretPatterns(text: string): string {
  let out = text;
  for (const pattern of PRIVATE_KEY_BLOCKS) out = out.replace(pattern, REDACTED);
  for (const pattern of TOKEN_PATTERNS) out = out.replace(pattern, REDACTED);
  out = out.replace(BEARER, (match, scheme: string, token: string) =>
    // A plain word after "bearer" is prose ("the bearer of bad news"), not a credential.
    token.length >= 8 && /[^A-Za-z]/.test(token) ? `${scheme}${REDACTED}` : match,
  );
  out = out.replace(BASIC, (match, scheme: string, token: string) => (isBasicCredential(token) ? `${scheme}${REDACTED}` : match));
  return out.replace(URL_PASSWORD, `$1${REDACTED}`);
}

/** Prose ("basic understanding") is not base64 of `user:password`; a credential decodes to text with a colon. */
function isBasicCredential(token: string): boolean {
  const base64 = token.replace(/%2[Bb]/g, '+').replace(/%2[Ff]/g, '/').replace(/%3[Dd]/g, '=');
  if (base64.length < 4) return false;
  // Passwords may be any UTF-8 text; prose decodes to bytes that are not (U+FFFD) or to control characters.
  const decoded = Buffer.from(base64, 'base64').toString('utf8');
  return decoded.includes(':') && /^[^\p{Cc}\uFFFD]+$/u.test(decoded);
}
