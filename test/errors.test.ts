import assert from 'node:assert/strict';
import { ERROR_CODES, isLlmStateError, LlmStateError } from '../src/errors.js';

/** Copied from DESIGN §12: the codes are a public contract, so a change here must be deliberate. */
const DESIGN_CODES = [
  'STATE_KEY_INVALID',
  'SCOPE_INVALID',
  'VALUE_INVALID',
  'VALUE_TOO_LARGE',
  'SCHEMA_INVALID',
  'SCHEMA_INCOMPATIBLE',
  'ACCESS_DENIED',
  'AGENT_QUARANTINED',
  'AGENT_NOT_FOUND',
  'ACTOR_STOPPED',
  'ACTOR_CRASHED',
  'SUPERVISOR_SHUTDOWN',
  'STORAGE_FAILED',
  'RUNTIME_CLOSED',
  'DATA_CORRUPT',
  'HOOK_TIMEOUT',
  'HOOK_FAILED',
  'CIRCUIT_OPEN',
  'MIGRATION_FAILED',
  'MIGRATION_NO_PATH',
  'BACKUP_CORRUPT',
  'BACKUP_KEY_REQUIRED',
  'BACKUP_NOT_FOUND',
  'RESTORE_FAILED',
  'TRANSACTION_TIMEOUT',
  'EVENT_KIND_UNKNOWN',
  'BACKUP_FULL_REQUIRED',
  'IMPORT_FAILED',
  'LEASE_LOST',
  'SCOPE_LEASED',
];

describe('errors', () => {
  it('ERROR_CODES lists exactly the codes of DESIGN §12, in order, without duplicates', () => {
    assert.deepEqual([...ERROR_CODES], DESIGN_CODES);
    assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
  });

  it('an LlmStateError is an Error named LlmStateError that carries its code and message', () => {
    const err = new LlmStateError('DATA_CORRUPT', 'the record is corrupt');
    assert.ok(err instanceof Error);
    assert.ok(err instanceof LlmStateError);
    assert.equal(err.name, 'LlmStateError');
    assert.equal(err.code, 'DATA_CORRUPT');
    assert.equal(err.message, 'the record is corrupt');
    assert.match(String(err), /^LlmStateError: the record is corrupt$/);
    assert.equal(typeof err.stack, 'string');
  });

  it('an LlmStateError carries the cause it wraps and its structured details', () => {
    const cause = new Error('disk full');
    const details = { scope: 'agent:a1', key: 'topic' };
    const err = new LlmStateError('STORAGE_FAILED', 'the write failed', { cause, details });
    assert.equal(err.cause, cause);
    assert.deepEqual(err.details, { scope: 'agent:a1', key: 'topic' });
  });

  it('an LlmStateError without a cause or details has neither', () => {
    const err = new LlmStateError('RUNTIME_CLOSED', 'closed');
    assert.equal('cause' in err, false);
    assert.equal(err.details, undefined);
  });

  it('a cause that is not an Error is kept as given', () => {
    const err = new LlmStateError('HOOK_FAILED', 'the hook threw', { cause: 'a string' });
    assert.equal(err.cause, 'a string');
  });

  it('isLlmStateError recognises LlmStateErrors, optionally of one code', () => {
    const err = new LlmStateError('ACCESS_DENIED', 'denied');
    assert.equal(isLlmStateError(err), true);
    assert.equal(isLlmStateError(err, 'ACCESS_DENIED'), true);
    assert.equal(isLlmStateError(err, 'RUNTIME_CLOSED'), false);
  });

  it('isLlmStateError rejects other errors and look-alike objects', () => {
    assert.equal(isLlmStateError(new Error('plain')), false);
    assert.equal(isLlmStateError(new TypeError('type')), false);
    assert.equal(isLlmStateError({ name: 'LlmStateError', code: 'ACCESS_DENIED', message: 'fake' }), false);
    assert.equal(isLlmStateError(undefined), false);
    assert.equal(isLlmStateError(null), false);
    assert.equal(isLlmStateError('ACCESS_DENIED'), false);
  });
});
