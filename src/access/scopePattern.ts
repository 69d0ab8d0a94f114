import { quoteForDisplay } from '../displayText.js';

/**
 * A grant's `scopePattern`: a scope's string form where `*` stands for any run of characters
 * (`workflow:report-*`, `step:w1/*`, `agent:*`). Matched against the whole string form.
 */
export interface ScopePattern {
  readonly text: string;
  /** The literal text before the first `*`: every scope the pattern matches starts with it. */
  readonly prefix: string;
  /** True when the only `*` is the last character, so that the prefix alone decides. */
  readonly prefixOnly: boolean;
  matches(scopeText: string): boolean;
}

const PATTERN = /^[^\x00-\x1f\x7f-\x9f]{1,300}$/u;

/** @throws {TypeError} for a pattern that is empty, too long, holds control characters, or has no `*`. */
export function compileScopePattern(text: unknown): ScopePattern {
  if (typeof text !== 'string' || !PATTERN.test(text)) {
    throw new TypeError(`Expected \`scopePattern\` to be 1–300 characters without control characters, like 'workflow:report-*', got ${typeof text === 'string' ? quoteForDisplay(text) : typeof text}`);
  }
  const star = text.indexOf('*');
  if (star === -1) throw new TypeError(`The scopePattern ${quoteForDisplay(text)} has no '*'; grant a single scope with \`scope\` instead`);
  const prefix = text.slice(0, star);
  const prefixOnly = star === text.length - 1;
  if (prefixOnly) return { text, prefix, prefixOnly, matches: (scopeText) => scopeText.startsWith(prefix) };
  const regex = new RegExp(`^${text.split('*').map(escapeRegExp).join('.*')}$`, 'su');
  return { text, prefix, prefixOnly, matches: (scopeText) => regex.test(scopeText) };
}

/**
 * Whether every scope that `wanted` matches is matched by `held`, decided safely: true only when
 * `held` is the same pattern, or a prefix pattern whose prefix starts `wanted`'s literal prefix. A
 * principal may pass on a pattern grant only when this holds.
 */
export function patternCovers(held: ScopePattern, wanted: ScopePattern): boolean {
  if (held.text === wanted.text) return true;
  return held.prefixOnly && wanted.prefix.startsWith(held.prefix);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
