import { decodeCommitRecord, encodeSeqKey } from '../events/eventLog.js';
import { queryEvents } from '../events/queryEvents.js';
import { encodeStateKey } from '../state/keyCodec.js';
import type { Scope } from '../state/Scope.js';
import type { StorageBackend } from '../storage/index.js';
import { decodeRecord } from '../storage/recordEnvelope.js';
import { readIndexedLinks, readLinkedCorrelations, type StoredChange, type StoredLink } from './sessionRecords.js';

const STATE_CHANGE_KINDS = ['state.set', 'state.delete', 'scope.clear'];

/** The state changes the log holds under a correlation id, in log order. @throws {DATA_CORRUPT} */
export async function changesUnder(storage: StorageBackend, correlationId: string): Promise<StoredChange[]> {
  const events = await queryEvents(storage, { correlationId, kinds: STATE_CHANGE_KINDS, limit: Number.MAX_SAFE_INTEGER });
  return events.map((event) => ({
    eventId: event.id,
    scope: event.scope!,
    ...(event.key === undefined ? {} : { key: event.key }),
    kind: event.kind as StoredChange['kind'],
    correlationId: event.correlationId,
    seq: event.seq,
    at: event.at,
  }));
}

/**
 * The change that wrote a key's current value, found from the commit sequence in its record's envelope.
 * The caller has let the writes queued on the scope commit first.
 *
 * @throws {TypeError} when the key has no value. @throws {DATA_CORRUPT}
 */
export async function currentChange(storage: StorageBackend, scope: Scope, key: string): Promise<StoredChange> {
  const raw = await storage.get('state', encodeStateKey(scope, key));
  if (raw === undefined) {
    throw new TypeError(
      `The key ${JSON.stringify(key)} of ${scope} has no value, so no change of it can be linked; link it once it is written, or link the \`correlationId\` its writes were made under`,
    );
  }
  const scopeText = scope.toString();
  const { seq, timestamp } = decodeRecord(raw, { scope: scopeText, key });
  const record = await storage.get('events', encodeSeqKey(seq));
  // Absent when event retention has removed the commit: the link keeps the sequence and time alone.
  const event = record === undefined ? undefined : decodeCommitRecord(record, seq).findLast((e) => e.kind === 'state.set' && e.scope === scopeText && e.key === key);
  return { eventId: event?.id ?? null, scope: scopeText, key, kind: 'state.set', correlationId: event?.correlationId ?? null, seq, at: timestamp };
}

/** The key links of a scope, and the correlation links whose changes so far touched it. @throws {DATA_CORRUPT} */
export async function linksOfScope(storage: StorageBackend, scope: string): Promise<StoredLink[]> {
  const links = await readIndexedLinks(storage, 'scope', scope);
  for (const correlationId of await readLinkedCorrelations(storage)) {
    const touched = await queryEvents(storage, { correlationId, scope, kinds: STATE_CHANGE_KINDS, limit: 1 });
    if (touched.length > 0) links.push(...(await readIndexedLinks(storage, 'correlation', correlationId)));
  }
  return links;
}

export function byLogOrder(a: StoredChange, b: StoredChange): number {
  return a.seq - b.seq || indexInRecord(a) - indexInRecord(b);
}

export function byLinkOrder(a: StoredLink, b: StoredLink): number {
  return a.linkedAt - b.linkedAt || (a.linkId < b.linkId ? -1 : a.linkId > b.linkId ? 1 : 0);
}

function indexInRecord(change: StoredChange): number {
  return change.eventId === null ? -1 : Number(change.eventId.slice(change.eventId.indexOf('.') + 1));
}
