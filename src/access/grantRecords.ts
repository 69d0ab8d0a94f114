import { decodeRecord, encodeRecord } from '../storage/recordEnvelope.js';
import type { BatchOp } from '../storage/index.js';
import type { Permission } from './permissions.js';

/** A grant as `rt.access.grant` returns it and the store keeps it. */
export interface Grant {
  id: string;
  principal: string;
  /** The one scope it covers (string form), or absent with `scopePattern`. */
  scope?: string;
  scopePattern?: string;
  permissions: Permission[];
  /** Ms since the epoch; from then on the grant allows nothing. */
  expiresAt?: number;
  /** On a workflow scope or pattern: the grant also covers that workflow's step scopes. */
  includeSteps?: boolean;
  grantedBy: string;
  createdAt: number;
}

/** An agent cut off by `rt.access.quarantine`. */
export interface Quarantine {
  agentId: string;
  reason?: string;
  by: string;
  at: number;
}

/*
 * The `access` namespace: `g\0<grant id>` holds a grant, `q\0<agent id>` a quarantine. Both are loaded
 * whole at open: decisions are taken in memory.
 */
const GRANT = 'g\0';
const QUARANTINE = 'q\0';

export function grantKey(id: string): Buffer {
  return Buffer.from(GRANT + id, 'utf8');
}

export function quarantineKey(agentId: string): Buffer {
  return Buffer.from(QUARANTINE + agentId, 'utf8');
}

/** What a key of the `access` namespace names. */
export type AccessKey = { type: 'grant'; id: string } | { type: 'quarantine'; agentId: string };

export function parseAccessKey(key: Buffer): AccessKey | undefined {
  const text = key.toString('utf8');
  if (text.startsWith(GRANT)) return { type: 'grant', id: text.slice(GRANT.length) };
  if (text.startsWith(QUARANTINE)) return { type: 'quarantine', agentId: text.slice(QUARANTINE.length) };
  return undefined;
}

export function putGrant(grant: Grant): BatchOp {
  return { type: 'put', sublevel: 'access', key: grantKey(grant.id), value: encodeRecord({ seq: 0, timestamp: grant.createdAt }, JSON.stringify(grant)) };
}

export function putQuarantine(quarantine: Quarantine): BatchOp {
  return { type: 'put', sublevel: 'access', key: quarantineKey(quarantine.agentId), value: encodeRecord({ seq: 0, timestamp: quarantine.at }, JSON.stringify(quarantine)) };
}

export type AccessRecord = { type: 'grant'; grant: Grant } | { type: 'quarantine'; quarantine: Quarantine };

/** @throws {DATA_CORRUPT} when the record fails its checksum. */
export function decodeAccessRecord(key: Buffer, value: Buffer): AccessRecord | undefined {
  const text = key.toString('utf8');
  const { payload } = decodeRecord(value, { 'access record': text.replaceAll('\x00', ' ') });
  if (text.startsWith(GRANT)) return { type: 'grant', grant: JSON.parse(payload.toString('utf8')) as Grant };
  if (text.startsWith(QUARANTINE)) return { type: 'quarantine', quarantine: JSON.parse(payload.toString('utf8')) as Quarantine };
  return undefined;
}
