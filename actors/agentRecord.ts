import { z } from 'zod';
import { LlmStateError } from '../src/errors.js';
import { corruptRecord, decodeRecord, encodeRecord } from '../src/storage/recordEnvelope.js';
import { AGENT_RECORD_SCHEMA, checkAgentRecordShape, OLDEST_AGENT_RECORD_VERSION, upgradeAgentRecord } from './agentRecordVersions.js';

/** A message for the agent's machine: an xstate event, which must be JSON data. */
export interface AgentEvent {
  type: string;
  [field: string]: unknown;
}

/**
 * Bumped when the agent record's shape changes, with a step from the previous version added to
 * `AGENT_RECORD_UPGRADES` (agentRecordVersions.ts). Stored as `agent-record@<version>` in the envelope
 * and as `metadata.schemaVersion`.
 */
export const AGENT_RECORD_VERSION = 2;

const json: z.ZodType<unknown> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(json), z.record(z.string(), json)]),
);

export const conversationMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string(),
  name: z.string().optional(),
  toolCallId: z.string().optional(),
  at: z.number().optional(),
});

export const toolSchema = z.object({
  name: z.string().min(1),
  description: z.string().optional(),
  parameters: json.optional(),
});

export const workflowProgressSchema = z.object({
  workflowId: z.string().optional(),
  currentStep: z.string().optional(),
  completedSteps: z.array(z.string()),
  progress: z.number().min(0).max(1).optional(),
});

export const agentStatusSchema = z.enum(['running', 'paused', 'stopped', 'crashed']);

/** Everything persisted about an agent, validated on every save and load. */
export const agentRecordSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  status: agentStatusSchema,
  config: z.record(z.string(), json),
  conversation: z.array(conversationMessageSchema),
  tools: z.array(toolSchema),
  workflow: workflowProgressSchema,
  custom: z.record(z.string(), json),
  /** The behaviour machine's `getPersistedSnapshot()`, or null for an agent without a machine. */
  machineSnapshot: json.nullable(),
  supervisor: z.string().min(1),
  persist: z.enum(['every-message', 'lifecycle']),
  /** The OTP restart type spawn was given; restore starts the agent with it. Since version 2. */
  restart: z.enum(['permanent', 'transient', 'temporary']),
  /** The shutdown spawn was given: ms, `'brutal_kill'` or `'infinity'`. Since version 2. */
  shutdown: z.union([z.number().int().nonnegative(), z.enum(['brutal_kill', 'infinity'])]),
  metadata: z.object({
    createdAt: z.number(),
    updatedAt: z.number(),
    schemaVersion: z.number().int(),
    messages: z.number().int().nonnegative(),
    restarts: z.number().int().nonnegative(),
  }),
});

export type AgentRecord = z.infer<typeof agentRecordSchema>;
export type AgentStatus = z.infer<typeof agentStatusSchema>;
export type ConversationMessage = z.infer<typeof conversationMessageSchema>;
export type Tool = z.infer<typeof toolSchema>;
export type WorkflowProgress = z.infer<typeof workflowProgressSchema>;

/** The fields of a record a user may change directly. */
export const agentPatchSchema = z
  .object({
    config: z.record(z.string(), json),
    conversation: z.array(conversationMessageSchema),
    tools: z.array(toolSchema),
    workflow: workflowProgressSchema,
    custom: z.record(z.string(), json),
  })
  .partial()
  .strict();

export type AgentPatch = z.infer<typeof agentPatchSchema>;

const RECORD_PREFIX = 'record\x00';
const DEAD_LETTER_PREFIX = 'dead\x00';

/** Where an agent's record lives in the `agents` namespace. */
export function agentRecordKey(id: string): Buffer {
  return Buffer.from(RECORD_PREFIX + id, 'utf8');
}

export function agentRecordRange(): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.from(RECORD_PREFIX, 'utf8'), lt: Buffer.from('record\x01', 'utf8') };
}

/** Dead letters sort by agent, then by the time they were written. */
export function deadLetterKey(agentId: string, at: number, unique: string): Buffer {
  return Buffer.from(`${DEAD_LETTER_PREFIX}${agentId}\x00${at.toString(36).padStart(10, '0')}\x00${unique}`, 'utf8');
}

