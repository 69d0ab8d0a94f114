import { escapeForDisplay, shortenForDisplay } from '../displayText.js';
import { LlmStateError } from '../errors.js';
import { EVENT_KINDS } from './eventKinds.js';
import { kindMatcher } from './kindPattern.js';

/** A wildcard for each family of kinds: `state.*`, `agent.*`… */
const FAMILY_PATTERNS = [...new Set(EVENT_KINDS.map((kind) => `${kind.slice(0, kind.indexOf('.'))}.*`))];

/**
 * Refuses event-kind patterns that match no known kind, so that a typo such as `state.sett` fails
 * where it is written instead of silently matching nothing.
 *
 * @param option what the patterns are, for the message: `` `on` `` or `` `kinds` ``.
 * @throws {EVENT_KIND_UNKNOWN} naming the first such pattern and the closest known kind or family.
 */
export function checkKindPatterns(patterns: readonly string[], option: string): void {
  for (const pattern of patterns) {
    const matches = kindMatcher(pattern);
    if (EVENT_KINDS.some(matches)) continue;
    const suggestion = closestTo(pattern);
    throw new LlmStateError(
      'EVENT_KIND_UNKNOWN',
      `The event-kind pattern \`${escapeForDisplay(shortenForDisplay(pattern))}\` in ${option} matches no event kind; did you mean \`${suggestion}\`?`,
      { details: { rule: 'unknown_event_kind', pattern, suggestion } },
    );
  }
}

/**
 * The known kind or family wildcard fewest edits away from `pattern` (`*` too, for a pattern with a `*`).
 * On a tie, one that holds the pattern's name after its family (`restarted` in `supervisor.restarted`)
 * wins, then the first in list order.
 */
function closestTo(pattern: string): string {
  const candidates = pattern.includes('*') ? [...FAMILY_PATTERNS, '*', ...EVENT_KINDS] : [...EVENT_KINDS, ...FAMILY_PATTERNS];
  const name = pattern.slice(pattern.indexOf('.') + 1);
  let best = candidates[0];
  let bestScore = Infinity;
  for (const candidate of candidates) {
    const score = editDistance(pattern, candidate) * 2 + (name.length > 0 && candidate.includes(name) ? 0 : 1);
    if (score < bestScore) [best, bestScore] = [candidate, score];
  }
  return best;
}

/** Insertions, deletions, substitutions and swaps of neighbours that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j], beforePrevious[j - 2] + 1);
    }
    [beforePrevious, previous] = [previous, row];
  }
  return previous[b.length];
}
