import { LlmStateError } from '../errors.js';

/** A file system failure at `path`, as STORAGE_FAILED: a permission error says so, and what to check. */
export function fsError(path: string, error: unknown): LlmStateError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') {
    return new LlmStateError(
      'STORAGE_FAILED',
      `Cannot use the store at ${path}: permission denied (${code}). Check the owner and mode of ${path} and the directories above it`,
      { cause: error, details: { location: path, code } },
    );
  }
  return new LlmStateError('STORAGE_FAILED', `Cannot use the store at ${path}: ${(error as Error).message}`, {
    cause: error,
    details: { location: path, code },
  });
}
