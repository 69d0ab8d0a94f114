import type { AuditRecord } from '../access/auditRecord.js';
import type { AccessDecision } from '../access/decision.js';
import type { Grant, Quarantine } from '../access/grantRecords.js';
import { escapeForDisplay } from '../displayText.js';
import { formatTable, isoTime, oneLine, type Styles } from './output.js';

/** The text forms of what the `access` and `audit` commands print. Every name, scope, key and reason passes the display escape. */

/** `access grant`: the new grant, one field a line. */
export function formatGrant(grant: Grant): string[] {
  return [
    `id           ${escapeForDisplay(grant.id)}`,
    `principal    ${escapeForDisplay(grant.principal)}`,
    grant.scope === undefined ? `pattern      ${escapeForDisplay(grant.scopePattern ?? '')}` : `scope        ${escapeForDisplay(grant.scope)}`,
    `permissions  ${grant.permissions.join(',')}`,
    `steps        ${grant.includeSteps === true ? 'included' : 'not included'}`,
    `expires      ${grant.expiresAt === undefined ? 'never' : isoTime(grant.expiresAt)}`,
    `granted by   ${escapeForDisplay(grant.grantedBy)}`,
    `created      ${isoTime(grant.createdAt)}`,
  ];
}

/** `access grants`: a table, oldest first; a pattern is shown as written, `*` and all. */
export function formatGrantList(grants: readonly Grant[], now: number, styles: Styles): string[] {
  const rows = grants.map((grant) => [
    grant.id,
    grant.principal,
    grant.scope ?? grant.scopePattern ?? '',
    grant.permissions.join(','),
    grant.includeSteps === true ? 'yes' : '-',
    grant.expiresAt === undefined ? 'never' : isoTime(grant.expiresAt),
    grant.expiresAt !== undefined && grant.expiresAt <= now ? 'expired' : 'active',
    grant.grantedBy,
  ]);
  return formatTable(['id', 'principal', 'scope', 'permissions', 'steps', 'expires', 'status', 'granted-by'], rows, new Set(), styles);
}

/** `access check`: `allowed` or `denied`, the rule, and the grant or the code. */
export function formatDecision(decision: AccessDecision): string[] {
  const by = decision.by === undefined ? '' : ` ${escapeForDisplay(decision.by)}`;
  const code = decision.code === undefined ? '' : ` (${decision.code})`;
  return [`${decision.allowed ? 'allowed' : 'denied'}: ${decision.rule}${by}${code}`];
}

/** `access quarantine`. */
export function formatQuarantine(quarantine: Quarantine): string[] {
  return [`quarantined ${escapeForDisplay(quarantine.agentId)} since ${isoTime(quarantine.at)}${quarantine.reason === undefined ? '' : `: ${oneLine(quarantine.reason, 200)}`}`];
}

/** `access quarantined`: a table; the reason, free text, last. */
export function formatQuarantineList(quarantines: readonly Quarantine[], styles: Styles): string[] {
  const rows = quarantines.map((quarantine) => [quarantine.agentId, isoTime(quarantine.at), quarantine.by, quarantine.reason === undefined ? '-' : oneLine(quarantine.reason, 200)]);
  return formatTable(['agent', 'since', 'by', 'reason'], rows, new Set(), styles);
}

/** `audit`: one row per record, in the order asked (newest first by default); `count` is how many identical allowed decisions one record stands for. */
export function formatAuditList(records: readonly AuditRecord[], styles: Styles): string[] {
  const rows = records.map((record) => [
    isoTime(record.at),
    record.principal,
    record.outcome,
    record.operation,
    record.scope ?? '-',
    record.key ?? '-',
    record.rule,
    record.grantId ?? record.code ?? '-',
    record.method ?? '-',
    record.correlationId ?? '-',
    String(record.count ?? 1),
  ]);
  return formatTable(['at', 'principal', 'outcome', 'operation', 'scope', 'key', 'rule', 'grant/code', 'method', 'correlation', 'count'], rows, new Set([10]), styles);
}
