import assert from 'node:assert/strict';
import { LlmStateError, type ErrorCode } from '../../src/errors.js';

/**
 * Runs `fn`, asserts it throws an LlmStateError with `code`, and returns the error for further checks.
 */
export function thrownLlmStateError(fn: () => unknown, code: ErrorCode): LlmStateError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof LlmStateError, `expected an LlmStateError ${code}, got ${String(thrown)}`);
  assert.equal(thrown.code, code, thrown.message);
  return thrown;
}

/** Asserts `fn` breaks the named key rule: the code, `details.rule` and the message all say so. */
export function assertBreaksRule(fn: () => unknown, code: ErrorCode, rule: string): LlmStateError {
  const err = thrownLlmStateError(fn, code);
  assert.equal(err.details?.rule, rule, err.message);
  assert.ok(err.message.includes(rule), `the message should name the rule ${rule}: ${err.message}`);
  return err;
}
