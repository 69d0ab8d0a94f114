import { LlmStateError } from '../errors.js';

/** The error a call gets when the simulated process crashed while it was in flight. */
export function restartedError(): LlmStateError {
  return new LlmStateError('RUNTIME_CLOSED', 'The simulated process restarted while this call was in flight; it may or may not have taken effect');
}
