import { z } from 'zod';
import { checkOptions } from '../checkOptions.js';
import { corruptRecord, decodeRecord, encodeRecord } from '../storage/recordEnvelope.js';

export type AuditOutcome = 'allowed' | 'denied';

/** One access decision, as the access layer reports it. */
export interface AuditEntry {
  /** `system`, `agent:<id>` or a custom name. */
  principal: string;
  /** `read`, `write`, `delete`, `list`, `grant`, `admin`, … */
  operation: string;
  outcome: AuditOutcome;
  /** The rule that decided: `own-scope`, `grant`, `global-read`, `no-grant`, `quarantined`, … */
  rule: string;
  /** The scope's string form, such as `agent:bob`. */
  scope?: string;
  key?: string;
  /** The grant that allowed the operation. */
  grantId?: string;
  /** The error a denial raised. */
  code?: 'ACCESS_DENIED' | 'AGENT_QUARANTINED';
  /** The API call, such as `state.get`. */
  method?: string;
  correlationId?: string;
}

/** A decision as the audit log keeps it: with its id and the time it was recorded (ms since the epoch). */
export interface AuditRecord extends AuditEntry {
  id: string;
  at: number;
  /**
   * How many identical allowed decisions this record stands for, when more than one: the same
   * principal, operation, scope, key, rule, grant, method and correlation, appended in one batch.
   */
  count?: number;
  /** With `count`: the time of the last of them. */
  lastAt?: number;
}

const OUTCOMES = ['allowed', 'denied'] as const;
const CODES = ['ACCESS_DENIED', 'AGENT_QUARANTINED'] as const;
const text = z.string().min(1);

const ENTRY_FIELDS = {
  // The principal names an index key, whose length is a u16.
  principal: [text.refine((value) => Buffer.byteLength(value, 'utf8') <= 0xffff), 'a non-empty string of at most 65535 bytes'],
  operation: [text, 'a non-empty string'],
  outcome: [z.enum(OUTCOMES), "'allowed' or 'denied'"],
  rule: [text, 'a non-empty string'],
  scope: [text, 'a non-empty string'],
  key: [text, 'a non-empty string'],
  grantId: [text, 'a non-empty string'],
  code: [z.enum(CODES), "'ACCESS_DENIED' or 'AGENT_QUARANTINED'"],
  method: [text, 'a non-empty string'],
  correlationId: [text, 'a non-empty string'],
} as const;

/** The fields of a record, in the order a record lists them. */
const OPTIONAL_FIELDS = ['scope', 'key', 'grantId', 'code', 'method', 'correlationId'] as const;

/** @throws {TypeError} for an entry of the wrong shape. */
export function checkAuditEntry(entry: unknown): AuditEntry {
  return checkOptions(entry, ENTRY_FIELDS, { what: 'the audit entry', field: 'audit entry field', required: ['principal', 'operation', 'outcome', 'rule'] });
}

/** A record with only the fields that are set, in a fixed order. */
export function toAuditRecord(id: string, at: number, entry: AuditEntry): AuditRecord {
  const record: AuditRecord = { id, at, principal: entry.principal, operation: entry.operation, outcome: entry.outcome, rule: entry.rule };
  for (const name of OPTIONAL_FIELDS) {
    if (entry[name] !== undefined) (record as unknown as Record<string, unknown>)[name] = entry[name];
  }
  return record;
}

/** The stored form: the record as JSON with `source: 'access'`, in the checksummed envelope. */
export function encodeAuditRecord(record: AuditRecord): Buffer {
  return encodeRecord({ seq: 0, timestamp: record.at }, JSON.stringify({ source: 'access', ...record }));
}

/** @throws {DATA_CORRUPT} when the record fails its checksum or is not an access decision. */
export function decodeAuditRecord(value: Buffer, id: string): AuditRecord {
  const where = { 'audit record': id };
  const { payload } = decodeRecord(value, where);
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch (error) {
    throw corruptRecord('it is not valid JSON', where, { bytes: value.length, cause: error });
  }
  const { source, ...fields } = (parsed ?? {}) as Record<string, unknown>;
  if (source !== 'access' || fields.id !== id || !Number.isSafeInteger(fields.at)) {
    throw corruptRecord('it is not the access decision its key names', where, { bytes: value.length });
  }
  const { id: _id, at, count, lastAt, ...entry } = fields;
  if (count !== undefined && !(Number.isSafeInteger(count) && (count as number) > 1 && Number.isSafeInteger(lastAt))) {
    throw corruptRecord('its count of repeated decisions is malformed', where, { bytes: value.length });
  }
  try {
    const record = toAuditRecord(id, at as number, checkAuditEntry(entry));
    return count === undefined ? record : { ...record, count: count as number, lastAt: lastAt as number };
  } catch (error) {
    throw corruptRecord(`a field is malformed (${(error as Error).message})`, where, { bytes: value.length, cause: error });
  }
}
