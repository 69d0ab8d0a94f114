import { z } from 'zod';
import { checkOptions, checkOptionsArgument, checkQueryFields } from '../checkOptions.js';
import type { AuditOutcome, AuditRecord } from './auditRecord.js';

/** What {@link AuditLog.query} selects; every given field must match. */
export interface AuditFilter {
  /** Read through the index of decisions by principal, so only that principal's records are read. */
  principal?: string;
  /** The scope's string form, such as `agent:bob`. */
  scope?: string;
  outcome?: AuditOutcome;
  operation?: string;
  correlationId?: string;
  /** Recorded at or after this time. */
  since?: number | Date;
  /** Recorded at or before this time. */
  until?: number | Date;
  /** @default 1000 */
  limit?: number;
  /** `newest` lists the latest decision first. @default 'newest' */
  order?: 'newest' | 'oldest';
}

export const DEFAULT_AUDIT_LIMIT = 1000;

const FILTER_FIELDS = {
  principal: [z.unknown(), 'a non-empty string'],
  scope: [z.unknown(), 'a non-empty string'],
  outcome: [z.enum(['allowed', 'denied']), "'allowed' or 'denied'"],
  operation: [z.unknown(), 'a non-empty string'],
  correlationId: [z.unknown(), 'a non-empty string'],
  since: [z.unknown(), 'a Date or a time in ms'],
  until: [z.unknown(), 'a Date or a time in ms'],
  limit: [z.unknown(), 'a positive integer'],
  order: [z.enum(['newest', 'oldest']), "'newest' or 'oldest'"],
} as const;

/** The filter with its times in ms and its defaults filled. */
export interface ResolvedAuditFilter extends Omit<AuditFilter, 'since' | 'until' | 'limit' | 'order'> {
  since: number | undefined;
  until: number | undefined;
  limit: number;
  order: 'newest' | 'oldest';
}

/**
 * @throws {TypeError} for an unknown field or a field of the wrong shape, worded as `rt.events.query`
 * words them: ``Expected `limit` to be a positive integer, got `0` (number)``.
 */
export function resolveAuditFilter(filter: unknown): ResolvedAuditFilter {
  checkOptionsArgument(filter, 'filter');
  const given = checkOptions(filter ?? {}, FILTER_FIELDS, { what: 'the audit filter', field: 'audit filter field' }) as AuditFilter;
  const { principal, scope, operation, correlationId, since, until, limit } = given;
  checkQueryFields({ text: { principal, scope, operation, correlationId }, times: { since, until }, limit });
  return {
    ...given,
    since: since === undefined ? undefined : Number(since),
    until: until === undefined ? undefined : Number(until),
    limit: limit ?? DEFAULT_AUDIT_LIMIT,
    order: given.order ?? 'newest',
  };
}

/** Whether a record matches the fields that a key range does not already select. */
export function auditMatcher(filter: ResolvedAuditFilter): (record: AuditRecord) => boolean {
  return (record) =>
    (filter.principal === undefined || record.principal === filter.principal) &&
    (filter.scope === undefined || record.scope === filter.scope) &&
    (filter.outcome === undefined || record.outcome === filter.outcome) &&
    (filter.operation === undefined || record.operation === filter.operation) &&
    (filter.correlationId === undefined || record.correlationId === filter.correlationId);
}
