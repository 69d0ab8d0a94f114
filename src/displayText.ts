/**
 * The one display boundary (STYLE.md): every line the CLI prints, every message, and every text, Mermaid
 * or HTML export that shows text a caller or the store supplied passes it through {@link escapeForDisplay},
 * so that a terminal never acts on it, a newline in it never forges a line or a table row, and nothing
 * in it (a bidi control, a zero-width character) hides or reorders what surrounds it, or makes one key
 * display as another.
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
// What `lines: 'join'` turns into one space: a run of white space, line breaks and tabs included, as a
// browser lays out text (Mermaid and HTML labels would show it so anyway). The zero-width U+FEFF, which
// \s also matches, is a format character and is escaped instead.
const WHITE_SPACE_RUN = /[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g;

export interface DisplayOptions {
  /**
   * What becomes of tabs and line breaks:
   * - `escape`: written as `\u` escapes like every other control character, for text that must stay on
   *   its line whole: a table cell, a key, an id.
   * - `keep`: tab and line feed stay as they are, for text that is laid out in lines (a message, JSON).
   * - `join`: each run of white space, tabs and line breaks included, becomes one space, for free text
   *   shown on one line (a label, a preview).
   *
   * @default 'escape'
   */
  lines?: 'escape' | 'keep' | 'join';
  /** Cut the text to this many code points first, ending in `…`, so that an escape is never cut in half. */
  max?: number;
}

/**
 * `text` with every control or non-printing character written as a `\u` escape: `\u007f`, `\u202e`, and
 * beyond the BMP one per UTF-16 unit, `\udb40\udc01`, as JSON writes them, so that JSON text stays JSON
 * with the same value. Control characters (C0, DEL, C1, and so ESC sequences), lone surrogates, format
 * characters (bidi controls, zero-width characters, Unicode category Cf) and the line and paragraph
 * separators. Everything else is left as it is, and text without any of them is returned unchanged, so
 * text escaped once can pass the boundary again without change.
 *
 * @example escapeForDisplay('k\u202e\u001b[2J') // 'k\\u202e\\u001b[2J'
 * @example escapeForDisplay('two\nlines', { lines: 'join' }) // 'two lines'
 */
export function escapeForDisplay(text: string, options: DisplayOptions = {}): string {
  const { lines = 'escape', max } = options;
  let shown = lines === 'join' ? text.replace(WHITE_SPACE_RUN, ' ') : text;
  if (max !== undefined) shown = shortenForDisplay(shown, max, 'start');
  if (!ANY_NON_PRINTING.test(shown)) return shown;
  return shown.replace(lines === 'keep' ? NON_PRINTING_BUT_LINES : NON_PRINTING, escapeCodePoint);
}

function escapeCodePoint(char: string): string {
  let escaped = '';
  for (let i = 0; i < char.length; i++) escaped += `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return escaped;
}

/**
 * `text` cut to `max` code points around a `…`: keeping its start and its end by default, so that a long
 * key or a deep path still shows where it ends, or only its `start` (a preview). A surrogate pair is
 * never split.
 */
export function shortenForDisplay(text: string, max = MESSAGE_TEXT_LIMIT, keep: 'ends' | 'start' = 'ends'): string {
  // At most two UTF-16 units per code point: shorter text needs no counting.
  if (text.length <= max) return text;
  const codePoints = Array.from(text);
  if (codePoints.length <= max) return text;
  if (keep === 'start') return `${codePoints.slice(0, Math.max(0, max - 1)).join('')}…`;
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
