import type { Payload } from './payloads.js';

/** A checkpoint as stored under `c:<ns>:<id>`: its channel values are in blob records, by version. */
export interface CheckpointRecord {
  /** The thread's own id, which a hashed scope id no longer spells. */
  readonly threadId: string;
  readonly ns: string;
  readonly id: string;
  readonly parentId?: string;
  /** The checkpoint without `channel_values`. */
  readonly checkpoint: Payload;
  readonly metadata: Payload;
}

/** One channel's value at one version, under `b:<ns>:<channel>:<version>`. */
export type BlobRecord = { readonly channel: string; readonly version: string | number } & Payload;

/** One pending write, under `w:<ns>:<checkpoint id>:<task id>:<index>`. */
export type WriteRecord = {
  readonly taskId: string;
  /** `''` when the caller gave none: such writes sort first, as LangGraph applies them. */
  readonly taskPath: string;
  readonly channel: string;
  readonly index: number;
} & Payload;
