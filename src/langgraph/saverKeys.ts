import { createHash } from 'node:crypto';
import { encodeName } from './scopeNames.js';

/**
 * The keys of a thread's records, inside the thread's scope:
 *
 * ```
 * c:<ns>:<checkpoint id>                       a checkpoint, without its channel values
 * b:<ns>:<channel>:<version>                   one channel value, stored once per version
 * w:<ns>:<checkpoint id>:<task id>:<index>     one pending write of a task
 * ```
 *
 * Every part is written by {@link encodeName}, which escapes `:`, `/` and `\`, so `:` separates parts
 * unambiguously and a key never breaks a key rule. A part too long for its share of the 256 code points
 * becomes `#` and a hash (`#` is always escaped, so it cannot start an encoded name); records keep the
 * names themselves, so a key is never read back into names.
 *
 * Checkpoint ids are uuid6 strings, which encode unchanged and sort by time, so the newest checkpoints of a
 * namespace are the last keys under `c:<ns>:`, and `list` reads them with one reverse range read.
 */
// Namespaces and channels share one length, so that one cache serves both.
const MAX_PART = { ns: 64, checkpointId: 64, channel: 64, version: 56, taskId: 64 } as const;

const CHECKPOINTS = 'c:';

/** The key of a checkpoint record. */
export function checkpointKey(ns: string, checkpointId: string): string {
  return `${CHECKPOINTS}${repeatedPart(ns, MAX_PART.ns)}:${part(checkpointId, MAX_PART.checkpointId)}`;
}

/** The bounds of every checkpoint key of one namespace, or of every namespace. */
export function checkpointRange(ns?: string): { gte: string; lt: string } {
  if (ns === undefined) return { gte: CHECKPOINTS, lt: after(CHECKPOINTS) };
  const prefix = `${CHECKPOINTS}${repeatedPart(ns, MAX_PART.ns)}:`;
  return { gte: prefix, lt: after(prefix) };
}

/** The bounds of the checkpoint keys of namespaces after the one `key` belongs to. */
export function laterNamespaces(key: string): { gte: string; lt: string } {
  const end = key.indexOf(':', CHECKPOINTS.length);
  return { gte: after(key.slice(0, end + 1)), lt: after(CHECKPOINTS) };
}

/** The key of the value `channel` had at `version`. */
export function blobKey(ns: string, channel: string, version: string | number): string {
  return `b:${repeatedPart(ns, MAX_PART.ns)}:${repeatedPart(channel, MAX_PART.channel)}:${part(String(version), MAX_PART.version)}`;
}

/** The key of a pending write; `index` is negative for the special channels of WRITES_IDX_MAP. */
export function writeKey(ns: string, checkpointId: string, taskId: string, index: number): string {
  return `${writesPrefix(ns, checkpointId)}${part(taskId, MAX_PART.taskId)}:${index}`;
}

/** The bounds of the pending writes of one checkpoint. */
export function writesRange(ns: string, checkpointId: string): { gte: string; lt: string } {
  const prefix = writesPrefix(ns, checkpointId);
  return { gte: prefix, lt: after(prefix) };
}

function writesPrefix(ns: string, checkpointId: string): string {
  return `w:${repeatedPart(ns, MAX_PART.ns)}:${part(checkpointId, MAX_PART.checkpointId)}:`;
}

/** The first key after every key that starts with `prefix`, which ends in `:` (`;` follows `:`). */
function after(prefix: string): string {
  return `${prefix.slice(0, -1)};`;
}

/** Namespaces and channel names repeat on every put: their parts are kept (ids and versions do not repeat). */
const repeated = new Map<string, string>();
const MAX_REPEATED = 4096;

function repeatedPart(name: string, max: number): string {
  let text = repeated.get(name);
  if (text === undefined) {
    text = part(name, max);
    if (repeated.size >= MAX_REPEATED) repeated.clear();
    repeated.set(name, text);
  }
  return text;
}

function part(name: string, max: number): string {
  const text = encodeName(name);
  return text.length <= max ? text : `#${createHash('sha256').update(text).digest('base64url')}`;
}
