import { z } from 'zod';
import { corruptRecord } from '../src/storage/recordEnvelope.js';

/** The name in every agent record's schema reference: `agent-record@<version>`. */
export const AGENT_RECORD_SCHEMA = 'agent-record';

/**
 * One step of the agent record's history: the shape records of version `from` were stored in, and how
 * such a record becomes one of version `from + 1`.
 */
export interface AgentRecordUpgrade {
  /** The version this step reads; it produces version `from + 1`. */
  readonly from: number;
  /** What changed in version `from + 1`. */
  readonly change: string;
  /** The shape that builds of version `from` wrote. Frozen: a later change to the record never edits it. */
  readonly schema: z.ZodType;
  /** Takes a record that matches `schema`. */
  readonly upgrade: (record: unknown) => Record<string, unknown>;
}

function step<S extends z.ZodType>(from: number, change: string, schema: S, upgrade: (record: z.output<S>) => Record<string, unknown>): AgentRecordUpgrade {
  return { from, change, schema, upgrade: (record) => upgrade(record as z.output<S>) };
}

const json: z.ZodType<unknown> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(json), z.record(z.string(), json)]),
);

/**
 * Version 1, as every build from the first `rt.agents` (816c544) to the one before version 2 wrote it:
 * always enveloped, always with the reference `agent-record@1`. Its `metadata.schemaVersion` is 1, or 2
 * when a version 1 build saved again a version 2 record it had read (those builds ignored the reference).
 */
const agentRecordV1 = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  status: z.enum(['running', 'paused', 'stopped', 'crashed']),
  config: z.record(z.string(), json),
  conversation: z.array(
    z.object({
      role: z.enum(['system', 'user', 'assistant', 'tool']),
      content: z.string(),
      name: z.string().optional(),
      toolCallId: z.string().optional(),
      at: z.number().optional(),
    }),
  ),
  tools: z.array(z.object({ name: z.string().min(1), description: z.string().optional(), parameters: json.optional() })),
  workflow: z.object({
    workflowId: z.string().optional(),
    currentStep: z.string().optional(),
    completedSteps: z.array(z.string()),
    progress: z.number().min(0).max(1).optional(),
  }),
  custom: z.record(z.string(), json),
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

/**
 * Every upgrade, oldest first, each from its version to the next; the last one ends at the current
 * version (`AGENT_RECORD_VERSION`). Add a step here whenever the agent record's shape changes.
 */
export const AGENT_RECORD_UPGRADES: readonly AgentRecordUpgrade[] = [
  step(
    1,
    'the record keeps the restart type and shutdown the agent was spawned with, so that restore starts it with them',
    agentRecordV1,
    // Version 1 kept neither, and a restore started every agent as permanent with a 5000 ms shutdown:
    // these values keep what restoring such a record has always done.
    (record) => ({ ...record, restart: 'permanent', shutdown: 5000, metadata: { ...record.metadata, schemaVersion: 2 } }),
  ),
];

/** The oldest version a stored agent record can have. */
export const OLDEST_AGENT_RECORD_VERSION = AGENT_RECORD_UPGRADES[0].from;

/**
 * Brings a stored record of version `from` up to version `to`, in memory, one step at a time. Each step
 * first checks the record against the shape its version was stored in.
 *
 * @param where Names the record in errors, such as `{ agent: 'a1' }`.
 * @throws {DATA_CORRUPT} when the record does not match the shape of its version.
 */
export function upgradeAgentRecord(record: unknown, from: number, to: number, where: Record<string, unknown>): unknown {
  let current = record;
  for (let version = from; version < to; version++) {
    const upgrade = AGENT_RECORD_UPGRADES.find((candidate) => candidate.from === version);
    if (upgrade === undefined) throw new Error(`There is no upgrade of agent records from version ${version}`);
    current = upgrade.upgrade(checkAgentRecordShape(upgrade.schema, current, version, where));
  }
  return current;
}

/**
 * The record, parsed by the schema of its version.
 *
 * @throws {DATA_CORRUPT} naming each field that does not match, with zod's error as the cause.
 */
export function checkAgentRecordShape<S extends z.ZodType>(schema: S, record: unknown, version: number, where: Record<string, unknown>): z.output<S> {
  const parsed = schema.safeParse(record);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'record'}: ${issue.message}`).join('; ');
  throw corruptRecord(`it does not match ${AGENT_RECORD_SCHEMA}@${version} (${issues})`, where, { cause: parsed.error });
}
