import type { Grant } from './grantRecords.js';
import { PERMISSION_BIT, type Permission } from './permissions.js';
import { compileScopePattern, type ScopePattern } from './scopePattern.js';

/** A grant with what a decision needs precomputed. */
export interface IndexedGrant {
  readonly grant: Grant;
  readonly bits: number;
  readonly expiresAt: number;
  readonly pattern: ScopePattern | undefined;
}

/** One principal's grants: by exact scope, and patterns by their literal prefix. */
class PrincipalGrants {
  readonly exact = new Map<string, IndexedGrant[]>();
  readonly patterns = new Map<string, IndexedGrant[]>();
  /** The distinct lengths of the pattern prefixes, so that a lookup tries each once. */
  prefixLengths: number[] = [];
  size = 0;
}

/**
 * The grants in force, indexed so that a decision never scans them: a lookup costs one map probe per
 * distinct pattern-prefix length of the principal, whatever the number of grants.
 */
export class GrantIndex {
  readonly #byId = new Map<string, IndexedGrant>();
  readonly #byPrincipal = new Map<string, PrincipalGrants>();

  get size(): number {
    return this.#byId.size;
  }

  add(grant: Grant): void {
    this.remove(grant.id);
    const indexed: IndexedGrant = {
      grant,
      bits: grant.permissions.reduce((bits, permission) => bits | PERMISSION_BIT[permission], 0),
      expiresAt: grant.expiresAt ?? Number.POSITIVE_INFINITY,
      pattern: grant.scopePattern === undefined ? undefined : compileScopePattern(grant.scopePattern),
    };
    this.#byId.set(grant.id, indexed);
    let grants = this.#byPrincipal.get(grant.principal);
    if (grants === undefined) this.#byPrincipal.set(grant.principal, (grants = new PrincipalGrants()));
    grants.size++;
    if (indexed.pattern === undefined) push(grants.exact, grant.scope!, indexed);
    else {
      push(grants.patterns, indexed.pattern.prefix, indexed);
      grants.prefixLengths = [...new Set([...grants.prefixLengths, indexed.pattern.prefix.length])].sort((a, b) => a - b);
    }
  }

  remove(id: string): Grant | undefined {
    const indexed = this.#byId.get(id);
    if (indexed === undefined) return undefined;
    this.#byId.delete(id);
    const grants = this.#byPrincipal.get(indexed.grant.principal)!;
    if (indexed.pattern === undefined) pull(grants.exact, indexed.grant.scope!, indexed);
    else {
      pull(grants.patterns, indexed.pattern.prefix, indexed);
      grants.prefixLengths = [...new Set([...grants.patterns.keys()].map((prefix) => prefix.length))].sort((a, b) => a - b);
    }
    if (--grants.size === 0) this.#byPrincipal.delete(indexed.grant.principal);
    return indexed.grant;
  }

  get(id: string): Grant | undefined {
    return this.#byId.get(id)?.grant;
  }

  all(): Grant[] {
    return [...this.#byId.values()].map((indexed) => indexed.grant);
  }

  /** Whether the pattern of grant `id` matches the scope `scopeText`. */
  matchesPattern(id: string, scopeText: string): boolean {
    return this.#byId.get(id)?.pattern?.matches(scopeText) === true;
  }

  hasGrants(principal: string): boolean {
    return this.#byPrincipal.has(principal);
  }

  /**
   * A grant of `principal` in force at `now` that carries `permission` on the scope `scopeText`, or, for
   * a step scope (`workflowText` is its workflow's string form), on its workflow with `includeSteps`.
   */
  find(principal: string, scopeText: string, workflowText: string | undefined, permission: Permission, now: number): IndexedGrant | undefined {
    const grants = this.#byPrincipal.get(principal);
    if (grants === undefined) return undefined;
    const bit = PERMISSION_BIT[permission];
    return (
      findIn(grants, scopeText, bit, now, false) ?? (workflowText === undefined ? undefined : findIn(grants, workflowText, bit, now, true))
    );
  }

  /** Every grant of `principal` in force at `now` covering the scope (as {@link find}), whatever it carries. */
  covering(principal: string, scopeText: string, workflowText: string | undefined, now: number): IndexedGrant[] {
    const grants = this.#byPrincipal.get(principal);
    if (grants === undefined) return [];
    const found: IndexedGrant[] = [];
    collect(grants, scopeText, now, false, found);
    if (workflowText !== undefined) collect(grants, workflowText, now, true, found);
    return found;
  }

  /** Every grant of `principal` whose pattern is in force at `now`. */
  patternsOf(principal: string, now: number): IndexedGrant[] {
    const grants = this.#byPrincipal.get(principal);
    if (grants === undefined) return [];
    return [...grants.patterns.values()].flat().filter((indexed) => indexed.expiresAt > now);
  }
}

function findIn(grants: PrincipalGrants, scopeText: string, bit: number, now: number, steps: boolean): IndexedGrant | undefined {
  const exact = grants.exact.get(scopeText);
  if (exact !== undefined) {
    for (const indexed of exact) if (fits(indexed, bit, now, steps)) return indexed;
  }
  for (const length of grants.prefixLengths) {
    if (length > scopeText.length) break;
    const candidates = grants.patterns.get(scopeText.slice(0, length));
    if (candidates === undefined) continue;
    for (const indexed of candidates) if (fits(indexed, bit, now, steps) && indexed.pattern!.matches(scopeText)) return indexed;
  }
  return undefined;
}

function collect(grants: PrincipalGrants, scopeText: string, now: number, steps: boolean, into: IndexedGrant[]): void {
  for (const indexed of grants.exact.get(scopeText) ?? []) if (fits(indexed, 0, now, steps)) into.push(indexed);
  for (const length of grants.prefixLengths) {
    if (length > scopeText.length) break;
    for (const indexed of grants.patterns.get(scopeText.slice(0, length)) ?? []) {
      if (fits(indexed, 0, now, steps) && indexed.pattern!.matches(scopeText)) into.push(indexed);
    }
  }
}

function fits(indexed: IndexedGrant, bit: number, now: number, steps: boolean): boolean {
  return (indexed.bits & bit) === bit && indexed.expiresAt > now && (!steps || indexed.grant.includeSteps === true);
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function pull<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)!;
  const rest = list.filter((item) => item !== value);
  if (rest.length === 0) map.delete(key);
  else map.set(key, rest);
}
