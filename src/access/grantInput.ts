import { checkOptionsArgument, describeOption } from '../checkOptions.js';
import { Scope } from '../state/Scope.js';
import { PERMISSION_BIT, permissionBits, permissionsOf } from './permissions.js';
import { normalizePrincipal, SYSTEM } from '../state/principal.js';
import { compileScopePattern, type ScopePattern } from './scopePattern.js';

/** What `rt.access.grant` takes. */
export interface GrantInput {
  /** Who receives it: `agent:<id>` or a custom principal. */
  principal: string;
  /** The one scope it covers; or give `scopePattern`. */
  scope?: Scope | string;
  /** Scopes by their string form, `*` standing for any run of characters: `workflow:report-*`. */
  scopePattern?: string;
  permissions: Array<'read' | 'write' | 'delete' | 'list' | 'grant'>;
  /** When it stops allowing anything: a Date or ms since the epoch. */
  expiresAt?: Date | number;
  /** On a workflow scope (or a pattern of them): cover the workflow's step scopes too. */
  includeSteps?: boolean;
}

/** A grant request, checked and normalised. */
export interface CheckedGrant {
  principal: string;
  scope?: Scope;
  pattern?: ScopePattern;
  bits: number;
  expiresAt?: number;
  includeSteps: boolean;
}

/** @throws {TypeError} for a malformed request, naming the field. @throws {SCOPE_INVALID} for a bad scope. */
export function checkGrantInput(input: GrantInput, now: number): CheckedGrant {
  checkOptionsArgument(input, 'grant', 'required');
  const unknown = Object.keys(input).filter((name) => !['principal', 'scope', 'scopePattern', 'permissions', 'expiresAt', 'includeSteps'].includes(name));
  if (unknown.length > 0) throw new TypeError(`Unknown grant field(s) ${unknown.join(', ')}`);
  const principal = normalizePrincipal(input.principal);
  if (principal === SYSTEM) throw new TypeError('system holds every permission already; a grant to it means nothing');
  if ((input.scope === undefined) === (input.scopePattern === undefined)) {
    throw new TypeError('A grant names exactly one of `scope` and `scopePattern`');
  }
  const bits = permissionBits(input.permissions);
  const scope = input.scope === undefined ? undefined : typeof input.scope === 'string' ? Scope.parse(input.scope) : checkScope(input.scope);
  if (scope?.kind === 'global' && (bits & (PERMISSION_BIT.write | PERMISSION_BIT.delete | PERMISSION_BIT.grant)) !== 0) {
    throw new TypeError(`The global scope is written by system only: a grant on it can carry read and list, not ${permissionsOf(bits).join(', ')}`);
  }
  const pattern = input.scopePattern === undefined ? undefined : compileScopePattern(input.scopePattern);
  const expiresAt = input.expiresAt === undefined ? undefined : input.expiresAt instanceof Date ? input.expiresAt.getTime() : input.expiresAt;
  if (expiresAt !== undefined && !(Number.isSafeInteger(expiresAt) && expiresAt > now)) {
    throw new TypeError(`Expected \`expiresAt\` to be a Date or ms since the epoch in the future, got ${describeOption(input.expiresAt)}`);
  }
  if (input.includeSteps !== undefined && typeof input.includeSteps !== 'boolean') {
    throw new TypeError(`Expected \`includeSteps\` to be a boolean, got ${describeOption(input.includeSteps)}`);
  }
  const includeSteps = input.includeSteps === true;
  if (includeSteps && scope !== undefined && scope.kind !== 'workflow') {
    throw new TypeError(`\`includeSteps\` applies to a workflow scope, not ${scope.toString()}`);
  }
  return { principal, scope, pattern, bits, expiresAt, includeSteps };
}

function checkScope(scope: unknown): Scope {
  if (!Scope.isScope(scope)) throw new TypeError(`Expected \`scope\` to be a Scope or its string form, got ${describeOption(scope)}`);
  return scope;
}
