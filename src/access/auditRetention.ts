import { z } from 'zod';
import { checkOptions } from '../checkOptions.js';

/**
 * How much of the audit log is kept. It covers the whole `audit` namespace: the access decisions and
 * the entries the built-in `audit` hook writes there, oldest first.
 */
export interface AuditRetention {
  /** Most records kept. */
  maxCount?: number;
  /** A record older than this many ms is removed. */
  maxAgeMs?: number;
  /** Most bytes kept, counting keys, values and the index by principal. */
  maxBytes?: number;
  /** A background pass runs after this many appends. */
  pruneEvery?: number;
}

const positiveInteger = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const RETENTION_FIELDS = {
  maxCount: [positiveInteger, 'a positive integer'],
  maxAgeMs: [positiveInteger, 'a positive integer'],
  maxBytes: [positiveInteger, 'a positive integer'],
  pruneEvery: [positiveInteger, 'a positive integer'],
} as const;

/** @throws {TypeError} reading like ``Expected `maxCount` to be a positive integer, got `0` (number)``. */
export function checkAuditRetention(policy: unknown): AuditRetention {
  return checkOptions(policy, RETENTION_FIELDS, { what: 'the retention policy', field: 'retention field' });
}
