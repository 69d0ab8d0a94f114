import { z } from 'zod';
import { corruptRecord, decodeRecord, encodeRecord } from '../src/storage/recordEnvelope.js';
import type { AgentEvent } from './agentRecord.js';

/** A message that could not be delivered: it crashed the agent, or it is poison. */
export interface DeadLetter {
  agentId: string;
  event: AgentEvent;
  error: string;
  /** How many times this message (by content) has crashed the agent. */
  crashes: number;
  /** True when it was refused without delivery because it had crashed the agent `poisonLimit` times. */
  poison: boolean;
  at: number;
  correlationId?: string;
}

const deadLetterSchema = z.object({
  agentId: z.string().min(1),
  event: z.looseObject({ type: z.string() }),
  error: z.string(),
  crashes: z.number().int().nonnegative(),
  poison: z.boolean(),
  at: z.number(),
  correlationId: z.string().optional(),
});

/**
 * Letters written before dead letters had an envelope are bare JSON text: their first byte is `{`, which
 * no envelope starts with (its first byte is its format version).
 */
const LEGACY_FIRST_BYTE = 0x7b;

/** Wraps an agent's dead letter in the record envelope, like every stored record, so damage is detected. */
export function encodeDeadLetter(letter: DeadLetter): Buffer {
  return encodeRecord({ seq: 0, timestamp: letter.at }, JSON.stringify(letter));
}

/**
 * Reads a stored dead letter. A letter written before dead letters had an envelope (bare JSON, with no
 * checksum) is still read, with its shape checked.
 *
 * @throws {DATA_CORRUPT} when the letter fails its checksum, is not JSON, or is not a dead letter.
 */
export function decodeDeadLetter(bytes: Buffer, key: Buffer): DeadLetter {
  const [, agent, at, unique] = key.toString('utf8').split('\x00');
  const where = { agent, 'dead letter': `${at}.${unique}` };
  const text = bytes[0] === LEGACY_FIRST_BYTE ? bytes.toString('utf8') : decodeRecord(bytes, where).payload.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw corruptRecord('it is not valid JSON', where, { cause: error });
  }
  const letter = deadLetterSchema.safeParse(parsed);
  if (!letter.success) throw corruptRecord(`it does not match the dead letter shape (${letter.error.issues.map((issue) => issue.path.join('.') || 'letter').join(', ')})`, where);
  return letter.data as DeadLetter;
}
