/**
 * The one display boundary (STYLE.md): every message and every line the CLI prints that shows text a
 * caller or the store supplied goes through {@link escapeForDisplay}, so that a terminal never acts on
 * it and nothing in it hides or reorders what surrounds it.
 */

/**
 * How much caller-supplied text (a key, a scope id, a value's path, a value) a message quotes, in code
 * points. Longer text is cut in the middle with `…`; the full text stays in the error's `details`.
 */
export const MESSAGE_TEXT_LIMIT = 80;

// Cc: C0, DEL and C1 controls. Cf: format characters, which include the bidi controls (U+061C, U+200E,
// U+200F, U+202A–U+202E, U+2066–U+2069), zero-width characters (U+200B–U+200D, U+2060, U+FEFF) and the
// tag characters. Cs: with the u flag only a lone surrogate matches. Zl, Zp: U+2028, U+2029.
const NON_PRINTING = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
const NON_PRINTING_BUT_LINES = /(?![\t\n])[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
const ANY_NON_PRINTING = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

export interface DisplayOptions {
  /** Keep tab and line feed as they are, for text that is laid out in lines. @default false */
  keepLines?: boolean;
}

/**
 * `text` with every control or non-printing character written as a `\u` escape: `\u007f`, `\u202e`, and
 * beyond the BMP one per UTF-16 unit, `\udb40\udc01`, as JSON writes them, so that JSON text stays JSON
 * with the same value. Control characters (C0, DEL, C1), lone surrogates, format characters
 * (bidi controls, zero-width characters, Unicode category Cf) and the line and paragraph separators.
 * Everything else is left as it is.
 */
export function escapeForDisplay(text: string, options: DisplayOptions = {}): string {
  if (!ANY_NON_PRINTING.test(text)) return text;
  return text.replace(options.keepLines === true ? NON_PRINTING_BUT_LINES : NON_PRINTING, escapeCodePoint);
}

/** True when {@link escapeForDisplay} would change `text`. */
export function hasNonPrinting(text: string): boolean {
  return ANY_NON_PRINTING.test(text);
}

function escapeCodePoint(char: string): string {
  let escaped = '';
  for (let i = 0; i < char.length; i++) escaped += `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return escaped;
}

/**
 * `text` cut to `max` code points, keeping its start and its end around a `…`, so that a long key or a
 * deep path still shows where it ends. A surrogate pair is never split.
 */
export function shortenForDisplay(text: string, max = MESSAGE_TEXT_LIMIT): string {
  // At most two UTF-16 units per code point: shorter text needs no counting.
  if (text.length <= max) return text;
  const codePoints = Array.from(text);
  if (codePoints.length <= max) return text;
  const head = Math.ceil((max - 1) / 2);
  const tail = max - 1 - head;
  return `${codePoints.slice(0, head).join('')}…${tail > 0 ? codePoints.slice(-tail).join('') : ''}`;
}

/**
 * Caller-supplied text as a message quotes it: shortened to `max` code points, in double quotes, with
 * `"` and `\` escaped as in JSON and every non-printing character escaped, as in `"a\u007fb"`.
 */
export function quoteForDisplay(text: string, max = MESSAGE_TEXT_LIMIT): string {
  return `"${escapeForDisplay(shortenForDisplay(text, max).replace(/["\\]/g, '\\$&'))}"`;
}
