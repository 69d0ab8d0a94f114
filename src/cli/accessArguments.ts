import { InvalidArgumentError } from 'commander';
import { parsePrincipal } from '../state/principal.js';
import { PERMISSIONS, type Permission } from '../access/permissions.js';
import { compileScopePattern } from '../access/scopePattern.js';
import { isoInstant, parseDuration } from './backupArguments.js';

/**
 * The commander parsers of the `access` and `audit` commands. Each turns a malformed value into a usage
 * error (exit 2), found before any store is opened.
 */

/** A principal: `agent:<id>`, `system` or a custom name, in its canonical form. */
export function parsePrincipalArgument(text: string): string {
  try {
    return parsePrincipal(text).name;
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}. A principal is system, agent:<id>, or a custom name such as service:indexer.`);
  }
}

/** `read,write`: one or more of the permissions, separated by commas. */
export function parsePermissions(text: string): Permission[] {
  const words = text.split(',').map((word) => word.trim());
  const unknown = words.filter((word) => !(PERMISSIONS as readonly string[]).includes(word));
  if (unknown.length > 0) {
    const what = unknown.every((word) => word === '') ? 'an empty permission' : `unknown ${unknown.filter((word) => word !== '').join(', ')}`;
    throw new InvalidArgumentError(`Expected permissions separated by commas, from ${PERMISSIONS.join(', ')}, such as read,list; got ${what}.`);
  }
  return [...new Set(words as Permission[])];
}

/** What a grant covers: a scope, or, when the argument holds a `*`, a pattern checked here. */
export type GrantTarget = { scope: string } | { scopePattern: string };

/** A scope is checked when the command runs (an invalid one is SCOPE_INVALID, as for every command); a pattern here. */
export function parseGrantTarget(text: string): GrantTarget {
  if (!text.includes('*')) return { scope: text };
  try {
    compileScopePattern(text);
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}.`);
  }
  return { scopePattern: text };
}

/** `--expires`: an ISO 8601 time with its zone, or a duration from now (`1h`, `7d`); in ms since the epoch. */
export function parseExpiry(text: string): number {
  return instantOf(text, +1, 'from now');
}

/** `--since` and `--until`: an ISO 8601 time with its zone, or a duration before now (`1h`, `7d`); in ms since the epoch. */
export function parsePastTime(text: string): number {
  return instantOf(text, -1, 'ago');
}

function instantOf(text: string, direction: 1 | -1, relation: string): number {
  const date = isoInstant(text);
  if (date !== undefined) return date.getTime();
  try {
    return Date.now() + direction * parseDuration(text);
  } catch {
    throw new InvalidArgumentError(`Expected an ISO 8601 time with its zone, such as 2026-12-01T10:00:00Z, or a duration ${relation}, such as 30m, 1h or 7d.`);
  }
}