export function deadLetterRange(agentId?: string): { gte: Buffer; lt: Buffer } {
  const prefix = agentId === undefined ? DEAD_LETTER_PREFIX : `${DEAD_LETTER_PREFIX}${agentId}\x00`;
  return { gte: Buffer.from(prefix, 'utf8'), lt: Buffer.from(prefix.slice(0, -1) + '\x01', 'utf8') };
}

export function isDeadLetterKey(key: Buffer): boolean {
  return key.toString('latin1', 0, DEAD_LETTER_PREFIX.length) === DEAD_LETTER_PREFIX;
}

export function isAgentRecordKey(key: Buffer): boolean {
  return key.toString('latin1', 0, RECORD_PREFIX.length) === RECORD_PREFIX;
}

/** The id of the agent whose record is stored under `key`. */
export function agentIdOfRecordKey(key: Buffer): string {
  return key.toString('utf8', RECORD_PREFIX.length);
}

/** Always in the current version: a record read in an older one is written back in this one. */
export function encodeAgentRecord(record: AgentRecord, seqHint: number): Buffer {
  return encodeRecord({ seq: seqHint, timestamp: record.metadata.updatedAt, schema: `${AGENT_RECORD_SCHEMA}@${AGENT_RECORD_VERSION}` }, JSON.stringify(record));
}

/**
 * Reads a stored agent record. One stored in an older version is upgraded in memory, step by step
 * (agentRecordVersions.ts), and checked against the current schema; the store keeps the older bytes
 * until the agent is next saved, which `restore` does at once.
 *
 * @throws {DATA_CORRUPT} when the bytes fail their checksum, carry no `agent-record@<version>`
 *   reference, or the record fails the schema of its version.
 * @throws {MIGRATION_NO_PATH} when the record is of a version newer than this build knows: a newer
 *   llmstate wrote it, and it is never downgraded.
 */
export function decodeAgentRecord(bytes: Buffer, id: string): AgentRecord {
  const where = { agent: id };
  const { payload, schema } = decodeRecord(bytes, where);
  const version = storedVersion(schema, where);
  let stored: unknown;
  try {
    stored = JSON.parse(payload.toString('utf8'));
  } catch (error) {
    throw corruptRecord('it is not valid JSON', where, { cause: error });
  }
  const record = checkAgentRecordShape(agentRecordSchema, upgradeAgentRecord(stored, version, AGENT_RECORD_VERSION, where), AGENT_RECORD_VERSION, where);
  if (record.metadata.schemaVersion !== AGENT_RECORD_VERSION) {
    throw corruptRecord(`its envelope says ${schema} but its metadata says schemaVersion ${record.metadata.schemaVersion}`, where);
  }
  return record;
}

const SCHEMA_REFERENCE = new RegExp(`^${AGENT_RECORD_SCHEMA}@([1-9][0-9]*)$`);

/** The version in a stored record's schema reference. */
function storedVersion(schema: string | undefined, where: { agent: string }): number {
  // Every build that wrote agent records gave each one this reference: one without it is not an agent record.
  if (schema === undefined) throw corruptRecord(`it carries no schema reference, where every agent record has ${AGENT_RECORD_SCHEMA}@<version>`, where);
  const match = SCHEMA_REFERENCE.exec(schema);
  if (match === null) throw corruptRecord(`its schema reference is ${JSON.stringify(schema)}, not ${AGENT_RECORD_SCHEMA}@<version>`, where);
  const version = Number(match[1]);
  if (version < OLDEST_AGENT_RECORD_VERSION) throw corruptRecord(`no llmstate wrote agent records of version ${version}`, where);
  if (version > AGENT_RECORD_VERSION) {
    throw new LlmStateError(
      'MIGRATION_NO_PATH',
      `The stored record of agent ${where.agent} is ${schema}, written by a newer llmstate: this one reads agent records up to version ${AGENT_RECORD_VERSION} and never downgrades one. ` +
        'Open this store with that newer llmstate; the record was left as it is',
      { details: { ...where, schema: AGENT_RECORD_SCHEMA, version, supported: AGENT_RECORD_VERSION } },
    );
  }
  return version;
}
