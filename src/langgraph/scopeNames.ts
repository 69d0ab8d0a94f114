import { createHash } from 'node:crypto';
import { MAX_SCOPE_ID_LENGTH, Scope } from '../index.js';

/**
 * How LangGraph's names become llmstate scopes. A thread is `custom:langgraph:thread:<id>` and a store
 * namespace `custom:langgraph:store:<label>.<label>…`, each part encoded by {@link encodeName}.
 *
 * Scope ids are NFC-normalised and refuse `\`, control characters and `.`/`..` segments, while a thread id
 * may be any string. So the encoding keeps only characters that every rule lets through unchanged, and
 * writes every other UTF-16 unit as `%XX` bytes of its UTF-8 form (a lone surrogate as `%uXXXX`). Two
 * different names never encode alike, and the result is printable ASCII, which NFC leaves alone.
 */
export const THREAD_PREFIX = 'langgraph:thread:';
export const STORE_PREFIX = 'langgraph:store:';

/** Marks an id too long to spell out: the rest is a hash of the encoded name. `#` itself is always escaped. */
const HASHED = '#';

const SAFE = /^[A-Za-z0-9\-_.!~'()]$/;

/** `name` with every character outside `A–Z a–z 0–9 - _ . ! ~ ' ( )` escaped (see above). */
export function encodeName(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    const char = name[i]!;
    if (unit < 0x80) {
      out += SAFE.test(char) ? char : `%${hex2(unit)}`;
      continue;
    }
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < name.length) {
      const next = name.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += percentBytes(name.slice(i, i + 2));
        i++;
        continue;
      }
    }
    out += unit >= 0xd800 && unit <= 0xdfff ? `%u${unit.toString(16).toUpperCase().padStart(4, '0')}` : percentBytes(char);
  }
  return out;
}

/** The name {@link encodeName} encoded. @throws {TypeError} for text it cannot have written. */
export function decodeName(encoded: string): string {
  let out = '';
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length === 0) return;
    out += Buffer.from(bytes).toString('utf8');
    bytes = [];
  };
  for (let i = 0; i < encoded.length; ) {
    const char = encoded[i]!;
    if (char !== '%') {
      if (!SAFE.test(char)) throw new TypeError(`Not an encoded name: ${JSON.stringify(encoded)}`);
      flush();
      out += char;
      i++;
    } else if (encoded[i + 1] === 'u') {
      flush();
      out += String.fromCharCode(parseHex(encoded, i + 2, 4));
      i += 6;
    } else {
      bytes.push(parseHex(encoded, i + 1, 2));
      i += 3;
    }
  }
  flush();
  if (encodeName(out) !== encoded) throw new TypeError(`Not an encoded name: ${JSON.stringify(encoded)}`);
  return out;
}

/** The scope of a LangGraph thread. Any string is a thread id; a very long one gets a hashed scope id. */
export function threadScope(threadId: string): Scope {
  return Scope.custom(fitted(THREAD_PREFIX, encodeName(threadId)));
}

/** The thread id a thread scope spells out, or undefined when the id was hashed (read it from the thread's records). */
export function threadIdOf(scope: Scope): string | undefined {
  const id = scope.kind === 'custom' ? scope.ids[0]! : '';
  if (!id.startsWith(THREAD_PREFIX)) return undefined;
  const encoded = id.slice(THREAD_PREFIX.length);
  return encoded.startsWith(HASHED) ? undefined : decodeName(encoded);
}

/** The scope of a store namespace; labels never hold `.` (LangGraph refuses them), so `.` joins them. */
export function namespaceScope(namespace: readonly string[]): Scope {
  return Scope.custom(fitted(STORE_PREFIX, namespacePath(namespace)));
}

/** The encoded labels joined by `.`: what a namespace scope id holds after its prefix, when not hashed. */
export function namespacePath(namespace: readonly string[]): string {
  return namespace.map(encodeName).join('.');
}

/** The namespace a store scope spells out, or undefined when its id was hashed. */
export function namespaceOf(scope: Scope): string[] | undefined {
  const id = scope.kind === 'custom' ? scope.ids[0]! : '';
  if (!id.startsWith(STORE_PREFIX)) return undefined;
  const encoded = id.slice(STORE_PREFIX.length);
  return encoded.startsWith(HASHED) ? undefined : encoded.split('.').map(decodeName);
}

/** True when the scope id of `namespace` is a hash, so that a prefix of its labels cannot be found by id. */
export function isHashed(prefix: string, encoded: string): boolean {
  return prefix.length + encoded.length > MAX_SCOPE_ID_LENGTH;
}

function fitted(prefix: string, encoded: string): string {
  if (!isHashed(prefix, encoded)) return prefix + encoded;
  return prefix + HASHED + createHash('sha256').update(encoded).digest('base64url');
}

function percentBytes(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += `%${hex2(byte)}`;
  return out;
}

function hex2(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

function parseHex(text: string, start: number, length: number): number {
  const digits = text.slice(start, start + length);
  if (digits.length !== length || !/^[0-9A-F]+$/.test(digits)) throw new TypeError(`Not an encoded name: ${JSON.stringify(text)}`);
  return parseInt(digits, 16);
}
