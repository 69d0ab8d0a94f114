import { createHash } from 'node:crypto';
import type { Item, SearchItem } from '@langchain/langgraph-checkpoint';
import { MAX_KEY_LENGTH } from '../../index.js';
import { encodeName } from '../scopeNames.js';

/**
 * An item as its namespace scope stores it, under {@link itemKey}. It keeps the item's own key and
 * namespace, since a hashed key or scope id cannot be read back; times are ISO strings, readable in the CLI.
 */
export interface ItemRecord {
  readonly key: string;
  readonly namespace: readonly string[];
  readonly value: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** When the item stops being visible; absent when it has no time to live. */
  readonly expiresAt?: string;
  /** The time to live it was put with, so that a read can restart it. */
  readonly ttlMinutes?: number;
}

/** Every item key starts with this, so that no encoded key breaks a key rule (`__x`, `.`, `..`). */
export const ITEM_PREFIX = 'item:';

const HASHED = '#';

/** The llmstate key of an item: its key encoded, or a hash of that when too long to be a key. */
export function itemKey(key: string): string {
  const encoded = encodeName(key);
  if (ITEM_PREFIX.length + encoded.length <= MAX_KEY_LENGTH) return ITEM_PREFIX + encoded;
  return ITEM_PREFIX + HASHED + createHash('sha256').update(encoded).digest('base64url');
}

export function isExpired(record: ItemRecord, now: number): boolean {
  return record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now;
}

/** The record of a put at `now`; an update keeps the creation time of the item it replaces. */
export function itemRecord(
  put: { namespace: readonly string[]; key: string; value: Record<string, unknown>; ttlMinutes: number | undefined },
  previous: ItemRecord | undefined,
  now: number,
): ItemRecord {
  const at = new Date(now).toISOString();
  const kept = previous !== undefined && previous.key === put.key && !isExpired(previous, now);
  return {
    key: put.key,
    namespace: [...put.namespace],
    value: put.value,
    createdAt: kept ? previous.createdAt : at,
    updatedAt: at,
    ...(put.ttlMinutes === undefined ? {} : { expiresAt: expiryAt(now, put.ttlMinutes), ttlMinutes: put.ttlMinutes }),
  };
}

/** The record with its time to live restarted at `now`. */
export function refreshed(record: ItemRecord, now: number): ItemRecord {
  return record.ttlMinutes === undefined ? record : { ...record, expiresAt: expiryAt(now, record.ttlMinutes) };
}

/** What a read hands out: LangGraph's item, copied, since stored values are frozen and callers may change theirs. */
export function toItem(record: ItemRecord): Item {
  return {
    value: structuredClone(record.value) as Record<string, unknown>,
    key: record.key,
    namespace: [...record.namespace],
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
  };
}

export function toSearchItem(record: ItemRecord): SearchItem {
  // LangGraph's stores give `score: undefined` when no query ranked the items.
  return { ...toItem(record), score: undefined };
}

/** The latest time a Date holds: a time to live beyond it never runs out anyway. */
const LAST_DATE_MS = 8.64e15;

function expiryAt(now: number, ttlMinutes: number): string {
  return new Date(Math.min(now + ttlMinutes * 60_000, LAST_DATE_MS)).toISOString();
}
