import type { GrantIndex } from './GrantIndex.js';
import type { AccessDecision } from './decision.js';
import type { CheckedGrant } from './grantInput.js';
import { PERMISSION_BIT } from './permissions.js';
import type { ParsedPrincipal } from '../state/principal.js';
import { patternCovers, type ScopePattern } from './scopePattern.js';

/**
 * Whether `grantor` may give `wanted`: system may give anything; anyone else only what it holds with
 * the right to pass on. That is its own agent scope (all of it), or one grant of its that carries
 * `grant` and every wanted permission, covers every scope wanted (for a pattern: a pattern that surely
 * includes it, see {@link patternCovers}), covers steps if steps are wanted, and lasts at least as long.
 * A pattern that matches every agent (`agent:*`, `a*:*` …) is system's to give, whatever the grantor holds.
 */
export function mayGrant(grants: GrantIndex, grantor: ParsedPrincipal, wanted: CheckedGrant, now: number): AccessDecision {
  if (grantor.kind === 'system') return { allowed: true, rule: 'system' };
  const scope = wanted.scope;
  if (scope !== undefined && grantor.kind === 'agent' && scope.kind === 'agent' && scope.id === grantor.agentId) return { allowed: true, rule: 'own-scope' };
  // Every agent's memory is given by system alone, even by a principal that holds `agent:*` itself.
  if (wanted.pattern !== undefined && matchesEveryAgent(wanted.pattern)) return { allowed: false, rule: 'no-grant', code: 'ACCESS_DENIED' };
  const needed = wanted.bits | PERMISSION_BIT.grant;
  const wantedExpiry = wanted.expiresAt ?? Number.POSITIVE_INFINITY;
  const candidates =
    scope !== undefined
      ? grants.covering(grantor.name, scope.toString(), scope.kind === 'step' ? `workflow:${scope.ids[0]}` : undefined, now)
      : grants.patternsOf(grantor.name, now).filter((held) => patternCovers(held.pattern!, wanted.pattern!));
  for (const held of candidates) {
    if ((held.bits & needed) !== needed || held.expiresAt < wantedExpiry) continue;
    if (wanted.includeSteps && held.grant.includeSteps !== true) continue;
    return { allowed: true, rule: 'grant', by: held.grant.id };
  }
  return { allowed: false, rule: 'no-grant', code: 'ACCESS_DENIED' };
}

/**
 * Whether the pattern matches every agent's scope, however it is written (`agent:*`, `*`, `a*:*`,
 * `*gent:*`). It does exactly when it ends with `*` and matches `agent:` itself: its literal parts then
 * all fall within `agent:`, and its last `*` takes any id. A pattern ending in a literal misses the ids
 * that end otherwise, and one that needs a literal beyond `agent:` misses the ids without it.
 */
function matchesEveryAgent(pattern: ScopePattern): boolean {
  return pattern.text.endsWith('*') && pattern.matches('agent:');
}
