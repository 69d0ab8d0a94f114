import { decodeRecord, encodeRecord } from '../storage/recordEnvelope.js';
import type { BatchOp, StorageBackend } from '../storage/index.js';

/** A session as the `sessions` namespace keeps it; a collected one stays as a tombstone with `collected`. */
export interface StoredSession {
  id: string;
  startedAt: number;
  /** Null: the session never expires; it is collected once ended, by `gc({ ended: true })`. */
  expiresAt: number | null;
  metadata: Record<string, unknown>;
  participants: string[];
  startedBy: string;
  status: 'active' | 'ended' | 'expired';
  endedAt?: number;
  collected?: { at: number; cleared: number; reason: 'ttl' | 'ended' };
}

/** The change a link names, or one of the changes it covers. */
export interface StoredChange {
  /** Null when event retention had already removed the change's commit record at link time. */
  eventId: string | null;
  scope: string;
  key?: string;
  kind: 'state.set' | 'state.delete' | 'scope.clear';
  correlationId: string | null;
  seq: number;
  at: number;
}

/** One link between an artifact and state changes: a key's current change, or a whole correlation. */
export interface StoredLink {
  artifactId: string;
  /** Orders an artifact's links by time and tells two links made in the same millisecond apart. */
  linkId: string;
  linkedAt: number;
  kind?: string;
  metadata: Record<string, unknown>;
  sessionId?: string;
  scope?: string;
  key?: string;
  /** The change a key link names, resolved when the link was made. */
  change?: StoredChange;
  correlationId?: string;
}

// Keys of the `sessions` namespace. No part holds 0x00: session ids and scopes follow the key rules,
// artifact ids and correlation ids forbid control characters, and link ids are digits and letters.
const SESSION = 'session\x00';
const LINK = 'link\x00';
const BY_SCOPE = 'linkByScope\x00';
const BY_SESSION = 'linkBySession\x00';
const BY_CORRELATION = 'linkByCorrelation\x00';

export function sessionRecordKey(id: string): Buffer {
  return Buffer.from(SESSION + id, 'utf8');
}

/** The id of the session whose record `key` is, or undefined for a key of another kind (a link's). */
export function sessionIdOfKey(key: Buffer): string | undefined {
  const text = key.toString('utf8');
  return text.startsWith(SESSION) ? text.slice(SESSION.length) : undefined;
}

export function sessionRecordOp(session: StoredSession): BatchOp {
  return put(sessionRecordKey(session.id), JSON.stringify(session), session.collected?.at ?? session.endedAt ?? session.startedAt);
}

/** The link record and its index entries. */
export function linkRecordOps(link: StoredLink): BatchOp[] {
  const tail = `${link.artifactId}\x00${link.linkId}`;
  const ops = [put(Buffer.from(LINK + tail, 'utf8'), JSON.stringify(link), link.linkedAt)];
  if (link.scope !== undefined) ops.push(put(Buffer.from(`${BY_SCOPE}${link.scope}\x00${tail}`, 'utf8'), '', link.linkedAt));
  if (link.sessionId !== undefined) ops.push(put(Buffer.from(`${BY_SESSION}${link.sessionId}\x00${tail}`, 'utf8'), '', link.linkedAt));
  if (link.correlationId !== undefined) ops.push(put(Buffer.from(`${BY_CORRELATION}${link.correlationId}\x00${tail}`, 'utf8'), '', link.linkedAt));
  return ops;
}

/** @throws {DATA_CORRUPT} naming the session. */
export async function readSession(storage: StorageBackend, id: string): Promise<StoredSession | undefined> {
  const raw = await storage.get('sessions', sessionRecordKey(id));
  return raw === undefined ? undefined : decodeJson<StoredSession>(raw, { session: id });
}

/** Every session record, tombstones included, in id order. @throws {DATA_CORRUPT} */
export async function* readSessions(storage: StorageBackend): AsyncGenerator<StoredSession> {
  for await (const [key, value] of storage.iterate('sessions', prefixRange(SESSION))) {
    yield decodeJson<StoredSession>(value, { session: key.toString('utf8', SESSION.length) });
  }
}

/** An artifact's links, oldest first. @throws {DATA_CORRUPT} */
export async function readLinksOf(storage: StorageBackend, artifactId: string): Promise<StoredLink[]> {
  const links: StoredLink[] = [];
  for await (const [key, value] of storage.iterate('sessions', prefixRange(`${LINK}${artifactId}\x00`))) {
    links.push(decodeJson<StoredLink>(value, { artifactLink: displayKey(key) }));
  }
  return links;
}

/** The links an index names under `part`: a scope, a session id or a correlation id. @throws {DATA_CORRUPT} */
export async function readIndexedLinks(storage: StorageBackend, index: 'scope' | 'session' | 'correlation', part: string): Promise<StoredLink[]> {
  const prefix = `${index === 'scope' ? BY_SCOPE : index === 'session' ? BY_SESSION : BY_CORRELATION}${part}\x00`;
  const links: StoredLink[] = [];
  for await (const [key, value] of storage.iterate('sessions', prefixRange(prefix))) {
    decodeRecord(value, { artifactIndex: displayKey(key) });
    const raw = await storage.get('sessions', Buffer.concat([Buffer.from(LINK, 'utf8'), key.subarray(Buffer.byteLength(prefix, 'utf8'))]));
    if (raw !== undefined) links.push(decodeJson<StoredLink>(raw, { artifactLink: displayKey(key) }));
  }
  return links;
}

/** The correlation ids that links name, each once. @throws {DATA_CORRUPT} */
export async function readLinkedCorrelations(storage: StorageBackend): Promise<string[]> {
  const ids = new Set<string>();
  for await (const [key, value] of storage.iterate('sessions', prefixRange(BY_CORRELATION))) {
    decodeRecord(value, { artifactIndex: displayKey(key) });
    const rest = key.toString('utf8', BY_CORRELATION.length);
    ids.add(rest.slice(0, rest.indexOf('\x00')));
  }
  return [...ids];
}

function put(key: Buffer, json: string, at: number): BatchOp {
  return { type: 'put', sublevel: 'sessions', key, value: encodeRecord({ seq: 0, timestamp: at }, json) };
}

function decodeJson<T>(raw: Buffer, where: Record<string, unknown>): T {
  return JSON.parse(decodeRecord(raw, where).payload.toString('utf8')) as T;
}

function prefixRange(prefix: string): { gte: Buffer; lt: Buffer } {
  const gte = Buffer.from(prefix, 'utf8');
  return { gte, lt: Buffer.concat([gte, Buffer.from([0xff])]) };
}

function displayKey(key: Buffer): string {
  return key.toString('utf8').replaceAll('\x00', ' ');
}
