import { z } from 'zod';
import { LlmStateError } from '../src/errors.js';
import { decodeRecord, encodeRecord } from '../src/storage/recordEnvelope.js';

/** A message for the agent's machine: an xstate event, which must be JSON data. */
export interface AgentEvent {
  type: string;
  [field: string]: unknown;
}

/** Bumped when the agent record's shape changes; migrations key on it. */
export const AGENT_RECORD_VERSION = 1;

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

export function encodeAgentRecord(record: AgentRecord, seqHint: number): Buffer {
  return encodeRecord({ seq: seqHint, timestamp: record.metadata.updatedAt, schema: `agent-record@${AGENT_RECORD_VERSION}` }, JSON.stringify(record));
}

/** @throws {DATA_CORRUPT} when the bytes fail their checksum or the record fails its schema. */
export function decodeAgentRecord(bytes: Buffer, id: string): AgentRecord {
  const { payload } = decodeRecord(bytes, { agent: id });
  const parsed = agentRecordSchema.safeParse(JSON.parse(payload.toString('utf8')));
  if (!parsed.success) {
    throw new LlmStateError('DATA_CORRUPT', `The stored record of agent ${id} does not match the agent record schema: ${parsed.error.message}`, {
      details: { agent: id, issues: parsed.error.issues },
    });
  }
  return parsed.data;
}
