import { quoteForDisplay } from '../displayText.js';
import { LlmStateError } from '../errors.js';
import { normalizeScopeId } from '../state/keyRules.js';

/** Who acts: `system`, `agent:<id>`, or a custom name such as `service:indexer`. */
export type Principal = string;

export const SYSTEM = 'system';

/** A principal, read: what the rules need to know about it. */
export type ParsedPrincipal =
  | { kind: 'system'; name: 'system' }
  | { kind: 'agent'; name: string; agentId: string }
  | { kind: 'custom'; name: string };

const CUSTOM = /^[^\x00-\x1f\x7f-\x9f*]{1,128}$/u;

/**
 * Reads a principal. An agent principal's id follows the scope id rules, so that `agent:<id>` names the
 * same agent as `Scope.agent(id)`; a custom name is 1–128 characters without control characters or `*`
 * (a grant pattern's wildcard), and cannot start with `agent:`.
 *
 * @throws {TypeError} for anything else, naming the rule it breaks.
 */
export function parsePrincipal(principal: unknown): ParsedPrincipal {
  const known = typeof principal === 'string' ? parsed.get(principal) : undefined;
  if (known !== undefined) return known;
  const result = parse(principal);
  // Principals are few and asked about often (every check names one): remember them, within bounds.
  if (parsed.size >= PARSED_LIMIT) parsed.clear();
  parsed.set(principal as string, result);
  return result;
}

const PARSED_LIMIT = 4096;
const parsed = new Map<string, ParsedPrincipal>();

function parse(principal: unknown): ParsedPrincipal {
  if (typeof principal !== 'string') {
    throw new TypeError(`Expected a principal ('system', 'agent:<id>' or a custom name), got ${principal === null ? 'null' : typeof principal}`);
  }
  if (principal === SYSTEM) return Object.freeze({ kind: 'system', name: SYSTEM });
  if (principal.startsWith('agent:')) {
    let agentId: string;
    try {
      agentId = normalizeScopeId(principal.slice('agent:'.length), 'agent id');
    } catch (error) {
      throw new TypeError(`The principal ${quoteForDisplay(principal)} names no valid agent: ${(error as LlmStateError).message}`);
    }
    return Object.freeze({ kind: 'agent', name: `agent:${agentId}`, agentId });
  }
  if (!CUSTOM.test(principal)) {
    throw new TypeError(`The principal ${quoteForDisplay(principal)} must be 1–128 characters without control characters or '*'`);
  }
  return Object.freeze({ kind: 'custom', name: principal });
}

/** The canonical form of a principal (an agent id NFC-normalised). @throws {TypeError} */
export function normalizePrincipal(principal: unknown): Principal {
  return parsePrincipal(principal).name;
}
