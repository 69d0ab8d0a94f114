import { deflateRawSync, inflateRawSync, constants } from 'node:zlib';
import { customAlphabet } from 'nanoid';
import { LlmStateError } from '../errors.js';
import { decodeRecord, encodeRecord } from '../storage/recordEnvelope.js';
import type { HookExecution } from './types.js';

/**
 * The stored form of a hook execution. The envelope's payload is:
 *
 * | bytes | field |
 * |---|---|
 * | 0 | body codec: `j` JSON text, `z` raw-deflated JSON text; `J` and `Z` the same with the input left out |
 * | 1–4 | length of the metadata, big-endian |
 * | 5… | metadata: JSON of every field but `input` and `result` |
 * | … | body: JSON `{ "input": …, "result": … }`, or `{ "result": … }` with the input left out |
 *
 * Queries and retention read only the metadata, so only the executions a query returns are inflated.
 *
 * The input is left out when it is exactly the events named by `eventIds`, as the event log holds them
 * (nothing in it needed redacting): it is read back from the log instead of being stored twice. The
 * log's own retention writes such inputs into their records before it removes their events.
 */
export type ExecutionMeta = Omit<HookExecution, 'input' | 'result'> & { bytes: number };

/** Bodies above this are compressed. */
export const COMPRESS_ABOVE_BYTES = 2048;

const JSON_BODY = 0x6a; // j
const DEFLATED_BODY = 0x7a; // z
const JSON_BODY_INPUT_IN_LOG = 0x4a; // J
const DEFLATED_BODY_INPUT_IN_LOG = 0x5a; // Z
const CODECS = new Set([JSON_BODY, DEFLATED_BODY, JSON_BODY_INPUT_IN_LOG, DEFLATED_BODY_INPUT_IN_LOG]);

/** A decoded execution whose input is still to be read from the event log. */
export type StoredExecution = { execution: HookExecution; inputInLog: false } | { execution: Omit<HookExecution, 'input'>; inputInLog: true };

const ID_TAIL = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 7);

let lastTime = -1;
let sameTime = 0;

/**
 * A new execution id: the start time in base 36, a counter within the millisecond, then random
 * characters. Ids sort by start time, and by start order within this process.
 */
export function newExecutionId(startedAt: number): string {
  sameTime = startedAt === lastTime ? sameTime + 1 : 0;
  lastTime = startedAt;
  return `${startedAt.toString(36).padStart(9, '0')}${sameTime.toString(36).padStart(3, '0')}${ID_TAIL()}`;
}

/** The start time an execution id carries. */
export function executionIdTime(executionId: string): number {
  return parseInt(executionId.slice(0, 9), 36);
}

/**
 * Encodes one execution. `inputJson` and `resultJson` are JSON text already redacted (by the worker),
 * spliced in without parsing. A null `inputJson` leaves the input to the event log: see above.
 */
export function encodeExecution(meta: Omit<ExecutionMeta, 'bytes'>, inputJson: string | null, resultJson: string | undefined): Buffer {
  const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
  const fields = [...(inputJson === null ? [] : [`"input":${inputJson}`]), ...(resultJson === undefined ? [] : [`"result":${resultJson}`])];
  const plain = Buffer.from(`{${fields.join(',')}}`, 'utf8');
  const compress = plain.length > COMPRESS_ABOVE_BYTES;
  const body = compress ? deflateRawSync(plain, { level: constants.Z_BEST_SPEED }) : plain;
  const payload = Buffer.allocUnsafe(5 + metaBytes.length + body.length);
  payload[0] = inputJson === null ? (compress ? DEFLATED_BODY_INPUT_IN_LOG : JSON_BODY_INPUT_IN_LOG) : compress ? DEFLATED_BODY : JSON_BODY;
  payload.writeUInt32BE(metaBytes.length, 1);
  metaBytes.copy(payload, 5);
  body.copy(payload, 5 + metaBytes.length);
  return encodeRecord({ seq: 0, timestamp: meta.startedAt }, payload);
}

/** Reads only the metadata. @throws {DATA_CORRUPT} */
export function decodeExecutionMeta(record: Buffer, executionId: string): ExecutionMeta {
  const { payload } = unwrap(record, executionId);
  const metaLength = payload.readUInt32BE(1);
  const meta = parse(payload.subarray(5, 5 + metaLength), executionId) as ExecutionMeta;
  meta.bytes = record.length;
  return meta;
}

/** Reads the whole execution, inflating its body; the input may still be in the log. @throws {DATA_CORRUPT} */
export function decodeExecution(record: Buffer, executionId: string): StoredExecution {
  const { payload } = unwrap(record, executionId);
  const metaLength = payload.readUInt32BE(1);
  const meta = parse(payload.subarray(5, 5 + metaLength), executionId) as Omit<HookExecution, 'input'>;
  let body = payload.subarray(5 + metaLength);
  if (payload[0] === DEFLATED_BODY || payload[0] === DEFLATED_BODY_INPUT_IN_LOG) {
    try {
      body = inflateRawSync(body);
    } catch (error) {
      throw corrupt(executionId, `its body does not inflate (${(error as Error).message})`);
    }
  }
  const { input, result } = parse(body, executionId) as Partial<Pick<HookExecution, 'input' | 'result'>>;
  const execution = { ...meta, ...(result === undefined ? {} : { result }) };
  if (payload[0] === JSON_BODY_INPUT_IN_LOG || payload[0] === DEFLATED_BODY_INPUT_IN_LOG) return { execution, inputInLog: true };
  if (input === undefined) throw corrupt(executionId, 'its body has no input');
  return { execution: { ...execution, input }, inputInLog: false };
}

/** An execution's record with `input` written into it, for when the events it was read from are removed. */
export function withInputStored(execution: Omit<HookExecution, 'input'>, inputJson: string): Buffer {
  const { result, ...meta } = execution;
  return encodeExecution(meta, inputJson, result === undefined ? undefined : JSON.stringify(result));
}

function unwrap(record: Buffer, executionId: string): { payload: Buffer } {
  const { payload } = decodeRecord(record, { 'hook execution': executionId });
  if (payload.length < 5 || !CODECS.has(payload[0]) || 5 + payload.readUInt32BE(1) > payload.length) {
    throw corrupt(executionId, 'its layout is malformed');
  }
  return { payload };
}

function parse(bytes: Buffer, executionId: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw corrupt(executionId, 'it is not valid JSON');
  }
}

function corrupt(executionId: string, reason: string): LlmStateError {
  return new LlmStateError('DATA_CORRUPT', `The record of hook execution ${executionId} is corrupt: ${reason}. It was not returned`, {
    details: { executionId, reason },
  });
}
